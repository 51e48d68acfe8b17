"""Search: every parameter type and modifier, chains, _has, includes, sort, summary, paging."""

from __future__ import annotations

from typing import Any

import pytest

H = {"Content-Type": "application/fhir+json"}


def put(client: Any, resource: dict[str, Any]) -> dict[str, Any]:
    r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource, headers=H)
    assert r.status_code in (200, 201), r.text
    return r.json()


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == mode]


def search(client: Any, url: str) -> dict[str, Any]:
    r = client.get(f"/fhir/{url}")
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def world(client: Any) -> Any:
    put(client, {"resourceType": "Organization", "id": "cmp", "name": "CMP Paris 14",
                 "identifier": [{"system": "https://finess.esante.gouv.fr", "value": "750000029"}]})
    put(client, {"resourceType": "Practitioner", "id": "cm1",
                 "name": [{"family": "Durand", "given": ["David"]}],
                 "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": "10000000001"}]})
    put(client, {"resourceType": "PractitionerRole", "id": "cm1-role",
                 "practitioner": {"reference": "Practitioner/cm1"},
                 "organization": {"reference": "Organization/cmp"}})
    put(client, {"resourceType": "Patient", "id": "diego", "gender": "male",
                 "birthDate": "2004-03-12", "active": True,
                 "name": [{"family": "Martin", "given": ["Diégo"]}],
                 "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.10",
                                 "value": "104037511445612"}],
                 "telecom": [{"system": "phone", "value": "+33600000001"}],
                 "address": [{"city": "Paris", "postalCode": "75014"}]})
    put(client, {"resourceType": "Patient", "id": "nadia", "gender": "female",
                 "birthDate": "1985-07-30", "name": [{"family": "Benali", "given": ["Nadia"]}],
                 "meta": {"tag": [{"system": "urn:test", "code": "demo"}]}})
    for gid, pid, domain, due, status in [
        ("g1", "diego", "scolarite-formation", "2026-09-01", "active"),
        ("g2", "diego", "hygiene-de-vie", "2026-04-30", "active"),
        ("g3", "diego", "sante", "2026-03-31", "completed"),
        ("g4", "nadia", "logement", "2026-06-30", "active"),
    ]:
        put(client, {"resourceType": "Goal", "id": gid, "lifecycleStatus": status,
                     "category": [{"coding": [{"system": "urn:cm:life-domain", "code": domain}],
                                   "text": domain}],
                     "description": {"text": f"Goal {gid}"},
                     "subject": {"reference": f"Patient/{pid}"},
                     "target": [{"dueDate": due}]})
    put(client, {"resourceType": "CareTeam", "id": "team-diego", "status": "active",
                 "subject": {"reference": "Patient/diego"},
                 "participant": [{"member": {"reference": "PractitionerRole/cm1-role"}}]})
    put(client, {"resourceType": "EpisodeOfCare", "id": "ep-diego", "status": "active",
                 "patient": {"reference": "Patient/diego"},
                 "managingOrganization": {"reference": "Organization/cmp"},
                 "careManager": {"reference": "Practitioner/cm1"},
                 "team": [{"reference": "CareTeam/team-diego"}],
                 "period": {"start": "2026-01-12"}})
    put(client, {"resourceType": "CarePlan", "id": "plan-diego", "status": "active",
                 "intent": "plan", "title": "Projet de Diego",
                 "subject": {"reference": "Patient/diego"},
                 "period": {"start": "2026-01-26", "end": "2026-09-30"},
                 "careTeam": [{"reference": "CareTeam/team-diego"}],
                 "goal": [{"reference": "Goal/g1"}, {"reference": "Goal/g2"},
                          {"reference": "Goal/g3"}]})
    put(client, {"resourceType": "CarePlan", "id": "plan-nadia", "status": "draft",
                 "intent": "plan", "subject": {"reference": "Patient/nadia"},
                 "period": {"start": "2025-11-01"},
                 "goal": [{"reference": "Goal/g4"}]})
    put(client, {"resourceType": "Observation", "id": "obs1", "status": "final",
                 "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                 "subject": {"reference": "Patient/diego"},
                 "valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org",
                                   "code": "kg"}})
    put(client, {"resourceType": "RiskAssessment", "id": "risk1", "status": "final",
                 "subject": {"reference": "Patient/diego"},
                 "prediction": [{"probabilityDecimal": 0.25}]})
    return client


