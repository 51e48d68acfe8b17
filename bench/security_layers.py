"""Cost of each security layer on a read by id, a search page or an include (issue 5).

    python -m bench.security_layers                    # 3 rounds × 4 configurations, 8 s each
    python -m bench.security_layers --rounds 5 --duration 10 --connections 32
    python -m bench.security_layers --workload include --root /tmp/before --root .

``--workload``: ``read`` (the demo structure's CarePlan by id, the default), ``search``
(``Goal?_count=20``: the demo person's Goals, topped up to 20 through the API with the demo
token before timing) or ``include`` (``CarePlan?patient=<the demo person>&_include=
CarePlan:goal``: the plan and its goals). The answer is checked once before timing and its
entry count printed. ``--root DIR`` (repeatable) runs the server from another source tree,
e.g. a ``git worktree`` of an older commit (``python -m fhir_service.cli`` with
``PYTHONPATH=DIR``, this tree's venv and definitions cache); with several roots every
configuration runs on each, all interleaved round by round.

Over HTTP: ``cm-fhir serve`` with the demo data on 127.0.0.1 and a free port, one process,
``wrk`` loading the workload (by default the demo structure's CarePlan by id), in these
configurations:

* ``none``: ``--auth off`` (no token, no access policy, no audit);
* ``auth+policy``: the demo token (signature and claims checked, verified tokens cached),
  scopes, the access policy (the structure must accompany the person), audit off;
* ``auth+policy+audit``: the same with an AuditEvent per read, built on the event loop,
  journaled and fdatasync-ed before the response, stored and indexed by a child process
  (the default);
* ``…+audit (index thread)``: the same, indexed by a thread of the server instead
  (``CM_FHIR_AUDIT_INDEXER=thread``: deferred while requests keep coming, so it competes
  with them once 20,000 events wait);
* ``…+audit (direct)``: the audit stored directly in the database, no journal
  (``CM_FHIR_AUDIT_JOURNAL=off``), for comparison;
* ``…+audit (no fsync)``: the journal without ``fdatasync`` (``CM_FHIR_AUDIT_FSYNC=0``:
  survives a process crash, not a power loss, like the database's own commits).

Configurations are interleaved round by round so that the load of the (shared) machine
weighs on all of them alike; the load average is printed with each figure. After the audited
runs the server is stopped and the database and journal are checked: every answered read
has its AuditEvent (stored, or journaled and stored at the next start).

In process: the cost of each layer alone (token verification, scope and policy checks, the
audit record: building, journal append with fdatasync, background indexing).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import HOST, children, free_port, loadavg, proc_memory, proc_ticks, request

ROOT = Path(__file__).resolve().parents[1]

LUA = r"""
local path = %(path)s
local headers = {["Accept"] = "application/fhir+json"%(auth)s}
function request()
  return wrk.format("GET", path, headers)
end
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"errors":%%d,' ..
    '"p50_us":%%d,"p95_us":%%d,"p99_us":%%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

CONFIGS: dict[str, dict[str, str]] = {
    "none": {"auth": "off"},
    "auth+policy": {"auth": "embedded", "CM_FHIR_AUDIT": "0"},
    "auth+policy+audit": {"auth": "embedded"},
    "auth+policy+audit (index thread)": {"auth": "embedded", "CM_FHIR_AUDIT_INDEXER": "thread"},
    "auth+policy+audit (direct)": {"auth": "embedded", "CM_FHIR_AUDIT_JOURNAL": "off"},
    "auth+policy+audit (no fsync)": {"auth": "embedded", "CM_FHIR_AUDIT_FSYNC": "0"},
}


