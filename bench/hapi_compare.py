"""cm-fhir side by side with HAPI FHIR JPA (issue 15): the same corpus, the same workloads, in
interleaved rounds, and the ratio table.

    .venv/bin/python -m bench.hapi_compare                      # 5k resources, HAPI on PostgreSQL
    .venv/bin/python -m bench.hapi_compare --resources 20000 --rounds 3 --duration 10
    .venv/bin/python -m bench.hapi_compare --h2                 # HAPI on H2 in memory

HAPI is the JPA server of ``tools/hapi-jpa`` (HAPI 8.8.0, built by its setup.sh; the one the
exchange tests use), on a private PostgreSQL cluster (the way tests/pg.py starts one: its
recommended database) or on H2, with the full JIT and ``--hapi-heap`` of heap, and HAPI's
default reuse of a repeated search's results for 60 s (``--hapi-search-cache 0``: off; ours
has no result cache, so the fixed Goal page is a cache hit for HAPI). Ours is
``cm-fhir serve`` on SQLite, one worker, auth off, audit on (bench/run.py's Server).

Steps: generate (or reuse) the bench corpus (bench/generate.py) and post its shared directory
to both; ingest the person bundles in interleaved rounds (each round: the same chunk to each
server with 1 client, then the next chunk with ``--ingest-clients`` clients; the server that
goes first alternates); load the Synthea bundles of ../shared (for the Observation search),
untimed; check that both give the same counts per type and the same answers to the workloads'
first requests (a difference stops the run: ratios of different answers mean nothing); warm
both up; then run each workload on each server, alternating, for ``--rounds`` rounds. The
figures are the medians over rounds. Memory: our server's RSS (and its audit indexer's), the
JVM's RSS plus PostgreSQL's processes.

Everything binds to 127.0.0.1; every loop stops by itself. Results: var/bench/hapi-compare-*.json.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generate import DEFAULT_OUT, ensure_corpus, iter_bundles
from bench.run import (
    BASE,
    HOST,
    SYNTHEA,
    Server,
    Workload,
    check_workload,
    children,
    export_source,
    free_port,
    git_commit,
    ingest,
    loadavg,
    proc_memory,
    run_python_load,
    run_wrk,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ (the HAPI and PostgreSQL helpers) when run as a script

from tests.hapi import HapiServer, HapiUnavailable, start_hapi  # noqa: E402

ACCEPT = {"Accept": "application/fhir+json"}
SYNTHEA_SYSTEM = "https://github.com/synthetichealth/synthea"


@dataclass
class Peer:
    name: str
    port: int
    pids: Any  # () -> list[int]: the processes whose memory counts


def get_json(port: int, path: str, timeout: float = 300) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=ACCEPT)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, (json.loads(body) if body else None)
    finally:
        conn.close()


def post(port: int, body: bytes, timeout: float = 900) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", BASE, body=body, headers={**ACCEPT,
                                                       "Content-Type": "application/fhir+json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# -- PostgreSQL for HAPI ------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_for_hapi() -> Iterator[tuple[str, str, list[int]]]:
    """(JDBC URL, user, postmaster pid list holder) of a fresh database on a private cluster."""
    from tests.pg import fresh_database, postgres_server

    servers = postgres_server()
    try:
        url = next(servers)
    except BaseException as exc:  # pytest.skip outside pytest: the reason is in the message
        if type(exc).__name__ == "Skipped":
            raise SystemExit(f"PostgreSQL unavailable: {exc} (use --h2)") from None
        raise
    try:
        db = fresh_database(url, "hapi_compare")
        rest = db.split("://", 1)[1]
        user, hostpart = rest.split("@", 1)
        port = int(hostpart.split("/", 1)[0].rsplit(":", 1)[1])
        yield f"jdbc:postgresql://{hostpart}", user, [port]
    finally:
        with contextlib.suppress(StopIteration):
            next(servers)


def postgres_pids(port: int) -> list[int]:
    """Processes of the cluster listening on ``port`` (postmaster and its backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"postgres") and str(port).encode() in b" ".join(cmd):
            found.append(int(entry.name))
            found.extend(children(int(entry.name)))
    return sorted(set(found))