def test_token(world: Any) -> None:
    assert ids(search(world, "Patient?gender=male")) == ["diego"]
    assert ids(search(world, "Patient?gender:not=male")) == ["nadia"]
    assert ids(search(world, "Patient?identifier=urn:oid:1.2.250.1.213.1.4.10|104037511445612")) \
        == ["diego"]
    assert ids(search(world, "Patient?identifier=|104037511445612")) == []
    assert ids(search(world, "Patient?identifier=104037511445612")) == ["diego"]
    assert ids(search(world, "Patient?identifier=urn:oid:1.2.250.1.213.1.4.10|")) == ["diego"]
    assert ids(search(world, "Patient?active=true")) == ["diego"]
    assert sorted(ids(search(world, "Goal?category=urn:cm:life-domain|sante,logement"))) == \
        ["g3", "g4"]
    assert ids(search(world, "Goal?category:text=hygiene")) == ["g2"]
    assert ids(search(world, "Patient?telecom=%2B33600000001")) == ["diego"]
    assert ids(search(world, "Patient?_tag=urn:test|demo")) == ["nadia"]


def test_string_modifiers_and_accents(world: Any) -> None:
    assert ids(search(world, "Patient?name=diego")) == ["diego"]  # accents and case ignored
    assert ids(search(world, "Patient?name=MAR")) == ["diego"]  # starts-with
    assert ids(search(world, "Patient?name:contains=ena")) == ["nadia"]
    assert ids(search(world, "Patient?name:exact=Diégo")) == ["diego"]
    assert ids(search(world, "Patient?name:exact=diego")) == []
    assert ids(search(world, "Patient?address-city=paris")) == ["diego"]
    assert ids(search(world, "Patient?family=martin&given=nadia")) == []  # AND


def test_date_prefixes(world: Any) -> None:
    assert ids(search(world, "Patient?birthdate=2004-03-12")) == ["diego"]
    assert ids(search(world, "Patient?birthdate=2004")) == ["diego"]
    assert ids(search(world, "Patient?birthdate=lt2000-01-01")) == ["nadia"]
    assert ids(search(world, "Patient?birthdate=ge2004-03-12")) == ["diego"]
    assert ids(search(world, "Patient?birthdate=gt2004-03-12")) == []
    assert ids(search(world, "Patient?birthdate=ne2004-03-12")) == ["nadia"]
    assert sorted(ids(search(world, "Goal?target-date=le2026-04-30"))) == ["g2", "g3"]
    # periods: plan-diego is [2026-01-26, 2026-09-30]; plan-nadia is open-ended
    assert sorted(ids(search(world, "CarePlan?date=ge2026-06-01"))) == ["plan-diego", "plan-nadia"]
    assert ids(search(world, "CarePlan?date=sa2025-12-31")) == ["plan-diego"]
    assert ids(search(world, "CarePlan?date=eb2026-12-31")) == ["plan-diego"]
    # ge/le are overlap tests: the open-ended plan-nadia [2025-11-01, ∞) overlaps both bounds
    assert sorted(ids(search(world, "CarePlan?date=ge2026-01-01&date=le2026-12-31"))) == \
        ["plan-diego", "plan-nadia"]
    assert ids(search(world, "CarePlan?date=ge2026-01-01&date=eb2026-12-31")) == ["plan-diego"]
    bad = world.get("/fhir/Patient?birthdate=2004-13-45")
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["birthdate"]
    # _id and _lastUpdated are checked like the others, at type and system level (an empty
    # value was an empty OR, and a bad date at system level an assertion: both 500s)
    for path in ("Goal?_lastUpdated=", "Goal?_lastUpdated=,", "Goal?_id=", "?_lastUpdated=x",
                 "?_lastUpdated=", "?_id=", "Goal?_lastUpdated:missing=true",
                 "Goal?_lastUpdated.x=1"):
        bad = world.get(f"/fhir/{path}")
        assert bad.status_code == 400, path
        assert bad.json()["issue"][0]["expression"][0].startswith(("_lastUpdated", "_id")), path
    assert len(ids(search(world, "?_lastUpdated=ge2000-01-01&_count=100"))) > 5


