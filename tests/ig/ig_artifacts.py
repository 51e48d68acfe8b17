"""Read the committed, compiled implementation guide (profiles/fsh-generated/resources).

Helpers shared by the tests of tests/ig/. They read only committed files: the tests skip,
with a reason, when the compiled JSON is absent (run `make ig` to produce it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "profiles" / "fsh-generated" / "resources"
INVALID = Path(__file__).resolve().parent / "invalid"
CANONICAL = "https://interop.cm-sante-mentale.fr/fhir"
DEFINITION_TYPES = {
    "CodeSystem",
    "ConceptMap",
    "OperationDefinition",
    "Questionnaire",
    "SearchParameter",
    "StructureDefinition",
    "ValueSet",
}

Resource = dict[str, Any]


def require_compiled() -> None:
    if not RESOURCES.is_dir() or not any(RESOURCES.glob("*.json")):
        pytest.skip(
            f"compiled IG JSON absent ({RESOURCES.relative_to(ROOT)}): run `make ig`",
            allow_module_level=True,
        )


@cache
def all_resources() -> tuple[Resource, ...]:
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(RESOURCES.glob("*.json"))
    )


def definitions(resource_type: str) -> list[Resource]:
    return [r for r in all_resources() if r["resourceType"] == resource_type]


def profiles() -> list[Resource]:
    return [
        sd
        for sd in definitions("StructureDefinition")
        if sd.get("kind") == "resource" and sd.get("derivation") == "constraint"
    ]


def examples() -> list[Resource]:
    """Every example instance: standalone ones and the entries of example Bundles."""
    found: list[Resource] = []
    for res in all_resources():
        if res["resourceType"] in DEFINITION_TYPES:
            continue
        found.append(res)
        if res["resourceType"] == "Bundle":
            found.extend(entry["resource"] for entry in res.get("entry", []))
    return found


def examples_of(profile_url: str) -> list[Resource]:
    return [r for r in examples() if profile_url in r.get("meta", {}).get("profile", [])]


def invariants() -> Iterator[tuple[str, str, str, str]]:
    """(key, profile url, element id, expression) of every invariant the guide defines."""
    for sd in profiles():
        for element in sd.get("differential", {}).get("element", []):
            for constraint in element.get("constraint", []):
                if constraint["key"].startswith("cm-"):
                    yield constraint["key"], sd["url"], element["id"], constraint["expression"]
