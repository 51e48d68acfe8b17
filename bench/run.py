"""Benchmark harness: start the server, ingest a corpus, measure reads, searches and includes.

    python -m bench.run                       # 10k generated resources, 10 s per workload
    python -m bench.run --resources 100000 --duration 10 --connections 8
    python -m bench.run --resources 100000 --skip-load    # reuse var/bench/db-100000.sqlite
    python -m bench.run --synthea             # ingest the Synthea bundles of ../shared/testdata
    python -m bench.run --profile             # in-process cProfile of read, search, ingest

The server is ``cm-fhir serve --no-demo`` on 127.0.0.1 and a free port, in a subprocess
stopped at the end. Load comes from ``wrk`` (Debian package) when it is installed, otherwise
from a Python thread pool with keep-alive connections (clearly labelled: it shares the two
cores with the server and saturates sooner). Every loop is bounded in time; only 127.0.0.1
is ever contacted. Figures are printed as a table and written to
``var/bench/results-<date>.json``.
"""

from __future__ import annotations

import argparse
import bz2
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.generate import DEFAULT_OUT, ROOT, ensure_corpus, iter_bundles

HOST = "127.0.0.1"
BASE = "/fhir"
SYNTHEA = ROOT.parent / "shared" / "testdata" / "synthea-r4"
JSON_HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


# --- machine -------------------------------------------------------------------------------


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as fh:
        parts = [int(x) for x in fh.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


def proc_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the server's audit indexing process)."""
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


def proc_memory(pid: int) -> dict[str, float]:
    """Resident memory (VmRSS) and its peak (VmHWM) in MB."""
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key.lower()] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return {"rss_mb": out.get("vmrss", 0.0), "peak_rss_mb": out.get("vmhwm", 0.0)}


