"""Our verdicts vs the HL7 reference validator's on the IG examples and the mutation corpus
(skips without Java / the oracle set-up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_service.conformance.validator import Validator
from tests.validator.mutations import examples, mutants

ROOT = Path(__file__).resolve().parents[2]


def test_mutation_verdicts_agree_with_hl7(validator: Validator) -> None:
    hl7 = pytest.importorskip("tests.oracle.hl7_validator")
    ok, reason = hl7.available()
    if not ok:
        pytest.skip(reason)
    valid = examples()
    corpus = mutants(validator)
    sources = [r for _, r in valid] + [m.resource for m in corpus]
    with hl7.HL7Validator() as oracle:
        package = ROOT / "build" / "ig" / "fr.cm.mentalhealth-0.1.0.tgz"
        if not package.exists():
            pytest.skip("build/ig/ package absent: run make ig")
        results = oracle.validate(sources, igs=[str(package)], load_sources=False)
    theirs = [not r.valid for r in results]
    ours = [any(i.severity in ("error", "fatal") for i in validator.validate(s))
            for s in sources]
    names = [n for n, _ in valid] + [m.name for m in corpus]
    disagree = [(n, o, t) for n, o, t in zip(names, ours, theirs, strict=True) if o != t]
    agreement = 1 - len(disagree) / len(sources)
    print(f"agreement {agreement:.1%} on {len(sources)}; disagreements: {disagree}")
    assert not any(ours[: len(valid)]), "false errors on the valid IG examples"
    # measured 88.0% (117 instances): the HL7 validator does not reject a literal reference
    # of a type outside profiled targets (Substance/x for Reference(CMPatient)) when it cannot
    # resolve it; we do (by literal type), and the HL7 validator reports an error on
    # CareTeam-diego-careteam that we do not. Target 95%; this floor guards regressions.
    assert agreement >= 0.85, disagree
