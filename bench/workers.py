"""Parallel writes and reads with several worker processes: ``cm-fhir serve --workers N`` on
PostgreSQL against one worker on SQLite, on the same generated corpus.

For each configuration (``--configs``, default ``sqlite:1,pg:1,pg:2,pg:4``) a fresh database
(a SQLite file, or a fresh database on a private PostgreSQL cluster started here on a free
port of 127.0.0.1, the way ``tests/pg.py`` starts one) and a fresh server; then:

1. *ingest*: the shared directory, the first 10 % of the person bundles with one client,
   the rest with ``--ingest-clients`` parallel clients (``bench/run.py``'s ingest);
2. *check*: every Patient, CarePlan and Goal of the corpus is there once (``_summary=count``
   per type against the manifest): no lost write, no duplicate;
3. *reads* with wrk (``--connections``): read by id, ``Goal?_count=20…``, and
   ``CarePlan?patient=…&_include=CarePlan:goal``, plus the include with one connection.

Each figure comes with the CPU cores the server's process tree (supervisor, workers, audit
indexer) and PostgreSQL's processes used, from ``/proc``: on a 2-core machine shared with
other work, this tells what bounded the rate.

    python -m bench.workers [--resources 5000] [--configs sqlite:1,pg:2] [--duration 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.generate import DEFAULT_OUT, ROOT, ensure_corpus, iter_bundles
from bench.run import (
    BASE,
    Server,
    check_workload,
    cpu_ticks,
    free_port,
    ingest,
    loadavg,
    proc_memory,
    proc_ticks,
    request,
    run_wrk,
    take,
    workloads,
)


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


class TreeMeter:
    """CPU cores used by process trees (the server's, PostgreSQL's) and by the machine."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.hz = os.sysconf("SC_CLK_TCK")
        self.cores = os.cpu_count() or 1

    def _ticks(self) -> dict[str, int]:
        return {name: sum(proc_ticks(p) for p in tree(pid)) for name, pid in self.roots.items()}

    def __enter__(self) -> TreeMeter:
        self.t0, self.m0, self.p0 = time.perf_counter(), cpu_ticks(), self._ticks()
        self.load_before = loadavg()
        return self

    def __exit__(self, *exc: Any) -> None:
        elapsed = time.perf_counter() - self.t0
        busy, total = (a - b for a, b in zip(cpu_ticks(), self.m0, strict=True))
        after = self._ticks()
        self.figures = {
            "machine_busy_cores": round(self.cores * busy / total, 2) if total else 0.0,
            **{f"{name}_cores": round((after[name] - self.p0.get(name, 0)) / self.hz / elapsed, 2)
               for name in self.roots},
            "loadavg_before": self.load_before, "loadavg_after": loadavg(),
        }


# --- PostgreSQL ------------------------------------------------------------------------------


@contextmanager
def postgres_cluster() -> Any:
    """A private PostgreSQL cluster on 127.0.0.1 (as tests/pg.py starts one): (server URL
    without database, postmaster pid)."""
    sys.path.insert(0, str(ROOT))
    from tests.pg import _bin, _free_port, _run_as

    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise SystemExit("PostgreSQL server binaries are absent (.ci/postgres.sh installs them)")
    user = "postgres" if os.geteuid() == 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="cm-fhir-bench-pg-"))
    data = tmp / "data"
    if user:
        shutil.chown(tmp, user)
    init = _run_as(user, [initdb, "-D", str(data), "--auth=trust", "-U", "postgres",
                          "--encoding=UTF8", "--no-sync"])
    if init.returncode:
        raise SystemExit(f"initdb failed: {init.stderr[-300:]}")
    port = _free_port()
    # durable as a real deployment would run it (fsync on), sized for this small machine
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c max_connections=200 "
            "-c shared_buffers=256MB -c synchronous_commit=on")
    start = _run_as(user, [pg_ctl, "-D", str(data), "-o", opts, "-l", str(tmp / "log"),
                           "-w", "-t", "60", "start"])
    if start.returncode:
        raise SystemExit(f"PostgreSQL did not start: {start.stderr[-300:]}")
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}", pid
    finally:
        _run_as(user, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_pg_database(server: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server}/{name}"


# --- the server ------------------------------------------------------------------------------


class WorkersServer(Server):
    """``cm-fhir serve --workers N --database URL`` (any database)."""

    def __init__(self, url: str, workers: int, port: int, log: Path,
                 source: Path | None = None) -> None:
        super().__init__(Path("unused"), port, log, source=source)
        self.url, self.workers = url, workers

    def command(self) -> list[str]:
        cmd = super().command()
        i = cmd.index("--database")
        cmd[i + 1] = self.url
        return [*cmd, "--workers", str(self.workers)]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)  # the supervisor and its workers
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)


def count(port: int, rtype: str) -> int:
    status, body = request("GET", port, f"{BASE}/{rtype}?_summary=count", timeout=120)
    if status != 200:
        raise RuntimeError(f"{rtype} count answered {status}: {body[:300]!r}")
    return int(json.loads(body)["total"])


