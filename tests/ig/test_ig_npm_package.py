"""profiles/scripts/make_package.py turns the committed JSON into a loadable FHIR npm package
(package/package.json, package/.index.json, examples under package/example/), reproducibly.

FHIR packages: https://confluence.hl7.org/display/FHIR/NPM+Package+Specification
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

from ig_artifacts import RESOURCES, ROOT, require_compiled

require_compiled()

SCRIPT = ROOT / "profiles" / "scripts" / "make_package.py"


def _build(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_package", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(
        [
            "--resources", str(RESOURCES),
            "--manifest", str(ROOT / "profiles" / "package-manifest.json"),
            "--sushi-config", str(ROOT / "profiles" / "sushi-config.yaml"),
            "--out", str(out),
        ]
    )  # fmt: skip
    (tgz,) = out.glob("*.tgz")
    return tgz


def test_package_layout_and_indexes(tmp_path: Path) -> None:
    tgz = _build(tmp_path / "a")
    assert tgz.name == "fr.cm.mentalhealth-0.1.0.tgz"
    with tarfile.open(tgz) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        index = json.load(tar.extractfile("package/.index.json"))  # type: ignore[arg-type]
        examples = json.load(tar.extractfile("package/example/.index.json"))  # type: ignore[arg-type]
    assert manifest["name"] == "fr.cm.mentalhealth"
    assert manifest["fhirVersions"] == ["4.0.1"]
    assert manifest["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}
    assert index["index-version"] == 2
    types = {f["resourceType"] for f in index["files"]}
    assert {"StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter"} <= types
    assert {"OperationDefinition", "ConceptMap", "Questionnaire"} <= types
    assert {f["resourceType"] for f in examples["files"]} >= {"Bundle", "CarePlan", "Patient"}
    for entry in index["files"]:
        assert f"package/{entry['filename']}" in names
    for entry in examples["files"]:
        assert f"package/example/{entry['filename']}" in names


def test_package_is_reproducible(tmp_path: Path) -> None:
    first = _build(tmp_path / "a").read_bytes()
    second = _build(tmp_path / "b").read_bytes()
    assert first == second
