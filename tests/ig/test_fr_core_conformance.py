"""Our actors are FR Core (and Cercle de Soins) actors without conversion: every example of
our guide whose type FR Core profiles validates with 0 errors against that profile too,
through the server's own ``$validate?profile=`` with the vendored national guides
(docs/national-guides.md, "Our profiles and the national ones").

Our profiles keep the base resources as parents (deriving them would make SUSHI need the
FR Core package to compile ours); this test is what keeps the claim true as both move.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "profiles" / "fsh-generated" / "resources"
FR = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
CDS = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition/"
NATIONAL = {
    "Patient": [f"{FR}fr-core-patient"],
    "Organization": [f"{FR}fr-core-organization"],
    "RelatedPerson": [f"{FR}fr-core-related-person", f"{CDS}cds-fr-related-person"],
}


def examples() -> list[tuple[str, str]]:
    out = []
    for path in sorted(GENERATED.glob("*.json")):
        rtype = json.loads(path.read_text())["resourceType"]
        out += [(path.name, profile) for profile in NATIONAL.get(rtype, [])]
    return out


def test_every_national_actor_type_has_examples() -> None:
    kinds = {name.split("-", 1)[0] for name, _ in examples()}
    assert kinds == set(NATIONAL), kinds


@pytest.mark.parametrize(("name", "profile"), examples())
def test_our_example_conforms_to_the_national_profile(client: Any, name: str,
                                                      profile: str) -> None:
    resource = json.loads((GENERATED / name).read_text())
    answer = client.post(f"/fhir/{resource['resourceType']}/$validate?profile={profile}",
                         json=resource)
    assert answer.status_code == 200, answer.text
    errors = [f"{i.get('diagnostics')} @ {i.get('expression')}"
              for i in answer.json()["issue"] if i["severity"] in ("error", "fatal")]
    assert errors == [], errors


def test_a_national_constraint_is_checked(client: Any) -> None:
    """The check can fail: FR Core requires ``Organization.identifier.system`` (the base
    resource does not); without it the example is valid R4 but not FR Core."""
    organization = json.loads((GENERATED / "Organization-org-cjaad.json").read_text())
    del organization["identifier"][0]["system"]
    organization.pop("meta", None)

    def errors(query: str) -> list[str]:
        answer = client.post(f"/fhir/Organization/$validate{query}", json=organization)
        return [" ".join(i.get("expression", [])) for i in answer.json()["issue"]
                if i["severity"] in ("error", "fatal")]

    assert errors("") == []
    assert any("identifier" in e for e in errors(f"?profile={FR}fr-core-organization"))
