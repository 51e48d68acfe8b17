"""Import throughput of the case-file maps (prints figures; never a timed assertion).

    .venv/bin/python mappings/bench_import.py [N]

Imports N distinct case files (the shared examples with renumbered local ids, so each one
creates new resources) into a throwaway SQLite store through the router, then re-imports
them (the idempotent path: nothing written), and prints case files/s and resources/s.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from fhir_service.context import build_context
from fhir_service.mapping.service import CasefileService
from fhir_service.operations import install_all
from fhir_service.router import Router
from fhir_service.settings import Settings

EXAMPLES = Path(__file__).resolve().parent / "examples"


def variants(n: int) -> list[dict]:
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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp:
        ctx = build_context(Settings(database_url=f"sqlite:///{tmp}/bench.db", demo=False))
        router = Router(ctx)
        install_all(router)
        service = CasefileService.for_context(ctx, router.dispatch)
        docs = variants(n)
        for label in ("first import", "re-import (unchanged)"):
            resources = 0
            started = time.perf_counter()
            for doc in docs:
                result = service.import_json(doc)
                resources += len(result.bundle["entry"])
            elapsed = time.perf_counter() - started
            print(f"{label}: {n} case files, {resources} resources in {elapsed:.2f} s → "
                  f"{n / elapsed:.1f} case files/s, {resources / elapsed:.0f} resources/s")
        ctx.close()


if __name__ == "__main__":
    main()
