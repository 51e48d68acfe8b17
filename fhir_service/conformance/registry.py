"""Definitions registry: the R4 core package plus any IG packages, loaded as data.

https://hl7.org/fhir/R4/conformance-module.html — StructureDefinitions, SearchParameters,
ValueSets, CodeSystems, OperationDefinitions are FHIR resources; we never re-type them.
Packages are FHIR npm packages (a folder with ``package.json`` and ``.index.json``, or a
``.tgz``); the index is read at start-up and resources are loaded on first use.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFORMANCE_TYPES = (
    "StructureDefinition",
    "SearchParameter",
    "ValueSet",
    "CodeSystem",
    "OperationDefinition",
    "ConceptMap",
    "CapabilityStatement",
    "NamingSystem",
    "ImplementationGuide",
    "CompartmentDefinition",
)


@dataclass
class Package:
    """One loaded FHIR package: id, version and its conformance resources by key."""

    name: str
    version: str
    canonical: str | None
    resources: list[dict[str, Any]] = field(default_factory=list)


def _index_entries(folder: Path) -> list[dict[str, Any]]:
    index = folder / ".index.json"
    if index.exists():
        return list(json.loads(index.read_text(encoding="utf-8"))["files"])
    entries = []
    for path in sorted(folder.glob("*.json")):
        if path.name == "package.json":
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "resourceType" in data:
            entries.append({"filename": path.name, "resourceType": data["resourceType"]})
    return entries


def _load_folder(folder: Path, types: Iterable[str]) -> Package:
    manifest = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    wanted = set(types)
    resources = []
    for entry in _index_entries(folder):
        if entry.get("resourceType") in wanted:
            with (folder / entry["filename"]).open("rb") as fh:
                resources.append(json.load(fh))
    return Package(manifest["name"], manifest["version"], manifest.get("canonical"), resources)


def _load_tgz(path: Path, types: Iterable[str]) -> Package:
    wanted = set(types)
    resources = []
    manifest: dict[str, Any] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            name = member.name.split("/", 1)[-1]
            extracted = tar.extractfile(member)
            if extracted is None:
                continue
            data = json.load(io.TextIOWrapper(extracted, encoding="utf-8"))
            if name == "package.json":
                manifest = data
            elif "/" not in name and isinstance(data, dict) and (
                data.get("resourceType") in wanted
            ):
                resources.append(data)
    if not manifest:
        raise ValueError(f"{path}: not a FHIR package (no package/package.json)")
    return Package(manifest["name"], manifest["version"], manifest.get("canonical"), resources)


def _load_sushi_project(folder: Path, types: Iterable[str]) -> Package:
    """A SUSHI project folder: ``package-manifest.json`` + ``fsh-generated/resources``."""
    manifest = json.loads((folder / "package-manifest.json").read_text(encoding="utf-8"))
    wanted = set(types)
    resources = []
    for path in sorted((folder / "fsh-generated" / "resources").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("resourceType") in wanted:
            resources.append(data)
    return Package(manifest["name"], manifest["version"], manifest.get("canonical"), resources)


def load_package(path: Path, types: Iterable[str] = CONFORMANCE_TYPES) -> Package:
    """Load a FHIR package: a folder (``package/`` inside or not), a ``.tgz``, or a SUSHI
    project folder with ``package-manifest.json`` and ``fsh-generated/resources``."""
    path = Path(path)
    if path.is_dir() and (path / "package-manifest.json").exists():
        return _load_sushi_project(path, types)
    if path.is_dir():
        folder = path / "package" if (path / "package" / "package.json").exists() else path
        return _load_folder(folder, types)
    return _load_tgz(path, types)


class Registry:
    """Conformance resources by canonical URL and by (type, id); resource types from SDs."""

    def __init__(self) -> None:
        self.packages: list[Package] = []
        self._by_url: dict[str, dict[str, Any]] = {}
        self._by_type_id: dict[tuple[str, str], dict[str, Any]] = {}
        self._sd_by_type: dict[str, dict[str, Any]] = {}

    def add_package(self, package: Package) -> None:
        self.packages.append(package)
        for res in package.resources:
            self.add_resource(res)

    def add_resource(self, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        if "id" in res:
            self._by_type_id[(rtype, res["id"])] = res
        url = res.get("url")
        if isinstance(url, str):
            self._by_url[url] = res
            if isinstance(res.get("version"), str):
                self._by_url[f"{url}|{res['version']}"] = res
        if (
            rtype == "StructureDefinition"
            and res.get("derivation") == "specialization"
            and res.get("kind") in ("resource", "complex-type", "primitive-type", "logical")
        ):
            self._sd_by_type[res["type"]] = res

    # --- look-ups ------------------------------------------------------------------------

    def by_url(self, url: str) -> dict[str, Any] | None:
        return self._by_url.get(url)

    def get(self, rtype: str, rid: str) -> dict[str, Any] | None:
        return self._by_type_id.get((rtype, rid))

    def all_of(self, rtype: str) -> list[dict[str, Any]]:
        return [r for (t, _), r in self._by_type_id.items() if t == rtype]

    def type_definition(self, type_name: str) -> dict[str, Any] | None:
        return self._sd_by_type.get(type_name)

    def resource_types(self) -> list[str]:
        """Concrete resource types (kind=resource, not abstract), sorted."""
        return sorted(
            t
            for t, sd in self._sd_by_type.items()
            if sd.get("kind") == "resource" and not sd.get("abstract", False)
        )

    def profiles_for(self, rtype: str) -> list[str]:
        """Constraint profiles on a resource type from loaded IG packages (not core)."""
        return sorted(
            sd["url"]
            for sd in self.all_of("StructureDefinition")
            if sd.get("type") == rtype
            and sd.get("derivation") == "constraint"
            and sd.get("kind") == "resource"
            and not sd["url"].startswith("http://hl7.org/fhir/StructureDefinition/")
        )


def build_registry(core_dir: Path, ig_paths: Iterable[Path] = ()) -> Registry:
    registry = Registry()
    registry.add_package(load_package(core_dir))
    for path in ig_paths:
        registry.add_package(load_package(Path(path)))
    return registry
