"""read, vread, create, update, delete, history, conditional interactions, headers."""

from __future__ import annotations

import json
from typing import Any

H = {"Content-Type": "application/fhir+json"}


def patient(family: str = "Martin", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": family, "given": ["Diego"]}],
            "identifier": [{"system": "https://ids.hopital.example/ipp", "value": family}], **extra}


def test_create_read_vread_and_headers(client: Any) -> None:
    r = client.post("/fhir/Patient", json=patient(id="ignored"), headers=H)
    assert r.status_code == 201
    body = r.json()
    rid = body["id"]
    assert rid != "ignored"  # the server assigns ids on create
    assert body["meta"]["versionId"] == "1"
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"] == f"http://test/fhir/Patient/{rid}/_history/1"
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert "last-modified" in r.headers

    read = client.get(f"/fhir/Patient/{rid}")
    assert read.status_code == 200
    assert read.content == r.content  # served bytes are the stored bytes
    assert client.get(f"/fhir/Patient/{rid}/_history/1").json() == body
    assert client.get(f"/fhir/Patient/{rid}/_history/2").status_code == 404
    assert client.get("/fhir/Patient/unknown").status_code == 404
    nf = client.get("/fhir/Patient/unknown").json()
    assert nf["resourceType"] == "OperationOutcome"


def test_decimal_precision_kept_in_raw_text(client: Any) -> None:
    raw = (b'{"resourceType":"Observation","status":"final","code":{"text":"dose"},'
           b'"valueQuantity":{"value":200.00,"unit":"mg"},"component":[{"code":{"text":"x"},'
           b'"valueQuantity":{"value":1.50e2}}]}')
    r = client.post("/fhir/Observation", content=raw, headers=H)
    assert r.status_code == 201, r.text
    text = client.get(f"/fhir/Observation/{r.json()['id']}").text
    assert '"value":200.00' in text
    assert "1.50E+2" in text or "1.50e2" in text or "150" in text
    pretty = client.get(f"/fhir/Observation/{r.json()['id']}?_pretty=true").text
    assert '"value": 200.00' in pretty


