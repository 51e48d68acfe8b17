"""Audit trail and Provenance: exactly the records each request should leave."""

from __future__ import annotations

import base64
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.run import children
from fhir_service.request import FhirRequest
from fhir_service.security.principal import Principal, Scopes
from tests.security.test_access_matrix import ORGS, build_world, call


def member_world(ctx: Any) -> Any:
    """A router over ``ctx`` holding one person, p0, accompanied by org-0 only."""
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    router = Router(ctx)
    install_all(router)
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    return router


@pytest.fixture
def world(make_context: Any) -> Any:
    router = member_world(make_context(audit=True, provenance=True))
    yield router
    router.close()  # before make_context closes the repository


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


def test_killing_the_server_loses_no_committed_audit_record(tmp_path: Path,
                                                            make_context: Any) -> None:
    """SIGKILL while four clients keep reading (requests in flight): every answered read has
    its AuditEvent after the next start, and the audit indexing process ends with its
    server."""
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
    readers: list[threading.Thread] = []
    indexer: list[int] = []
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
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        found = session.get(f"{base}/CarePlan?_count=1", timeout=10).json()
        plan = found["entry"][0]["resource"]["id"]  # a plan of the demo structure's person
        for _ in range(40):
            assert session.get(f"{base}/CarePlan/{plan}", timeout=5).status_code == 200
        deadline = time.monotonic() + 60
        while not (indexer := children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the indexing process starts with the first batch (≤ 0.1 s)
        assert indexer, "no audit indexing process"
        # readers keep going while the server is killed: requests are in flight
        answered = [40]
        lock, enough = threading.Lock(), threading.Event()

        def reader() -> None:
            own = requests.Session()
            own.headers["Authorization"] = f"Bearer {token}"
            while True:
                try:
                    ok = own.get(f"{base}/CarePlan/{plan}", timeout=5).status_code == 200
                except requests.RequestException:
                    return  # the server is gone
                with lock:
                    answered[0] += ok
                    if answered[0] >= 200:
                        enough.set()

        readers = [threading.Thread(target=reader) for _ in range(4)]
        for t in readers:
            t.start()
        assert enough.wait(timeout=60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    for t in readers:
        t.join(timeout=30)
    # the audit indexing process does not outlive its server
    for pid in indexer:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            assert select.select([fd], [], [], 30)[0], "the indexing process outlived its server"
        finally:
            os.close(fd)
    # each answered read's record is durable: stored, or journaled and stored by the
    # start-up recovery of the next process
    from fhir_service.security.audit import AuditTrail

    AuditTrail(make_context(url=f"sqlite:///{db}", audit=True))
    with sqlite3.connect(db) as conn:
        n = conn.execute("SELECT count(*) FROM resources WHERE rtype = 'AuditEvent'").fetchone()[0]
    assert n >= answered[0] + 1  # every answered read (and the search) has its record
    assert not list((tmp_path / "kill.db-audit").glob("*.jsonl"))  # the journal was replayed


def test_journal_crash_recovery(make_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events journaled but never indexed (the process died first) are stored at the next
    start, once each; a torn last line (a write the crash interrupted, never answered) is
    ignored; AuditEvent searches then find them."""
    import shutil

    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from fhir_service.security.audit import AuditTrail

    ctx = make_context(audit=True, provenance=False)
    router = member_world(ctx)
    # the indexer never runs: as if the process died right after answering
    monkeypatch.setattr(AuditTrail, "_index_loop", lambda self: None)
    for path in ("CarePlan/plan-p0", "Goal/goal-p0", "Patient/p0"):
        assert call(router, NURSE, "GET", path)[0] == 200
    assert call(router, NURSE, "GET", "Goal?patient=p0")[0] == 200
    journal = router.audit.journal
    assert journal is not None and journal.path is not None
    assert router.audit.pending() == 4
    db = ctx.settings.database_url[len("sqlite:///"):]
    with sqlite3.connect(db) as conn:
        count = "SELECT count(*) FROM resources WHERE rtype = 'AuditEvent'"
        assert conn.execute(count).fetchone()[0] == 0
    segment = journal.path
    os.close(journal._fd)  # the process is gone: its lock with it
    journal._fd = None
    with segment.open("ab") as f:
        f.write(b'{"u": "x", "r": {}}\n')  # a line of another shape: skipped
        f.write(b'{"u": 1.0, "p": ["p0"], "r": {"resourceType": "AuditEv')  # torn write
    saved = segment.with_suffix(".saved")
    shutil.copy(segment, saved)
    monkeypatch.undo()

    restarted = Router(ctx)  # start-up: recovery
    install_all(restarted)
    assert not segment.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute(count).fetchone()[0] == 4
    _, by_patient = call(restarted, AUDITOR, "GET", "AuditEvent?patient=p0")
    assert by_patient["total"] == 4
    assert {e["resource"]["subtype"][0]["code"] for e in by_patient["entry"]} == {
        "read", "search"}
    # replaying the same segment again (a crash after indexing, before deletion): no duplicate
    shutil.move(saved, segment)
    assert AuditTrail(ctx).recover() == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute(count).fetchone()[0] == 4


def test_auditor_searches_wait_for_the_journal(world: Any) -> None:
    """Under load, indexing lags behind the journal; an auditor's search still sees every
    answered access, because it waits for the pending events first."""
    trail = world.audit
    assert trail.journal is not None  # the default beside a SQLite database
    for _ in range(30):
        call(world, NURSE, "GET", "CarePlan/plan-p0")
    _, found = call(world, AUDITOR, "GET", "AuditEvent?patient=p0&_summary=count")
    assert found["total"] == 30
    assert trail.pending() == 0


def test_journal_segments_stay_locked_until_indexed(make_context: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A rotated segment whose events are not all stored is never replayed by another trail
    (no duplicates); once indexed, it is deleted."""
    from fhir_service.security.audit import AuditTrail

    ctx = make_context(audit=True, provenance=False)
    router = member_world(ctx)
    journal = router.audit.journal
    assert journal is not None
    journal.segment_bytes = 1  # a new segment for every batch
    monkeypatch.setattr(AuditTrail, "_index_loop", lambda self: None)
    for _ in range(3):
        assert call(router, NURSE, "GET", "CarePlan/plan-p0")[0] == 200
    assert len(list(journal.directory.glob("*.jsonl"))) == 3
    assert AuditTrail(ctx).recover() == 0  # all three are held by the live trail
    monkeypatch.undo()
    router.audit.flush()
    assert list(journal.directory.glob("*.jsonl")) == [journal.path]  # the closed ones went
    _, found = call(router, AUDITOR, "GET", "AuditEvent?_summary=count")
    assert found["total"] == 3


def test_clean_shutdown_indexes_the_journal_and_ends_the_threads(world: Any) -> None:
    """Router.close() (the app's shutdown): every audit record handed over is stored and
    indexed, the writer and indexer threads end; a later record starts them again."""
    trail = world.audit
    for _ in range(5):
        assert call(world, NURSE, "GET", "CarePlan/plan-p0")[0] == 200
    world.close()
    assert trail.pending() == 0
    threads = [t for t in (trail._thread, trail._ithread) if t is not None]
    assert threads and not any(t.is_alive() for t in threads)
    assert call(world, NURSE, "GET", "Goal/goal-p0")[0] == 200  # writer restarted
    _, found = call(world, AUDITOR, "GET", "AuditEvent?patient=p0&_summary=count")
    assert found["total"] == 6


def test_reads_on_the_event_loop_are_audited_like_the_others(make_context: Any,
                                                             tmp_path: Path) -> None:
    """Over HTTP, reads by id are answered on the event loop, which builds their AuditEvent
    itself from the people the access check found; the records are those the threaded path
    writes (same people, resources, outcome), and each is durable before the answer."""
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from tests.security.conftest import bearer, mint

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    router = app.state.router
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    app.state.security.clients.add("cmp-app", "CMP", "org-0", "pr-org-0", "system/*.cruds")
    headers = bearer(mint(app, "cmp-app", "system/*.cruds"))
    paths = ["CarePlan/plan-p0", "Goal/goal-p0", "CarePlan/plan-p0/_history/1",
             "CarePlan/unknown"]
    trail = router.audit
    built_by: list[str] = []
    entry = trail._entry

    def spy(*args: Any) -> Any:
        built_by.append(threading.current_thread().name)
        return entry(*args)

    trail._entry = spy
    with TestClient(app, base_url="http://test") as client:
        statuses = [client.get(f"/fhir/{p}", headers=headers).status_code for p in paths]
        assert statuses == [200, 200, 200, 404]
        assert trail._iseq == len(paths)  # each journaled (durable) before its answer
        # reads and vreads by id: built on the event loop, not by the writer thread
        assert [name == "cm-fhir-audit" for name in built_by] == [False] * len(paths)
        for p in paths:  # the same requests through the threaded path
            call(router, NURSE, "GET", p)
    events = audit_events(router)
    assert len(events) == 2 * len(paths)

    def essence(event: dict[str, Any]) -> tuple[Any, ...]:
        return (event["subtype"][0]["code"], event["action"], event["outcome"],
                sorted(e["what"]["reference"] for e in event.get("entity", []) if "what" in e))

    over_http, threaded = events[:len(paths)], events[len(paths):]
    assert [essence(e) for e in over_http] == [essence(e) for e in threaded]
    assert essence(over_http[0])[3] == ["CarePlan/plan-p0/_history/1", "Patient/p0"]
    assert essence(over_http[3])[2] == "4"  # the refused read is recorded too
    clients = {a["who"].get("identifier", {}).get("value") for a in over_http[0]["agent"]}
    assert "cmp-app" in clients
    router.close()


def test_indexing_in_a_process_of_its_own(make_context: Any) -> None:
    """The serve default: journaled events are stored and indexed by a child process. A
    child that dies is replaced and its batch sent again, stored once; closing the trail
    ends the child."""
    ctx = make_context(audit=True, provenance=False, audit_indexer="process")
    router = member_world(ctx)
    trail = router.audit
    assert trail._process is not None
    for _ in range(5):
        assert call(router, NURSE, "GET", "CarePlan/plan-p0")[0] == 200
    _, found = call(router, AUDITOR, "GET", "AuditEvent?patient=p0&_summary=count")
    assert found["total"] == 5  # the operator's search waited for the child's indexing
    child = trail._process._proc
    assert child is not None and child.poll() is None
    child.kill()
    child.wait(timeout=30)
    for _ in range(3):
        assert call(router, NURSE, "GET", "Goal/goal-p0")[0] == 200
    _, found = call(router, AUDITOR, "GET", "AuditEvent?patient=p0&_summary=count")
    assert found["total"] == 8
    _, goals = call(router, AUDITOR, "GET", "AuditEvent?entity=Goal/goal-p0/_history/1")
    assert len(goals["entry"]) == 3
    replacement = trail._process._proc
    assert replacement is not None and replacement.pid != child.pid
    router.close()
    assert replacement.poll() is not None  # ended with the trail


def test_the_index_process_stores_a_batch_sent_twice_once(make_context: Any) -> None:
    """A batch the child stored but could not acknowledge (it died just after) is sent again
    to its replacement: the events it already holds are skipped."""
    from fhir_service.security.audit_index import IndexerProcess

    ctx = make_context(audit=True)
    definitions = [p.definition for p in ctx.params.indexed("AuditEvent")]
    indexer = IndexerProcess(ctx.repository.url, definitions)
    event = {"resourceType": "AuditEvent", "id": "ae-1", "recorded": "2026-01-02T03:04:05Z",
             "type": {"code": "rest"}, "agent": [{"requestor": True}],
             "source": {"observer": {"display": "x"}},
             "entity": [{"what": {"reference": "Patient/p9"}}]}
    items = [("ae-1", 1.0, orjson_dumps(event), ["p9"])]
    try:
        indexer.store(items)
        indexer.store(items)
    finally:
        indexer.close()
    with sqlite3.connect(ctx.repository.url.removeprefix("sqlite:///")) as conn:
        rows = conn.execute("SELECT count(*) FROM resources WHERE rid = 'ae-1'").fetchone()[0]
        people = conn.execute("SELECT patient_id FROM res_patient rp JOIN resources r "
                              "ON r.pk = rp.res_pk WHERE r.rid = 'ae-1'").fetchall()
    assert rows == 1 and people == [("p9",)]


def orjson_dumps(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)
