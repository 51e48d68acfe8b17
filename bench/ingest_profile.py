"""Validation on write, step by step, and the transaction ingest rate with and without the
R4B model.

1. *Per resource, per step* (in process, no database): the structural check
   (``conformance/structure.py``), the ``fhir.resources`` R4B model
   (``fhir.validate_with_model``) and the profile validator's base pass
   (``operations/validate.py``, lenient as on write), over up to ``--limit`` resources of each
   corpus: the official R4 examples (clinical and administrative types: not the definition
   resources and bundles), the generated case-management corpus (``bench/generate.py``, the
   one ingested below: its resources claim the IG's profiles) and the Synthea bundles'
   resources (``../shared/testdata``, skipped when absent). Each corpus is walked once to
   warm the caches, then ``--rounds`` times with the steps interleaved resource by resource;
   each resource's fastest time per step counts (mean, p50, p95 over the resources).
2. *Transaction ingest through the router in process* (``Router.dispatch``, no HTTP): the
   generated case-management corpus (``bench/generate.py``) on a fresh SQLite database, with
   ``validate_with_model`` off (the default) and on, rounds interleaved.

    python -m bench.ingest_profile [--limit 2000] [--resources 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.generate import ROOT, ensure_corpus, iter_bundles

SHARED = ROOT.parent / "shared" / "testdata"
OUT = ROOT / "var" / "bench"
# definitions and their bundles are not what a regional platform ingests
SKIP_TYPES = {"StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter", "ConceptMap",
              "OperationDefinition", "CapabilityStatement", "ImplementationGuide", "NamingSystem",
              "CompartmentDefinition", "TerminologyCapabilities", "StructureMap", "Bundle"}


def official_examples(core: Path, limit: int) -> list[dict[str, Any]]:
    from fhir_service import fhir

    out = []
    for path in sorted(core.glob("*.json")):
        if path.name == "package.json":
            continue
        data = fhir.loads(path.read_bytes())
        if isinstance(data, dict) and data.get("resourceType") not in SKIP_TYPES | {None}:
            out.append(data)
    return out[:limit]


def synthea_resources(limit: int) -> list[dict[str, Any]]:
    from fhir_service import fhir

    out: list[dict[str, Any]] = []
    folder = SHARED / "synthea-r4"
    for path in sorted(folder.glob("*.json.bz2")):
        bundle = fhir.loads(bz2.decompress(path.read_bytes()))
        out.extend(e["resource"] for e in bundle.get("entry", []) if "resource" in e)
    # every type in proportion: a stride over the whole set rather than its first files
    step = max(1, len(out) // limit) if limit else 1
    return out[::step][:limit]


def generated_resources(corpus: Path, limit: int) -> list[dict[str, Any]]:
    from fhir_service import fhir

    out: list[dict[str, Any]] = []
    for body in iter_bundles(corpus):
        out.extend(e["resource"] for e in fhir.loads(body).get("entry", []) if "resource" in e)
        if len(out) >= limit:
            break
    return out[:limit]


def _stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"mean_ms": 1000 * statistics.fmean(s), "p50_ms": 1000 * s[len(s) // 2],
            "p95_ms": 1000 * s[int(len(s) * 0.95)], "total_s": sum(s)}


def time_steps(ctx: Any, resources: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    from fhir_service import fhir
    from fhir_service.interactions.common import validate_resource
    from fhir_service.operations.validate import make_profile_validator
    from fhir_service.outcomes import FhirError

    base_pass = make_profile_validator(ctx)
    on = dataclasses.replace(ctx, settings=ctx.settings.replace(validate_with_model=True))
    off = dataclasses.replace(ctx, settings=ctx.settings.replace(validate_with_model=False))
    on.profile_validator = off.profile_validator = base_pass

    def write_path(c: Any) -> Callable[[dict[str, Any]], Any]:
        def call(r: dict[str, Any]) -> None:
            with contextlib.suppress(FhirError):
                validate_resource(c, r)
        return call

    steps: dict[str, Callable[[dict[str, Any]], Any]] = {
        "structure": ctx.checker.check_resource,
        "R4B model": fhir.validate_with_model,
        "profile validator (base + claims)": base_pass,
        "validate_resource, model off": write_path(off),
        "validate_resource, model on": write_path(on),
    }
    for fn in steps.values():  # warm-up: definitions compiled, models imported
        for r in resources:
            fn(r)
    # steps interleaved resource by resource, and each resource's fastest of the rounds: a
    # busy machine's spikes fall on one round, not on one step
    best: dict[str, list[float]] = {name: [float("inf")] * len(resources) for name in steps}
    clock = time.perf_counter
    for _ in range(rounds):
        for i, r in enumerate(resources):
            for name, fn in steps.items():
                t0 = clock()
                fn(r)
                t = clock() - t0
                if t < best[name][i]:
                    best[name][i] = t
    return {name: _stats(s) for name, s in best.items()}


def ingest(settings: Any, bundles: list[bytes], model: bool, workdir: Path) -> dict[str, float]:
    from fhir_service.context import build_context
    from fhir_service.request import FhirRequest
    from fhir_service.router import Router

    db = Path(tempfile.mkdtemp(prefix="ingest-", dir=workdir)) / "ingest.db"
    s = settings.replace(database_url=f"sqlite:///{db}", validate_with_model=model)
    ctx = build_context(s)
    router = Router(ctx)
    headers = {"content-type": "application/fhir+json", "accept": "application/fhir+json"}

    def post(body: bytes) -> None:
        resp = router.dispatch(FhirRequest("POST", [], body=body, base_url="http://localhost/fhir",
                                           headers=headers))
        if resp.status != 200:
            raise RuntimeError(f"ingest failed: {resp.status} {resp.body!r:.400}")

    post(bundles[0])  # the shared directory
    for body in bundles[1:3]:  # warm-up
        post(body)
    timed = bundles[3:]
    n = sum(b.count(b'"request":') for b in timed)
    t0, c0 = time.perf_counter(), time.process_time()
    for body in timed:
        post(body)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    ctx.close()
    shutil.rmtree(db.parent, ignore_errors=True)
    # CPU time of this process: less sensitive than wall time to the rest of a busy machine
    return {"resources": n, "seconds": elapsed, "per_s": n / elapsed,
            "cpu_seconds": cpu, "per_cpu_s": n / cpu}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=2000, help="resources per corpus (steps; 0: skip them)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--resources", type=int, default=3000,
                    help="size of the generated corpus for the ingest (0: skip the ingest)")
    ap.add_argument("--ingest-rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    from fhir_service.conformance.package import core_package_dir
    from fhir_service.context import build_context
    from fhir_service.settings import Settings

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-profile-", dir=args.out))
    settings = Settings(database_url=f"sqlite:///{work / 'steps.db'}", demo=False)
    ctx = build_context(settings)
    results: dict[str, Any] = {"loadavg_start": [round(x, 2) for x in os.getloadavg()],
                               "steps": {}, "ingest": {}}
    corpora: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
        ("official R4 examples", lambda: official_examples(core_package_dir(settings.cache_dir),
                                                           args.limit)),
    ]
    if args.resources:
        corpora.append(("generated case-management corpus", lambda: generated_resources(
            ensure_corpus(args.resources, 1, args.out), args.limit)))
    if (SHARED / "synthea-r4").is_dir():
        corpora.append(("Synthea", lambda: synthea_resources(args.limit)))
    else:
        print(f"{SHARED / 'synthea-r4'} is absent: Synthea skipped", file=sys.stderr)
    w = sys.stdout.write
    for label, load in corpora if args.limit else []:
        resources = load()
        figures = time_steps(ctx, resources, args.rounds)
        results["steps"][label] = {"resources": len(resources), **figures}
        w(f"\n{label}: {len(resources)} resources, each one's fastest of {args.rounds} rounds\n")
        w(f"  {'step':34} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8}\n")
        for name, f in figures.items():
            w(f"  {name:34} {f['mean_ms']:8.3f} {f['p50_ms']:8.3f} {f['p95_ms']:8.3f}\n")
    ctx.close()

    if args.resources:
        corpus = ensure_corpus(args.resources, 1, args.out)
        bundles = list(iter_bundles(corpus))
        runs: dict[str, list[dict[str, float]]] = {"model off": [], "model on": []}
        for _ in range(args.ingest_rounds):
            for label, model in (("model off", False), ("model on", True)):
                runs[label].append(ingest(settings, bundles, model, work))
        w(f"\ntransaction ingest through Router.dispatch, generated corpus "
          f"({args.resources} resources, {len(bundles) - 3} timed bundles), "
          f"{args.ingest_rounds} rounds interleaved\n")
        w(f"  {'':10} {'wall: resources/s (rounds)':>40} {'CPU: resources/CPU-s (rounds)':>44}\n")
        for label, rs in runs.items():
            results["ingest"][label] = rs
            cells = []
            for key in ("per_s", "per_cpu_s"):
                rates = sorted(r[key] for r in rs)
                med = statistics.median(rates)
                cells.append(f"{med:6.0f} = {1000 / med:.2f} ms/res "
                             f"({', '.join(f'{x:.0f}' for x in rates)})")
            w(f"  {label:10} {cells[0]:>40} {cells[1]:>44}\n")
    shutil.rmtree(work, ignore_errors=True)
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.out / f"ingest-profile-{stamp}.json"
    path.write_text(json.dumps(results, indent=1))
    w(f"\nload average {results['loadavg_start']} -> {results['loadavg_end']}; {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
