"""Bad input always gets a clear OperationOutcome with a 4xx status, never a 500."""

from __future__ import annotations

import threading
from typing import Any

import pytest

H = {"Content-Type": "application/fhir+json"}


def outcome(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] in ("error", "fatal")
    return body


def test_malformed_json_has_position(client: Any) -> None:
    body = outcome(client.post("/fhir/Patient", content=b'{"resourceType": "Patient",,}',
                               headers=H), 400)
    assert "line 1, column" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize("raw", [
    b"\xff\xfe{}", b'{"resourceType":"Patient","gender":"male","gender":"female"}',
    b'[1,2]', b'{"resourceType":"Patient","birthDate":NaN}', b"",
])
def test_unusable_bodies(client: Any, raw: bytes) -> None:
    outcome(client.post("/fhir/Patient", content=raw, headers=H), 400)


def test_wrong_resource_type_and_unknown_type(client: Any) -> None:
    body = outcome(client.post("/fhir/Patient", json={"resourceType": "Goal"}, headers=H), 400)
    assert body["issue"][0]["expression"] == ["resourceType"]
    outcome(client.post("/fhir/Nonsense", json={"resourceType": "Nonsense"}, headers=H), 404)
    outcome(client.get("/fhir/Nonsense/1"), 404)


def test_structure_errors_name_every_element(client: Any) -> None:
    bad = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
           "subject": {"reference": "Patient/x"}, "unknownThing": 1, "created": "yesterday",
           "activity": [{"detail": {"status": "wrong-type", "kind": 12}}], "note": []}
    body = outcome(client.post("/fhir/CarePlan", json=bad, headers=H), 400)
    paths = {e for i in body["issue"] for e in i.get("expression", [])}
    assert {"CarePlan.unknownThing", "CarePlan.created", "CarePlan.activity[0].detail.kind",
            "CarePlan.note"} <= paths
    missing = {"resourceType": "CarePlan", "intent": "plan", "subject": {"reference": "Patient/x"}}
    body = outcome(client.post("/fhir/CarePlan", json=missing, headers=H), 400)
    assert body["issue"][0]["expression"] == ["CarePlan.status"]
    assert body["issue"][0]["code"] == "required"


def test_r4_types_without_r4b_model_are_checked_structurally(client: Any) -> None:
    good = {"resourceType": "MedicinalProduct", "name": [{"productName": "Exemple"}]}
    assert client.post("/fhir/MedicinalProduct", json=good, headers=H).status_code == 201
    bad = {"resourceType": "MedicinalProduct", "name": [{"productNam": "typo"}]}
    body = outcome(client.post("/fhir/MedicinalProduct", json=bad, headers=H), 400)
    paths = {e for i in body["issue"] for e in i.get("expression", [])}
    assert "MedicinalProduct.name[0].productNam" in paths
    assert "MedicinalProduct.name[0].productName" in paths  # required, missing


def test_xml_is_refused_clearly(client: Any) -> None:
    body = outcome(client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"}), 406)
    assert "JSON" in body["issue"][0]["diagnostics"]
    outcome(client.get("/fhir/metadata?_format=xml"), 406)
    outcome(client.post("/fhir/Patient", content=b"<Patient/>",
                        headers={"Content-Type": "application/fhir+xml"}), 415)
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    assert client.get("/fhir/metadata", headers={"Accept": "*/*"}).status_code == 200


def test_body_size_limit(make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(max_body_bytes=1000)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        big = {"resourceType": "Patient", "name": [{"text": "x" * 2000}]}
        outcome(c.post("/fhir/Patient", json=big, headers=H), 413)
        assert c.get("/fhir/Patient").json()["total"] == 0


def test_methods_and_urls(client: Any) -> None:
    outcome(client.post("/fhir/metadata", json={}), 405)
    outcome(client.get("/fhir/Patient/1/_history/x"), 404)
    outcome(client.get("/fhir/Patient/1/foo/bar/baz"), 404)
    outcome(client.get("/fhir/$nothing"), 400)
    outcome(client.get("/fhir/Patient?_count=abc"), 400)
    outcome(client.get("/fhir/Patient?_include=Patient:nothing"), 400)
    outcome(client.get("/fhir/Patient?birthdate:exact=2000"), 400)
    outcome(client.patch("/fhir/Patient/1", json=[], headers=H), 415)


def test_concurrent_if_match_updates_one_wins(ctx: Any) -> None:
    """Two updates with the same If-Match: exactly one 200, one 412, no lost update."""
    from fhir_service import fhir
    from fhir_service.outcomes import FhirError
    from fhir_service.request import FhirRequest
    from fhir_service.router import Router

    router = Router(ctx)

    def req(method: str, path: list[str], body: Any = None, **headers: str) -> FhirRequest:
        return FhirRequest(method, path, headers={"content-type": "application/fhir+json",
                                                  **headers},
                           body=fhir.dumps(body) if body is not None else b"",
                           base_url="http://test/fhir")

    router.dispatch(req("PUT", ["Patient", "race"], {"resourceType": "Patient", "id": "race"}))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def attempt(gender: str) -> None:
        barrier.wait()
        try:
            r = router.dispatch(req("PUT", ["Patient", "race"],
                                    {"resourceType": "Patient", "id": "race", "gender": gender},
                                    **{"if-match": 'W/"1"'}))
            statuses.append(r.status)
        except FhirError as exc:
            statuses.append(exc.status)

    threads = [threading.Thread(target=attempt, args=(g,)) for g in ("male", "female")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 412]
    final = router.dispatch(req("GET", ["Patient", "race"]))
    assert fhir.loads(final.body)["meta"]["versionId"] == "2"