def run_config(label: str, url: str, workers: int, corpus: Path, args: argparse.Namespace,
               roots: dict[str, int]) -> dict[str, Any]:
    manifest = json.loads((corpus / "manifest.json").read_text())
    server = WorkersServer(url, workers, free_port(), args.out / f"workers-{label}.log",
                           source=args.source)
    server.start()
    out: dict[str, Any] = {"config": label, "workers": workers, "startup_s": server.startup_s,
                           "ingest": [], "reads": []}
    try:
        meters = {**roots, "server": server.pid}
        bundles = iter_bundles(corpus)
        shared = ingest(server.port, [next(bundles)], 1, "shared", server.pid)
        n_seq = max(1, (manifest["bundles"] - 1) // 10)
        for name, clients, part in (("1 client", 1, take(bundles, n_seq)),
                                    (f"{args.ingest_clients} clients", args.ingest_clients,
                                     bundles)):
            with TreeMeter(meters) as meter:
                res = ingest(server.port, part, clients, name, server.pid)
            row = {"phase": name, **{k: v for k, v in res.summary().items()
                                     if k in ("resources", "seconds", "resources_per_s",
                                              "bundle_ms_p50", "bundle_ms_p95", "failures",
                                              "first_error")}, **meter.figures}
            out["ingest"].append(row)
            print(f"  [{label}] ingest {name}: {row['resources_per_s']} resources/s "
                  f"({row['failures']} failures; server {row.get('server_cores')} cores, "
                  f"postgres {row.get('postgres_cores', '-')})", file=sys.stderr, flush=True)
        if shared.failures:
            raise RuntimeError(f"shared bundle refused: {shared.first_error}")
        counts = {t: count(server.port, t) for t in ("Patient", "CarePlan", "Goal")}
        expected = {t: manifest["counts"].get(t) for t in counts}
        out["counts"] = counts
        out["counts_match"] = counts == expected
        if counts != expected:
            print(f"  [{label}] COUNTS DIFFER: {counts} != {expected}", file=sys.stderr)
        keys = manifest["read_sample"]
        patients = manifest["patients"][: args.max_patients]
        wanted = set(args.workloads.split(","))
        for wl in workloads(keys, patients, "generated"):
            if wl.name not in wanted:
                continue
            conns = wl.connections or args.connections
            info = check_workload(server.port, wl)
            with TreeMeter(meters) as meter:
                figures = run_wrk(server.port, wl, args.duration, conns, args.out)
            row = {"name": wl.name, "connections": conns, **{k: figures[k] for k in (
                "req_per_s", "p50_ms", "p95_ms", "p99_ms", "errors")},
                "sample_entries": info.get("sample_entries"), **meter.figures}
            out["reads"].append(row)
            print(f"  [{label}] {wl.name} ({conns} conns): {row['req_per_s']} req/s, "
                  f"p95 {row['p95_ms']} ms", file=sys.stderr, flush=True)
        out["rss_mb"] = sum(proc_memory(p)["rss_mb"] for p in tree(server.pid))
    finally:
        server.stop()
    return out


def print_table(results: list[dict[str, Any]]) -> None:
    w = sys.stdout.write
    phases = [r["phase"] for r in results[0]["ingest"]]
    reads = [(r["name"], r["connections"]) for r in results[0]["reads"]]
    head = ["config", *(f"ingest {p} res/s" for p in phases),
            *(f"{n} ({c} conn) req/s" for n, c in reads), "counts", "RSS MB"]
    w("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    for r in results:
        cells = [r["config"]]
        for row in r["ingest"]:
            pg = f", pg {row['postgres_cores']}" if "postgres_cores" in row else ""
            cores = row["server_cores"] + max(0.0, row.get("postgres_cores", 0.0))
            per_cpu = f"; {row['resources_per_s'] / cores:.0f}/CPU-s" if cores > 0 else ""
            cells.append(f"{row['resources_per_s']:.0f} ({row['server_cores']}{pg} cores"
                         f"{per_cpu})")
        for row in r["reads"]:
            pg = f", pg {row['postgres_cores']}" if "postgres_cores" in row else ""
            cells.append(f"{row['req_per_s']:.0f}, p95 {row['p95_ms']:.1f} ms "
                         f"({row['server_cores']}{pg} cores)")
        cells += ["ok" if r.get("counts_match") else "DIFFER", f"{r.get('rss_mb', 0):.0f}"]
        w("| " + " | ".join(cells) + " |\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--configs", default="sqlite:1,pg:1,pg:2,pg:4",
                    help="comma-separated database:workers (database: sqlite or pg)")
    ap.add_argument("--ingest-clients", type=int, default=4)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--max-patients", type=int, default=50_000)
    ap.add_argument("--workloads", default="read,search-goal-nototal,include,include-1conn")
    ap.add_argument("--source", type=Path, default=None,
                    help="run the server from this source tree (PYTHONPATH)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install -y wrk)")
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args.resources, args.seed, args.out)
    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in args.configs.split(",")]
    results: list[dict[str, Any]] = []
    started = loadavg()
    with tempfile.TemporaryDirectory(prefix="bench-workers-", dir=args.out) as tmp, \
            (postgres_cluster() if any(db == "pg" for db, _ in configs)
             else _no_cluster()) as (pg, pg_pid):
        for n, (db, workers) in enumerate(configs):
            label = f"{'PostgreSQL' if db == 'pg' else 'SQLite'}, {workers} worker" + \
                ("s" if workers > 1 else "")
            if db == "pg":
                url = fresh_pg_database(pg, f"bench{n}")
                roots = {"postgres": pg_pid}
            else:
                url = f"sqlite:///{tmp}/bench{n}.db"
                roots = {}
            results.append(run_config(label, url, workers, corpus, args, roots))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"workers-{stamp}.json"
    path.write_text(json.dumps({"loadavg_start": started, "loadavg_end": loadavg(),
                                "resources": args.resources, "configs": results}, indent=1))
    print_table(results)
    print(f"\nload average {started} -> {loadavg()}; {path}")
    return 0


@contextmanager
def _no_cluster() -> Any:
    yield None, 0


if __name__ == "__main__":
    sys.exit(main())