class CpuMeter:
    """Machine busy cores and the server's cores over an interval (noisy-neighbour check)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.hz = os.sysconf("SC_CLK_TCK")
        self.cores = os.cpu_count() or 1

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.m0 = cpu_ticks()
        self.p0 = proc_ticks(self.pid)
        self.load_before = loadavg()
        return self

    def __exit__(self, *exc: Any) -> None:
        busy1, total1 = cpu_ticks()
        busy = busy1 - self.m0[0]
        total = total1 - self.m0[1]
        elapsed = time.perf_counter() - self.t0
        self.machine_busy_cores = round(self.cores * busy / total, 2) if total else 0.0
        self.server_cores = round((proc_ticks(self.pid) - self.p0) / self.hz / elapsed, 2)
        self.load_after = loadavg()

    def as_dict(self) -> dict[str, Any]:
        return {"loadavg_before": self.load_before, "loadavg_after": self.load_after,
                "machine_busy_cores": self.machine_busy_cores,
                "server_cores": self.server_cores}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def db_size_mb(path: Path) -> float:
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
               if p.exists())
    return round(size / 1e6, 1)


# --- the server ----------------------------------------------------------------------------


class Server:
    """``cm-fhir serve`` in a subprocess on 127.0.0.1; always stopped by :meth:`stop`."""

    def __init__(self, db: Path, port: int, log: Path, extra_env: dict[str, str] | None = None,
                 referential_integrity: bool = True, source: Path | None = None,
                 auth: str = "off", rate_limit: bool = False, workers: int = 1):
        self.db, self.port, self.log = db, port, log
        self.workers = workers
        self.auth = auth
        self.rate_limit = rate_limit
        self.source = source  # an exported source tree to run instead of the work tree
        self.referential_integrity = referential_integrity
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    def command(self) -> list[str]:
        exe = Path(sys.executable).parent / "cm-fhir"
        prefix = [str(exe)] if exe.exists() and self.source is None else [
            sys.executable, "-m", "fhir_service.cli"]
        return [*prefix, "serve", "--no-demo", "--host", HOST, "--port", str(self.port),
                "--database", f"sqlite:///{self.db}",
                *([] if self.referential_integrity else ["--no-referential-integrity"]),
                *(["--auth", self.auth] if self.supports("--auth") else []),
                *(["--workers", str(self.workers)] if self.workers > 1 else [])]

    def supports(self, option: str) -> bool:
        """Whether the server's CLI has an option (the code under test changes over time)."""
        cli = (self.source or ROOT) / "fhir_service" / "cli.py"
        return cli.exists() and f'"{option}"' in cli.read_text(encoding="utf-8")

    def start(self, timeout: float = 180.0) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.extra_env}
        if not self.rate_limit:
            # the per-client token bucket would cap a load test at its own rate
            env.setdefault("CM_FHIR_RATE_LIMIT_PER_SECOND", "1000000")
            env.setdefault("CM_FHIR_RATE_LIMIT_BURST", "1000000")
        cwd = ROOT
        if self.source is not None:
            cwd = self.source
            env["PYTHONPATH"] = str(self.source)
            env.setdefault("CM_FHIR_CACHE_DIR", str(ROOT / ".cache"))
        started = time.perf_counter()
        with self.log.open("wb") as log:
            # cwd: the project's editable install resolves the package from there
            self.proc = subprocess.Popen(self.command(), cwd=cwd, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; "
                                   f"see {self.log}")
            try:
                status, _ = request("GET", self.port, "/healthz", timeout=2)
                if status == 200:
                    self.startup_s = round(time.perf_counter() - started, 2)
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server was not ready after {timeout:.0f} s; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def memory(self) -> dict[str, float]:
        return proc_memory(self.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def request(method: str, port: int, path: str, body: bytes | None = None,
            timeout: float = 600.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=JSON_HEADERS)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --- ingest --------------------------------------------------------------------------------


@dataclass
class IngestResult:
    label: str
    clients: int
    bundles: int = 0
    resources: int = 0
    seconds: float = 0.0
    failures: int = 0
    first_error: str = ""
    bundle_ms: list[float] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    cpu: dict[str, Any] = field(default_factory=dict)
    curve: list[tuple[float, int]] = field(default_factory=list)  # (seconds, resources so far)
    stopped_by_deadline: bool = False

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.bundle_ms)
        return {
            "label": self.label, "clients": self.clients, "bundles": self.bundles,
            "resources": self.resources, "seconds": round(self.seconds, 2),
            "resources_per_s": round(self.resources / self.seconds, 1) if self.seconds else 0,
            "bundles_per_s": round(self.bundles / self.seconds, 2) if self.seconds else 0,
            "bundle_ms_p50": round(percentile(lat, 50), 1),
            "bundle_ms_p95": round(percentile(lat, 95), 1),
            "failures": self.failures, "first_error": self.first_error[:500],
            "stopped_by_deadline": self.stopped_by_deadline,
            "curve": [[round(t, 1), n] for t, n in self.curve],
            **self.cpu,
        }


def count_entries(bundle: bytes) -> int:
    return bundle.count(b'"request":')


