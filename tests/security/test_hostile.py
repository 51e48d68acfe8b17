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
