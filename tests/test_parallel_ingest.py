"""Parallel writes on PostgreSQL: ``cm-fhir serve --workers 2``, and two ``serve`` processes
on two ports (stateless instances behind a load balancer), with several clients posting
transactions at once, every request audited through one journal directory shared by the
processes (each writes its own segments).

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
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pg import fresh_database

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 4
TRANSACTIONS = 5  # per client
IPP = "urn:oid:1.2.250.1.71.4.2.7.999"  # a test hospital's patient numbers

pytestmark = pytest.mark.postgres



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


class _Server:
    """``cm-fhir serve`` in a process group of its own, its output drained once started."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        self.proc = subprocess.Popen([sys.executable, "-m", "fhir_service.cli", "serve",
                                      "--port", str(self.port), *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.token = self.structure = None
        self.drain: threading.Thread | None = None
        output: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            output.append(line)
            if line.startswith("ey"):
                self.token = line.strip()
            if (found := re.search(r"structure Organization/([A-Za-z0-9.-]+)", line)):
                self.structure = found.group(1)
            if "is serving FHIR R4 at" in line:
                break
        self.output = "".join(output)
        # drain the rest of the output, so that the server never blocks on a full pipe
        self.drain = threading.Thread(target=self.proc.stdout.read, daemon=True)
        self.drain.start()

    def wait_ready(self, http: httpx.Client, workers: int) -> None:
        deadline = time.monotonic() + 120
        while (workers > 1 and len(_workers(self.proc.pid)) < workers) or \
                not _ready(http, self.base):
            assert time.monotonic() < deadline, "the server did not start"
            assert self.proc.poll() is None, "the server exited: " + self.output[-2000:]
            time.sleep(0.2)  # readiness poll of separate processes, bounded
        if workers > 1:
            assert len(_workers(self.proc.pid)) == workers

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)  # the supervisor and its workers: clean stop
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        if self.drain is not None:
            self.drain.join(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.mark.parametrize("deployment", ["workers", "two-ports"])
def test_parallel_ingest_on_postgresql_loses_nothing(pg_server: str, tmp_path: Path,
                                                    deployment: str) -> None:
    """``workers``: ``serve --workers 2`` (one port); ``two-ports``: two ``serve`` processes
    on two ports, as two stateless instances behind a load balancer (clients alternate)."""
    url = fresh_database(pg_server, f"cmfhir_parallel_{deployment.replace('-', '_')}")
    run_parallel_ingest(url, tmp_path, deployment)


def run_parallel_ingest(url: str, tmp_path: Path, deployment: str) -> None:
    """The scenario on the database at ``url`` (also run on SQLite: test_parallel_sqlite)."""
    journal = tmp_path / "journal"
    env = {**os.environ, "CM_FHIR_DATABASE_URL": url, "CM_FHIR_KEYS_DIR": str(tmp_path / "keys"),
           "CM_FHIR_AUDIT_JOURNAL": str(journal), "CM_FHIR_RATE_LIMIT_PER_SECOND": "0",
           "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    servers: list[_Server] = []
    results: list[tuple[int, dict[str, Any]]] = []
    try:
        servers.append(_Server(["--workers", "2"] if deployment == "workers" else [], env))
        first = servers[0]
        token, structure = first.token, first.structure
        assert token and structure, "no demo token printed: " + first.output[-2000:]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        with httpx.Client(headers=headers, timeout=60) as http:
            first.wait_ready(http, 2 if deployment == "workers" else 1)
            if deployment == "two-ports":  # the second instance: same database, keys, journal
                servers.append(_Server(["--no-demo"], env))
                servers[1].wait_ready(http, 1)
            bases = [s.base for s in servers]
            base = bases[0]
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
            shared_goal = http.get(f"{bases[-1]}/Goal/parallel-shared").json()
            assert shared_goal.get("resourceType") == "Goal", shared_goal
            shared_goal.pop("meta")
            lock = threading.Lock()
            start = threading.Barrier(CLIENTS)

            def client(c: int) -> None:
                with httpx.Client(headers=headers, timeout=120) as own:
                    start.wait(timeout=60)
                    for n in range(TRANSACTIONS):
                        target = bases[(c + n) % len(bases)]  # (two ports: alternate)
                        resp = own.post(f"{target}/", json=_transaction(c, n, shared_goal,
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
            for i, key in enumerate(created):  # nothing lost, seen from every instance
                assert http.get(f"{bases[i % len(bases)]}/{key}").status_code == 200, key
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
        for server in servers:
            server.stop()
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
