"""The validator's speed-ups (compiled invariants, per-element plans, the memory of valid
primitives) change no issue: the IG's examples, its invalid examples, the mutation corpus and
the official examples of the case-management types give the same issues, in the same order,
with every speed-up switched off."""

from __future__ import annotations

import json
from typing import Any

import pytest

import fhir_service.conformance.structure as structure
from fhir_service import fhir
from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.validator import Validator, engine, plan, references
from fhir_service.conformance.validator import fhirpath as fp
from tests.validator.mutations import INVALID, examples, mutants

CASE_MANAGEMENT = {"CarePlan", "Goal", "CareTeam", "EpisodeOfCare", "Patient", "Practitioner",
                   "PractitionerRole", "Organization", "RelatedPerson", "ServiceRequest",
                   "Consent", "Provenance"}


def _switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fp, "USE_NATIVE", False)
    monkeypatch.setattr(structure, "_MEMO_LENGTH", -1)
    original = plan.Plan.__init__

    def every_child(self: plan.Plan, node: engine.Node) -> None:
        original(self, node)
        self.cardinality = tuple(node.children.items())

    def uncached(self: Validator, node: engine.Node, tname: str) -> Any:
        if node.children:
            return node, node.model
        return self._find_children_of(node, tname)

    def targets(validator: Validator, node: engine.Node) -> frozenset[str] | None:
        found = [p for t in node.types if t.code == "Reference" for p in t.targets]
        if not found or not all(p.startswith(plan.CORE) or validator.registry.by_url(p)
                                for p in found):
            return None
        return frozenset(validator._profile_type(p) for p in found)

    monkeypatch.setattr(plan.Plan, "__init__", every_child)
    monkeypatch.setattr(Validator, "_children_of", uncached)
    monkeypatch.setattr(references, "reference_targets", targets)


def _issues(validator: Validator, corpus: list[dict[str, Any]]) -> list[list[tuple[Any, ...]]]:
    return [[(i.severity, i.code, i.diagnostics, i.expression) for i in validator.validate(r)]
            for r in corpus]


def test_speedups_keep_every_issue(validator: Validator, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = core_package_dir()
    index = json.loads((folder / ".index.json").read_text())
    corpus = [r for _, r in examples()]
    corpus += [fhir.loads(p.read_bytes()) for p in sorted(INVALID.glob("*.json"))]
    corpus += [m.resource for m in mutants(validator)]
    corpus += [fhir.loads((folder / f["filename"]).read_bytes()) for f in index["files"]
               if f["resourceType"] in CASE_MANAGEMENT]
    assert len(corpus) > 200
    fast = Validator(validator.registry)
    fast_issues = _issues(fast, corpus)
    fast_again = _issues(fast, corpus)  # plans and memories filled: still the same
    with monkeypatch.context() as m:
        _switch_off(m)
        slow_issues = _issues(Validator(validator.registry), corpus)
    assert sum(map(len, slow_issues)) > 100  # the corpus does break rules
    assert fast_issues == slow_issues
    assert fast_again == slow_issues
