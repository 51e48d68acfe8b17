"""Bulk Data $export of the generated corpus: time and peak memory (printed, never asserted).

    .venv/bin/python -m bench.export --resources 100000          # loads once, then exports
    .venv/bin/python -m bench.export --resources 100000 --reuse  # reuse the loaded database

The corpus comes from ``bench/generate.py``; it is loaded in process (transaction bundles
through the router, as the server itself: no audit, no Provenance) into
``var/bench/export-<N>.sqlite``. Then three exports, each a kick-off, the job's thread and
the manifest, as a real client would see them (in process, no HTTP):

1. system level as the server itself (every resource), timed;
2. the same again with ``tracemalloc`` on, for the peak of Python allocations during the
   export (the export reads pages of 1,000 resources and writes them out: this peak should
   not grow with the corpus), beside the process's resident set size before and after;
3. system level as one structure of the corpus (its door: what it may see), timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.generate import DEFAULT_OUT, ensure_corpus


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build(db: Path, export_dir: Path) -> Any:
    from fhir_service.context import build_context
    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from fhir_service.settings import Settings

    settings = Settings(database_url=f"sqlite:///{db}", audit=False, provenance=False,
                        demo=False, export_dir=str(export_dir),
                        export_file_max_resources=1_000_000)
    router = Router(build_context(settings))
    install_all(router)
    return router


def load(router: Any, corpus: Path) -> float:
    from fhir_service.request import FhirRequest

    started = time.perf_counter()
    bundles = [(corpus / "shared.json").read_bytes()]
    with open(corpus / "bundles.ndjson", "rb") as f:
        lines = [line for line in f if line.strip()]
    for done, body in enumerate(bundles + lines, start=1):
        req = FhirRequest("POST", [], headers={"content-type": "application/fhir+json"},
                          body=body, base_url="http://bench/fhir")
        resp = router.dispatch(req)
        assert resp.status == 200, resp.body
        if done % 50 == 0:
            print(f"  loaded {done}/{len(lines) + 1} bundles "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def export(router: Any, who: Any, path: str = "$export") -> dict[str, Any]:
    from fhir_service.operations.export import exports_of
    from fhir_service.request import FhirRequest

    exports = exports_of(router.ctx)
    started = time.perf_counter()
    resp = router.dispatch(FhirRequest("GET", [path], headers={"prefer": "respond-async"},
                                       base_url="http://bench/fhir", principal=who))
    assert resp.status == 202, resp.body
    job = resp.headers["Content-Location"].rsplit("/", 1)[1]
    assert exports.wait(job, 3600)
    seconds = time.perf_counter() - started
    status = router.dispatch(FhirRequest("GET", ["$export", "status", job],
                                         base_url="http://bench/fhir", principal=who))
    assert status.status == 200, status.body
    manifest = json.loads(status.body)
    folder = exports.store.folder(job)
    size = sum(p.stat().st_size for p in folder.glob("*.ndjson"))
    count = sum(item["count"] for item in manifest["output"])
    exports.store.remove(job)
    return {"seconds": round(seconds, 2), "resources": count, "files": len(manifest["output"]),
            "mb": round(size / 1e6, 1),
            "resources_per_s": round(count / seconds) if seconds else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--reuse", action="store_true", help="reuse the loaded database")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    corpus = ensure_corpus(args.resources, out=args.out)
    db = args.out / f"export-{args.resources}.sqlite"
    if not args.reuse:
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            p.unlink(missing_ok=True)
    elif not db.exists():
        raise SystemExit(f"--reuse: {db} does not exist; run once without it")
    router = build(db, args.out / f"export-{args.resources}-files")
    results: dict[str, Any] = {"corpus": str(corpus), "cores": os.cpu_count(),
                               "loadavg_start": [round(x, 1) for x in os.getloadavg()]}
    if not args.reuse:
        results["load_s"] = round(load(router, corpus), 1)
    manifest = json.loads((corpus / "manifest.json").read_text())
    results["corpus_resources"] = manifest["resources"]

    results["system_as_server"] = export(router, None)
    before = rss_mb()
    tracemalloc.start()
    traced = export(router, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    traced["tracemalloc_peak_mb"] = round(peak / 1e6, 1)
    traced["rss_before_mb"] = round(before, 1)
    traced["rss_after_mb"] = round(rss_mb(), 1)
    traced["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["system_as_server_traced"] = traced

    from fhir_service.security.principal import Principal, Scopes

    with router.ctx.door(None).read_session() as session:
        org = session.raw.conn.exec_driver_sql(
            "SELECT org_id, COUNT(DISTINCT patient_id) AS n FROM access_grants "
            "GROUP BY org_id ORDER BY n DESC LIMIT 1").first()
    if org is not None:
        who = Principal("bench", structure=org[0], scopes=Scopes.parse("system/*.rs"))
        results["system_as_structure"] = {"people_it_sees": org[1], **export(router, who)}
    router.close()
    router.ctx.close()
    results["loadavg_end"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