def ingest(port: int, bundles: Iterable[bytes | tuple[bytes, dict[str, str]]], clients: int,
           label: str, server_pid: int,
           keep_locations: bool = False, deadline_s: float = 3600.0) -> IngestResult:
    """POST transaction bundles with ``clients`` parallel keep-alive connections."""
    result = IngestResult(label, clients)
    it = iter(bundles)
    lock = threading.Lock()
    t_start = time.perf_counter()
    stop_at = t_start + deadline_s
    last_mark = [t_start]

    def next_bundle() -> bytes | tuple[bytes, dict[str, str]] | None:
        with lock:
            now = time.perf_counter()
            if now - last_mark[0] >= 5:
                last_mark[0] = now
                result.curve.append((now - t_start, result.resources))
            if now > stop_at:
                result.stopped_by_deadline = True
                return None
            return next(it, None)

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=600)
        try:
            while (item := next_bundle()) is not None:
                # a bundle, or a bundle and its headers (a structure's own token)
                body, headers = item if isinstance(item, tuple) else (item, JSON_HEADERS)
                t0 = time.perf_counter()
                conn.request("POST", BASE, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    result.bundle_ms.append(ms)
                    if resp.status == 200:
                        result.bundles += 1
                        result.resources += count_entries(body)
                        if keep_locations:
                            result.locations.extend(
                                "/".join(e["response"]["location"].split("/_history", 1)[0]
                                         .split("/")[-2:])
                                for e in json.loads(data).get("entry", [])
                                if "location" in e.get("response", {}))
                    else:
                        result.failures += 1
                        if not result.first_error:
                            result.first_error = f"{resp.status} {data[:800]!r}"
        finally:
            conn.close()

    with CpuMeter(server_pid) as meter:
        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.seconds = time.perf_counter() - t0
    result.cpu = meter.as_dict()
    return result


def synthea_bundles() -> tuple[list[bytes], list[bytes]]:
    """(batch files starting with ``0-``, patient transactions), decompressed."""
    if not SYNTHEA.exists():
        raise SystemExit(f"{SYNTHEA} is absent (shared test data)")
    files = sorted(SYNTHEA.glob("*.json.bz2"))
    first = [bz2.decompress(p.read_bytes()) for p in files if p.name.startswith("0-")]
    rest = [bz2.decompress(p.read_bytes()) for p in files if not p.name.startswith("0-")]
    return first, rest


# --- load generation -----------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class Workload:
    name: str
    what: str
    paths: list[str]  # one fixed path, or many picked at random
    connections: int | None = None  # None: the --connections option


LUA = r"""
local paths = {%(paths)s}
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  math.randomseed(7919 * (tid or 1))
end
local headers = {["Accept"] = "application/fhir+json"%(headers)s}
function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"errors_connect":%%d,' ..
    '"errors_read":%%d,"errors_write":%%d,"errors_status":%%d,"errors_timeout":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.1f}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(port: int, wl: Workload, duration: float, connections: int,
            workdir: Path, headers: dict[str, str] | None = None) -> dict[str, Any]:
    script = workdir / f"wrk-{wl.name}.lua"
    extra = "".join(f", [{lua_string(k)}] = {lua_string(v)}" for k, v in (headers or {}).items())
    script.write_text(LUA % {"paths": ",\n".join(lua_string(p) for p in wl.paths),
                             "headers": extra})
    threads = max(1, min(2, connections))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
           "--timeout", "10s", "-s", str(script), f"http://{HOST}:{port}{wl.paths[0]}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60,
                          check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {proc.stdout[-800:]} {proc.stderr[-800:]}")
    raw = json.loads(line.split(" ", 1)[1])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.startswith("errors_"))
    return {
        "tool": "wrk", "requests": raw["requests"], "seconds": round(seconds, 2),
        "req_per_s": round(raw["requests"] / seconds, 1) if seconds else 0,
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000, "mean_ms": round(raw["mean_us"] / 1000, 3),
        "errors": errors, "non_2xx": raw["errors_status"],
        "mb_per_s": round(raw["bytes"] / seconds / 1e6, 2) if seconds else 0,
    }


def run_python_load(port: int, wl: Workload, duration: float,
                    connections: int) -> dict[str, Any]:
    """Fallback load generator: threads, one keep-alive connection each, bounded in time."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    nbytes = [0] * connections
    stop_at = time.perf_counter() + duration

    def worker(i: int) -> None:
        rng = random.Random(7919 * (i + 1))
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            while time.perf_counter() < stop_at:
                path = wl.paths[rng.randrange(len(wl.paths))]
                t0 = time.perf_counter()
                try:
                    conn.request("GET", path, headers={"Accept": "application/fhir+json"})
                    resp = conn.getresponse()
                    body = resp.read()
                except (OSError, http.client.HTTPException):
                    errors[i] += 1
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=10)
                    continue
                latencies[i].append(time.perf_counter() - t0)
                nbytes[i] += len(body)
                if resp.status >= 400:
                    errors[i] += 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    seconds = time.perf_counter() - t0
    lat = sorted(x * 1000 for per in latencies for x in per)
    return {
        "tool": "python-threads (FALLBACK: wrk not installed; the client shares the GIL-bound "
                "cores with the server, figures are a lower bound)",
        "requests": len(lat), "seconds": round(seconds, 2),
        "req_per_s": round(len(lat) / seconds, 1),
        "p50_ms": round(percentile(lat, 50), 3), "p90_ms": round(percentile(lat, 90), 3),
        "p95_ms": round(percentile(lat, 95), 3), "p99_ms": round(percentile(lat, 99), 3),
        "max_ms": round(lat[-1], 3) if lat else 0.0,
        "mean_ms": round(sum(lat) / len(lat), 3) if lat else 0.0,
        "errors": sum(errors), "non_2xx": sum(errors),
        "mb_per_s": round(sum(nbytes) / seconds / 1e6, 2),
    }


