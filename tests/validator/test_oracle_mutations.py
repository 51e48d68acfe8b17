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
        # one job per resource: the oracle's terminology cache lives as long as a job, and a
        # language code checked first (a Measure's language) makes a later translation's 'en'
        # fail in the same job (tests/oracle/test_ig_conformance.py)
        results = [oracle.validate([s], igs=[str(package)], load_sources=False)[0]
                   for s in sources]
    theirs = [not r.valid for r in results]
    names = [n for n, _ in valid] + [m.name for m in corpus]
    # The HL7 validator's command line runs without a reference resolver: it checks the type
    # of a reference whose target it can resolve (contained, in the Bundle), not the type a
    # literal reference implies (Substance/x for Reference(Patient)). We check both by
    # default; compared under the oracle's policy, and reported under ours.
    like_oracle = Validator(validator.registry, unresolved_reference_types="warning")

    def verdicts(v: Validator) -> list[bool]:
        return [any(i.severity in ("error", "fatal") for i in v.validate(s)) for s in sources]

    def disagreements(ours: list[bool]) -> list[tuple[str, bool, bool]]:
        return [(n, o, t) for n, o, t in zip(names, ours, theirs, strict=True) if o != t]

    same_policy = disagreements(verdicts(like_oracle))
    strict = disagreements(verdicts(validator))
    agreement = 1 - len(same_policy) / len(sources)
    print(f"agreement {agreement:.1%} on {len(sources)} (same reference policy); "
          f"{1 - len(strict) / len(sources):.1%} with our default policy, where the "
          f"disagreements are literal reference types: {strict}")
    assert not any(verdicts(like_oracle)[: len(valid)]), "false errors on the valid IG examples"
    assert not any(verdicts(validator)[: len(valid)]), "false errors on the valid IG examples"
    # measured 100% (146 instances); the target is 95%
    assert agreement >= 0.95, same_policy
    # our default differs only on the literal reference type mutants, which the oracle skips
    assert all("/ref-type-" in n and o and not t for n, o, t in strict), strict