class DemoServer:
    """``cm-fhir serve`` with the demo data; stopped (SIGINT, then SIGKILL) by :meth:`stop`."""

    def __init__(self, workdir: Path, name: str, config: dict[str, str],
                 root: Path = ROOT) -> None:
        self.root = root
        self.dir = workdir / "".join(c if c.isalnum() or c in "+-." else "_" for c in name)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "bench.db"
        self.port = free_port()
        self.config = config
        self.token = ""
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 240.0) -> None:
        env = {**os.environ, "CM_FHIR_DATABASE_URL": f"sqlite:///{self.db}",
               "CM_FHIR_KEYS_DIR": str(self.dir / "keys"), "COLUMNS": "300",
               "CM_FHIR_RATE_LIMIT_PER_SECOND": "0",
               **{k: v for k, v in self.config.items() if k.startswith("CM_FHIR_")}}
        exe = [str(Path(sys.executable).with_name("cm-fhir"))]
        if self.root != ROOT:  # another source tree: it comes first on the path
            exe = [sys.executable, "-m", "fhir_service.cli"]
            env["PYTHONPATH"] = str(self.root)
            env.setdefault("CM_FHIR_CACHE_DIR", str(ROOT / ".cache"))
        cmd = [*exe, "serve", "--host", HOST, "--port", str(self.port),
               "--auth", self.config["auth"]]
        log = (self.dir / "server.log").open("w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE,
                                     stderr=log, text=True, start_new_session=True)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        if self.config["auth"] != "off":  # the demo token is the one line on stdout
            for line in self.proc.stdout:
                if line.startswith("ey"):
                    self.token = line.strip()
                    break
        while time.monotonic() < deadline:
            try:
                if request("GET", self.port, "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)  # readiness poll of a separate process, bounded
        raise RuntimeError(f"server not ready; see {self.dir / 'server.log'}")

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        import http.client

        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != expect:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:500]!r}")
        return json.loads(data)

    def target(self, workload: str) -> str:
        """The path the workload loads, its answer checked (and printed) once."""
        plan = self.call("GET", "/fhir/CarePlan?_count=1")["entry"][0]["resource"]
        if workload == "read":
            return f"/fhir/CarePlan/{plan['id']}"
        if workload == "include":
            path = f"/fhir/CarePlan?patient={plan['subject']['reference']}&_include=CarePlan:goal"
            modes = [e["search"]["mode"] for e in self.call("GET", path)["entry"]]
            got = (modes.count("match"), modes.count("include"))
            assert got == (1, len(plan["goal"])), (got, len(plan["goal"]))
            print(f"  {path}: {got[0]} plan + {got[1]} goals", flush=True)
            return path
        path = "/fhir/Goal?_count=20"
        entries = self.call("GET", path)["entry"]
        goal = {k: v for k, v in entries[0]["resource"].items() if k not in ("id", "meta")}
        for _ in range(20 - len(entries)):  # the demo person has fewer: add copies
            self.call("POST", "/fhir/Goal", goal, expect=201)
        got = len(self.call("GET", path)["entry"])
        assert got == 20, got
        print(f"  {path}: {got} entries ({len(entries)} in the demo data)", flush=True)
        return path

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def run_wrk(server: DemoServer, path: str, duration: float, connections: int) -> dict[str, Any]:
    script = server.dir / "read.lua"
    auth = f', ["Authorization"] = "Bearer {server.token}"' if server.token else ""
    script.write_text(LUA % {"path": json.dumps(path), "auth": auth})
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
           "-s", str(script), f"http://{HOST}:{server.port}{path}"]
    load_before = loadavg()[0]
    assert server.proc is not None
    pids = [server.proc.pid, *children(server.proc.pid)]  # the server and its indexer
    ticks = [proc_ticks(pid) for pid in pids]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60,
                          check=False)
    hz, elapsed = os.sysconf("SC_CLK_TCK"), time.monotonic() - t0
    cores = [round((proc_ticks(pid) - t) / hz / elapsed, 2) for pid, t in zip(pids, ticks,
                                                                           strict=True)]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON "))
    raw = json.loads(line.split(" ", 1)[1])
    seconds = raw["duration_us"] / 1e6
    return {"req_per_s": round(raw["requests"] / seconds, 1), "requests": raw["requests"],
            "p50_ms": raw["p50_us"] / 1000, "p95_ms": raw["p95_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000, "non_2xx": raw["non2xx"], "errors": raw["errors"],
            "load_before": load_before, "load_after": loadavg()[0],
            "server_cores": cores[0], "child_cores": sum(cores[1:]),
            # CPU time of the server and its indexer per answer: what a busy machine blurs least
            "cpu_us_per_req": round(sum(cores) * elapsed / max(raw["requests"], 1) * 1e6),
            "server_rss_mb": proc_memory(server.proc.pid)["rss_mb"]}


def audit_count(server: DemoServer) -> tuple[int, int]:
    """(AuditEvents stored, events still in the journal) after the server stopped."""
    with sqlite3.connect(server.db) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM resources WHERE rtype = 'AuditEvent'").fetchone()[0]
    journal = Path(f"{server.db}-audit")
    pending = 0
    if journal.exists():
        ids: set[str] = set()
        for seg in journal.glob("*.jsonl"):
            for line in seg.read_bytes().splitlines():
                if line.strip():
                    ids.add(json.loads(line)["r"]["id"])
        with sqlite3.connect(server.db) as conn:
            have = {r[0] for r in conn.execute(
                "SELECT rid FROM resources WHERE rtype = 'AuditEvent'")}
        pending = len(ids - have)
    return stored, pending


def http_rounds(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    servers = {}
    for root in args.root:
        for config in args.configs:
            name = config if len(args.root) == 1 else f"{config} @{root.name}"
            servers[name] = DemoServer(workdir, name, CONFIGS[config], root)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    try:
        for s in servers.values():
            s.start()
        paths = {name: s.target(args.workload) for name, s in servers.items()}
        for name, s in servers.items():  # warm-up
            run_wrk(s, paths[name], 2, args.connections)
        for r in range(args.rounds):
            for name, s in servers.items():
                res = run_wrk(s, paths[name], args.duration, args.connections)
                results[name].append(res)
                print(f"round {r + 1} {name:40s} {res['req_per_s']:8.1f} req/s  "
                      f"p50 {res['p50_ms']:6.2f} ms  p95 {res['p95_ms']:6.2f} ms  "
                      f"non-2xx {res['non_2xx']}  cores {res['server_cores']:.2f}"
                      f"+{res['child_cores']:.2f} ({res['cpu_us_per_req']} us CPU/req)  "
                      f"RSS {res['server_rss_mb']:.0f} MB  "
                      f"load {res['load_before']:.1f}→{res['load_after']:.1f}", flush=True)
    finally:
        for name, s in servers.items():
            s.stop()
            if "audit" in name and s.proc is not None:
                answered = sum(x["requests"] for x in results[name])  # + warm-up, not counted
                stored, pending = audit_count(s)
                checks[name] = {"answered_requests_measured": answered,
                                "auditevents_stored": stored,
                                "journaled_not_yet_stored": pending,
                                "every_answered_request_recorded": stored + pending >= answered}
    summary = {}
    for name, runs in results.items():
        rates = [x["req_per_s"] for x in runs]
        if rates:
            summary[name] = {"median_req_per_s": statistics.median(rates), "min": min(rates),
                             "max": max(rates),
                             "median_p95_ms": statistics.median(x["p95_ms"] for x in runs),
                             "median_server_cores": statistics.median(
                                 x["server_cores"] for x in runs),
                             "median_child_cores": statistics.median(
                                 x["child_cores"] for x in runs),
                             "median_cpu_us_per_req": statistics.median(
                                 x["cpu_us_per_req"] for x in runs),
                             "runs": runs}
    return {"http": summary, "audit_checks": checks}


def in_process() -> dict[str, float]:
    """Per-layer cost in microseconds, measured on the objects themselves."""
    import gc

    from fhir_service.app import create_app
    from fhir_service.cli import demo_token, install_conformance, load_demo
    from fhir_service.context import build_context
    from fhir_service.request import FhirRequest
    from fhir_service.security.audit import AuditTrail
    from fhir_service.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="cm-fhir-layers-"))
    settings = Settings.from_env(database_url=f"sqlite:///{tmp / 'db.sqlite'}", demo=True,
                                 keys_dir=tmp / "keys", auth="embedded",
                                 rate_limit_per_second=0.0)
    ctx = build_context(settings)
    app = create_app(settings, ctx)
    install_conformance(app)
    load_demo(app, settings)
    minted: Any = demo_token(app)
    token = minted[0] if isinstance(minted, tuple) else minted
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(float(os.environ.get("CM_FHIR_SWITCH_INTERVAL", "0.0005")))  # as serve
    security, router = app.state.security, app.state.router
    principal = security.authenticate(f"Bearer {token}")
    plan = next(iter(ctx.repository.engine.connect().exec_driver_sql(
        "SELECT rid FROM resources WHERE rtype = 'CarePlan' AND deleted = 0 LIMIT 1")))[0]

    def timed(fn: Any, n: int) -> float:
        fn()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return round((time.perf_counter() - t0) / n * 1e6, 1)

    def read(who: Any) -> Any:
        return router.dispatch(FhirRequest("GET", ["CarePlan", plan], principal=who,
                                           base_url="http://b/fhir"))

    out = {
        "token verification (cached), us": timed(
            lambda: security.authenticate(f"Bearer {token}"), 20000),
        "read, no principal (auth off), us": timed(lambda: read(None), 5000),
        "read with scopes + access policy, us": timed(lambda: read(principal), 5000),
    }
    trail: AuditTrail = router.audit
    assert trail.journal is not None
    out.update(asgi_layers(app, f"/fhir/CarePlan/{plan}", token))
    req = FhirRequest("GET", ["CarePlan", plan], principal=principal, base_url="http://b/fhir")
    touched = read(principal).touched
    from fhir_service.security.audit import _Pending

    batch = [_Pending(req, 200, touched, "") for _ in range(16)]
    n = 100
    t0 = time.perf_counter()
    for _ in range(n):
        trail._write(batch)
    out["audit: build + journal (batch of 16, fdatasync), us per event"] = round(
        (time.perf_counter() - t0) / (n * 16) * 1e6, 1)
    t0 = time.perf_counter()
    trail.flush()
    out["audit: background indexing (what is left after the loop), us per event"] = round(
        (time.perf_counter() - t0) / (n * 16) * 1e6, 1)
    rows_t0 = time.perf_counter()
    entries = trail._entries(batch * 10)
    rows = trail._rows((e.rid, e.updated, e.content, e.event, e.patients) for e in entries)
    mid = time.perf_counter()
    with ctx.repository.write_session() as session:
        session.append_many(rows)
    end = time.perf_counter()
    out["audit indexing: build + index extraction, us per event"] = round(
        (mid - rows_t0) / len(rows) * 1e6, 1)
    out["audit indexing: bulk insert (160 per transaction), us per event"] = round(
        (end - mid) / len(rows) * 1e6, 1)
    fd = os.open(tmp / "sync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    t0 = time.perf_counter()
    for _ in range(50):
        os.write(fd, b"x" * 2000 + b"\n")
        os.fdatasync(fd)
    os.close(fd)
    out["fdatasync of a 2 KB append on this disk, us"] = round(
        (time.perf_counter() - t0) / 50 * 1e6, 1)
    ctx.close()
    return out


async def _asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"bench"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def asgi_layers(app: Any, path: str, token: str, n: int = 4000,
                concurrency: int = 16) -> dict[str, float]:
    """Reads per second through the ASGI application (no HTTP parsing, no network), 16
    concurrent callers, each layer switched on in turn on the same application."""
    import asyncio

    security, trail, settings = app.state.security, app.state.router.audit, app.state.ctx.settings
    tokens, journal = security.tokens, trail.journal
    bearer = [(b"authorization", f"Bearer {token}".encode())]

    cpu: dict[str, float] = {}

    async def rate(headers: list[tuple[bytes, bytes]]) -> float:
        async def worker(k: int) -> None:
            for _ in range(k):
                status = await _asgi_get(app, path, headers)
                assert status == 200, status

        await asyncio.gather(*[worker(50) for _ in range(concurrency)])  # warm-up
        t0, p0, l0 = time.perf_counter(), time.process_time(), time.thread_time()
        await asyncio.gather(*[worker(n // concurrency) for _ in range(concurrency)])
        elapsed = time.perf_counter() - t0
        # CPU per read: the event-loop thread, and the other threads (audit writer)
        cpu["loop"] = round((time.thread_time() - l0) / n * 1e6, 1)
        cpu["others"] = round((time.process_time() - p0) / n * 1e6, 1) - cpu["loop"]
        return round(n / elapsed, 1)

    out: dict[str, float] = {}
    try:
        security.tokens = None  # authentication off: no principal, no policy, no audit
        out["ASGI reads/s: none"] = asyncio.run(rate([]))
        security.tokens = tokens
        settings.audit = False
        out["ASGI reads/s: auth+policy"] = asyncio.run(rate(bearer))
        out["  CPU us per read: event loop / other threads"] = cpu["loop"]
        out["  (other threads)"] = cpu["others"]
        settings.audit = True
        out["ASGI reads/s: auth+policy+audit (journal)"] = asyncio.run(rate(bearer))
        out["  CPU us per read: event loop / other threads "] = cpu["loop"]
        out["  (other threads) "] = cpu["others"]
        t0 = time.perf_counter()
        pending = trail.pending()
        trail.flush()
        if pending:
            out["  indexing the journal afterwards, us per event"] = round(
                (time.perf_counter() - t0) / pending * 1e6, 1)
        trail.journal = None
        out["ASGI reads/s: auth+policy+audit (direct)"] = asyncio.run(rate(bearer))
    finally:
        security.tokens, trail.journal, settings.audit = tokens, journal, True
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="comma-separated, among: " + ", ".join(CONFIGS))
    ap.add_argument("--workload", choices=("read", "search", "include"), default="read")
    ap.add_argument("--root", type=Path, action="append", default=[],
                    help="source tree the server runs from (repeatable; default this one)")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-in-process", action="store_true")
    args = ap.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    args.root = [r.resolve() for r in args.root] or [ROOT]
    print(f"machine: {os.cpu_count()} CPUs, load average {loadavg()} (shared machine: "
          "configurations are interleaved per round)")
    roots = {str(r): subprocess.run(["git", "-C", str(r), "describe", "--always", "--dirty"],
                                    capture_output=True, text=True, check=False).stdout.strip()
             for r in args.root}
    print(f"workload {args.workload}, server code: {roots}")
    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "cpus": os.cpu_count(), "connections": args.connections,
                               "duration_s": args.duration, "rounds": args.rounds,
                               "workload": args.workload, "roots": roots}
    if not args.skip_in_process and args.workload == "read" and args.root == [ROOT]:
        results["in_process_us"] = in_process()
        for k, v in results["in_process_us"].items():
            print(f"  {k:70s} {v:10.1f}")
    if not args.skip_http:
        with tempfile.TemporaryDirectory(prefix="cm-fhir-bench-") as tmp:
            results.update(http_rounds(args, Path(tmp)))
        print(f"\n{'configuration':40s} {'median req/s':>12s} {'min':>8s} {'max':>8s} "
              f"{'p95 ms':>8s} {'cores (server+indexer)':>23s} {'CPU us/req':>10s}")
        for name, s in results["http"].items():
            print(f"{name:40s} {s['median_req_per_s']:12.1f} {s['min']:8.1f} {s['max']:8.1f} "
                  f"{s['median_p95_ms']:8.2f} {s['median_server_cores']:15.2f}"
                  f"+{s['median_child_cores']:.2f} {s['median_cpu_us_per_req']:10.0f}")
        for name, c in results["audit_checks"].items():
            print(f"{name}: {c}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = ROOT / "var" / "bench" / f"security-layers-{args.workload}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
