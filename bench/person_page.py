"""The person's page and the partner's workloads with authentication on, on a loaded database.

    python -m bench.person_page --resources 1000000 [--pages 300] [--users 1,4]
                                [--duration 10] [--connections 16]

Runs on the SQLite database that ``python -m bench.run --resources N`` left in
``var/bench/db-N.sqlite`` (load it first). The server starts with ``--auth embedded`` (token,
access policy through the caller's door, audit journal: every figure here includes the trust
layer a partner goes through). A bench client is registered bound to the structure that
manages the first person's episode, with ``system/*.rs``, and the token comes from
``cm-fhir token``. The people that structure accompanies are found through the API
(``EpisodeOfCare?organization=…``), so the door decides them.

**The person's page** (``/app/#/person/<id>``, ``fhir_service/web/app.js`` ``loadPerson``):
the six requests the page sends at once (the Patient, their Goals, CarePlans, CareTeams with
members, structures and practitioners included, EpisodeOfCare with the referral included,
Consents), sent in parallel as the browser does; page time = until the last answer. Pages
are opened one after another by each of ``--users`` simulated users, each page a random
person of the structure. Printed: page p50/p95/p99, each request's p95, errors.

**Workloads with the token** (wrk, ``--duration`` s, ``--connections``): read by id among
the structure's people's resources (audited), the 20-entry Goal page (through the door) and
the include search. These are the issue's "read by id ≥ 2,000 audited" and the door's cost.

Figures are printed and written to ``var/bench/person-page-<stamp>.json``; never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.run import (
    BASE,
    DEFAULT_OUT,
    HOST,
    ROOT,
    CpuMeter,
    Server,
    Workload,
    db_size_mb,
    export_source,
    free_port,
    git_commit,
    loadavg,
    percentile,
    run_wrk,
)

PAGE = [
    "Patient/{p}",
    "Goal?patient={p}&_count=200",
    "CarePlan?patient={p}&_count=50",
    "CareTeam?patient={p}&_include=CareTeam:participant"
    "&_include:iterate=PractitionerRole:practitioner"
    "&_include:iterate=PractitionerRole:organization&_count=50",
    "EpisodeOfCare?patient={p}&_include=EpisodeOfCare:incoming-referral&_count=50",
    "Consent?patient={p}&_count=50",
]
CLIENT = "bench-person-page"


def cli(db: Path, *argv: str) -> str:
    exe = Path(sys.executable).parent / "cm-fhir"
    proc = subprocess.run([str(exe), *argv, "--database", f"sqlite:///{db}"],
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"cm-fhir {' '.join(argv)}: {proc.stderr[-600:]}")
    return proc.stdout


def first_structure(corpus: Path) -> str:
    """The managing structure of the first person's episode (first person bundle)."""
    with (corpus / "bundles.ndjson").open("rb") as f:
        bundle = json.loads(f.readline())
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "EpisodeOfCare":
            return str(res["managingOrganization"]["reference"].split("/", 1)[1])
    raise RuntimeError("no EpisodeOfCare in the first bundle")


class Client:
    """Keep-alive HTTP with the bearer token; one per thread."""

    local = threading.local()

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def get(self, path: str) -> tuple[int, bytes, float]:
        import http.client

        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        t0 = time.perf_counter()
        try:
            conn.request("GET", f"{BASE}/{path}", headers={
                "Accept": "application/fhir+json", "Authorization": f"Bearer {self.token}"})
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            return 599, b"", (time.perf_counter() - t0) * 1000
        return resp.status, body, (time.perf_counter() - t0) * 1000


def accompanied(client: Client, structure: str, limit: int) -> list[str]:
    """The people whose episode the structure manages, through the API (and its door)."""
    people: list[str] = []
    path = f"EpisodeOfCare?organization=Organization/{structure}&_count=500&_elements=patient"
    while path and len(people) < limit:
        status, body, _ = client.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        page = json.loads(body)
        people += [e["resource"]["patient"]["reference"].split("/", 1)[1]
                   for e in page.get("entry", []) if "patient" in e.get("resource", {})]
        nxt = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"),
                   None)
        path = nxt.split(f"{BASE}/", 1)[1] if nxt else ""
    return people[:limit]


