"""Narratives and indicators: what they cost.

1. *Narrative per resource* (in process, no database): ``Narrator.apply`` over the generated
   case-management corpus (``bench/generate.py``), per resource type: mean and p95 of each
   resource's fastest of ``--rounds`` (µs), and the size of the generated ``div``.
2. *Transaction ingest through the router in process* with narratives on and off (rounds
   interleaved): resources per second of wall and CPU time.
3. *$evaluate-measure* on a store loaded with ``--measure-resources`` resources of the same
   corpus: time of each of the guide's Measures for the whole store (a territory: the server
   itself, and one structure's view through its door), peak Python memory (tracemalloc) and
   the process's maximum resident size.

    python -m bench.narrative [--limit 3000] [--resources 3000] [--measure-resources 30000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.generate import ROOT, ensure_corpus, iter_bundles

OUT = ROOT / "var" / "bench"


def corpus_resources(corpus: Path, limit: int) -> list[dict[str, Any]]:
    from fhir_service import fhir

    out: list[dict[str, Any]] = []
    for body in iter_bundles(corpus):
        out.extend(e["resource"] for e in fhir.loads(body).get("entry", []) if "resource" in e)
        if len(out) >= limit:
            break
    return out[:limit]


def per_type(ctx: Any, resources: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    from fhir_service.narrative import RENDERERS, Narrator

    narrator = Narrator(ctx.registry, tuple(ctx.settings.ig_packages))
    items = [r for r in resources if r.get("resourceType") in RENDERERS]
    for r in items:  # warm-up
        narrator.apply(r)
    best = [float("inf")] * len(items)
    clock = time.perf_counter
    for _ in range(rounds):
        for i, r in enumerate(items):
            t0 = clock()
            narrator.apply(r)
            t = clock() - t0
            best[i] = min(best[i], t)
    by_type: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(list)
    for r, t in zip(items, best, strict=True):
        by_type[r["resourceType"]].append(t)
        sizes[r["resourceType"]].append(len(narrator.div(r) or ""))
    out = {}
    for rtype, samples in sorted(by_type.items()):
        s = sorted(samples)
        out[rtype] = {"n": len(s), "mean_us": 1e6 * statistics.fmean(s),
                      "p95_us": 1e6 * s[int(len(s) * 0.95)],
                      "div_bytes": statistics.fmean(sizes[rtype])}
    return out


def ingest(settings: Any, bundles: list[bytes], narratives: bool, workdir: Path) -> dict[str, float]:
    from fhir_service.context import build_context
    from fhir_service.request import FhirRequest
    from fhir_service.router import Router

    db = Path(tempfile.mkdtemp(prefix="narr-", dir=workdir)) / "ingest.db"
    ctx = build_context(settings.replace(database_url=f"sqlite:///{db}", narratives=narratives))
    router = Router(ctx)
    headers = {"content-type": "application/fhir+json", "accept": "application/fhir+json"}

    def post(body: bytes) -> None:
        resp = router.dispatch(FhirRequest("POST", [], body=body, headers=headers,
                                           base_url="http://localhost/fhir"))
        if resp.status != 200:
            raise RuntimeError(f"ingest failed: {resp.status} {resp.body!r:.400}")

    post(bundles[0])  # the shared directory
    for body in bundles[1:3]:
        post(body)
    timed = bundles[3:]
    n = sum(b.count(b'"request":') for b in timed)
    t0, c0 = time.perf_counter(), time.process_time()
    for body in timed:
        post(body)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    router.close()
    ctx.close()
    shutil.rmtree(db.parent, ignore_errors=True)
    return {"resources": n, "per_s": n / elapsed, "per_cpu_s": n / cpu}


def measures(settings: Any, corpus: Path, workdir: Path, rounds: int) -> dict[str, Any]:
    from fhir_service import fhir
    from fhir_service.context import build_context
    from fhir_service.operations import install_all
    from fhir_service.request import FhirRequest
    from fhir_service.router import Router
    from fhir_service.security.principal import Principal, Scopes

    db = Path(tempfile.mkdtemp(prefix="measures-", dir=workdir)) / "measures.db"
    ctx = build_context(settings.replace(database_url=f"sqlite:///{db}", auth="off",
                                         audit=False, provenance=False))
    router = Router(ctx)
    install_all(router)
    headers = {"content-type": "application/fhir+json"}
    people = loaded = 0
    t0 = time.perf_counter()
    for body in iter_bundles(corpus):
        resp = router.dispatch(FhirRequest("POST", [], body=body, headers=headers,
                                           base_url="http://localhost/fhir"))
        if resp.status != 200:
            raise RuntimeError(f"load failed: {resp.status}")
        loaded += body.count(b'"request":')
        people += body.count(b'"resourceType":"Patient"')
    load_s = time.perf_counter() - t0
    # one structure: the one managing the most episodes (its view goes through its door)
    conn = ctx.repository.engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute("SELECT ref_id, COUNT(*) FROM idx_reference WHERE rtype = 'EpisodeOfCare' "
                    "AND param = 'organization' GROUP BY ref_id ORDER BY 2 DESC LIMIT 1")
        found = cur.fetchone()
        if found is None:
            raise RuntimeError("the corpus has no EpisodeOfCare with a managing organisation")
        structure, managed = found
    finally:
        conn.close()
    callers: list[tuple[str, Principal | None]] = [
        ("server (territory: everything)", None),
        (f"structure {structure} ({managed} episodes)",
         Principal("bench", structure=structure, scopes=Scopes.parse("system/*.rs")))]
    out: dict[str, Any] = {"resources": loaded, "people": people, "load_s": load_s,
                           "timings": {}}
    for mid in ("cm-caseload", "cm-referral-delay", "cm-goals-by-domain", "cm-ruptures",
                "cm-hospitalisations"):
        for label, principal in callers:
            req = FhirRequest("GET", ["Measure", mid, "$evaluate-measure"],
                              query=[("periodStart", "2025-01-01"), ("periodEnd", "2026-12-31")],
                              principal=principal, base_url="http://localhost/fhir")
            times = []
            tracemalloc.start()
            for _ in range(rounds):
                t = time.perf_counter()
                resp = router.dispatch(req)
                times.append(time.perf_counter() - t)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            report: Any = resp.body if isinstance(resp.body, dict) else fhir.loads(
                resp.body or b"{}")
            first = report["group"][0]
            out["timings"][f"{mid} / {label}"] = {
                "best_s": min(times), "peak_python_mib": peak / 2**20,
                "first_group": first["code"]["coding"][0]["code"],
                "first_count": first["population"][0]["count"]}
    out["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    router.close()
    ctx.close()
    shutil.rmtree(db.parent, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=3000, help="resources timed per type (0: skip)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--resources", type=int, default=3000,
                    help="corpus size for the ingest with and without narratives (0: skip)")
    ap.add_argument("--ingest-rounds", type=int, default=3)
    ap.add_argument("--measure-resources", type=int, default=30000,
                    help="corpus size for $evaluate-measure (0: skip)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from fhir_service.context import build_context
    from fhir_service.settings import Settings

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="narrative-", dir=args.out))
    settings = Settings(database_url=f"sqlite:///{work / 'steps.db'}", demo=False)
    results: dict[str, Any] = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    w = print
    if args.limit:
        ctx = build_context(settings)
        corpus = ensure_corpus(max(args.resources, 3000), 1, args.out)
        results["per_type"] = per_type(ctx, corpus_resources(corpus, args.limit), args.rounds)
        ctx.close()
        w("Narrative per resource (fastest of rounds):")
        w(f"  {'type':<24}{'n':>6}{'mean µs':>10}{'p95 µs':>10}{'div bytes':>11}")
        for rtype, f in results["per_type"].items():
            w(f"  {rtype:<24}{f['n']:>6}{f['mean_us']:>10.1f}{f['p95_us']:>10.1f}"
              f"{f['div_bytes']:>11.0f}")
    if args.resources:
        bundles = list(iter_bundles(ensure_corpus(args.resources, 1, args.out)))
        runs: dict[str, list[dict[str, float]]] = {"narratives on": [], "narratives off": []}
        for _ in range(args.ingest_rounds):
            for label, flag in (("narratives on", True), ("narratives off", False)):
                runs[label].append(ingest(settings, bundles, flag, work))
        results["ingest"] = {k: max(v, key=lambda r: r["per_cpu_s"]) for k, v in runs.items()}
        w("Transaction ingest in process (best of rounds):")
        for label, f in results["ingest"].items():
            w(f"  {label:<16}{f['resources']:>7} resources  {f['per_s']:>7.0f}/s wall  "
              f"{f['per_cpu_s']:>7.0f}/s CPU")
    if args.measure_resources:
        corpus = ensure_corpus(args.measure_resources, 1, args.out)
        results["measures"] = m = measures(settings, corpus, work, args.rounds)
        w(f"$evaluate-measure over {m['resources']} resources ({m['people']} people; loaded "
          f"in {m['load_s']:.0f} s), period 2025-01-01..2026-12-31:")
        for label, f in m["timings"].items():
            w(f"  {label:<70}{1000 * f['best_s']:>8.0f} ms  peak {f['peak_python_mib']:>6.1f} MiB"
              f"  ({f['first_group']} = {f['first_count']})")
        w(f"  max RSS of the process: {m['max_rss_mib']:.0f} MiB")
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    (args.out / "narrative.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
