"""Load a mapping set (a folder of JSON maps) and type-check it against the source schema and
the FHIR definitions. Every map error is raised at load time as :class:`MapLoadError`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.conformance.structure import StructureChecker
from fhir_service.mapping.codes import CodeTable
from fhir_service.mapping.schema import Schema
from fhir_service.mapping.template import DIRECTIVES
from fhir_service.mapping.typecheck import MapLoadError, SourceChecker, TargetChecker

__all__ = ["MapLoadError", "MappingSet", "ResourceMap", "default_mappings_dir", "load"]


def default_mappings_dir() -> Path:
    from fhir_service.conformance.package import project_root

    return project_root() / "mappings"


@dataclass
class ResourceMap:
    name: str
    source: str  # logical model element, e.g. ...#Casefile.plan.goals
    source_path: str  # "plan.goals" ("" = the document)
    target: str  # profile canonical URL
    resource_type: str
    key: list[str]
    template: dict[str, Any]
    iterate: bool
    when: Any = None
    notices: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MappingSet:
    folder: Path
    entry: dict[str, Any]
    schema: Schema
    datatypes: dict[str, Any]
    wiring: dict[str, Any]
    identity: dict[str, Any]
    tables: dict[str, CodeTable]
    maps: dict[str, ResourceMap]
    order: list[str]
    provenance: ResourceMap | None
    reverse: dict[str, Any] | None
    tabular: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.entry.get("version", ""))


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MapLoadError(f"{path}: {exc}") from None


def _walk_directives(node: Any, name: str, out: list[Any]) -> None:
    if isinstance(node, dict):
        if name in node:
            out.append(node[name])
        for v in node.values():
            _walk_directives(v, name, out)
    elif isinstance(node, list):
        for v in node:
            _walk_directives(v, name, out)


def load(folder: Path, registry: Registry, checker: StructureChecker | None = None) -> MappingSet:
    """Load ``folder`` (e.g. ``mappings/casefile``); raise MapLoadError on any bad map."""
    checker = checker or StructureChecker(registry)
    entry = _read(folder / "entry.json")
    schema = Schema(_read((folder / entry["schema"]).resolve()))
    datatypes = _read(folder / "datatypes.json")["maps"]
    wiring = _read(folder / "wiring.json")
    identity = _read(folder / "identity.json")
    tables = {p.stem: CodeTable.from_concept_map(p.stem, _read(p))
              for p in sorted((folder / "codes").glob("*.json"))}
    model_url = entry["source"]
    model_elements = _model_elements(registry, model_url)
    maps: dict[str, ResourceMap] = {}
    for path in sorted((folder / "resources").glob("*.json")):
        raw = _read(path)
        where = f"map {raw.get('name', path.stem)} ({path.name})"
        maps[raw["name"]] = _load_resource_map(raw, where, model_url, schema, registry, checker,
                                               datatypes)
        if model_elements is not None and raw["source"] not in model_elements:
            raise MapLoadError(f"{where}: source {raw['source']} is not an element of the "
                               f"logical model {model_url}")
    for name in entry["maps"] + [entry.get("provenance")]:
        if name and name not in maps:
            raise MapLoadError(f"entry map: no resource map named {name}")
    # cross-checks: code tables, wiring targets, datatypes used by the templates
    for rmap in maps.values():
        templates = [rmap.template, *[datatypes[d] for d in _used(rmap.template, "$datatype")]]
        for template in templates:
            for table in _used(template, "$code"):
                if table not in tables:
                    raise MapLoadError(f"map {rmap.name}: no code table named {table}")
            for refs in _used(template, "$ref"):
                for target in refs if isinstance(refs, list) else [refs]:
                    if target not in wiring["targets"]:
                        raise MapLoadError(f"map {rmap.name}: no wiring target named {target}")
    for tname, target in wiring["targets"].items():
        if target["map"] not in maps:
            raise MapLoadError(f"wiring {tname}: no map named {target['map']}")
        for key in ("collection", "singleton"):
            if key in target:
                SourceChecker(schema, f"wiring {tname}", datatypes).resolve(
                    schema.document, "$." + target[key])
    for check in entry.get("checks", []):
        _check_check(check, schema)
    reverse = _read(folder / "export.json") if (folder / "export.json").exists() else None
    if reverse is not None:
        from fhir_service.mapping.reverse import check_reverse

        check_reverse(reverse, schema, tables, checker)
    # tabular forms of the source (e.g. a sheet of rows updating one array of a document)
    tabular = {name: _read((folder / rel).resolve())
               for name, rel in entry.get("tabular", {}).items()}
    for name, tab in tabular.items():
        from fhir_service.mapping.tabular import check_tabular

        check_tabular(name, tab, schema)
    return MappingSet(folder, entry, schema, datatypes, wiring, identity, tables, maps,
                      list(entry["maps"]), maps.get(entry.get("provenance", "")), reverse,
                      tabular)


def _model_elements(registry: Registry, model_url: str) -> set[str] | None:
    """``url#Name.path`` of every element of the source's FHIR logical model, when the
    registry holds it (the IG is loaded); None otherwise (the JSON Schema still checks)."""
    model = registry.by_url(model_url)
    if model is None or model.get("kind") != "logical":
        return None
    elements = (model.get("snapshot") or model.get("differential") or {}).get("element", [])
    root = elements[0]["path"] if elements else ""
    name = model.get("name", root)
    return {f"{model_url}#{name}{e['path'].removeprefix(root)}" for e in elements}


def _used(template: Any, directive: str) -> list[Any]:
    out: list[Any] = []
    _walk_directives(template, directive, out)
    return out


def _load_resource_map(raw: dict[str, Any], where: str, model_url: str, schema: Schema,
                       registry: Registry, checker: StructureChecker,
                       datatypes: dict[str, Any]) -> ResourceMap:
    for key in ("name", "source", "target", "resourceType", "key", "template"):
        if key not in raw:
            raise MapLoadError(f"{where}: '{key}' is required")
    model, _, element = raw["source"].partition("#")
    if model != model_url:
        raise MapLoadError(f"{where}: source {model} is not the entry map's model {model_url}")
    parts = element.split(".")
    source_path = ".".join(parts[1:])
    src = SourceChecker(schema, where, datatypes)
    node = src.resolve(schema.document, "$." + source_path) if source_path else schema.document
    iterate = schema.items(node) is not None and not raw.get("whole", False)
    item_node = schema.items(node) if iterate else node
    assert item_node is not None
    profile = registry.by_url(raw["target"])
    if profile is None or profile.get("resourceType") != "StructureDefinition":
        raise MapLoadError(f"{where}: target profile {raw['target']} is not known")
    if profile.get("type") != raw["resourceType"]:
        raise MapLoadError(f"{where}: target profile constrains {profile.get('type')}, "
                           f"not {raw['resourceType']}")
    template = raw["template"]
    if template.get("resourceType") != raw["resourceType"]:
        raise MapLoadError(f"{where}: the template's resourceType must be {raw['resourceType']}")
    src.check(template, item_node)
    for part in raw["key"]:
        if not part.startswith(("'", "$digest")):
            src.resolve(item_node, part)
    if raw.get("when"):
        src.check({"$when": raw["when"]}, item_node)
    for notice in raw.get("notices", []):
        src.check({"$when": notice["when"]}, item_node)
    TargetChecker(checker, where, datatypes).check_resource(raw["resourceType"], template)
    unknown = [d for d in _all_keys(template) if d.startswith("$") and d not in DIRECTIVES]
    if unknown:
        raise MapLoadError(f"{where}: unknown directive(s) {sorted(set(unknown))}")
    return ResourceMap(raw["name"], raw["source"], source_path, raw["target"],
                       raw["resourceType"], list(raw["key"]), template, iterate,
                       raw.get("when"), list(raw.get("notices", [])))


def _all_keys(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        out.extend(node)
        for v in node.values():
            out.extend(_all_keys(v))
    elif isinstance(node, list):
        for v in node:
            out.extend(_all_keys(v))
    return out


def _check_check(check: dict[str, Any], schema: Schema) -> None:
    src = SourceChecker(schema, f"check {check}", {})
    node: dict[str, Any] = schema.document
    if "each" in check:
        items = schema.items(src.resolve(schema.document, "$." + check["each"]))
        if items is None:
            raise MapLoadError(f"check {check}: 'each' must name an array")
        node = items
    for key in ("not-before", "exclusive"):
        for path in check.get(key, []):
            src.resolve(node, path if "each" in check else "$." + path)
    for key in ("unique", "requires", "needs", "one-of"):
        if key in check:
            src.resolve(schema.document, "$." + check[key])
    for key in ("key", "active"):
        if key in check and "each" in check:
            src.resolve(node, check[key])
    for key in ("where", "at-most-one"):
        if key in check:
            src.resolve(node, check[key]["path"])
    if "active-while" in check:
        src.resolve(schema.document, check["active-while"]["path"])