def person_pages(port: int, token: str, people: list[str], pages: int,
                 users: int) -> dict[str, Any]:
    """``users`` simulated users each open ``pages // users`` person pages in a row."""
    client = Client(port, token)
    page_ms: list[float] = []
    per_request: list[list[float]] = [[] for _ in PAGE]
    errors = 0
    lock = threading.Lock()
    pool = ThreadPoolExecutor(users * len(PAGE))

    def user(k: int) -> None:
        nonlocal errors
        rng = random.Random(1000 + k)
        for _ in range(pages // users):
            pid = rng.choice(people)
            t0 = time.perf_counter()
            paths = [q.format(p=pid) for q in PAGE]
            answers = list(pool.map(client.get, paths))
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                page_ms.append(elapsed)
                for i, (status, _, ms) in enumerate(answers):
                    per_request[i].append(ms)
                    errors += status != 200

    threads = [threading.Thread(target=user, args=(k,)) for k in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    pool.shutdown()
    lat = sorted(page_ms)
    return {
        "users": users, "pages": len(lat), "seconds": round(seconds, 2),
        "pages_per_s": round(len(lat) / seconds, 1),
        "page_p50_ms": round(percentile(lat, 50), 1), "page_p95_ms": round(percentile(lat, 95), 1),
        "page_p99_ms": round(percentile(lat, 99), 1), "errors": errors,
        "request_p95_ms": {PAGE[i].split("?")[0].split("/")[0]: round(percentile(sorted(r), 95), 1)
                           for i, r in enumerate(per_request)},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--resources", type=int, default=10_000)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--users", default="1,4", help="simulated users, comma-separated runs")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--source", default="worktree",
                    help="server code: 'worktree' or a git revision (as bench.run --source)")
    args = ap.parse_args(argv)
    out: Path = args.out
    db = out / f"db-{args.resources}.sqlite"
    corpus = out / f"corpus-{args.resources}"
    if not db.exists() or not (corpus / "manifest.json").exists():
        print(f"{db} or {corpus} missing: run python -m bench.run --resources {args.resources} "
              "first", file=sys.stderr)
        return 2
    structure = first_structure(corpus)
    cli(db, "client", "deactivate", CLIENT) if CLIENT in cli(db, "client", "list") else None
    cli(db, "client", "add", CLIENT, "--structure", structure, "--scopes", "system/*.rs",
        "--name", "bench person page")
    token = cli(db, "token", CLIENT, "--minutes", "120").strip().splitlines()[-1]
    results: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"), "database": str(db),
        "db_size_mb": db_size_mb(db), "structure": f"Organization/{structure}",
        "machine": {"cores": os.cpu_count(), "loadavg_start": loadavg()}, "runs": [],
    }
    source = None if args.source == "worktree" else export_source(args.source, out)
    results["commit"] = git_commit(args.source)
    os.environ.setdefault("CM_FHIR_KEYS_DIR", str(ROOT / "var" / "keys"))  # as the CLI's
    server = Server(db, free_port(), out / "server-person-page.log", auth="embedded",
                    source=source)
    server.start(timeout=600)
    try:
        client = Client(server.port, token)
        people = accompanied(client, structure, 5000)
        results["people_of_structure"] = len(people)
        print(f"  Organization/{structure} accompanies {len(people)} people (first 5,000 "
              "kept)", file=sys.stderr)
        person_pages(server.port, token, people, 20, 1)  # warm-up, not reported
        for users in (int(u) for u in args.users.split(",")):
            with CpuMeter(server.pid) as meter:
                row = person_pages(server.port, token, people, args.pages, users)
            row.update(meter.as_dict())
            results["runs"].append(row)
            print(f"  person page, {users} user(s): p50 {row['page_p50_ms']} ms, p95 "
                  f"{row['page_p95_ms']} ms, p99 {row['page_p99_ms']} ms, {row['errors']} "
                  f"errors", file=sys.stderr, flush=True)
        # wrk with the token: the read sample is the structure's people's own resources
        reads = [f"{BASE}/Patient/{p}" for p in people[:2000]]
        reads += [f"{BASE}/EpisodeOfCare/{p}-ep" for p in people[:2000]]
        loads = [
            Workload("read-audited", "read by id, token + door + audit", reads),
            Workload("search-goal-door", "Goal?_count=20&lifecycle-status=active (door)",
                     [f"{BASE}/Goal?_count=20&lifecycle-status=active"]),
            Workload("include-door", "CarePlan?patient=…&_include=CarePlan:goal (door)",
                     [f"{BASE}/CarePlan?patient=Patient/{p}&_include=CarePlan:goal"
                      for p in people[:2000]]),
        ]
        results["wrk"] = []
        for wl in loads:
            with CpuMeter(server.pid) as meter:
                figures = run_wrk_with_token(server.port, wl, args.duration, args.connections,
                                             out, token)
            row = {"name": wl.name, "what": wl.what, "connections": args.connections,
                   **figures, **meter.as_dict()}
            results["wrk"].append(row)
            print(f"  {wl.name}: {row['req_per_s']} req/s, p95 {row['p95_ms']} ms, "
                  f"{row['non_2xx']} non-2xx", file=sys.stderr, flush=True)
        results["memory"] = server.memory()
    finally:
        server.stop()
    results["machine"]["loadavg_end"] = loadavg()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"person-page-{stamp}.json"
    path.write_text(json.dumps(results, indent=1))
    print_table(results)
    print(f"results: {path}")
    return 0


def run_wrk_with_token(port: int, wl: Workload, duration: float, connections: int,
                       workdir: Path, token: str) -> dict[str, Any]:
    """bench.run's wrk workload with an Authorization header on every request."""
    return run_wrk(port, wl, duration, connections, workdir,
                   headers={"Authorization": f"Bearer {token}"})


def print_table(results: dict[str, Any]) -> None:
    print(f"\nperson's page and partner workloads, auth on — {results['database']} "
          f"({results['db_size_mb']} MB), {results['structure']} "
          f"({results.get('people_of_structure')} people), load {results['machine']}")
    print(f"{'users':>6} {'pages':>6} {'pages/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6}  per request p95 ms")
    for r in results["runs"]:
        print(f"{r['users']:>6} {r['pages']:>6} {r['pages_per_s']:>8} {r['page_p50_ms']:>8} "
              f"{r['page_p95_ms']:>8} {r['page_p99_ms']:>8} {r['errors']:>6}  "
              f"{r['request_p95_ms']}")
    for r in results.get("wrk", []):
        print(f"{r['name']:<18} {r['connections']:>3} conns {r['req_per_s']:>8} req/s  p50 "
              f"{r['p50_ms']} ms  p95 {r['p95_ms']} ms  p99 {r['p99_ms']} ms  non-2xx "
              f"{r['non_2xx']}  server cores {r.get('server_cores')}")
    if "memory" in results:
        print(f"server memory: {results['memory']}")


if __name__ == "__main__":
    raise SystemExit(main())