def test_number_and_quantity(world: Any) -> None:
    assert ids(search(world, "RiskAssessment?probability=0.25")) == ["risk1"]
    assert ids(search(world, "RiskAssessment?probability=gt0.2")) == ["risk1"]
    assert ids(search(world, "RiskAssessment?probability=lt0.2")) == []
    assert ids(search(world, "Observation?value-quantity=72.5|http://unitsofmeasure.org|kg")) == \
        ["obs1"]
    assert ids(search(world, "Observation?value-quantity=gt70||kg")) == ["obs1"]
    assert ids(search(world, "Observation?value-quantity=lt70")) == []


def test_uri(world: Any, client: Any) -> None:
    put(client, {"resourceType": "ValueSet", "id": "vs1", "status": "draft",
                 "url": "https://interop.example.fr/fhir/ValueSet/life-domain"})
    assert ids(search(client, "ValueSet?url=https://interop.example.fr/fhir/ValueSet/life-domain")) \
        == ["vs1"]
    assert ids(search(client, "ValueSet?url:below=https://interop.example.fr/fhir")) == ["vs1"]
    assert ids(search(client, "ValueSet?url=https://interop.example.fr/fhir")) == []


def test_reference_forms(world: Any) -> None:
    assert sorted(ids(search(world, "Goal?patient=diego"))) == ["g1", "g2", "g3"]
    assert sorted(ids(search(world, "Goal?subject=Patient/diego"))) == ["g1", "g2", "g3"]
    assert sorted(ids(search(world, "Goal?subject:Patient=diego"))) == ["g1", "g2", "g3"]
    assert ids(search(world, "Goal?subject:Group=diego")) == []
    assert ids(search(world, "Goal?subject=http://test/fhir/Patient/nadia")) == ["g4"]
    assert ids(search(world, "CareTeam?participant=PractitionerRole/cm1-role")) == ["team-diego"]
    assert ids(search(world, "EpisodeOfCare?care-manager=Practitioner/cm1")) == ["ep-diego"]


def test_missing(world: Any) -> None:
    assert ids(search(world, "CarePlan?care-team:missing=true")) == ["plan-nadia"]
    assert ids(search(world, "CarePlan?care-team:missing=false")) == ["plan-diego"]
    assert ids(search(world, "Patient?birthdate:missing=true")) == []


def test_chaining_and_has(world: Any) -> None:
    assert sorted(ids(search(world, "Goal?subject:Patient.name=martin"))) == ["g1", "g2", "g3"]
    assert ids(search(world, "Goal?patient.gender=female")) == ["g4"]
    assert ids(search(world, "EpisodeOfCare?care-manager.identifier=10000000001")) == ["ep-diego"]
    assert ids(search(world, "CareTeam?participant:PractitionerRole.organization.name=cmp")) == \
        ["team-diego"]
    assert ids(search(world, "Patient?_has:CarePlan:subject:status=draft")) == ["nadia"]
    assert ids(search(world, "Patient?_has:Goal:patient:lifecycle-status=completed")) == ["diego"]
    # without a type: the targets that define `name` (Patient, Organization; not Group)
    assert sorted(ids(search(world, "Goal?subject.name=martin"))) == ["g1", "g2", "g3"]
    amb = world.get("/fhir/Observation?part-of.series=x")
    assert amb.status_code == 400  # a string on Immunization, a token on ImagingStudy
    assert "part-of:[type]" in amb.json()["issue"][0]["diagnostics"]


def test_include_and_revinclude(world: Any) -> None:
    b = search(world, "CarePlan?patient=diego&_include=CarePlan:goal&_include=CarePlan:subject")
    assert ids(b) == ["plan-diego"]
    assert sorted(ids(b, "include")) == ["diego", "g1", "g2", "g3"]
    assert b["total"] == 1
    rev = search(world, "Patient?_id=diego&_revinclude=CarePlan:subject&_revinclude=Goal:subject")
    assert ids(rev) == ["diego"]
    assert sorted(ids(rev, "include")) == ["g1", "g2", "g3", "plan-diego"]
    it = search(world, "CarePlan?_id=plan-diego&_include=CarePlan:care-team"
                "&_include:iterate=CareTeam:participant&_include:iterate=PractitionerRole:practitioner")
    assert sorted(ids(it, "include")) == ["cm1", "cm1-role", "team-diego"]
    no_iter = search(world, "CarePlan?_id=plan-diego&_include=CarePlan:care-team"
                     "&_include=CareTeam:participant")
    assert ids(no_iter, "include") == ["team-diego"]
    team = search(world, "CareTeam?patient=diego&_include=CareTeam:participant:PractitionerRole")
    assert ids(team, "include") == ["cm1-role"]


