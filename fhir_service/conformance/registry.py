"""Definitions registry: the R4 core package plus any IG packages, loaded as data.

https://hl7.org/fhir/R4/conformance-module.html — StructureDefinitions, SearchParameters,
ValueSets, CodeSystems, OperationDefinitions are FHIR resources; we never re-type them.
Packages are FHIR npm packages (a folder with ``package.json`` and ``.index.json``, or a
``.tgz``); the index is read at start-up and resources are loaded on first use. Like the HL7
validator's ``-ig``, loose conformance files are accepted too: a single JSON or XML resource
(a StructureDefinition as partners send them; a Bundle contributes its entries), or a folder
of such files without ``package.json`` (its files, not its sub-folders). A path that cannot be
read as any of these raises :class:`PackageError` with a one-line reason.
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
    # definitions of forms (the bilan fonctionnel): served by the server, and a response is
    # checked against its Questionnaire when the Questionnaire is known
    "Questionnaire",
)


class PackageError(ValueError):
    """A package or conformance file that cannot be loaded (the message names it and why)."""


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


LOOSE_SUFFIXES = (".json", ".xml")


def _loose_resources(path: Path, registry: Registry | None, explicit: bool) -> list[Any]:
    """The resources of one loose JSON or XML file (a Bundle's entries as well). In a folder
    (``explicit`` False) a file that is not a FHIR resource (a tool's settings, a build file)
    is skipped; a file named on its own must be one."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".xml":
        from fhir_service.conformance.validator.xmlformat import FHIR_NS, XmlReader
        from fhir_service.outcomes import FhirError

        if not explicit and f'"{FHIR_NS}"'.encode() not in raw[:4096] \
                and f"'{FHIR_NS}'".encode() not in raw[:4096]:
            return []
        if registry is None or registry.type_definition("StructureDefinition") is None:
            raise PackageError(f"{path}: reading FHIR XML needs the core definitions loaded "
                               "first")
        try:
            data: Any = XmlReader(registry).loads(raw)
        except FhirError as exc:
            raise PackageError(f"{path}: not FHIR XML: {exc.message}") from None
    else:
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PackageError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        if explicit:
            raise PackageError(f"{path}: not a FHIR resource (no resourceType)")
        return []
    found = [data]
    if data["resourceType"] == "Bundle":
        found.extend(e["resource"] for e in data.get("entry", []) if isinstance(e, dict)
                     and isinstance(e.get("resource"), dict)
                     and isinstance(e["resource"].get("resourceType"), str))
    return found


def _load_loose(path: Path, types: Iterable[str], registry: Registry | None) -> Package:
    """Loose conformance resources: one JSON/XML file, or the JSON/XML files of a folder."""
    wanted = set(types)
    files = [path] if path.is_file() else sorted(
        p for p in path.iterdir() if p.is_file() and p.suffix.lower() in LOOSE_SUFFIXES
        and not p.name.startswith("."))
    resources = []
    seen: list[str] = []
    for file in files:
        for res in _loose_resources(file, registry, explicit=path.is_file()):
            seen.append(res["resourceType"])
            if res["resourceType"] in wanted:
                resources.append(res)
    if not resources:
        what = (f"a {seen[0]}" if len(seen) == 1 else f"{len(seen)} resources") if seen \
            else "no FHIR resource"
        raise PackageError(f"{path}: {what}, no conformance resource "
                           "(StructureDefinition, ValueSet, CodeSystem, …) to load")
    return Package(f"loose:{path.name}", "0.0.0", None, resources)


def load_package(path: Path, types: Iterable[str] = CONFORMANCE_TYPES,
                 registry: Registry | None = None) -> Package:
    """Load a FHIR package: a folder (``package/`` inside or not), a ``.tgz``, or a SUSHI
    project folder with ``package-manifest.json`` and ``fsh-generated/resources``; or loose
    conformance resources: a ``.json``/``.xml`` file, or a folder of them without
    ``package.json`` (XML is read with the type definitions of ``registry``, the core ones).
    Raises :class:`PackageError` for anything else."""
    path = Path(path)
    try:
        if not path.exists():
            raise PackageError(f"{path}: no such file or folder")
        if path.is_dir() and (path / "package-manifest.json").exists():
            return _load_sushi_project(path, types)
        if path.is_dir():
            folder = path / "package" if (path / "package" / "package.json").exists() else path
            if (folder / "package.json").exists():
                return _load_folder(folder, types)
            return _load_loose(path, types, registry)
        if path.suffix.lower() in LOOSE_SUFFIXES:
            return _load_loose(path, types, registry)
        return _load_tgz(path, types)
    except PackageError:
        raise
    except (OSError, tarfile.TarError, EOFError, UnicodeDecodeError, ValueError, KeyError,
            TypeError) as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise PackageError(f"{path}: not a FHIR package, a .tgz or a conformance resource "
                           f"file ({detail})") from None


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
        registry.add_package(load_package(Path(path), registry=registry))
    return registry
