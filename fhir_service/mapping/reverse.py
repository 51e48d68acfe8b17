"""Reverse maps (FHIR → source document), declared in a mapping set's ``export.json``.

A reverse map has two parts, both data:

``gather``    an ordered list of named collections of resources, each a FHIRPath expression
              over the collections gathered before it (``%episode.team.resolve()``) or a
              search (``{"search": type, "params": [[name, expression]…], "prefer": […]}``).
              ``resolve()`` reads the referenced resource through the reader, i.e. as the
              caller, under its access rules: what the caller may not see is not exported.
              The first entry is the root (``{"root": type}``), read by id.
``document``  a template shaped like the source document whose leaves are FHIRPath
              expressions evaluated on the current focus, with the collections as
              ``%name`` variables. Directives:

              ``$each``     (array property) one item per result of the expression;
              ``$context``  (object property) the focus becomes the expression's first result;
              ``$path``     the expression of a leaf carrying other directives;
              ``$code``     translate the results back with a code table (first that does);
              ``$key``      the results are References: the local key of each referenced
                            resource (the ``reverse`` rules of ``wiring.json``);
              ``$value``    a constant.

The source schema types the results: arrays keep every result, scalars the first one,
booleans parse ``true``/``false``; absent values (``""``, ``[]``, ``{}``) are dropped.
Every expression is compiled, every property checked against the schema and every code
table name checked when the mapping set is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fhir_service.fhirpath import engine
from fhir_service.mapping.codes import CodeTable
from fhir_service.mapping.paths import absent, clean
from fhir_service.mapping.schema import Schema
from fhir_service.mapping.typecheck import MapLoadError

REVERSE_DIRECTIVES = frozenset({"$each", "$context", "$path", "$code", "$key", "$value",
                                "$comment"})
_COMPILED: dict[str, Callable[..., list[Any]]] = {}
# resolve() reads through the exporter evaluating the expression (compiled functions are shared)
_CURRENT: ContextVar[Exporter | None] = ContextVar("reverse_exporter", default=None)


def _resolve(inputs: list[Any]) -> list[Any]:
    exporter = _CURRENT.get()
    return exporter._fn_resolve(inputs) if exporter is not None else []


_OPTIONS = {"userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}}}


def _compile(expression: str, raw: bool = False) -> Callable[..., list[Any]]:
    """Compiled once; ``raw`` keeps the engine's typed nodes (a focus for later expressions,
    so that choice elements such as ``value[x]`` still resolve below it)."""
    fn = _COMPILED.get(expression + "\0" * raw)
    if fn is None:
        options = {**_OPTIONS, "returnRawData": True} if raw else _OPTIONS
        fn = engine.compile_expression(expression, options)
        _COMPILED[expression + "\0" * raw] = fn
    return fn


# --- load-time checks --------------------------------------------------------------------------


def check_reverse(reverse: dict[str, Any], schema: Schema, tables: dict[str, CodeTable],
                  checker: Any = None) -> None:
    """Raise MapLoadError if the reverse map names a property the schema does not have, an
    unknown code table, or holds an expression that does not compile."""
    where = f"reverse map {reverse.get('name', 'export.json')}"
    gather = reverse.get("gather")
    if not isinstance(gather, list) or not gather or "root" not in gather[0]:
        raise MapLoadError(f"{where}: 'gather' must be a list whose first entry is the root")
    names: set[str] = set()
    for entry in gather:
        name = entry.get("name")
        if not name:
            raise MapLoadError(f"{where}: every gathered collection needs a name")
        if "root" in entry:
            if checker is not None and checker.tree(entry["root"]) is None:
                raise MapLoadError(f"{where}: unknown resource type {entry['root']}")
        elif "search" in entry:
            if checker is not None and checker.tree(entry["search"]) is None:
                raise MapLoadError(f"{where}: unknown resource type {entry['search']}")
            for _, expr in entry.get("params", []):
                _check_expression(expr, f"{where}, gather {name}")
            for expr in entry.get("prefer", []):
                _check_expression(expr, f"{where}, gather {name}")
        elif "path" in entry:
            _check_expression(entry["path"], f"{where}, gather {name}")
        else:
            raise MapLoadError(f"{where}: gather {name} needs 'root', 'search' or 'path'")
        names.add(name)
    if "document" not in reverse:
        raise MapLoadError(f"{where}: 'document' is required")
    _check_node(reverse["document"], schema.document, schema, tables, where, "$")


def _check_expression(expression: Any, where: str) -> None:
    if not isinstance(expression, str):
        raise MapLoadError(f"{where}: {expression!r} is not a FHIRPath expression")
    try:
        engine.strict_parse(expression)  # the engine's own parser recovers silently
        _compile(expression)
    except Exception as exc:  # noqa: BLE001 - the parser raises bare exceptions
        raise MapLoadError(f"{where}: FHIRPath {expression!r} does not compile ({exc})") \
            from None


def _check_node(node: Any, snode: dict[str, Any], schema: Schema,
                tables: dict[str, CodeTable], where: str, path: str) -> None:
    snode = schema.resolve(snode)
    if isinstance(node, str):
        _check_expression(node, f"{where} at {path}")
        return
    if not isinstance(node, dict):
        raise MapLoadError(f"{where} at {path}: a leaf is a FHIRPath string or an object")
    unknown = [k for k in node if k.startswith("$") and k not in REVERSE_DIRECTIVES]
    if unknown:
        raise MapLoadError(f"{where} at {path}: unknown directive(s) {sorted(unknown)}")
    for key in ("$each", "$context", "$path"):
        if key in node:
            _check_expression(node[key], f"{where} at {path}")
    if "$code" in node and node["$code"] not in tables:
        raise MapLoadError(f"{where} at {path}: no code table named {node['$code']}")
    if "$each" in node:
        items = schema.items(snode)
        if items is None:
            raise MapLoadError(f"{where} at {path}: $each on a property that is not an array")
        snode = items
    for key, sub in node.items():
        if key.startswith("$"):
            continue
        child = schema.child(snode, key)
        if child is None:
            raise MapLoadError(f"{where}: target path '{path}.{key}' does not exist in the "
                               "source model")
        _check_node(sub, child, schema, tables, where, f"{path}.{key}")


# --- evaluation ----------------------------------------------------------------------------------


class Reader:
    """Store access for the export (implemented over the router, as the caller)."""

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:  # pragma: no cover
        raise NotImplementedError

    def search(self, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        raise NotImplementedError  # pragma: no cover


@dataclass
class ExportResult:
    document: dict[str, Any]
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "Type/id" -> resource
    notes: list[str] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)  # the document against the source schema


class Exporter:
    def __init__(self, reverse: dict[str, Any], schema: Schema, tables: dict[str, CodeTable],
                 wiring_reverse: dict[str, Any], reader: Reader) -> None:
        self.reverse = reverse
        self.schema = schema
        self.tables = tables
        self.rules = wiring_reverse
        self.reader = reader
        self.cache: dict[str, dict[str, Any] | None] = {}
        self.env: dict[str, Any] = {}
        self.notes: list[str] = []

    # --- FHIRPath with resolve() through the reader ------------------------------------------

    def _resolve_ref(self, ref: Any) -> dict[str, Any] | None:
        if isinstance(ref, dict):
            ref = ref.get("reference")
        if not isinstance(ref, str) or "/" not in ref:
            return None
        parts = ref.split("/")
        if "_history" in parts:
            parts = parts[:parts.index("_history")]
        rtype, rid = parts[-2], parts[-1]
        key = f"{rtype}/{rid}"
        if key not in self.cache:
            self.cache[key] = self.reader.read(rtype, rid)
        return self.cache[key]

    def _fn_resolve(self, inputs: list[Any]) -> list[Any]:
        out = []
        for item in inputs:
            found = self._resolve_ref(item)
            if found is not None:
                out.append(found)
        return out

    def eval(self, focus: Any, expression: str, raw: bool = False) -> list[Any]:
        fn = _compile(expression, raw)
        token = _CURRENT.set(self)
        try:
            result = fn(focus if focus is not None else {}, self.env)
        finally:
            _CURRENT.reset(token)
        return list(result) if raw else [r for r in result if not absent(r)]

    # --- gather -------------------------------------------------------------------------------

    def gather(self, root_id: str, parameters: dict[str, str]) -> None:
        for entry in self.reverse["gather"]:
            name = entry["name"]
            if "root" in entry:
                root = self.reader.read(entry["root"], root_id)
                if root is None:
                    from fhir_service.outcomes import FhirError

                    raise FhirError("not-found", f"{entry['root']}/{root_id} is not known",
                                    entry["root"])
                self.cache[f"{entry['root']}/{root_id}"] = root
                self.env[name] = root
            elif "search" in entry:
                found = self._search(entry, parameters)
                self.env[name] = found if found is not None else []
            else:
                self.env[name] = _unique(self.eval(None, entry["path"]))

    def _search(self, entry: dict[str, Any], parameters: dict[str, str]) -> Any:
        query: list[tuple[str, str]] = []
        for pname, expr in entry.get("params", []):
            values = self.eval(None, expr)
            if not values:
                return [] if not entry.get("single") else None
            query.append((pname, ",".join(str(v) for v in values)))
        parameter = entry.get("parameter")
        named = parameters.get(parameter) if parameter else None
        if named:
            query.append(("_id", named))
        found = self.reader.search(entry["search"], query)
        for res in found:
            self.cache[f"{res['resourceType']}/{res['id']}"] = res
        if named and not found:
            from fhir_service.outcomes import FhirError

            raise FhirError("not-found", f"{entry['search']}/{named} is not known, or is not "
                            f"one of the {entry['search']} of this {self.reverse['gather'][0]['root']}",
                            parameter)
        if not entry.get("single"):
            return found
        for expr in entry.get("prefer", []):
            preferred = [r for r in found if self.eval(r, expr) == [True]]
            if preferred:
                return preferred[0]
        return found[0] if found else None

    # --- document -----------------------------------------------------------------------------

    def run(self, root_id: str, parameters: dict[str, str] | None = None,
            variables: dict[str, Any] | None = None) -> ExportResult:
        self.env.update(variables or {})
        self.gather(root_id, parameters or {})
        doc = self._render(self.reverse["document"], self.env.get(
            self.reverse["gather"][0]["name"]), self.schema.document)
        document = clean(doc) or {}
        resources = {k: v for k, v in self.cache.items() if v is not None}
        return ExportResult(document, resources, self.notes)

    def _render(self, node: Any, focus: Any, snode: dict[str, Any]) -> Any:
        snode = self.schema.resolve(snode)
        if isinstance(node, str):
            return self._typed(self.eval(focus, node), snode)
        if "$value" in node:
            return node["$value"]
        if "$each" in node:
            items_node = self.schema.items(snode) or {}
            body = {k: v for k, v in node.items() if k != "$each"}
            required = self.schema.resolve(items_node).get("required", [])
            out_items = []
            for item in self.eval(focus, node["$each"], raw=True):
                rendered = clean(self._render(body, item, items_node))
                if absent(rendered):
                    continue
                missing = [k for k in required if k not in rendered]
                if missing and isinstance(item, dict) and "resourceType" in item:
                    # a resource another guide shaped (a TDDUI Consent: no structures, no
                    # scope) does not make an item of the case file: left out and noted,
                    # never an invalid file that a re-import (the goals sheet) would refuse
                    self.notes.append(f"{item['resourceType']}/{item.get('id')} has no "
                                      f"{', '.join(missing)} for the case file: left out")
                    continue
                out_items.append(rendered)
            return out_items
        if "$context" in node:
            found = self.eval(focus, node["$context"], raw=True)
            if not found:
                return None
            focus = found[0]
        if "$path" in node:
            values = self.eval(focus, node["$path"])
            if "$code" in node:
                values = self._codes(values, self.tables[node["$code"]])
            if "$key" in node:
                values = [k for k in (self._key(v) for v in values) if k is not None]
            return self._typed(values, snode)
        out: dict[str, Any] = {}
        for key, sub in node.items():
            if key.startswith("$"):
                continue
            child = self.schema.child(snode, key) or {}
            value = self._render(sub, focus, child)
            if not absent(value):
                out[key] = value
        return out or None

    def _typed(self, values: list[Any], snode: dict[str, Any]) -> Any:
        kind = snode.get("type")
        if kind == "array":
            item_kind = (self.schema.items(snode) or {}).get("type")
            return [_coerce(v, item_kind) for v in values] or None
        if not values:
            return None
        return _coerce(values[0], kind)

    def _codes(self, values: list[Any], table: CodeTable) -> list[Any]:
        out = []
        for value in values:
            found = table.reverse(value) if isinstance(value, dict) \
                else table.reverse_code(str(value))
            if found is not None:
                out.append(found)
        return out

    def _key(self, ref: Any) -> str | None:
        is_resource = isinstance(ref, dict) and "resourceType" in ref
        resource = ref if is_resource else self._resolve_ref(ref)
        if resource is None:
            self.notes.append(f"a reference to {ref.get('reference') if isinstance(ref, dict) else ref} "
                              "is not visible to the caller or does not exist: left out")
            return None
        rtype = resource.get("resourceType", "")
        rule = self.rules.get(rtype) or self.rules.get("*") or {}
        if "literal" in rule:
            return str(rule["literal"])
        target = resource
        if "via" in rule:
            found = self.eval(resource, f"{rule['via']}.resolve()")
            target = found[0] if found else None
            if target is None:
                return None
        keys = self.eval(target, rule["path"]) if "path" in rule else []
        return str(keys[0]) if keys else str(target.get("id"))


def _unique(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for v in values:
        key = f"{v.get('resourceType')}/{v.get('id')}" if isinstance(v, dict) else repr(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _coerce(value: Any, kind: Any) -> Any:
    if kind == "boolean" and isinstance(value, str):
        return {"true": True, "false": False}.get(value, value)
    if kind == "string" and not isinstance(value, str | dict | list):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value