def rss_mb(pids: list[int]) -> float:
    return round(sum(proc_memory(p)["rss_mb"] for p in pids), 1)


# -- the corpus -----------------------------------------------------------------------------------


def synthea_files() -> list[Path]:
    if not SYNTHEA.exists():
        return []
    files = sorted(SYNTHEA.glob("*.json.bz2"))
    return sorted(files, key=lambda p: not p.name.startswith("0-"))


def synthea_patients(files: list[Path]) -> list[str]:
    """The Synthea identifiers of the patients (the same people on both servers)."""
    found = []
    for path in files:
        bundle = json.loads(bz2.decompress(path.read_bytes()))
        for entry in bundle.get("entry", []):
            res = entry.get("resource", {})
            if res.get("resourceType") == "Patient":
                found.extend(i["value"] for i in res.get("identifier", [])
                             if i.get("system") == SYNTHEA_SYSTEM)
    return found


def patient_ids(port: int, identifiers: list[str]) -> list[str]:
    """This server's Patient ids for the Synthea identifiers."""
    ids = []
    for value in identifiers:
        status, bundle = get_json(port, f"{BASE}/Patient?identifier={SYNTHEA_SYSTEM}|{value}")
        entries = bundle.get("entry", []) if status == 200 else []
        if len(entries) != 1:
            raise SystemExit(f"port {port}: Synthea patient {value}: {len(entries)} matches")
        ids.append(entries[0]["resource"]["id"])
    return ids


def count(port: int, rtype: str) -> int | None:
    status, bundle = get_json(port, f"{BASE}/{rtype}?_summary=count")
    return bundle.get("total") if status == 200 and bundle else None


