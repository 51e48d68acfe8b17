"""Where the time goes: cProfile of ingest, read, search and include, in process.

The workload goes straight through :meth:`fhir_service.router.Router.dispatch` with a
:class:`fhir_service.request.FhirRequest` (no HTTP, no uvicorn, no FastAPI), on a fresh
SQLite database holding the generated corpus. Each section is first timed without the
profiler (operations per second: the ceiling the HTTP server can approach on one core),
then profiled; the top functions by cumulative and by own time are printed, and the raw
profiles are written to ``var/bench/profile-<section>.prof`` (open them with
``python -m pstats`` or snakeviz).

    python -m bench.run --profile [--resources 10000] [--profile-ops 1000]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.generate import ROOT, ensure_corpus, iter_bundles

SITE = "site-packages/"


def short(func: tuple[str, int, str]) -> str:
    path, line, name = func
    if path == "~":
        return name
    if SITE in path:
        path = path.split(SITE, 1)[1]
    elif path.startswith(str(ROOT)):
        path = path[len(str(ROOT)) + 1:]
    elif "/lib/python" in path:
        path = "stdlib/" + path.split("/lib/python", 1)[1].split("/", 1)[-1]
    return f"{path}:{line}({name})"


def summarise(prof: cProfile.Profile, top: int) -> dict[str, Any]:
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [(func, cc, nc, tt, ct) for func, (cc, nc, tt, ct, _callers) in raw.items()]
    by_cum = sorted(rows, key=lambda r: r[4], reverse=True)
    by_own = sorted(rows, key=lambda r: r[3], reverse=True)

    def fmt(r: tuple[Any, ...]) -> dict[str, Any]:
        return {"function": short(r[0]), "calls": r[2], "own_s": round(r[3], 4),
                "cum_s": round(r[4], 4), "cum_pct": round(100 * r[4] / total, 1) if total else 0,
                "own_pct": round(100 * r[3] / total, 1) if total else 0}

    # the outer frames (the benchmark loop, dispatch) carry ~100 %: skip the bench's own
    cum = [fmt(r) for r in by_cum if "bench/profile.py" not in r[0][0]][:top]
    own = [fmt(r) for r in by_own][:top]
    return {"total_s": round(total, 3), "by_cumulative": cum, "by_own_time": own}


def print_section(name: str, timing: dict[str, Any], summary: dict[str, Any]) -> None:
    w = sys.stdout.write
    w(f"\n=== {name}: {timing['ops']} ops, {timing['ops_per_s']:.0f} ops/s "
      f"({timing['ms_per_op']:.2f} ms/op) without the profiler; "
      f"{summary['total_s']} s profiled\n")
    w(f"{'cum %':>6} {'cum s':>8} {'calls':>9}  top functions by cumulative time\n")
    for r in summary["by_cumulative"]:
        w(f"{r['cum_pct']:>6.1f} {r['cum_s']:>8.3f} {r['calls']:>9}  {r['function']}\n")
    w(f"{'own %':>6} {'own s':>8} {'calls':>9}  top functions by own time\n")
    for r in summary["by_own_time"][:15]:
        w(f"{r['own_pct']:>6.1f} {r['own_s']:>8.3f} {r['calls']:>9}  {r['function']}\n")


def profile(args: argparse.Namespace) -> int:
    if getattr(args, "source", "worktree") != "worktree":
        from bench.run import export_source

        sys.path.insert(0, str(export_source(args.source, args.out)))
        os.environ.setdefault("CM_FHIR_CACHE_DIR", str(ROOT / ".cache"))
    from fhir_service.context import build_context
    from fhir_service.request import FhirRequest
    from fhir_service.router import Router
    from fhir_service.settings import Settings

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args.resources, args.seed, out)
    manifest = json.loads((corpus / "manifest.json").read_text())
    n = args.profile_ops
    tmp = Path(tempfile.mkdtemp(prefix="cm-fhir-profile-", dir=out))
    t0 = time.perf_counter()
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp / 'profile.db'}", demo=False))
    import fhir_service

    print(f"profiling the server code in {Path(fhir_service.__file__).parent}", file=sys.stderr)
    router = Router(ctx)
    print(f"definitions loaded in {time.perf_counter() - t0:.1f} s; corpus {corpus} "
          f"({manifest['resources']} resources)", file=sys.stderr)
    base = "http://localhost/fhir"
    headers = {"content-type": "application/fhir+json", "accept": "application/fhir+json"}

    def post(body: bytes) -> None:
        resp = router.dispatch(FhirRequest("POST", [], body=body, base_url=base,
                                           headers=headers))
        if resp.status != 200:
            raise RuntimeError(f"ingest failed: {resp.status} {resp.body!r:.400}")

    def get(path: str) -> Callable[[], None]:
        p, _, q = path.partition("?")
        from urllib.parse import parse_qsl

        segments = p.split("/")
        query = parse_qsl(q, keep_blank_values=True)

        def call() -> None:
            resp = router.dispatch(FhirRequest("GET", list(segments), query=list(query),
                                               base_url=base, headers=headers))
            if resp.status != 200:
                raise RuntimeError(f"GET {path}: {resp.status}")
        return call

    results: dict[str, Any] = {"started": datetime.now().isoformat(timespec="seconds"),
                               "resources": manifest["resources"], "ops": n,
                               "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                               "sections": {}}
    bundles = iter_bundles(corpus)
    post(next(bundles))  # the shared directory
    all_bundles = list(bundles)
    # ingest: profile the first bundles (about n resources), time the rest unprofiled
    k = max(5, min(len(all_bundles) // 2, n // 100))
    per_bundle = manifest["resources"] / max(1, manifest["bundles"])
    for body in all_bundles[:2]:  # warm up: first-use model imports are not the steady state
        post(body)
    prof = cProfile.Profile()
    prof.enable()
    for body in all_bundles[2:k]:
        post(body)
    prof.disable()
    t0 = time.perf_counter()
    for body in all_bundles[k:]:
        post(body)
    elapsed = time.perf_counter() - t0
    done = sum(b.count(b'"request":') for b in all_bundles[k:])
    timing = {"ops": done, "ops_per_s": done / elapsed, "ms_per_op": 1000 * elapsed / done,
              "unit": f"resources (transaction bundles of ~{per_bundle:.0f})"}
    summary = summarise(prof, args.profile_top)
    prof.dump_stats(str(out / "profile-ingest.prof"))
    print_section("ingest (transaction bundles, per resource)", timing, summary)
    results["sections"]["ingest"] = {"timing": timing, **summary}

    rng = random.Random(1)
    reads = [get(k) for k in rng.choices(manifest["read_sample"], k=n)]
    patients = manifest["patients"]
    sections: list[tuple[str, list[Callable[[], None]]]] = [
        ("read", reads),
        ("search-goal", [get("Goal?_count=20&lifecycle-status=active")] * n),
        ("search-goal-nototal",
         [get("Goal?_count=20&lifecycle-status=active&_total=none")] * n),
        ("include", [get(f"CarePlan?patient=Patient/{rng.choice(patients)}"
                         "&_include=CarePlan:goal") for _ in range(n)]),
    ]
    for name, calls in sections:
        for call in calls[: min(50, n)]:  # warm caches
            call()
        t0 = time.perf_counter()
        for call in calls:
            call()
        elapsed = time.perf_counter() - t0
        timing = {"ops": n, "ops_per_s": n / elapsed, "ms_per_op": 1000 * elapsed / n}
        prof = cProfile.Profile()
        prof.enable()
        for call in calls:
            call()
        prof.disable()
        summary = summarise(prof, args.profile_top)
        prof.dump_stats(str(out / f"profile-{name}.prof"))
        print_section(name, timing, summary)
        results["sections"][name] = {"timing": timing, **summary}
    ctx.close()
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out / f"profile-{stamp}.json"
    path.write_text(json.dumps(results, indent=1))
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()
    print(f"\nload average {results['loadavg_start']} → {results['loadavg_end']} (shared "
          f"machine: absolute figures are noisy, proportions hold); profiles: "
          f"{out}/profile-*.prof; summary: {path}")
    return 0
