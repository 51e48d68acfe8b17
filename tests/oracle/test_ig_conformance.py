"""The reference HL7 validator on our own artefacts: every IG example (standalone resources and
the transaction bundles) and every resource the case-file mapping produces validates with
0 errors against R4 4.0.1 and the profiles it claims (issue 3 and issue 4 evidence).

The guide is given to the validator as the package ``profiles/build.sh`` builds
(build/ig/fr.cm.mentalhealth-0.1.0.tgz); the examples are validated on their own
(``load_sources=False``) so none of them lends its content to another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oracle.hl7_validator import HL7Validator, available
from tests.oracle.ig import DEFINITIONS, EXAMPLES, GOLDEN, PACKAGE, ROOT


@pytest.fixture(scope="module")
def hl7() -> Iterator[HL7Validator]:
    """A JVM of its own, kept as a safeguard. It was needed while the oracle's jobs shared one
    terminology cache: after any earlier job had checked a language code, our Questionnaire's
    'en' (all-languages) failed with "The System URI could not be determined". Each job now
    gets a fresh cache (OracleValidator.freshTxCache; test_jobs_do_not_leak_terminology_answers
    in test_hl7_validator.py), and this module also passes in the session's JVM after the
    official validator cases."""
    ok, reason = available()
    if not ok:
        pytest.skip(f"HL7 validator oracle unavailable: {reason}")
    with HL7Validator() as validator:
        yield validator


def _package() -> Path:
    if not PACKAGE.exists():
        pytest.skip(f"{PACKAGE.relative_to(ROOT)} is absent: run `make ig` first")
    return PACKAGE


def _errors(hl7: HL7Validator, named: dict[str, dict], alone: bool = False
            ) -> dict[str, list[str]]:
    """``alone``: one job per resource. The validator's terminology cache lives as long as a
    job, and once a job has checked one language code (a Measure's ``language``), a later
    translation's 'en' (all-languages) fails with "The System URI could not be determined"
    in the same job: a known fault of the reference validator, not of the resource."""
    if alone:
        results = [hl7.validate([res], igs=[str(_package())], load_sources=False)[0]
                   for res in named.values()]
    else:
        results = hl7.validate(list(named.values()), igs=[str(_package())],
                               load_sources=False)
    return {name: [f"{i.expression}: {i.message}" for i in r.errors]
            for name, r in zip(named, results, strict=True) if r.errors}


def test_every_ig_example_is_valid_for_the_hl7_validator(hl7: HL7Validator) -> None:
    named = {}
    for path in sorted(EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_bytes())
        if resource["resourceType"] not in DEFINITIONS:
            named[path.stem] = resource
    assert len(named) >= 20, sorted(named)
    assert any(r["resourceType"] == "Bundle" for r in named.values())
    assert _errors(hl7, named, alone=True) == {}


def test_every_mapping_output_is_valid_for_the_hl7_validator(hl7: HL7Validator) -> None:
    named = {}
    for path in sorted(GOLDEN.glob("*.transaction.json")):
        bundle = json.loads(path.read_bytes())
        for n, entry in enumerate(bundle["entry"]):
            resource = entry["resource"]
            named[f"{path.stem}#{n}:{resource['resourceType']}/{resource.get('id')}"] = resource
    assert len(named) >= 20, sorted(named)
    assert _errors(hl7, named) == {}
