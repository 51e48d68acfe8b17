"""Hostile input: limits, odd Unicode, rate limiting, CORS, logs without patient data, and a
fuzz over resources and bundles — every rejection an OperationOutcome, 0 5xx, 0 partial
writes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import bearer, mint

H = {"Content-Type": "application/fhir+json"}


def outcome(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("raw", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"resourceType":"Patient","name":[{"family":"\\ud800"}]}',
    b'{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}',
    b'{"resourceType":"Patient","gender":"\xc3\x28"}',
])
def test_odd_bodies_are_400(client: Any, raw: bytes) -> None:
    outcome(client.post("/fhir/Patient", content=raw, headers=H), 400)


def test_nesting_and_string_limits(make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(max_json_depth=6, max_string_length=100)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        deep: dict[str, Any] = {"url": "http://x/e", "valueString": "v"}
        for _ in range(8):
            deep = {"url": "http://x/e", "extension": [deep]}
        r = c.post("/fhir/Patient", json={"resourceType": "Patient", "extension": [deep]},
                   headers=H)
        outcome(r, 400)
        long = c.post("/fhir/Patient", json={"resourceType": "Patient",
                                             "name": [{"text": "x" * 101}]}, headers=H)
        outcome(long, 400)
        many = "&".join(f"name=n{i}" for i in range(60))
        outcome(c.get(f"/fhir/Patient?{many}"), 413)


def test_rate_limit_per_client(make_context: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "k", rate_limit_per_second=1.0,
                       rate_limit_burst=3, audit=False)
    app = create_app(ctx.settings, ctx)
    app.state.security.clients.add("a", "A", None, None, "system/*.rs")
    app.state.security.clients.add("b", "B", None, None, "system/*.rs")
    with TestClient(app, base_url="http://test") as c:
        ta, tb = bearer(mint(app, "a")), bearer(mint(app, "b"))
        statuses = [c.get("/fhir/Organization", headers=ta).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
        limited = c.get("/fhir/Organization", headers=ta)
        outcome(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        assert c.get("/fhir/Organization", headers=tb).status_code == 200  # per client


def test_cors_is_closed_by_default(client: Any) -> None:
    r = client.options("/fhir/metadata", headers={"Origin": "https://evil.example",
                                                  "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/fhir/metadata", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_logs_carry_no_patient_data(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cm_fhir"):
        client.post("/fhir/Patient", json={"resourceType": "Patient", "id": "x",
                                           "name": [{"family": "Confidentiel"}]}, headers=H)
        client.get("/fhir/Patient?name=Confidentiel&birthdate=1990-02-03")
        client.post("/fhir/Patient", content=b'{"resourceType":"Patient","name":"Secret"}',
                    headers=H)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "request_id" in text
    for secret in ("Confidentiel", "1990-02-03", "Secret"):
        assert secret not in text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["Patient", "Patient/p1", "urn:uuid:1", "2020-13-45", "#x"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["resourceType", "id", "name", "subject", "reference",
                                       "entry", "resource", "request", "method", "url",
                                       "status", "type", "meta", "extension", "value"]),
                      children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, rtype=st.sampled_from(["Patient", "CarePlan", "Bundle", "Goal"]),
       method=st.sampled_from(["POST", "PUT", "PATCH"]))
def test_fuzz_never_5xx_nor_partial_write(client: Any, body: Any, rtype: str,
                                          method: str) -> None:
    before = client.get("/fhir/_history?_count=0").json()["total"]
    path = "/fhir" if rtype == "Bundle" and method == "POST" else f"/fhir/{rtype}/fz"
    headers = {"Content-Type": "application/json-patch+json" if method == "PATCH" else
               "application/fhir+json"}
    r = client.request(method, path, json=body, headers=headers)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["resourceType"] == "OperationOutcome"
        after = client.get("/fhir/_history?_count=0").json()["total"]
        assert after == before


# --- FHIR-aware fuzz: mutations of valid resources and of valid batch/transaction bundles ---

def _valid_bundle(kind: str) -> dict[str, Any]:
    """A valid bundle touching every entry kind: POST with urn:uuid references, conditional
    create, PUT, PATCH (batch: JSON Patch as Binary), conditional DELETE, GET."""
    pid, gid = "urn:uuid:7b1f43f6-0b0e-4bd5-8a43-4a1bd1c1e0a1", \
        "urn:uuid:2e6b1c51-6a0b-4e5b-9f5e-9b8f1d3c2a11"
    return {"resourceType": "Bundle", "type": kind, "entry": [
        {"fullUrl": pid, "resource": {
            "resourceType": "Patient", "name": [{"family": "Fuzz", "given": ["Zoé"]}],
            "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.10", "value": "fz-1"}],
            "birthDate": "2001-02-03"},
         "request": {"method": "POST", "url": "Patient",
                     "ifNoneExist": "identifier=urn:oid:1.2.250.1.213.1.4.10|fz-1"}},
        {"fullUrl": gid, "resource": {
            "resourceType": "Goal", "lifecycleStatus": "active",
            "description": {"text": "Reprendre les études"}, "subject": {"reference": pid}},
         "request": {"method": "POST", "url": "Goal"}},
        {"resource": {"resourceType": "CarePlan", "id": "cp-fz", "status": "active",
                      "intent": "plan", "subject": {"reference": pid},
                      "goal": [{"reference": gid}],
                      "period": {"start": "2026-01-01"}},
         "request": {"method": "PUT", "url": "CarePlan/cp-fz"}},
        {"request": {"method": "DELETE", "url": "Goal?identifier=urn:x|nothing"}},
        {"request": {"method": "GET", "url": "Patient?identifier=fz-1"}},
    ]}


_VALID_RESOURCES = [
    {"resourceType": "Patient", "id": "fz", "active": True, "gender": "female",
     "name": [{"family": "Fuzz", "given": ["Léa"]}], "birthDate": "1999-12-31",
     "telecom": [{"system": "phone", "value": "0600000000"}]},
    {"resourceType": "CarePlan", "id": "fz", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/fz"}, "period": {"start": "2026-01-01"},
     "activity": [{"detail": {"status": "scheduled", "description": "Atelier"}}]},
    {"resourceType": "Goal", "id": "fz", "lifecycleStatus": "proposed",
     "description": {"text": "Trouver un logement"}, "subject": {"reference": "Patient/fz"},
     "target": [{"dueDate": "2027-01-01"}]},
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated(draw: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """1 to 4 mutations at random places of a valid document: remove, replace by any JSON
    value, swap a type, duplicate an array item, empty it."""
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        op = draw(st.sampled_from(["remove", "replace", "retype", "duplicate", "empty"]))
        if op == "remove":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "retype":
            old = parent[key]
            parent[key] = (str(old) if not isinstance(old, str) else
                           draw(st.sampled_from([0, True, [old], {"value": old}, None])))
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = draw(st.sampled_from(["", [], {}, " ", "\u202e", "a" * 300]))
    return doc


def test_the_fuzz_seeds_are_valid(client: Any) -> None:
    """The mutations start from documents the server accepts whole."""
    for kind in ("transaction", "batch"):
        r = client.post("/fhir", json=_valid_bundle(kind), headers=H)
        assert r.status_code == 200, r.text
        assert [e["response"]["status"][:3] for e in r.json()["entry"]] == \
            ["201" if kind == "transaction" else "200", "201", "201" if kind == "transaction"
             else "200", "204", "200"], r.text
    for resource in _VALID_RESOURCES:
        r = client.put(f"/fhir/{resource['resourceType']}/fz", json=resource, headers=H)
        assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize("request_", [{"method": ["POST"], "url": "Patient"},
                                      {"method": {"x": 1}, "url": "Patient"},
                                      {"method": "POST", "url": "Patient", "ifNoneExist": [1]},
                                      {"method": "PUT", "url": "Patient/x", "ifMatch": 3}])
def test_odd_bundle_requests_are_400(client: Any, request_: dict[str, Any]) -> None:
    """Found by the fuzz: a non-string method was looked up in a set (500)."""
    for kind in ("transaction", "batch"):
        bundle = {"resourceType": "Bundle", "type": kind, "entry": [
            {"resource": {"resourceType": "Patient", "id": "x"}, "request": request_}]}
        r = client.post("/fhir", json=bundle, headers=H)
        if kind == "transaction":
            outcome(r, 400)
            assert r.json()["issue"][0]["expression"][0].startswith("Bundle.entry[0].request")
        else:
            assert r.status_code == 200
            assert r.json()["entry"][0]["response"]["status"].startswith("400")


def _history_total(client: Any) -> int:
    return int(client.get("/fhir/_history?_count=0").json()["total"])


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(["transaction", "batch"]))
def test_fuzz_mutated_bundles_never_5xx_nor_partial_write(client: Any, data: Any,
                                                          kind: str) -> None:
    body = data.draw(mutated(_valid_bundle(kind)))
    before = _history_total(client)
    r = client.post("/fhir", json=body, headers=H)
    assert r.status_code < 500, r.text
    after = _history_total(client)
    if r.status_code >= 400:
        assert r.json()["resourceType"] == "OperationOutcome"
        assert after == before  # a rejected bundle writes nothing
        return
    answer = r.json()
    assert answer["resourceType"] == "Bundle"
    assert answer["type"] == f"{body['type']}-response"
    statuses = [e["response"]["status"] for e in answer.get("entry", [])]
    assert len(statuses) == len(body.get("entry", []))
    written = sum(1 for s in statuses if s.split()[0] in ("200", "201", "204"))
    # each new version comes from an entry that answered success (batch: failed entries
    # wrote nothing; transaction: all succeeded)
    assert after - before <= written
    if body["type"] == "transaction":
        assert all(s.split()[0] in ("200", "201", "204") for s in statuses)
    for entry, s in zip(answer.get("entry", []), statuses, strict=True):
        if not s.startswith("2"):
            assert entry["response"]["outcome"]["resourceType"] == "OperationOutcome"


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.integers(0, len(_VALID_RESOURCES) - 1),
       method=st.sampled_from(["POST", "PUT"]))
def test_fuzz_mutated_resources_never_5xx_nor_partial_write(client: Any, data: Any, which: int,
                                                            method: str) -> None:
    resource = data.draw(mutated(_VALID_RESOURCES[which]))
    rtype = _VALID_RESOURCES[which]["resourceType"]
    before = _history_total(client)
    path = f"/fhir/{rtype}" if method == "POST" else f"/fhir/{rtype}/fz"
    r = client.request(method, path, json=resource, headers=H)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["resourceType"] == "OperationOutcome"
        assert r.json()["issue"][0].get("expression") or r.json()["issue"][0].get(
            "diagnostics")
        assert _history_total(client) == before
    else:
        assert _history_total(client) - before <= 1
