"""The HL7 validator (tests/oracle) on the national shapes: our CareTeam converted to Cercle
de Soins and back, our plan converted to TDDUI (goals, needs, actions) and the TDDUI plans
(besoins, actions, attentes, projet de vie) converted to ours validate
with 0 errors against their profiles, with the vendored national guides and our IG loaded
(marker jvm)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_service.national import PROFILES
from tests.oracle.hl7_validator import HL7Validator, ensure_setup

pytestmark = pytest.mark.jvm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NATIONAL = [ROOT / "national" / g / "fsh-generated" / "resources"
            for g in ("ans-terminology", "fr-core", "cds", "tddui")]
OURS = ROOT / "build" / "ig" / "fr.cm.mentalhealth-0.1.0.tgz"


@pytest.fixture(scope="module")
def hl7() -> Iterator[HL7Validator]:
    ok, reason = ensure_setup()
    if not ok:
        pytest.skip(f"HL7 validator oracle unavailable: {reason}")
    if not OURS.exists():
        pytest.skip(f"{OURS.relative_to(ROOT)} is absent: run `make ig` first")
    with HL7Validator() as validator:
        yield validator


def test_conversions_are_valid_for_the_hl7_validator(hl7: HL7Validator) -> None:
    jobs = [
        (HERE / "golden" / "diego-careteam.cds.json", PROFILES["cds-careteam"]),
        (HERE / "golden" / "cds-careteam-dac.cm.json", PROFILES["cm-care-team"]),
        (HERE / "examples" / "cds-careteam-dac.json", PROFILES["cds-careteam"]),
    ]
    found = {}
    for path, profile in jobs:
        resource = json.loads(path.read_text(encoding="utf-8"))
        [result] = hl7.validate([resource], igs=[str(OURS), *map(str, NATIONAL)],
                                profiles=[profile], load_sources=False)
        found[path.name] = [f"{i.expression}: {i.message}" for i in result.errors]
    assert found == {path.name: [] for path, _ in jobs}


def test_tddui_conversions_are_valid_for_the_hl7_validator(hl7: HL7Validator) -> None:
    """Every resource of the converted plans, and of the TDDUI example, against the profile
    it claims."""
    found = {}
    for name in ("golden/diego-careplan.tddui.json", "golden/tddui-projet-perso-samsah.cm.json",
                 "examples/tddui-projet-perso-samsah.json",
                 "examples/tddui-projet-perso-besoins.json",  # needs (besoins)
                 "golden/tddui-projet-perso-besoins.cm.json",
                 "examples/tddui-projet-perso-actions.json",  # actions, attentes, projet de vie
                 "golden/tddui-projet-perso-actions.cm.json"):
        bundle = json.loads((HERE / name).read_text(encoding="utf-8"))
        resources = [e["resource"] for e in bundle["entry"]]
        results = hl7.validate(resources, igs=[str(OURS), *map(str, NATIONAL)],
                               load_sources=False)
        for res, result in zip(resources, results, strict=True):
            found[f"{name}:{res['resourceType']}/{res['id']}"] = [
                f"{i.expression}: {i.message}" for i in result.errors]
    assert found == {k: [] for k in found}