def chunks(items: list[bytes], n: int) -> list[list[bytes]]:
    size = max(1, -(-len(items) // n))
    return [items[i:i + size] for i in range(0, len(items), size)]


# -- comparison of answers ----------------------------------------------------------------------


def answer_signature(port: int, path: str) -> Any:
    status, body = get_json(port, path)
    if status != 200:
        return ("status", status)
    if body.get("resourceType") != "Bundle":
        return (body.get("resourceType"), body.get("id"))
    entries = body.get("entry", [])
    return (body.get("total"), sorted((e.get("search", {}).get("mode", "match"),
                                       e["resource"]["resourceType"]) for e in entries))


def same_answers(ours: int, hapi: int, paths: list[str]) -> list[str]:
    diffs = []
    for path in paths:
        a, b = answer_signature(ours, path), answer_signature(hapi, path)
        if a != b:
            diffs.append(f"{path}: ours {str(a)[:200]} / HAPI {str(b)[:200]}")
    return diffs


# -- the run ------------------------------------------------------------------------------------


def load_tool(args: argparse.Namespace) -> str:
    return "wrk" if shutil.which("wrk") and not args.python_load else "python"


def run_load(port: int, wl: Workload, duration: float, connections: int, tool: str,
             workdir: Path) -> dict[str, Any]:
    if tool == "wrk":
        return run_wrk(port, wl, duration, connections, workdir)
    return run_python_load(port, wl, duration, connections)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resources", type=int, default=5000, help="bench corpus size (generate.py)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per workload")
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per workload run")
    ap.add_argument("--warmup", type=float, default=4.0, help="untimed seconds per workload first")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--ingest-clients", type=int, default=4)
    ap.add_argument("--ingest-share", type=float, default=0.3,
                    help="share of the person bundles ingested with 1 client (the rest: N)")
    ap.add_argument("--h2", action="store_true", help="HAPI on H2 in memory, not PostgreSQL")
    ap.add_argument("--workers", type=int, default=1,
                    help="our server's worker processes (cm-fhir serve --workers; HAPI's JVM "
                         "uses every core)")
    ap.add_argument("--source", default="worktree",
                    help="our server's code: 'worktree' or a git revision such as HEAD "
                         "(exported, as bench.run --source does)")
    ap.add_argument("--hapi-heap", default="2g")
    ap.add_argument("--hapi-search-cache", type=int, default=60000, metavar="MS",
                    help="HAPI reuses a repeated search's results for MS ms (its default: 60000; "
                         "0: off, as in the tests). Ours has no such cache.")
    ap.add_argument("--no-synthea", action="store_true")
    ap.add_argument("--python-load", action="store_true", help="no wrk: the Python load threads")
    ap.add_argument("--keep-going", action="store_true",
                    help="time the workloads even when the answers differ")
    args = ap.parse_args(argv)

    corpus = ensure_corpus(args.resources)
    manifest = json.loads((corpus / "manifest.json").read_bytes())
    bundles = list(iter_bundles(corpus))
    shared, persons = bundles[0], bundles[1:]
    files = [] if args.no_synthea else synthea_files()
    tool = load_tool(args)
    workdir = Path(tempfile.mkdtemp(prefix="cm-fhir-hapi-compare-"))
    results: dict[str, Any] = {
        "corpus": {"resources": manifest["resources"], "persons": manifest["persons"],
                   "synthea_bundles": len(files)},
        "commit": git_commit(args.source), "workers": args.workers,
        "hapi_database": "H2" if args.h2 else "PostgreSQL",
        "hapi_search_cache_ms": args.hapi_search_cache,
        "load_tool": tool, "loadavg_start": loadavg(), "cores": os.cpu_count(), "rounds": args.rounds,
        "duration_s": args.duration,
    }
    print(f"corpus {corpus} ({manifest['resources']} resources), {len(files)} Synthea bundles, "
          f"HAPI on {results['hapi_database']}, load tool {tool}", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        pg_port: list[int] = []
        jdbc = user = None
        if not args.h2:
            jdbc, user, pg_port = stack.enter_context(postgres_for_hapi())
        print("starting HAPI (a minute or two)…", file=sys.stderr)
        try:
            hapi: HapiServer = start_hapi(jdbc, jdbc_user=user, pool=20,
                                          java_opts=f"-Xmx{args.hapi_heap} -XX:+UseParallelGC",
                                          reuse_cached_searches_ms=args.hapi_search_cache)
        except HapiUnavailable as exc:
            raise SystemExit(f"HAPI unavailable: {exc}") from None
        stack.callback(hapi.stop)
        source = None if args.source == "worktree" else export_source(args.source, DEFAULT_OUT)
        ours = Server(workdir / "ours.sqlite", free_port(), workdir / "ours.log", source=source,
                      workers=args.workers)
        ours.start()
        stack.callback(ours.stop)
        peers = {
            "ours": Peer("ours", ours.port, lambda: [ours.pid, *(
                p for c in children(ours.pid) for p in (c, *children(c)))]),
            "hapi": Peer("hapi", hapi.port,
                         lambda: [hapi.process.pid, *(postgres_pids(pg_port[0]) if pg_port else [])]),
        }

        # -- the Synthea bundles first, untimed: they also warm up both servers' write paths
        # (HAPI's JIT) before the timed ingest
        for path in files:
            body = bz2.decompress(path.read_bytes())
            for peer in peers.values():
                status, answer = post(peer.port, body)
                if status != 200:
                    raise SystemExit(f"{peer.name}: {path.name} answered {status}: {answer[:500]!r}")

        # -- ingest, interleaved
        for peer in peers.values():
            status, body = post(peer.port, shared)
            if status != 200:
                raise SystemExit(f"{peer.name}: the shared bundle answered {status}: {body[:500]!r}")
        cut = int(len(persons) * args.ingest_share)
        one, many = chunks(persons[:cut], args.rounds), chunks(persons[cut:], args.rounds)
        ingest_rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for r in range(max(len(one), len(many))):
            order = list(peers.values()) if r % 2 == 0 else list(peers.values())[::-1]
            for clients, part in ((1, one), (args.ingest_clients, many)):
                if r >= len(part):
                    continue
                for peer in order:
                    pid = peer.pids()[0]
                    res = ingest(peer.port, part[r], clients, f"{peer.name}-{clients}", pid)
                    if res.failures:
                        raise SystemExit(f"{peer.name}: {res.failures} bundles failed: {res.first_error}")
                    ingest_rows.setdefault((peer.name, clients), []).append(res.summary())
                    print(f"ingest round {r + 1} {peer.name} {clients} client(s): "
                          f"{res.summary()['resources_per_s']} res/s", file=sys.stderr)
        results["ingest"] = {
            f"{name}-{clients}": {
                "resources": sum(x["resources"] for x in rows),
                "seconds": round(sum(x["seconds"] for x in rows), 2),
                "resources_per_s": round(sum(x["resources"] for x in rows)
                                         / sum(x["seconds"] for x in rows), 1),
                "rounds": [x["resources_per_s"] for x in rows]}
            for (name, clients), rows in ingest_rows.items()}

        # -- the same data on both
        types = sorted(set(manifest["counts"]) | ({"Observation", "Patient"} if files else set()))
        counts = {t: (count(ours.port, t), count(hapi.port, t)) for t in types}
        results["counts"] = counts
        wrong = {t: c for t, c in counts.items() if c[0] != c[1]
                 or (t in manifest["counts"] and not files and c[0] != manifest["counts"][t])}
        if wrong:
            print(f"COUNTS DIFFER (ours, HAPI): {wrong}", file=sys.stderr)
            if not args.keep_going:
                return 1
        print(f"counts agree on {len(types)} types "
              f"({sum(c[0] or 0 for c in counts.values())} resources)", file=sys.stderr)

        # -- workloads (paths per server where ids differ: Synthea's server-assigned ids)
        reads = [f"{BASE}/{k}" for k in manifest["read_sample"]]
        includes = [f"{BASE}/CarePlan?patient=Patient/{p}&_include=CarePlan:goal"
                    for p in manifest["patients"]]
        synthea_ids = synthea_patients(files) if files else []
        per_server_obs = {name: [f"{BASE}/Observation?subject=Patient/{i}&_count=20"
                                 for i in patient_ids(peer.port, synthea_ids)]
                          for name, peer in peers.items()} if synthea_ids else {}
        plan: list[tuple[str, str, dict[str, list[str]], int]] = [
            ("read", "read by id", {"*": reads}, args.connections),
            ("search-goal", "Goal?_count=20&lifecycle-status=active",
             {"*": [f"{BASE}/Goal?_count=20&lifecycle-status=active"]}, args.connections),
            ("include-1", "CarePlan?patient=…&_include=CarePlan:goal", {"*": includes}, 1),
            ("include-n", "the same", {"*": includes}, args.connections),
        ]
        if per_server_obs:
            plan.insert(2, ("search-observation", "Observation?subject=…&_count=20", per_server_obs,
                            args.connections))
        diffs = same_answers(ours.port, hapi.port, [reads[0], reads[-1], *includes[:5],
                                                    f"{BASE}/Goal?_count=20&lifecycle-status=active"])
        for name, _what, paths, _c in plan:
            if "*" not in paths:  # the same people on both, under each server's ids
                diffs += [f"{name}: {d}" for d in (
                    [] if answer_signature(ours.port, paths["ours"][0])
                    == answer_signature(hapi.port, paths["hapi"][0])
                    else [f"{paths['ours'][0]} vs {paths['hapi'][0]}"])]
        results["answer_differences"] = diffs
        if diffs:
            print("ANSWERS DIFFER:\n  " + "\n  ".join(diffs), file=sys.stderr)
            if not args.keep_going:
                return 1

        def workload(name: str, peer: str, paths: dict[str, list[str]], conns: int) -> Workload:
            return Workload(name, name, paths.get(peer) or paths["*"], connections=conns)

        for name, _what, paths, conns in plan:  # warm-up (the JIT, the caches), untimed
            for peer in peers.values():
                wl = workload(name, peer.name, paths, conns)
                check_workload(peer.port, wl)
                run_load(peer.port, wl, args.warmup, conns, tool, workdir)
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in range(args.rounds):
            for name, _what, paths, conns in plan:
                order = list(peers.values()) if r % 2 == 0 else list(peers.values())[::-1]
                for peer in order:
                    got = run_load(peer.port, workload(name, peer.name, paths, conns),
                                   args.duration, conns, tool, workdir)
                    runs.setdefault((name, peer.name), []).append(got)
                    print(f"round {r + 1} {name} {peer.name}: {got['req_per_s']} req/s, "
                          f"p95 {got['p95_ms']} ms, errors {got['errors']}", file=sys.stderr)
        results["workloads"] = {
            name: {"what": what, "connections": conns, **{
                peer: {"req_per_s": statistics.median(x["req_per_s"] for x in runs[(name, peer)]),
                       "p95_ms": statistics.median(x["p95_ms"] for x in runs[(name, peer)]),
                       "errors": sum(x["errors"] for x in runs[(name, peer)]),
                       "rounds": [x["req_per_s"] for x in runs[(name, peer)]]}
                for peer in peers}}
            for name, what, _p, conns in plan}
        results["memory_mb"] = {name: rss_mb(peer.pids()) for name, peer in peers.items()}
        results["loadavg_end"] = loadavg()

    shutil.rmtree(workdir, ignore_errors=True)
    out = DEFAULT_OUT / f"hapi-compare-{time.strftime('%Y%m%d-%H%M%S')}-{manifest['resources']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print_table(results, args)
    print(f"results: {out}")
    return 0


def print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\ncm-fhir vs HAPI FHIR JPA 8.8.0 on {results['hapi_database']} — "
          f"{results['corpus']['resources']} resources + {results['corpus']['synthea_bundles']} "
          f"Synthea bundles, {results['rounds']} interleaved rounds of {results['duration_s']:g} s, "
          f"commit {results['commit']}, load {results['loadavg_start']} → {results['loadavg_end']}; "
          f"HAPI's search cache {results['hapi_search_cache_ms']} ms\n")
    print("| workload | ours | HAPI JPA | ours / HAPI |")
    print("|---|---|---|---|")
    for w in results["workloads"].values():
        o, h = w["ours"], w["hapi"]

        def cell(x: dict[str, Any]) -> str:
            return f"{x['req_per_s']:,.0f} req/s, p95 {x['p95_ms']:.1f} ms"

        ratio = o["req_per_s"] / h["req_per_s"] if h["req_per_s"] else float("inf")
        print(f"| {w['what']} ({w['connections']} conn.) | {cell(o)} | {cell(h)} | {ratio:.2f}× |")
    for clients in (1, args.ingest_clients):
        o = results["ingest"].get(f"ours-{clients}")
        h = results["ingest"].get(f"hapi-{clients}")
        if o and h:
            print(f"| transaction ingest, {clients} client{'s' if clients > 1 else ''} | "
                  f"{o['resources_per_s']:,.0f} res/s | {h['resources_per_s']:,.0f} res/s | "
                  f"{o['resources_per_s'] / h['resources_per_s']:.2f}× |")
    mem = results["memory_mb"]
    hapi_what = "JVM + PostgreSQL" if results["hapi_database"] == "PostgreSQL" else "JVM"
    print(f"| memory after the workloads | {mem['ours']:,.0f} MB | {mem['hapi']:,.0f} MB "
          f"({hapi_what}) | {mem['ours'] / mem['hapi']:.2f}× |")
    if max(results["loadavg_start"][0], results["loadavg_end"][0]) > (os.cpu_count() or 1):
        print("\nNOTE: the load average exceeded the number of cores: other work shared the "
              "machine, figures are noisy")
    errors = {f"{n}/{p}": w[p]["errors"] for n, w in results["workloads"].items()
              for p in ("ours", "hapi") if w[p]["errors"]}
    if errors:
        print(f"\nERRORS during the runs: {errors}")
    if os.environ.get("CI"):
        print("(CI: figures on a shared machine)")


if __name__ == "__main__":
    raise SystemExit(main())
