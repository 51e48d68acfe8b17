"""Transaction ingest of two (or more) source trees, interleaved round by round, in process
(``Router.dispatch``, no HTTP): the generated corpus on a fresh SQLite database (or a
PostgreSQL URL prefix), server defaults (validation, provenance, referential integrity on),
each round a fresh process per tree. Wall time and CPU time of the process are both given:
on a machine shared with other work, resources per CPU-second is the robust comparison.

    git worktree add --detach /tmp/before <rev>
    python -m bench.ingest_compare --root /tmp/before --root . [--resources 3000] [--rounds 3]
    python -m bench.ingest_compare --root . --profile      # where the time goes (cProfile)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.generate import DEFAULT_OUT, ROOT, ensure_corpus

CHILD = r"""
import cProfile, json, pstats, sys, tempfile, time
from pathlib import Path
corpus, database, profile = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
from bench.generate import iter_bundles
from fhir_service.settings import Settings
from fhir_service.context import build_context
from fhir_service.router import Router
from fhir_service.request import FhirRequest
bundles = list(iter_bundles(Path(corpus)))
ctx = build_context(Settings(database_url=database, demo=False))
router = Router(ctx)
headers = {"content-type": "application/fhir+json", "accept": "application/fhir+json"}
def post(body):
    resp = router.dispatch(FhirRequest("POST", [], body=body, base_url="http://localhost/fhir",
                                       headers=headers))
    if resp.status != 200:
        raise SystemExit(f"ingest failed: {resp.status} {resp.body!r:.400}")
for body in bundles[:3]:  # the shared directory, then a warm-up
    post(body)
timed = bundles[3:]
n = sum(b.count(b'"request":') for b in timed)
prof = cProfile.Profile() if profile else None
t0, c0 = time.perf_counter(), time.process_time()
if prof: prof.enable()
for body in timed:
    post(body)
if prof: prof.disable()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
ctx.close()
if prof:
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
print("RESULT " + json.dumps({"resources": n, "wall_s": wall, "cpu_s": cpu}))
"""


def run_once(root: Path, corpus: Path, database: str, profile: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]),
           "CM_FHIR_CACHE_DIR": os.environ.get("CM_FHIR_CACHE_DIR", str(ROOT / ".cache"))}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(corpus), database,
                           "1" if profile else "0"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=3600, check=False)
    if profile:
        sys.stderr.write(proc.stderr[-12000:])
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{root}: no result\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(line.split(" ", 1)[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, action="append", help="a source tree (repeatable)")
    ap.add_argument("--resources", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--postgres", default="",
                    help="a PostgreSQL server URL (postgresql+psycopg://user@host:port): a "
                         "fresh database per run instead of SQLite")
    ap.add_argument("--profile", action="store_true", help="one profiled run per tree")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    roots = [r.resolve() for r in (args.root or [ROOT])]
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args.resources, 1, args.out)
    runs: dict[Path, list[dict[str, float]]] = {r: [] for r in roots}
    load = [round(x, 2) for x in os.getloadavg()]
    n = 0
    with tempfile.TemporaryDirectory(prefix="ingest-compare-", dir=args.out) as tmp:
        for _ in range(1 if args.profile else args.rounds):
            for root in roots:
                n += 1
                if args.postgres:
                    sys.path.insert(0, str(ROOT))
                    from bench.workers import fresh_pg_database
                    database = fresh_pg_database(args.postgres, f"ingest_compare_{n}")
                else:
                    database = f"sqlite:///{tmp}/run{n}.db"
                result = run_once(root, corpus, database, args.profile)
                runs[root].append(result)
                print(f"  {root}: {result['resources'] / result['wall_s']:.0f} resources/s, "
                      f"{result['resources'] / result['cpu_s']:.0f} per CPU-s", file=sys.stderr,
                      flush=True)
    w = sys.stdout.write
    w(f"\ntransaction ingest in process, {args.resources}-resource corpus, "
      f"{'PostgreSQL' if args.postgres else 'SQLite'}, median (min–max) of {len(runs[roots[0]])}"
      f" rounds; load average {load} -> {[round(x, 2) for x in os.getloadavg()]}\n")
    w("| tree | resources/s (wall) | resources per CPU-second | CPU ms per resource |\n"
      "|---|---|---|---|\n")
    for root, rs in runs.items():
        wall = sorted(r["resources"] / r["wall_s"] for r in rs)
        cpu = sorted(r["resources"] / r["cpu_s"] for r in rs)
        w(f"| {root} | {statistics.median(wall):.0f} ({wall[0]:.0f}–{wall[-1]:.0f}) | "
          f"{statistics.median(cpu):.0f} ({cpu[0]:.0f}–{cpu[-1]:.0f}) | "
          f"{1000 / statistics.median(cpu):.2f} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
