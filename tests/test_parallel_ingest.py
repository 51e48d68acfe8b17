"""Parallel writes on PostgreSQL: ``cm-fhir serve --workers 2`` with several clients posting
transactions at once, every request audited through one journal directory shared by the
workers (each writes its own segments).

Checked afterwards: every resource a transaction created is there (nothing lost), no id was
given twice, one resource updated by every transaction of every client has exactly one
version per update (no lost update, no duplicate version), and every created resource is
named by an AuditEvent in the database once the server has stopped (nothing lost from the
audit trail, the journal emptied)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pg import fresh_database, postgres_server

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 4
TRANSACTIONS = 5  # per client
IPP = "urn:oid:1.2.250.1.71.4.2.7.999"  # a test hospital's patient numbers

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    yield from postgres_server()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes under the supervising ``serve``."""
    out = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:  # (not the resource tracker)
            out.append(child)
    return out


def _episode(patient: str, structure: str) -> dict[str, Any]:
    """The structure manages the person's episode: it sees their data."""
    return {"resource": {"resourceType": "EpisodeOfCare", "status": "active",
                         "patient": {"reference": patient},
                         "managingOrganization": {"reference": f"Organization/{structure}"}},
            "request": {"method": "POST", "url": "EpisodeOfCare"}}


def _transaction(client: int, n: int, shared_goal: dict[str, Any],
                 structure: str) -> dict[str, Any]:
    patient = f"urn:uuid:{uuid.uuid4()}"
    goals = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}",
              "resource": {"resourceType": "Goal", "lifecycleStatus": "active",
                           "description": {"text": f"Goal {i} of client {client}, bundle {n}"},
                           "subject": {"reference": patient}},
              "request": {"method": "POST", "url": "Goal"}} for i in range(3)]
    update = {**shared_goal, "description": {"text": f"Changed by client {client}, bundle {n}"}}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient,
         "resource": {"resourceType": "Patient",
                      "identifier": [{"system": IPP, "value": f"P-{client}-{n}"}],
                      "name": [{"family": f"Parallèle{client}", "given": [f"N{n}"]}]},
         "request": {"method": "POST", "url": "Patient"}},
        _episode(patient, structure),
        *goals,
        {"resource": update, "request": {"method": "PUT", "url": f"Goal/{update['id']}"}},
    ]}


