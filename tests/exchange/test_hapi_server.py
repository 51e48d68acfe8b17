"""The HAPI FHIR JPA test partner (tests/hapi.py, tools/hapi-jpa/) does what the exchange
tests rely on: create, read and search back; a transaction of conditional PUTs by business
identifier applied twice changes nothing the second time; a rest-hook Subscription delivers to
a listener on 127.0.0.1. Marked jvm (runs in CI or with CM_FHIR_JVM_TESTS=1)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests import hapi
from tests.hapi import FHIR_JSON, unique_tag, wait_for

hapi_base_url = hapi.hapi_base_url  # the session's HAPI server (fixture)

HEADERS = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
SYSTEM = "urn:oid:1.2.250.1.999.1"  # a test identifier system


def _post(base: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{base}/{path}", data=json.dumps(body), headers=HEADERS, timeout=60)


def _search(base: str, query: str) -> dict[str, Any]:
    answer = requests.get(f"{base}/{query}", headers=HEADERS, timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    bundle: dict[str, Any] = answer.json()
    return bundle


def test_create_read_search(hapi_base_url: str) -> None:
    tag = unique_tag()
    patient = {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": tag}],
               "name": [{"family": f"Durand{tag}", "given": ["Léa"]}], "birthDate": "1990-04-02",
               "gender": "female"}
    created = _post(hapi_base_url, "Patient", patient)
    assert created.status_code == 201, created.text[:500]
    pid = created.json()["id"]
    assert created.headers["Location"].split("/_history/")[0].endswith(f"/Patient/{pid}")

    read = requests.get(f"{hapi_base_url}/Patient/{pid}", headers=HEADERS, timeout=60)
    assert read.status_code == 200
    body = read.json()
    for key in ("identifier", "name", "birthDate", "gender"):
        assert body[key] == patient[key]
    assert body["meta"]["versionId"] == "1"

    goal = {"resourceType": "Goal", "lifecycleStatus": "active",
            "description": {"text": "retour au travail"}, "subject": {"reference": f"Patient/{pid}"}}
    assert _post(hapi_base_url, "Goal", goal).status_code == 201

    by_identifier = _search(hapi_base_url, f"Patient?identifier={SYSTEM}|{tag}")
    assert [e["resource"]["id"] for e in by_identifier.get("entry", [])] == [pid]
    by_name = _search(hapi_base_url, f"Patient?family=durand{tag}")
    assert [e["resource"]["id"] for e in by_name.get("entry", [])] == [pid]
    goals = _search(hapi_base_url, f"Goal?subject=Patient/{pid}&lifecycle-status=active")
    assert len(goals.get("entry", [])) == 1
    assert _search(hapi_base_url, f"Goal?subject=Patient/{pid}&lifecycle-status=completed").get(
        "entry", []) == []
    # a resource that does not exist
    missing = requests.get(f"{hapi_base_url}/Patient/no-such-{tag}", headers=HEADERS, timeout=60)
    assert missing.status_code == 404


def _conditional_put_transaction(tag: str) -> dict[str, Any]:
    patient_url = f"urn:uuid:00000000-0000-4000-8000-{tag}"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient_url,
         "resource": {"resourceType": "Patient", "identifier": [{"system": SYSTEM, "value": tag}],
                      "name": [{"family": "Martin"}]},
         "request": {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|{tag}"}},
        {"resource": {"resourceType": "CarePlan", "status": "active", "intent": "plan",
                      "identifier": [{"system": SYSTEM, "value": f"cp-{tag}"}],
                      "subject": {"reference": patient_url}},
         "request": {"method": "PUT", "url": f"CarePlan?identifier={SYSTEM}|cp-{tag}"}},
    ]}


def test_conditional_put_transaction_is_idempotent(hapi_base_url: str) -> None:
    tag = unique_tag()
    first = _post(hapi_base_url, "", _conditional_put_transaction(tag))
    assert first.status_code == 200, first.text[:800]
    statuses = [e["response"]["status"] for e in first.json()["entry"]]
    assert all(s.startswith("201") for s in statuses), statuses
    again = _post(hapi_base_url, "", _conditional_put_transaction(tag))
    assert again.status_code == 200, again.text[:800]
    entries = again.json()["entry"]
    assert all(e["response"]["status"].startswith("200") for e in entries)
    # the same content again: no new version
    assert [e["response"]["location"].rsplit("/_history/", 1)[1] for e in entries] == ["1", "1"]
    plans = _search(hapi_base_url, f"CarePlan?identifier={SYSTEM}|cp-{tag}&_include=CarePlan:subject")
    kinds = sorted(e["resource"]["resourceType"] for e in plans["entry"])
    assert kinds == ["CarePlan", "Patient"]


class _Listener:
    """A FHIR rest-hook endpoint on 127.0.0.1 that records what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes]] = []
        self.event = threading.Event()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                listener.received.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                listener.event.set()

            do_POST = do_PUT = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture()
def listener() -> Iterator[_Listener]:
    with _Listener() as running:
        yield running


def test_rest_hook_subscription_delivers(hapi_base_url: str, listener: _Listener) -> None:
    tag = unique_tag()
    subscription = {"resourceType": "Subscription", "status": "requested", "reason": "test",
                    "criteria": f"Goal?identifier={SYSTEM}|{tag}",
                    "channel": {"type": "rest-hook", "endpoint": listener.url,
                                "payload": FHIR_JSON}}
    created = _post(hapi_base_url, "Subscription", subscription)
    assert created.status_code == 201, created.text[:500]
    sid = created.json()["id"]
    try:
        def active() -> bool:
            read = requests.get(f"{hapi_base_url}/Subscription/{sid}", headers=HEADERS, timeout=60)
            return bool(read.json()["status"] == "active")

        assert wait_for(active, timeout=120), "HAPI did not activate the Subscription within 120 s"

        other = {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "autre"},
                 "identifier": [{"system": SYSTEM, "value": f"other-{tag}"}],
                 "subject": {"display": "x"}}
        assert _post(hapi_base_url, "Goal", other).status_code == 201
        goal = {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "logement"},
                "identifier": [{"system": SYSTEM, "value": tag}], "subject": {"display": "x"}}
        made = _post(hapi_base_url, "Goal", goal)
        assert made.status_code == 201
        gid = made.json()["id"]
        assert listener.event.wait(timeout=120), "HAPI delivered nothing within 120 s"
        method, path, body = listener.received[0]
        assert (method, path) == ("PUT", f"/hook/Goal/{gid}")
        assert json.loads(body)["identifier"][0]["value"] == tag
        # only the matching Goal was sent (the other one was created first)
        assert all(p.endswith(f"/Goal/{gid}") for _, p, _ in listener.received)
    finally:
        requests.delete(f"{hapi_base_url}/Subscription/{sid}", headers=HEADERS, timeout=60)