def check_workload(port: int, wl: Workload) -> dict[str, Any]:
    """One request up front: the workload must answer 200 (and say what it returns)."""
    status, body = request("GET", port, wl.paths[0], timeout=60)
    if status != 200:
        raise RuntimeError(f"{wl.name}: GET {wl.paths[0]} answered {status}: {body[:400]!r}")
    data = json.loads(body)
    info: dict[str, Any] = {"sample_status": status, "sample_bytes": len(body)}
    if data.get("resourceType") == "Bundle":
        entries = data.get("entry", [])
        info["sample_entries"] = len(entries)
        info["sample_included"] = sum(1 for e in entries
                                      if e.get("search", {}).get("mode") == "include")
        if "total" in data:
            info["sample_total"] = data["total"]
    return info


def workloads(read_keys: list[str], patients: list[str], kind: str) -> list[Workload]:
    reads = [f"{BASE}/{k}" for k in read_keys]
    if kind == "synthea":
        return [
            Workload("read", "read by id (random ids of the ingested resources)", reads),
            Workload("search-observation", "20-resource page: Observation?_count=20",
                     [f"{BASE}/Observation?_count=20"]),
        ]
    includes = [f"{BASE}/CarePlan?patient=Patient/{p}&_include=CarePlan:goal" for p in patients]
    return [
        Workload("read", "read by id (random among 5,000 ids of every type)", reads),
        Workload("search-goal", "20-resource page: Goal?_count=20&lifecycle-status=active",
                 [f"{BASE}/Goal?_count=20&lifecycle-status=active"]),
        Workload("search-goal-nototal",
                 "same page without the total: Goal?_count=20&lifecycle-status=active"
                 "&_total=none", [f"{BASE}/Goal?_count=20&lifecycle-status=active&_total=none"]),
        Workload("search-careplan", "20-resource page: CarePlan?_count=20",
                 [f"{BASE}/CarePlan?_count=20"]),
        Workload("include", "CarePlan?patient=…&_include=CarePlan:goal (random patients)",
                 includes),
        Workload("include-1conn", "the same with one connection (latency without queueing)",
                 includes, connections=1),
    ]


# --- the run -------------------------------------------------------------------------------


def git(*argv: str) -> str:
    try:
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True,
                              check=False, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def git_commit(source: str) -> str:
    """The commit measured; '+dirty' when the work tree's server code has local changes."""
    if source != "worktree":
        return git("rev-parse", "--short", source)
    dirty = git("status", "--porcelain", "--", "fhir_service")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def export_source(rev: str, out: Path) -> Path:
    """``git archive`` of the server code at ``rev`` (the shared work tree may be mid-edit)."""
    sha = git("rev-parse", "--short", rev)
    if not sha:
        raise SystemExit(f"--source {rev}: unknown revision")
    dest = out / f"src-{sha}"
    if not (dest / "fhir_service" / "__init__.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha, "fhir_service", "pyproject.toml"],
                                 cwd=ROOT, capture_output=True, timeout=120, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=120)
    return dest