def test_two_workers_ingest_in_parallel_without_loss(pg_server: str, tmp_path: Path) -> None:
    url = fresh_database(pg_server, "cmfhir_parallel_ingest")
    journal = tmp_path / "journal"
    port = _free_port()
    env = {**os.environ, "CM_FHIR_DATABASE_URL": url, "CM_FHIR_KEYS_DIR": str(tmp_path / "keys"),
           "CM_FHIR_AUDIT_JOURNAL": str(journal), "CM_FHIR_RATE_LIMIT_PER_SECOND": "0",
           "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "fhir_service.cli", "serve", "--port",
                             str(port), "--workers", "2"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    token = structure = None
    base = f"http://127.0.0.1:{port}/fhir"
    results: list[tuple[int, dict[str, Any]]] = []
    output: list[str] = []
    drain: threading.Thread | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("ey"):
                token = line.strip()
            if (found := re.search(r"structure Organization/([A-Za-z0-9.-]+)", line)):
                structure = found.group(1)
            if "is serving FHIR R4 at" in line:
                break
        assert token and structure, "no demo token printed: " + "".join(output)[-2000:]
        # drain the rest of the output, so that the server never blocks on a full pipe
        drain = threading.Thread(target=proc.stdout.read, daemon=True)
        drain.start()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        deadline = time.monotonic() + 120
        with httpx.Client(headers=headers, timeout=60) as http:
            while len(_workers(proc.pid)) < 2 or not _ready(http, base):
                assert time.monotonic() < deadline, "the workers did not start"
                assert proc.poll() is None, "the server exited"
                time.sleep(0.2)  # readiness poll of separate processes, bounded
            assert len(_workers(proc.pid)) == 2
            # a Goal of a new person, which every transaction of every client then updates
            made = http.post(f"{base}/", json={"resourceType": "Bundle", "type": "transaction",
                                               "entry": [
                {"fullUrl": "urn:uuid:7d1c3a54-9e1b-4a4e-9a0f-2b8f0c1d2e3f",
                 "resource": {"resourceType": "Patient", "identifier": [
                     {"system": IPP, "value": "P-shared"}]},
                 "request": {"method": "POST", "url": "Patient"}},
                _episode("urn:uuid:7d1c3a54-9e1b-4a4e-9a0f-2b8f0c1d2e3f", structure),
                {"resource": {"resourceType": "Goal", "id": "parallel-shared",
                              "lifecycleStatus": "active", "description": {"text": "Shared"},
                              "subject": {"reference":
                                          "urn:uuid:7d1c3a54-9e1b-4a4e-9a0f-2b8f0c1d2e3f"}},
                 "request": {"method": "PUT", "url": "Goal/parallel-shared"}}]})
            assert made.status_code == 200, made.text
            shared_goal = http.get(f"{base}/Goal/parallel-shared").json()
            assert shared_goal.get("resourceType") == "Goal", shared_goal
            shared_goal.pop("meta")
            lock = threading.Lock()
            start = threading.Barrier(CLIENTS)

            def client(c: int) -> None:
                with httpx.Client(headers=headers, timeout=120) as own:
                    start.wait(timeout=60)
                    for n in range(TRANSACTIONS):
                        resp = own.post(f"{base}/", json=_transaction(c, n, shared_goal,
                                                                       structure))
                        with lock:
                            results.append((resp.status_code, resp.json()))

            threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            assert [s for s, _ in results] == [200] * (CLIENTS * TRANSACTIONS), \
                [b for s, b in results if s != 200][:1]
            created = [e["response"]["location"].split("/_history/")[0]
                       for _, b in results for e in b["entry"]
                       if e["response"]["status"].startswith("201")]
            assert len(created) == CLIENTS * TRANSACTIONS * 5
            assert len(set(created)) == len(created), "an id was given twice"
            for key in created:  # nothing lost
                assert http.get(f"{base}/{key}").status_code == 200, key
            # the shared Goal: one version per transaction, none lost, none twice
            updates = sorted(int(e["response"]["etag"].strip('W/"')) for _, b in results
                             for e in b["entry"] if "Goal/parallel-shared" in
                             e["response"]["location"])
            assert updates == list(range(2, CLIENTS * TRANSACTIONS + 2))
            history = http.get(f"{base}/Goal/parallel-shared/_history?_count=100").json()
            versions = sorted(int(e["resource"]["meta"]["versionId"]) for e in history["entry"])
            assert versions == list(range(1, CLIENTS * TRANSACTIONS + 2))
            found = http.get(f"{base}/Patient?identifier={IPP}|&_summary=count").json()
            assert found["total"] == CLIENTS * TRANSACTIONS + 1
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # the supervisor and its workers: clean stop
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if drain is not None:
            drain.join(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    # every created resource is named by a stored AuditEvent; the journal is emptied
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            events = [bytes(r[0]) for r in conn.execute(text(
                "SELECT content FROM resources WHERE rtype = 'AuditEvent'"))]
    finally:
        engine.dispose()
    named = b"\n".join(events)
    missing = [key for key in created if f'"{key}/_history/1"'.encode() not in named]
    assert not missing, f"{len(missing)} created resources have no AuditEvent"
    writes = [e for e in map(json.loads, events)
              if any(c.get("code") == "transaction" for c in e.get("subtype", []))]
    assert len(writes) >= CLIENTS * TRANSACTIONS + 1
    assert not list(journal.glob("*.jsonl")), "journal segments left unindexed"


def _ready(http: httpx.Client, base: str) -> bool:
    try:
        return http.get(f"{base}/metadata", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
