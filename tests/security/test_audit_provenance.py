"""Audit trail and Provenance: exactly the records each request should leave."""

from __future__ import annotations

import base64
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from fhir_service.request import FhirRequest
from fhir_service.security.principal import Principal, Scopes
from tests.security.test_access_matrix import ORGS, build_world, call


@pytest.fixture
def world(make_context: Any) -> Any:
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    ctx = make_context(audit=True, provenance=True)
    router = Router(ctx)
    install_all(router)
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    return router


NURSE = Principal("cmp-app", structure="org-0", practitioner="pr-org-0",
                  scopes=Scopes.parse("system/*.cruds"))
AUDITOR = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)


def audit_events(router: Any) -> list[dict[str, Any]]:
    _, bundle = call(router, AUDITOR, "GET", "AuditEvent?_count=1000&_sort=_lastUpdated")
    return [e["resource"] for e in bundle.get("entry", [])]


def test_each_access_leaves_exactly_one_audit_event(world: Any) -> None:
    assert audit_events(world) == []  # loading as the server itself is not an access
    call(world, NURSE, "GET", "CarePlan/plan-p0")
    call(world, NURSE, "GET", "Goal?patient=p0")
    call(world, NURSE, "GET", "Organization")  # no patient data: not audited
    call(world, NURSE, "GET", "CarePlan/plan-unknown")  # a refused/failed access is audited
    events = audit_events(world)
    assert [e["subtype"][0]["code"] for e in events] == ["read", "search", "read"]
    read, search, missing = events
    assert read["action"] == "R" and read["outcome"] == "0"
    assert {"Patient/p0"} <= {e["what"]["reference"] for e in read["entity"] if "what" in e}
    assert any(e["what"]["reference"] == "CarePlan/plan-p0/_history/1"
               for e in read["entity"] if "what" in e)
    who = {a["who"].get("reference") or a["who"].get("identifier", {}).get("value")
           for a in read["agent"]}
    assert {"cmp-app", "Practitioner/pr-org-0", "Organization/org-0"} <= who
    query = next(e for e in search["entity"] if e.get("query"))
    assert base64.b64decode(query["query"]).decode() == "patient=p0"
    assert missing["outcome"] == "4"
    _, by_patient = call(world, AUDITOR, "GET", "AuditEvent?patient=p0")
    assert by_patient["total"] == 2


def test_provenance_on_every_change_and_none_on_no_change(world: Any) -> None:
    goal = {"resourceType": "Goal", "id": "g-new", "lifecycleStatus": "proposed",
            "description": {"text": "Reprendre le vélo"}, "subject": {"reference": "Patient/p0"}}
    assert call(world, NURSE, "PUT", "Goal/g-new", goal)[0] == 201
    assert call(world, NURSE, "PUT", "Goal/g-new", goal)[0] == 200  # unchanged
    _, provs = call(world, None, "GET", "Provenance?target=Goal/g-new")
    assert provs["total"] == 1
    prov = provs["entry"][0]["resource"]
    assert prov["target"] == [{"reference": "Goal/g-new/_history/1"}]
    assert prov["activity"]["coding"][0]["code"] == "CREATE"
    agents = {a["type"]["coding"][0]["code"]: a for a in prov["agent"]}
    assert agents["author"]["who"]["reference"] == "Practitioner/pr-org-0"
    assert agents["author"]["onBehalfOf"]["reference"] == "Organization/org-0"
    assert agents["enterer"]["who"]["identifier"]["value"] == "cmp-app"
    # the provenance belongs to the person, so the structure that wrote it can read it
    assert call(world, NURSE, "GET", f"Provenance/{prov['id']}")[0] == 200
    assert call(world, Principal("x", structure="org-2", scopes=Scopes.parse("system/*.rs")),
                "GET", f"Provenance/{prov['id']}")[0] == 404


def test_x_provenance_header_is_honoured(world: Any) -> None:
    from fhir_service import fhir

    header = {"resourceType": "Provenance", "recorded": "2020-01-01T00:00:00Z",
              "agent": [{"who": {"display": "Logiciel DPI du CMP"}}],
              "reason": [{"text": "Révision du projet en synthèse"}]}
    goal = {"resourceType": "Goal", "id": "g-x", "lifecycleStatus": "active",
            "description": {"text": "x"}, "subject": {"reference": "Patient/p0"}}
    req = FhirRequest("PUT", ["Goal", "g-x"], body=fhir.dumps(goal), base_url="http://test/fhir",
                      headers={"content-type": "application/fhir+json",
                               "x-provenance": fhir.dumps(header).decode()},
                      principal=NURSE)
    assert world.handle(req).status == 201
    _, provs = call(world, None, "GET", "Provenance?target=Goal/g-x")
    prov = provs["entry"][0]["resource"]
    assert prov["reason"][0]["text"] == "Révision du projet en synthèse"
    assert prov["agent"][0]["who"]["display"] == "Logiciel DPI du CMP"
    assert prov["target"] == [{"reference": "Goal/g-x/_history/1"}]
    assert prov["recorded"] != "2020-01-01T00:00:00Z"  # the server's time
    bad = FhirRequest("PUT", ["Goal", "g-y"], body=fhir.dumps({**goal, "id": "g-y"}),
                      base_url="http://test/fhir", principal=NURSE,
                      headers={"content-type": "application/fhir+json",
                               "x-provenance": '{"resourceType":"Patient"}'})
    from fhir_service.outcomes import FhirError

    with pytest.raises(FhirError) as err:
        world.handle(bad)
    assert err.value.status == 400
    assert call(world, None, "GET", "Goal/g-y")[0] == 404  # nothing written


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_killing_the_server_loses_no_committed_audit_record(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("cm-fhir")
    if not exe.exists():
        pytest.skip("the cm-fhir console script is not installed in this environment")
    db = tmp_path / "kill.db"
    port = _free_port()
    env = {**os.environ, "CM_FHIR_DATABASE_URL": f"sqlite:///{db}",
           "CM_FHIR_KEYS_DIR": str(tmp_path / "keys"), "COLUMNS": "200",
           "CM_FHIR_RATE_LIMIT_PER_SECOND": "0"}
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    token = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ey"):
                token = line.strip()
            if "is serving FHIR R4 at" in line:
                break
        assert token
        base = f"http://127.0.0.1:{port}/fhir"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/metadata", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)  # readiness poll of a separate process, bounded
        answered = 0
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        for _ in range(40):
            if session.get(f"{base}/CarePlan/diego-careplan", timeout=5).status_code == 200:
                answered += 1
        assert answered == 40
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    with sqlite3.connect(db) as conn:
        n = conn.execute("SELECT count(*) FROM resources WHERE rtype = 'AuditEvent'").fetchone()[0]
    assert n >= answered  # every answered read has its committed record
