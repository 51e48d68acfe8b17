"""batch and transaction: atomicity, urn:uuid, conditional references, order, duplicates."""

from __future__ import annotations

from typing import Any

H = {"Content-Type": "application/fhir+json"}


def tx(entries: list[dict[str, Any]], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def post(full_url: str, resource: dict[str, Any], **request: Any) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource,
            "request": {"method": "POST", "url": resource["resourceType"], **request}}


PAT = {"resourceType": "Patient", "name": [{"family": "Martin"}],
       "identifier": [{"system": "urn:ipp", "value": "1"}]}


def test_transaction_urn_uuid_and_response(client: Any) -> None:
    plan = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
            "goal": [{"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"}]}
    goal = {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "x"},
            "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}}
    bundle = tx([
        post("urn:uuid:33333333-3333-3333-3333-333333333333", plan),
        post("urn:uuid:22222222-2222-2222-2222-222222222222", goal),
        post("urn:uuid:11111111-1111-1111-1111-111111111111", PAT),
    ])
    r = client.post("/fhir", json=bundle, headers=H)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "transaction-response"
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created"] * 3
    plan_loc = out["entry"][0]["response"]["location"]
    pat_loc = out["entry"][2]["response"]["location"]
    stored = client.get(f"/fhir/{plan_loc.split('/_history')[0]}").json()
    assert stored["subject"]["reference"] == pat_loc.split("/_history")[0]
    assert stored["goal"][0]["reference"].startswith("Goal/")


def test_transaction_is_atomic(client: Any) -> None:
    bad_goal = {"resourceType": "Goal", "lifecycleStatus": "active",
                "description": {"text": "x"}, "subject": {"reference": "Patient/absent"}}
    r = client.post("/fhir", json=tx([post("urn:uuid:a", PAT), post("urn:uuid:b", bad_goal)]),
                    headers=H)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["expression"][0].startswith("Bundle.entry[1]")
    assert client.get("/fhir/Patient").json()["total"] == 0  # nothing half-written


def test_transaction_invalid_element_rolls_back_with_path(client: Any) -> None:
    bad = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
           "effectivePeriod": {"stop": "2020-01-01"}}
    r = client.post("/fhir", json=tx([post("urn:uuid:a", PAT), post("urn:uuid:b", bad)]),
                    headers=H)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.effectivePeriod.stop"]
    assert client.get("/fhir/Patient").json()["total"] == 0


def test_conditional_references_and_if_none_exist(client: Any) -> None:
    prac = {"resourceType": "Practitioner",
            "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": "10000000001"}]}
    assert client.post("/fhir/Practitioner", json=prac, headers=H).status_code == 201
    team = {"resourceType": "CareTeam", "status": "active", "participant": [{"member": {
        "reference": "Practitioner?identifier=https://rpps.esante.gouv.fr|10000000001"}}]}
    ifne = "identifier=urn:ipp|1"
    bundle = tx([post("urn:uuid:p", PAT, ifNoneExist=ifne), post("urn:uuid:t", team)])
    r = client.post("/fhir", json=bundle, headers=H)
    assert r.status_code == 200, r.text
    pid = r.json()["entry"][0]["response"]["location"].split("/")[1]
    again = client.post("/fhir", json=bundle, headers=H).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"
    assert again["entry"][0]["response"]["location"].split("/")[1] == pid
    teams = client.get("/fhir/CareTeam").json()
    member = teams["entry"][0]["resource"]["participant"][0]["member"]["reference"]
    assert member.startswith("Practitioner/")
    unknown = {**team, "participant": [{"member": {
        "reference": "Practitioner?identifier=https://rpps.esante.gouv.fr|missing"}}]}
    r = client.post("/fhir", json=tx([post("urn:uuid:t2", unknown)]), headers=H)
    assert r.status_code == 404 or r.status_code == 400


def test_same_resource_twice_is_400(client: Any) -> None:
    entry = {"resource": {**PAT, "id": "p1"}, "request": {"method": "PUT", "url": "Patient/p1"}}
    r = client.post("/fhir", json=tx([entry, entry]), headers=H)
    assert r.status_code == 400
    assert "both act on Patient/p1" in r.json()["issue"][0]["diagnostics"]


def test_processing_order_delete_then_create(client: Any) -> None:
    client.put("/fhir/Patient/old", json={**PAT, "id": "old"}, headers=H)
    bundle = tx([
        {"fullUrl": "urn:uuid:n", "resource": {**PAT, "name": [{"family": "New"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient?family=New"}},
        {"request": {"method": "DELETE", "url": "Patient/old"}},
    ])
    r = client.post("/fhir", json=bundle, headers=H)
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created", "200 OK", "204 No Content"]
    found = r.json()["entry"][1]["resource"]
    assert found["total"] == 1  # the GET ran after the writes
    assert client.get("/fhir/Patient/old").status_code == 410


def test_batch_entries_are_independent(client: Any) -> None:
    bad = {"resourceType": "Patient", "birthDate": "not-a-date"}
    bundle = tx([post("urn:uuid:a", PAT), post("urn:uuid:b", bad),
                 {"request": {"method": "GET", "url": "Patient/nope"}}], kind="batch")
    r = client.post("/fhir", json=bundle, headers=H)
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert r.json()["type"] == "batch-response"
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"].startswith("400")
    assert entries[1]["response"]["outcome"]["issue"][0]["expression"] == \
        ["Bundle.entry[1].resource.birthDate"] or \
        "birthDate" in str(entries[1]["response"]["outcome"])
    assert entries[2]["response"]["status"].startswith("404")
    assert client.get("/fhir/Patient").json()["total"] == 1


def test_bundle_type_and_limits(make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(max_bundle_entries=2)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        r = c.post("/fhir", json={"resourceType": "Bundle", "type": "collection"}, headers=H)
        assert r.status_code == 400
        big = tx([post(f"urn:uuid:{i}", PAT) for i in range(3)])
        assert c.post("/fhir", json=big, headers=H).status_code == 413