def test_sort_total_summary_elements(world: Any) -> None:
    asc = search(world, "Goal?_sort=target-date")
    assert ids(asc) == ["g3", "g2", "g4", "g1"]
    desc = search(world, "Goal?_sort=-target-date")
    assert ids(desc) == ["g1", "g4", "g2", "g3"]
    by_id = search(world, "Patient?_sort=-_id")
    assert ids(by_id) == ["nadia", "diego"]
    count = search(world, "Goal?_summary=count")
    assert count["total"] == 4 and "entry" not in count
    none = search(world, "Goal?_total=none")
    assert "total" not in none
    summary = search(world, "Patient?_id=diego&_summary=true")
    res = summary["entry"][0]["resource"]
    assert "name" in res and "telecom" in res
    assert any(t["code"] == "SUBSETTED" for t in res["meta"]["tag"])
    elements = search(world, "Patient?_id=diego&_elements=gender")
    res = elements["entry"][0]["resource"]
    assert set(res) == {"resourceType", "id", "meta", "gender"}
    assert world.get("/fhir/Goal?_sort=nonsense").status_code == 400


def test_post_search_and_system_search(world: Any) -> None:
    r = world.post("/fhir/Goal/_search", content="patient=nadia",
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and ids(r.json()) == ["g4"]
    sys_search = search(world, "?_id=diego,g1")
    assert sorted(ids(sys_search)) == ["diego", "g1"]
    compartment = search(world, "Patient/diego/Goal")
    assert sorted(ids(compartment)) == ["g1", "g2", "g3"]


def test_unknown_parameters_lenient_and_strict(world: Any) -> None:
    lenient = world.get("/fhir/Patient?foo=bar&gender=male")
    assert lenient.status_code == 200
    body = lenient.json()
    assert ids(body) == ["diego"]
    outcome = next(e for e in body["entry"] if e["search"]["mode"] == "outcome")["resource"]
    assert "foo" in outcome["issue"][0]["diagnostics"]
    assert "foo" not in body["link"][0]["url"]
    strict = world.get("/fhir/Patient?foo=bar", headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    assert strict.json()["issue"][0]["expression"] == ["foo"]


def test_paging_is_stable_under_concurrent_writes(client: Any) -> None:
    for i in range(25):
        put(client, {"resourceType": "Goal", "id": f"p{i:02d}", "lifecycleStatus": "active",
                     "description": {"text": f"goal {i}"},
                     "subject": {"reference": "Patient/x"}} | {"subject": {"display": "x"}})
    first = search(client, "Goal?lifecycle-status=active&_count=10&_total=accurate")
    assert first["total"] == 25
    seen = ids(first)
    # meanwhile: 5 creations, an update of a seen goal, a deletion of an unseen one
    for i in range(25, 30):
        put(client, {"resourceType": "Goal", "id": f"p{i:02d}", "lifecycleStatus": "active",
                     "description": {"text": f"goal {i}"}, "subject": {"display": "x"}})
    put(client, {"resourceType": "Goal", "id": "p01", "lifecycleStatus": "active",
                 "description": {"text": "goal 1, revised"}, "subject": {"display": "x"}})
    assert client.delete("/fhir/Goal/p24").status_code == 204
    url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while url:
        page = client.get(url.replace("http://test", "")).json()
        seen += ids(page)
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
        url = nxt[0] if nxt else ""
    assert len(seen) == len(set(seen))  # no duplicates
    assert set(seen) == {f"p{i:02d}" for i in range(24)}  # nothing skipped, no late arrival


def test_the_specs_example_search_parameters_never_replace_real_ones(ctx: Any) -> None:
    """The R4 package ships example SearchParameters (``_id`` and Condition ``subject``,
    experimental drafts): the registry keeps the real definitions."""
    assert ctx.params.get("Condition", "subject").url == \
        "http://hl7.org/fhir/SearchParameter/Condition-subject"
    assert "Patient" in ctx.params.get("Condition", "subject").targets
    assert ctx.params.get("Patient", "_id").url == "http://hl7.org/fhir/SearchParameter/Resource-id"
