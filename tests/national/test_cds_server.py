"""ANS Cercle de Soins against the server: its profiles are known ($validate?profile=,
?_profile=), its SearchParameters are data (start, managingOrganization), and the search
flows of its "recherche et récupération" page work (chain without a type, _include:iterate=*,
an unknown parameter refused under Prefer: handling=strict and dropped from the self link
otherwise)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CDS = ROOT / "national" / "cds" / "fsh-generated" / "resources"
BASE = "https://interop.esante.gouv.fr/ig/fhir/cds/StructureDefinition"
H = {"Content-Type": "application/fhir+json"}

pytestmark = pytest.mark.skipif(not CDS.exists(), reason="national/cds not compiled")


def example(name: str) -> dict[str, Any]:
    return json.loads((CDS / name).read_text(encoding="utf-8"))


def put(client: Any, resource: dict[str, Any]) -> None:
    r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource,
                   headers=H)
    assert r.status_code in (200, 201), r.text


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}"
                  for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == mode)


@pytest.fixture
def circle(client: Any) -> Any:
    for name in ("Patient-cds-patient-example.json", "RelatedPerson-cds-relatedperson-example.json",
                 "Organization-cds-organization-example.json", "CareTeam-cds-careteam-example.json"):
        put(client, example(name))
    other = copy.deepcopy(example("CareTeam-cds-careteam-example.json"))
    other.update(id="cds-careteam-2018", period={"start": "2018-05-01"}, name="Autre cercle")
    other.pop("managingOrganization")
    other["identifier"] = [{"system": "http://fake-identifier.fr", "value": "2"}]
    put(client, other)
    return client


def errors(outcome: dict[str, Any]) -> list[str]:
    return [f"{i.get('expression')}: {i['diagnostics']}" for i in outcome.get("issue", [])
            if i["severity"] in ("error", "fatal")]


def test_validate_against_cds_profiles(client: Any) -> None:
    team = example("CareTeam-cds-careteam-example.json")
    r = client.post(f"/fhir/CareTeam/$validate?profile={BASE}/cds-ihe-careteam", json=team,
                    headers=H)
    assert r.status_code == 200, r.text
    assert errors(r.json()) == []
    # the person as a member is not Cercle de Soins: members are PractitionerRole,
    # RelatedPerson or Organization; and the team needs an identifier
    bad = copy.deepcopy(team)
    bad["participant"].append({"member": {"reference": "Patient/cds-patient-example"},
                               "period": {"start": "2013-01-12"}})
    bad.pop("identifier")
    r = client.post(f"/fhir/CareTeam/$validate?profile={BASE}/cds-ihe-careteam", json=bad,
                    headers=H)
    found = errors(r.json())
    assert any("identifier" in e for e in found), found
    assert any("participant[2].member" in e for e in found), found
    rp = example("RelatedPerson-cds-relatedperson-example.json")
    r = client.post(f"/fhir/RelatedPerson/$validate?profile={BASE}/cds-fr-related-person",
                    json=rp, headers=H)
    assert errors(r.json()) == []


def test_profile_search_knows_cds_profiles(circle: Any) -> None:
    r = circle.get(f"/fhir/CareTeam?_profile={BASE}/cds-ihe-careteam")
    assert r.status_code == 200, r.text


def test_cds_search_parameters_are_data(circle: Any) -> None:
    r = circle.get("/fhir/CareTeam?start=ge2015-01-01")
    assert r.status_code == 200, r.text
    assert ids(r.json()) == ["CareTeam/cds-careteam-2018"]
    r = circle.get("/fhir/CareTeam?managingOrganization=Organization/cds-organization-example")
    assert r.status_code == 200, r.text
    assert ids(r.json()) == ["CareTeam/cds-careteam-example"]
    # the organization's participation ended in 2032 (the example's end), the team's never
    r = circle.get("/fhir/CareTeam?participant-end=ge2032-01-01")
    assert ids(r.json()) == ["CareTeam/cds-careteam-2018", "CareTeam/cds-careteam-example"]
    r = circle.get("/fhir/CareTeam?participant-start=lt2014-01-01")
    assert ids(r.json()) == ["CareTeam/cds-careteam-2018", "CareTeam/cds-careteam-example"]
    assert ids(circle.get("/fhir/CareTeam?end:missing=false").json()) == []
    r = circle.get("/fhir/Patient?birthplace=GOULVEN")
    assert r.status_code == 200, r.text
    assert ids(r.json()) == ["Patient/cds-patient-example"]


def test_chain_without_type_and_wildcard_iterate_include(circle: Any) -> None:
    r = circle.get("/fhir/CareTeam?_include:iterate=*"
                   "&patient.identifier=urn:oid:1.2.250.1.213.1.4.8|123456789012244")
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert ids(bundle) == ["CareTeam/cds-careteam-2018", "CareTeam/cds-careteam-example"]
    assert ids(bundle, "include") == ["Organization/cds-organization-example",
                                      "Patient/cds-patient-example",
                                      "RelatedPerson/cds-relatedperson-example"]
    r = circle.get("/fhir/CareTeam?patient.identifier=urn:oid:1.2.250.1.213.1.4.8|nobody")
    assert ids(r.json()) == []


def test_unknown_parameter_strict_and_lenient(circle: Any) -> None:
    r = circle.get("/fhir/CareTeam?debut=2015", headers={"Prefer": "handling=strict"})
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    r = circle.get("/fhir/CareTeam?debut=2015&status=active")
    assert r.status_code == 200
    self_link = next(li["url"] for li in r.json()["link"] if li["relation"] == "self")
    assert "debut" not in self_link and "status=active" in self_link
