"""Each FHIRPath invariant of the guide holds on every valid example of its profile and is
false on its failing example (tests/ig/invalid/<key>.json).

FHIRPath: https://hl7.org/fhirpath/N1/ ; invariants: https://hl7.org/fhir/R4/conformance-rules.html
"""

from __future__ import annotations

import json

import pytest
from fhirpathpy import evaluate
from fhirpathpy.models import models
from ig_artifacts import INVALID, Resource, examples_of, invariants, require_compiled

require_compiled()

R4 = models["r4"]
INVARIANTS = sorted(set(invariants()))


def holds(expression: str, resource: Resource) -> list[object]:
    env = {"resource": resource, "rootResource": resource}
    return evaluate(resource, expression, env, R4)


def test_the_guide_defines_the_expected_invariants() -> None:
    keys = {key for key, *_ in INVARIANTS}
    assert {"cm-team-1", "cm-cp-1", "cm-goal-1", "cm-pat-1"} <= keys
    assert len(keys) == len(INVARIANTS), "an invariant key is defined twice"


@pytest.mark.parametrize(("key", "profile", "element", "expression"), INVARIANTS)
def test_invariant_is_declared_on_the_resource_root(
    key: str, profile: str, element: str, expression: str
) -> None:
    # The tests (and the service) evaluate invariants on whole resources.
    assert "." not in element, f"{key} is declared on {element}, not on the resource"


@pytest.mark.parametrize(("key", "profile", "element", "expression"), INVARIANTS)
def test_invariant_holds_on_every_valid_example(
    key: str, profile: str, element: str, expression: str
) -> None:
    valid = examples_of(profile)
    assert valid, f"no example of {profile}"
    for resource in valid:
        assert holds(expression, resource) == [True], f"{key} fails on {resource['id']}"


@pytest.mark.parametrize(("key", "profile", "element", "expression"), INVARIANTS)
def test_invariant_catches_its_failing_example(
    key: str, profile: str, element: str, expression: str
) -> None:
    path = INVALID / f"{key}.json"
    assert path.exists(), f"no failing example for {key} ({path.name})"
    resource = json.loads(path.read_text(encoding="utf-8"))
    assert resource["resourceType"] == element
    assert holds(expression, resource) == [False]


def test_every_failing_example_belongs_to_an_invariant() -> None:
    keys = {key for key, *_ in INVARIANTS}
    files = {path.stem for path in INVALID.glob("*.json")}
    assert files <= keys, f"failing examples without an invariant: {sorted(files - keys)}"
