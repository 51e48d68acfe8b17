"""Case-file throughput (prints figures; never a timed assertion).

    .venv/bin/python -m bench.casefile_bench [N]

Imports N distinct case files (the shared examples with renumbered source systems and INS,
so each one creates new resources) into a throwaway SQLite store through the router, then
re-imports them (the idempotent path: nothing written), exports each episode's case file
($casefile's path: gather as the caller, FHIRPath, code tables back) and applies the example
goals sheet to the first of them. Prints case files/s and resources/s, wall-clock and CPU time
(other processes share the machine), and the load average.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fhir_service.context import build_context
from fhir_service.mapping.service import CasefileService
from fhir_service.operations import install_all
from fhir_service.router import Router
from fhir_service.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "mappings" / "examples"


def variants(n: int) -> list[dict[str, Any]]:
    bases = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))]
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(bases[i % len(bases)]))
        doc["source"]["system"] += f"/bench-{i}"
        ins = doc["person"].get("ins")
        if ins:
            ins["nir"] = f"{int(ins['nir'][:13]) + i:013d}{ins['nir'][13:]}"
        out.append(doc)
    return out


def timed(label: str, n: int, what: str, work: Callable[[], int]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    resources = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:28s} {n:4d} {what} in {wall:6.2f} s (CPU {cpu:6.2f} s) → "
          f"{n / wall:6.1f} {what}/s ({n / cpu:6.1f} on CPU time), "
          f"{resources / wall:5.0f} resources/s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Settings(database_url=f"sqlite:///{tmp}/bench.db", demo=False,
                                     auth="off", audit=False, provenance=False))
        router = Router(ctx)
        install_all(router)
        service = CasefileService.for_context(ctx, router.dispatch)
        docs = variants(n)
        episodes: list[str] = []

        def import_all(record: bool) -> int:
            total = 0
            for doc in docs:
                result = service.import_json(doc)
                total += len(result.bundle["entry"])
                if record:
                    episodes.append(next(
                        e["response"]["location"].split("/")[1]
                        for e in result.response["entry"]
                        if e["response"]["location"].startswith("EpisodeOfCare/")))
            return total

        def export_all() -> int:
            return sum(len(service.export(eid).resources) for eid in episodes)

        def sheet() -> int:
            raw = (EXAMPLES / "goals.csv").read_bytes().replace(
                b"https://ids.exemple-ghu-psy.fr/cjaad,",
                b"https://ids.exemple-ghu-psy.fr/cjaad/bench-0,")
            return sum(len(r.bundle["entry"]) for r in service.import_csv(raw))

        timed("first import", n, "case files", lambda: import_all(True))
        timed("re-import (unchanged)", n, "case files", lambda: import_all(False))
        timed("export ($casefile)", n, "case files", export_all)
        timed("goals sheet (3 rows)", 1, "sheets", sheet)
        ctx.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
