"""The compiled invariants (``validator/native.py``) give fhirpathpy's verdict on every
invariant the validator evaluates while validating every official R4 example, the IG's
examples, its invalid examples and the mutation corpus (which breaks every IG invariant)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator import fhirpath as fp
from fhir_service.conformance.validator.native import compile_native
from fhir_service.fhirpath.rewrites import invariant_expression
from tests.validator.mutations import INVALID, examples, mutants

CM_CARE_PLAN = "https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-care-plan"


class _Comparer:
    """Stands in for ``fhirpath.evaluate``: evaluates both ways, keeps the disagreements."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.by_key: Counter[str] = Counter()
        self.mismatches: list[tuple[str, str, str, Any, Any]] = []

    def __call__(self, inv: fp.Invariant, node: Any, type_path: str, resource: Any,
                 root: Any) -> bool | None:
        reference = fp.evaluate_fhirpath(inv, node, type_path, resource, root)
        if inv.fn is None:
            return reference
        ours = fp.evaluate_native(inv, node, type_path, resource, root)
        if ours is fp.NOT_NATIVE:
            self.counts["fhirpathpy"] += 1
        else:
            self.counts["native"] += 1
            self.by_key[inv.key] += 1
            if ours != reference:
                self.mismatches.append((inv.key, inv.expression, type_path, ours, reference))
        return reference


# the definitions' own resources are many and large (one StructureDefinition snapshot is
# thousands of ElementDefinitions): every example and 1 definition in 5 keeps the test short
_DEFINITIONS = {"StructureDefinition", "CodeSystem", "ValueSet", "ImplementationGuide",
                "SearchParameter", "OperationDefinition", "CapabilityStatement", "ConceptMap",
                "CompartmentDefinition", "NamingSystem"}


def _core_resources() -> list[dict[str, Any]]:
    folder = core_package_dir()
    index = json.loads((folder / ".index.json").read_text())
    out = []
    for i, f in enumerate(index["files"]):
        path = folder / f["filename"]
        if path.stat().st_size > 300_000:  # the aggregate Bundles of definitions, and a few
            continue                       # giant code systems
        if f["resourceType"] in _DEFINITIONS and i % 5:
            continue
        out.append(fhir.loads(path.read_bytes()))
    return out


