"""The vendored national guides (national/) and our ConceptMaps to them: the committed
compiled JSON is what the vendored FSH compiles to (when SUSHI is installed), every local edit
is marked, every package loads, and every code the ConceptMaps name exists in its code system
(ours, or the ANS fragment vendored in national/ans-terminology)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NATIONAL = ROOT / "national"
GUIDES = ("ans-terminology", "fr-core", "cds", "tddui")
SUSHI = ROOT / ".cache" / "sushi" / "node_modules" / ".bin" / "sushi"
RESOURCES = ROOT / "profiles" / "fsh-generated" / "resources"


def _resources(folder: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.json"))]


@pytest.mark.parametrize("guide", GUIDES)
def test_each_guide_is_compiled_and_loads(guide: str) -> None:
    from fhir_service.conformance.registry import load_package

    folder = NATIONAL / guide
    manifest = json.loads((folder / "package-manifest.json").read_text(encoding="utf-8"))
    package = load_package(folder)
    assert package.name == manifest["name"] and package.resources
    assert all(r["resourceType"] for r in package.resources)


def test_every_local_edit_is_marked_and_sources_are_named() -> None:
    source = (NATIONAL / "SOURCE.md").read_text(encoding="utf-8")
    assert "14fa8699d823d5b88252188a014a831675442559" in source  # Cercle de Soins
    assert "0b5190d6eea292b984f419dc701e01471132ef76" in source  # TDDUI
    assert (NATIONAL / "cds" / "LICENSE").exists()
    # the Annuaire Santé profiles are not vendored: no rule may still name them unmarked
    for path in (NATIONAL / "cds" / "input" / "fsh").rglob("*.fsh"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if ("as-practitioner" in line or "as-organization" in line) \
                    and not line.lstrip().startswith("//"):
                assert "cm-fhir:" in line, f"{path.name}: {line}"


@pytest.mark.skipif(not SUSHI.exists(), reason="SUSHI is not installed (bash profiles/build.sh "
                    "installs it into .cache/sushi)")
def test_the_committed_output_is_what_the_fsh_compiles_to() -> None:
    run = subprocess.run([sys.executable, str(NATIONAL / "build.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def _codes(resources: list[dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def walk(system: str, concepts: list[dict]) -> None:
        for c in concepts:
            out.setdefault(system, set()).add(c["code"])
            walk(system, c.get("concept", []))

    for r in resources:
        if r["resourceType"] == "CodeSystem":
            walk(r["url"], r.get("concept", []))
    return out


def test_conceptmap_codes_exist() -> None:
    codes = _codes(_resources(RESOURCES))
    for guide in GUIDES:
        for system, found in _codes(_resources(NATIONAL / guide / "fsh-generated" /
                                               "resources")).items():
            codes.setdefault(system, set()).update(found)
    maps = [r for r in _resources(RESOURCES) if r["resourceType"] == "ConceptMap"
            and ("cds" in r["id"] or r["id"] == "cm-plan-type-to-tre-r390")]
    assert len(maps) == 3
    for cm in maps:
        for group in cm["group"]:
            assert group["source"] in codes and group["target"] in codes, group["source"]
            for element in group["element"]:
                assert element["code"] in codes[group["source"]], (cm["id"], element["code"])
                for target in element["target"]:
                    if target["equivalence"] != "unmatched":
                        assert target["code"] in codes[group["target"]], (cm["id"], target)
