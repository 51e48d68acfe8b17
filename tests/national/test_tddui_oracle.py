"""The HL7 validator (tests/oracle) on the TDDUI shapes added with needs, actions,
expectations and the projet de vie: the examples written from the guide and their
conversions to ours validate with 0 errors against the profiles they claim, with the vendored
national guides and our IG loaded (marker jvm: runs in CI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.national.test_national_oracle import NATIONAL, OURS
from tests.oracle.hl7_validator import HL7Validator, ensure_setup

pytestmark = pytest.mark.jvm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FILES = ("examples/tddui-projet-perso-besoins.json", "golden/tddui-projet-perso-besoins.cm.json",
         "examples/tddui-projet-perso-actions.json", "golden/tddui-projet-perso-actions.cm.json")


@pytest.fixture(scope="module")
def hl7() -> Iterator[HL7Validator]:
    ok, reason = ensure_setup()
    if not ok:
        pytest.skip(f"HL7 validator oracle unavailable: {reason}")
    if not OURS.exists():
        pytest.skip(f"{OURS.relative_to(ROOT)} is absent: run `make ig` first")
    with HL7Validator() as validator:
        yield validator


def test_tddui_needs_and_actions_are_valid_for_the_hl7_validator(hl7: HL7Validator) -> None:
    found = {}
    for name in FILES:
        bundle = json.loads((HERE / name).read_text(encoding="utf-8"))
        resources = [e["resource"] for e in bundle["entry"]]
        results = hl7.validate(resources, igs=[str(OURS), *map(str, NATIONAL)],
                               load_sources=False)
        for res, result in zip(resources, results, strict=True):
            found[f"{name}:{res['resourceType']}/{res['id']}"] = [
                f"{i.expression}: {i.message}" for i in result.errors]
    assert found == {k: [] for k in found}