def print_table(results: dict[str, Any]) -> None:
    out = sys.stdout
    corpus = results["corpus"]
    size = (f"{corpus['loaded_resources']} of {corpus['resources']} resources loaded (ingest "
            "deadline)" if corpus.get("partial") else f"{corpus['resources']} resources")
    out.write(f"\ncm-fhir bench — {corpus['label']}, {size}, commit {results['commit']}, "
              f"{results['machine']['cores']} cores, load average at start "
              f"{results['machine']['loadavg_start']}\n")
    if results.get("ingest"):
        out.write(f"\n{'ingest':<28}{'clients':>8}{'bundles':>9}{'resources':>11}{'s':>9}"
                  f"{'res/s':>9}{'bundle p50 ms':>15}{'fail':>6}{'load':>7}\n")
        for r in results["ingest"]:
            out.write(f"{r['label']:<28}{r['clients']:>8}{r['bundles']:>9}{r['resources']:>11}"
                      f"{r['seconds']:>9.1f}{r['resources_per_s']:>9.0f}"
                      f"{r['bundle_ms_p50']:>15.0f}{r['failures']:>6}"
                      f"{r['loadavg_after'][0]:>7.2f}\n")
    out.write(f"\n{'workload':<22}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'p99 ms':>9}{'errors':>8}{'server cores':>14}{'busy cores':>12}{'load':>7}\n")
    for w in results["workloads"]:
        out.write(f"{w['name']:<22}{w['connections']:>6}{w['req_per_s']:>9.0f}"
                  f"{w['p50_ms']:>9.2f}{w['p95_ms']:>9.2f}{w['p99_ms']:>9.2f}{w['errors']:>8}"
                  f"{w['server_cores']:>14.2f}{w['machine_busy_cores']:>12.2f}"
                  f"{w['loadavg_after'][0]:>7.2f}\n")
    mem = results["memory"]
    out.write(f"\nserver RSS after load {mem['after_load']['rss_mb']} MB, after workloads "
              f"{mem['after_workloads']['rss_mb']} MB (peak {mem['after_workloads']['peak_rss_mb']}"
              f" MB); database {results['db_size_mb']} MB; startup {results['startup_s']} s\n")
    if results["load_tool"] != "wrk":
        out.write("NOTE: these figures come from the Python fallback load generator, not wrk "
                  "(apt-get install wrk for the reference figures)\n")
    out.write(f"results: {results['results_file']}\n")


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.synthea:
        label, db = "synthea", out / "db-synthea.sqlite"
        corpus = None
    else:
        corpus = ensure_corpus(args.resources, args.seed, out)
        label, db = f"generated-{args.resources}", out / f"db-{args.resources}.sqlite"
    if args.database:
        db = args.database.resolve()
    if args.skip_load:
        if not db.exists():
            raise SystemExit(f"--skip-load: {db} does not exist; run once without it")
    else:
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)

    results: dict[str, Any] = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "commit": git_commit(args.source),
        "source": args.source,
        "machine": {"cores": os.cpu_count(), "loadavg_start": loadavg(),
                    "note": "shared machine: other jobs may run concurrently; see the load "
                            "average and machine_busy_cores beside each figure"},
        "options": {"duration_s": args.duration, "connections": args.connections,
                    "ingest_clients": args.ingest_clients, "skip_load": args.skip_load,
                    "referential_integrity": not args.no_referential_integrity},
        "ingest": [],
        "workloads": [],
    }
    load_tool = "wrk" if shutil.which("wrk") and not args.python_load else "python"
    results["load_tool"] = load_tool
    source = None if args.source == "worktree" else export_source(args.source, out)
    if args.token != "none":
        if corpus is None:
            raise SystemExit("--token needs the generated corpus")
        args.auth = "embedded"
        results["options"]["token"] = args.token
        args.structure_bundles = structure_bundles(corpus)
        tokens = bench_tokens(db, corpus, sorted({org for org, _ in args.structure_bundles}))
        JSON_HEADERS["Authorization"] = f"Bearer {tokens['operator']}"
        args.structure_tokens = tokens["structures"]
    server = Server(db, free_port(), out / "server.log",
                    referential_integrity=not args.no_referential_integrity, source=source,
                    auth=args.auth, rate_limit=args.rate_limit, workers=args.workers)
    results["options"]["workers"] = args.workers
    results["options"]["auth"] = args.auth if server.supports("--auth") else "(no auth)"
    results["options"]["rate_limit"] = args.rate_limit
    server.start()
    results["startup_s"] = server.startup_s
    try:
        read_keys: list[str] = []
        patients: list[str] = []
        if corpus is not None:
            manifest = json.loads((corpus / "manifest.json").read_text())
            results["corpus"] = {"label": label, "path": str(corpus),
                                 "resources": manifest["resources"],
                                 "persons": manifest["persons"], "counts": manifest["counts"]}
            read_keys = manifest["read_sample"]
            patients = manifest["patients"][: args.max_patients]
            if not args.skip_load:
                results["ingest"] = ingest_corpus(server, corpus, args)
                if any(r["stopped_by_deadline"] for r in results["ingest"]):
                    # a prefix of the bundles is loaded: keep what the workloads can find
                    loaded = sum(r["bundles"] for r in results["ingest"][1:3])
                    persons = loaded * manifest["persons_per_bundle"]
                    patients = patients[:persons]
                    read_keys = [k for k in read_keys if "/pa-" not in k
                                 or int(k.split("/pa-", 1)[1][:7]) <= persons]
                    results["corpus"]["loaded_resources"] = sum(
                        r["resources"] for r in results["ingest"][:3])
                    results["corpus"]["partial"] = True
        else:
            first, rest = synthea_bundles()
            n = sum(count_entries(b) for b in first + rest)
            results["corpus"] = {"label": label, "path": str(SYNTHEA), "resources": n,
                                 "bundles": len(first) + len(rest)}
            if not args.skip_load:
                a = ingest(server.port, first, 1, "synthea 0-* batches", server.pid,
                           keep_locations=True)
                b = ingest(server.port, rest, args.ingest_clients, "synthea patients",
                           server.pid, keep_locations=True)
                results["ingest"] = [a.summary(), b.summary(), combined([a, b])]
                for p in (a, b):
                    print(f"  ingest {p.label}: {p.resources} resources in {p.seconds:.1f} s, "
                          f"{p.failures} failures {p.first_error[:300]}", file=sys.stderr)
                read_keys = random.Random(1).sample(a.locations + b.locations,
                                                    min(5000, len(a.locations + b.locations)))
                (out / "synthea-ids.json").write_text(json.dumps(read_keys))
            else:
                read_keys = json.loads((out / "synthea-ids.json").read_text())
        results["memory"] = {"after_load": server.memory()}
        results["db_size_mb"] = db_size_mb(db)
        kind = "synthea" if corpus is None else "generated"
        selected = set(args.workloads.split(",")) if args.workloads else None
        if args.token == "structures":
            selected = set()  # (an operator reads no person: bench/person_page.py does)
        for wl in workloads(read_keys, patients, kind):
            if selected is not None and wl.name not in selected:
                continue
            conns = wl.connections or args.connections
            info = check_workload(server.port, wl)
            with CpuMeter(server.pid) as meter:
                if load_tool == "wrk":
                    figures = run_wrk(server.port, wl, args.duration, conns, out,
                                      headers={k: v for k, v in JSON_HEADERS.items()
                                               if k == "Authorization"})
                else:
                    figures = run_python_load(server.port, wl, args.duration, conns)
            row = {"name": wl.name, "what": wl.what, "connections": conns,
                   "distinct_urls": len(wl.paths), **figures, **info, **meter.as_dict(),
                   "server_rss_mb": server.memory()["rss_mb"]}
            results["workloads"].append(row)
            print(f"  {wl.name}: {row['req_per_s']} req/s, p95 {row['p95_ms']} ms "
                  f"(load {row['loadavg_after'][0]})", file=sys.stderr, flush=True)
        results["memory"]["after_workloads"] = server.memory()
        results["db_size_mb"] = db_size_mb(db)
    finally:
        server.stop()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"results-{stamp}-{label}.json"
    results["results_file"] = str(path)
    results["machine"]["loadavg_end"] = loadavg()
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print_table(results)
    return results