def test_update_versions_if_match_and_no_change(client: Any) -> None:
    rid = client.post("/fhir/Patient", json=patient(), headers=H).json()["id"]
    same = client.put(f"/fhir/Patient/{rid}", json={**patient(), "id": rid}, headers=H)
    assert same.status_code == 200
    assert same.json()["meta"]["versionId"] == "1"  # equal content: no new version
    changed = {**patient("Martin-Durand"), "id": rid}
    stale = client.put(f"/fhir/Patient/{rid}", json=changed, headers={**H, "If-Match": 'W/"7"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    ok = client.put(f"/fhir/Patient/{rid}", json=changed, headers={**H, "If-Match": 'W/"1"'})
    assert ok.status_code == 200
    assert ok.json()["meta"]["versionId"] == "2"
    assert client.get(f"/fhir/Patient/{rid}/_history/1").json()["name"][0]["family"] == "Martin"
    hist = client.get(f"/fhir/Patient/{rid}/_history").json()
    assert hist["type"] == "history" and hist["total"] == 2
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]


def test_update_as_create_and_id_rules(client: Any) -> None:
    r = client.put("/fhir/Patient/client-id-1", json={**patient(), "id": "client-id-1"},
                   headers=H)
    assert r.status_code == 201
    mismatch = client.put("/fhir/Patient/client-id-1", json={**patient(), "id": "other"},
                          headers=H)
    assert mismatch.status_code == 400
    assert mismatch.json()["issue"][0]["expression"] == ["Patient.id"]
    no_id = client.put("/fhir/Patient/client-id-1", json=patient(), headers=H)
    assert no_id.status_code == 400
    bad = client.put("/fhir/Patient/bad_id!", json={**patient(), "id": "bad_id!"}, headers=H)
    assert bad.status_code == 400


def test_conditional_create_rules(client: Any) -> None:
    cond = {**H, "If-None-Exist": "identifier=https://ids.hopital.example/ipp|Solo"}
    first = client.post("/fhir/Patient", json=patient("Solo"), headers=cond)
    assert first.status_code == 201
    again = client.post("/fhir/Patient", json=patient("Solo"), headers=cond)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    client.post("/fhir/Patient", json=patient("Twin"), headers=H)
    client.post("/fhir/Patient", json=patient("Twin"), headers=H)
    many = client.post("/fhir/Patient", json=patient("Twin"),
                       headers={**H, "If-None-Exist": "family=Twin"})
    assert many.status_code == 412


def test_conditional_update_and_delete_rules(client: Any) -> None:
    q = "/fhir/Patient?identifier=https://ids.hopital.example/ipp|Cond"
    created = client.put(q, json=patient("Cond"), headers=H)
    assert created.status_code == 201
    rid = created.json()["id"]
    updated = client.put(q, json=patient("Cond", gender="male"), headers=H)
    assert updated.status_code == 200 and updated.json()["id"] == rid
    assert updated.json()["meta"]["versionId"] == "2"
    client.post("/fhir/Patient", json=patient("Dup"), headers=H)
    client.post("/fhir/Patient", json=patient("Dup"), headers=H)
    assert client.put("/fhir/Patient?family=Dup", json=patient("Dup"), headers=H).status_code == 412
    assert client.delete("/fhir/Patient?family=Dup").status_code == 412
    assert client.delete(q).status_code == 204
    assert client.get(f"/fhir/Patient/{rid}").status_code == 410


def test_delete_and_referential_integrity(client: Any) -> None:
    pid = client.post("/fhir/Patient", json=patient(), headers=H).json()["id"]
    plan = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": f"Patient/{pid}"}}
    cp = client.post("/fhir/CarePlan", json=plan, headers=H)
    assert cp.status_code == 201
    blocked = client.delete(f"/fhir/Patient/{pid}")
    assert blocked.status_code == 409
    assert f"CarePlan/{cp.json()['id']}" in blocked.json()["issue"][0]["diagnostics"]
    dangling = client.post("/fhir/CarePlan", json={**plan, "subject": {"reference": "Patient/nope"}},
                           headers=H)
    assert dangling.status_code == 400
    assert dangling.json()["issue"][0]["expression"] == ["CarePlan.subject.reference"]
    assert client.delete(f"/fhir/CarePlan/{cp.json()['id']}").status_code == 204
    assert client.delete(f"/fhir/Patient/{pid}").status_code == 204
    gone = client.get(f"/fhir/Patient/{pid}")
    assert gone.status_code == 410
    hist = client.get(f"/fhir/Patient/{pid}/_history").json()
    assert hist["entry"][0]["request"]["method"] == "DELETE"
    # re-creating a deleted resource by PUT continues its history
    again = client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": pid}, headers=H)
    assert again.status_code == 201 and again.json()["meta"]["versionId"] == "3"


def test_referential_integrity_can_be_switched_off(make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(referential_integrity=False)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        r = c.post("/fhir/CarePlan", json={"resourceType": "CarePlan", "status": "active",
                                           "intent": "plan",
                                           "subject": {"reference": "Patient/absent"}},
                   headers=H)
        assert r.status_code == 201


def test_conditional_read(client: Any) -> None:
    r = client.post("/fhir/Patient", json=patient(), headers=H)
    rid = r.json()["id"]
    assert client.get(f"/fhir/Patient/{rid}", headers={"If-None-Match": 'W/"1"'}).status_code == 304
    assert client.get(f"/fhir/Patient/{rid}", headers={"If-None-Match": 'W/"0"'}).status_code == 200
    lm = r.headers["last-modified"]
    assert client.get(f"/fhir/Patient/{rid}", headers={"If-Modified-Since": lm}).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(f"/fhir/Patient/{rid}", headers={"If-Modified-Since": old}).status_code == 200


def test_prefer_return(client: Any) -> None:
    minimal = client.post("/fhir/Patient", json=patient(),
                          headers={**H, "Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["location"]
    oo = client.post("/fhir/Patient", json=patient(),
                     headers={**H, "Prefer": "return=OperationOutcome"})
    assert oo.status_code == 201 and oo.json()["resourceType"] == "OperationOutcome"


def test_history_type_and_system_with_since_and_count(client: Any) -> None:
    for i in range(5):
        client.post("/fhir/Patient", json=patient(f"H{i}"), headers=H)
    client.post("/fhir/Organization", json={"resourceType": "Organization", "name": "CMP"},
                headers=H)
    t = client.get("/fhir/Patient/_history?_count=2").json()
    assert t["total"] == 5 and len(t["entry"]) == 2
    nxt = next(link["url"] for link in t["link"] if link["relation"] == "next")
    page2 = client.get(nxt.replace("http://test", "")).json()
    ids1 = {e["resource"]["id"] for e in t["entry"]}
    ids2 = {e["resource"]["id"] for e in page2["entry"]}
    assert not ids1 & ids2
    system = client.get("/fhir/_history").json()
    assert system["total"] == 6
    since = system["entry"][0]["resource"]["meta"]["lastUpdated"]
    recent = client.get(f"/fhir/_history?_since={since}").json()
    assert recent["total"] == 1


def test_metadata_is_derived(client: Any) -> None:
    cs = client.get("/fhir/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in cs["rest"][0]["resource"]}
    assert len(types) == 146  # every R4 resource type is storable
    careplan = types["CarePlan"]
    names = {p["name"] for p in careplan["searchParam"]}
    assert {"patient", "subject", "goal", "care-team", "date", "_lastUpdated", "_tag"} <= names
    assert "CarePlan:goal" in careplan["searchInclude"]
    assert {i["code"] for i in cs["rest"][0]["interaction"]} >= {"transaction", "batch"}
    json.dumps(cs)