def test_native_invariants_agree_with_fhirpathpy(validator: Validator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    comparer = _Comparer()
    monkeypatch.setattr(fp, "evaluate", comparer)
    corpus: list[tuple[dict[str, Any], list[str]]] = [(r, []) for r in _core_resources()]
    corpus += [(r, []) for _, r in examples()]
    corpus += [(fhir.loads(p.read_bytes()), []) for p in sorted(INVALID.glob("*.json"))]
    corpus += [(m.resource, []) for m in mutants(validator)]
    assert len(corpus) > 1500
    t0 = time.perf_counter()
    for resource, profiles in corpus:
        validator.validate(resource, profiles)
    print(f"{len(corpus)} resources in {time.perf_counter() - t0:.0f} s; {dict(comparer.counts)};"
          f" native by key: {comparer.by_key.most_common(15)}")
    assert not comparer.mismatches, comparer.mismatches[:20]
    # the compiled subset carries the bulk of the work, and the IG's own invariants
    assert comparer.counts["native"] > 5 * comparer.counts["fhirpathpy"], comparer.counts
    expected = {"per-1", "cpl-3"}
    model = validator.model(CM_CARE_PLAN)
    if model is not None and any(r.get("resourceType") == "CarePlan" for _, r in examples()):
        expected |= {i.key for n in model.by_id.values() for i in n.invariants
                     if i.key.startswith("cm-")}
    assert not [k for k in sorted(expected) if not comparer.by_key[k]]


def test_native_invariants_agree_on_the_whole_package(validator: Validator,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file of the R4 package, definition bundles included (2 minutes of CPU)."""
    if os.environ.get("CM_FHIR_FULL_EQUIVALENCE") != "1":
        pytest.skip("set CM_FHIR_FULL_EQUIVALENCE=1 to compare on all 5,306 files of the package")
    comparer = _Comparer()
    monkeypatch.setattr(fp, "evaluate", comparer)
    folder = core_package_dir()
    for f in json.loads((folder / ".index.json").read_text())["files"]:
        validator.validate(fhir.loads((folder / f["filename"]).read_bytes()))
    print(dict(comparer.counts))
    assert not comparer.mismatches, comparer.mismatches[:20]
    assert comparer.counts["native"] > 1_000_000


def test_native_semantics_follow_fhirpathpy_on_edge_cases() -> None:
    """Failures, empty operands and choice elements, checked one by one against fhirpathpy."""
    cases = [
        ("a.exists() and b", {"a": 1, "b": "x"}),  # a non-boolean operand: fhirpathpy raises
        ("a.exists() or b.exists()", {"b": [1, 2]}),
        ("a and b", {"a": [True, False]}),  # a collection operand
        ("a.not()", {"a": "text"}),  # a non-boolean singleton is true
        ("a.count() > 1 implies b.empty()", {"a": [1, 2], "b": "x"}),
        ("a = 'x'", {"a": ["x", "y"]}),  # fhirpathpy: different lengths are unequal
        ("a = b", {"a": ["x", "y"], "b": ["x", "z"]}),  # fhirpathpy: first items only
        ("a <= b", {"a": "2020-01-02", "b": "2020-01"}),  # strings compared as strings
        ("a.where(b = 'x').exists()", {"a": [{"b": "x"}, {"b": "y"}]}),
        ("a.all(b.exists())", {"a": [{"b": 1}, {}]}),
        ("a.matches('^[0-9]+$')", {"a": "123"}),
        ("a.startsWith('ab')", {"a": ""}),
        ("a.subsetOf(b)", {"a": ["x"], "b": ["x", "y"]}),
        ("a.intersect(b).exists()", {"a": ["x"], "b": ["y"]}),
        ("a contains 'x'", {"a": ["y", "x"]}),
        ("a in b", {"a": ["x", "y"], "b": ["x"]}),  # fhirpathpy raises
        ("b.all(x.empty() or %resource.a contains x)", {"a": ["x"], "b": [{"x": "x"}]}),
        ("c.value = 'x'", {"c": {"valueCode": "x"}}),  # unknown path: left to fhirpathpy
        ("iif(a.exists(), b.exists(), true)", {"a": 1}),
        ("a.iif(empty(), true, b.exists())", {}),
        ("a.resolve().iif(empty(), true, ofType(Patient).exists())",
         {"a": {"reference": "Patient/1"}}),  # resolves to nothing: true
        ("a.resolve().iif(empty(), true, ofType(Patient).exists())",  # resolves: fhirpathpy
         {"a": {"reference": "#p"}, "contained": [{"resourceType": "Practitioner", "id": "p"}]}),
    ]
    for expression, data in cases:
        assert compile_native(invariant_expression(expression), "Basic") is not None, expression
        inv = fp.InvariantCache().compile({"key": "t-1", "expression": expression})
        assert inv is not None
        scope = fp.set_scope(data, data, None)
        try:
            reference = fp.evaluate_fhirpath(inv, data, "Basic", data, data)
            got = fp.evaluate(inv, data, "Basic", data, data)  # compiled, or fhirpathpy on Bail
        finally:
            fp.restore_scope(scope)
        assert got == reference, (expression, data, got, reference)
    # outside the subset: left to fhirpathpy
    assert compile_native("a.descendants().exists()", "Basic") is None
    assert compile_native("a is Quantity", "Basic") is None
    assert compile_native("(a | b).count() = 1", "Basic") is None
    assert compile_native("Patient.name", "Patient") is None
    assert compile_native("a.descendants().count() > 1", "Basic") is None