def bench_tokens(db: Path, corpus: Path, structures: list[str]) -> dict[str, Any]:
    """Register the operator client (bound to the corpus's first structure) and one client per
    structure in ``db``, and mint their tokens (``bench/tokens.py``, one process)."""
    # one signing key for the clients' tokens and the server (also when it runs from --source)
    os.environ.setdefault("CM_FHIR_KEYS_DIR", str(ROOT / "var" / "keys"))
    shared = json.loads((corpus / "shared.json").read_text())
    operator = next(e["resource"]["id"] for e in shared["entry"]
                    if e["resource"]["resourceType"] == "Organization")
    proc = subprocess.run([sys.executable, "-m", "bench.tokens", "--database",
                           f"sqlite:///{db}", "--operator", operator,
                           "--structures", ",".join(structures)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench.tokens: {proc.stderr[-800:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def structure_bundles(corpus: Path, per_bundle: int = 8) -> list[tuple[str, bytes]]:
    """The person bundles regrouped by the structure that manages each person's episode:
    (structure, transaction bundle of up to ``per_bundle`` of its people), in corpus order."""
    import orjson

    people: dict[str, list[list[Any]]] = {}
    order: list[str] = []
    bundles = iter_bundles(corpus)
    next(bundles)  # the shared directory
    for raw in bundles:
        person: list[Any] = []
        org = ""
        for entry in orjson.loads(raw)["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Patient" and person:
                people.setdefault(org, []).append(person)
                person, org = [], ""
            person.append(entry)
            if res["resourceType"] == "EpisodeOfCare":
                org = res["managingOrganization"]["reference"].split("/", 1)[1]
                if org not in people:
                    order.append(org)
        if person:
            people.setdefault(org, []).append(person)
            if org not in order:
                order.append(org)
    out = []
    for org in order:
        group = people[org]
        for i in range(0, len(group), per_bundle):
            entries = [e for p in group[i:i + per_bundle] for e in p]
            out.append((org, orjson.dumps({"resourceType": "Bundle", "type": "transaction",
                                           "entry": entries})))
    random.Random(1).shuffle(out)  # structures interleaved, as their pushes would arrive
    return out


def combined(parts: list[IngestResult]) -> dict[str, Any]:
    total = IngestResult("all", max(p.clients for p in parts))
    for p in parts:
        total.bundles += p.bundles
        total.resources += p.resources
        total.seconds += p.seconds
        total.failures += p.failures
        total.bundle_ms += p.bundle_ms
        total.first_error = total.first_error or p.first_error
    total.cpu = {"loadavg_before": parts[0].cpu.get("loadavg_before"),
                 "loadavg_after": parts[-1].cpu.get("loadavg_after"),
                 "machine_busy_cores": None, "server_cores": None}
    return total.summary()


def ingest_corpus(server: Server, corpus: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The shared bundle, then 10% of the person bundles with one client, then the rest with
    ``--ingest-clients`` parallel clients (both rates are reported)."""
    bundles: Iterator[Any] = iter_bundles(corpus)
    shared = ingest(server.port, [next(bundles)], 1, "shared directory", server.pid)
    if getattr(args, "structure_bundles", None):  # each structure with its own token
        tokens = args.structure_tokens
        bundles = iter([(body, {**JSON_HEADERS, "Authorization": f"Bearer {tokens[org]}"})
                        for org, body in args.structure_bundles])
    if shared.failures:
        raise SystemExit(f"the shared bundle was refused: {shared.first_error}")
    manifest = json.loads((corpus / "manifest.json").read_text())
    n_seq = max(1, (manifest["bundles"] - 1) // 10)
    seq = ingest(server.port, take(bundles, n_seq), 1, "persons, 1 client", server.pid,
                 deadline_s=args.ingest_deadline)
    par = ingest(server.port, bundles, args.ingest_clients,
                 f"persons, {args.ingest_clients} clients", server.pid,
                 deadline_s=args.ingest_deadline - seq.seconds)
    parts = [shared, seq, par]
    for p in parts:
        print(f"  ingest {p.label}: {p.resources} resources in {p.seconds:.1f} s "
              f"({p.resources / p.seconds if p.seconds else 0:.0f}/s), {p.failures} failures",
              file=sys.stderr, flush=True)
        if p.failures:
            print(f"    first error: {p.first_error[:400]}", file=sys.stderr)
    return [p.summary() for p in parts] + [combined(parts)]


def take(it: Iterator[Any], n: int) -> Iterator[Any]:
    for _ in range(n):
        item = next(it, None)
        if item is None:
            return
        yield item


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=10_000,
                    help="generated corpus size (10000, 100000, 1000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per workload")
    ap.add_argument("--connections", type=int, default=8, help="concurrent connections")
    ap.add_argument("--ingest-clients", type=int, default=4,
                    help="parallel clients posting transaction bundles")
    ap.add_argument("--ingest-deadline", type=float, default=1800.0,
                    help="stop posting bundles after this many seconds (partial corpus)")
    ap.add_argument("--no-referential-integrity", action="store_true",
                    help="start the server with --no-referential-integrity")
    ap.add_argument("--skip-load", action="store_true",
                    help="reuse the database of an earlier run (no ingest)")
    ap.add_argument("--synthea", action="store_true",
                    help="ingest ../shared/testdata/synthea-r4 instead of a generated corpus")
    ap.add_argument("--workloads", default="",
                    help="comma-separated subset of: read, search-goal, search-goal-nototal, "
                         "search-careplan, include, include-1conn (synthea: read, "
                         "search-observation)")
    ap.add_argument("--max-patients", type=int, default=50_000,
                    help="distinct patients the include workload picks from")
    ap.add_argument("--python-load", action="store_true",
                    help="use the Python load generator even when wrk is installed")
    ap.add_argument("--source", default="worktree",
                    help="server code to run: 'worktree' (default) or a git revision such as "
                         "HEAD, exported to var/bench/src-<sha> (the work tree may be mid-edit)")
    ap.add_argument("--auth", default="off",
                    help="--auth passed to the server when its CLI has it (default off: the "
                         "harness has no token flow yet)")
    ap.add_argument("--token", choices=["none", "structures"], default="none",
                    help="structures: the server runs with --auth embedded; the shared "
                         "directory is written by an operator client, then each structure "
                         "pushes its own people (the person bundles regrouped by the "
                         "structure managing each person's episode, 8 people per bundle, "
                         "each posted with that structure's token: token, scopes, the trust "
                         "rule's write checks and the audit on every write). The workloads "
                         "are skipped (an operator sees no person): run bench/person_page.py "
                         "on the database for the door-filtered reads")
    ap.add_argument("--workers", type=int, default=1,
                    help="cm-fhir serve --workers N (server processes; CPU and memory are "
                         "read for the supervisor and its children)")
    ap.add_argument("--rate-limit", action="store_true",
                    help="keep the server's per-client rate limit (lifted by default)")
    ap.add_argument("--database", type=Path, default=None, help="SQLite file to use")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="work folder (var/bench)")
    ap.add_argument("--profile", action="store_true",
                    help="in-process cProfile of read, search and ingest (no server)")
    ap.add_argument("--profile-ops", type=int, default=1000,
                    help="--profile: operations per section")
    ap.add_argument("--profile-top", type=int, default=25,
                    help="--profile: functions listed per section")
    args = ap.parse_args(argv)
    if args.profile:
        from bench.profile import profile

        return profile(args)
    run(args)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

