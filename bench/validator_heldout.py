"""Agreement with the reference (Java) validator on official validator cases we did not tune
on: the R4 cases of the whole fhir-test-cases suite that are not in ``../shared``'s subset.

    python -m bench.validator_heldout --cases <fhir-test-cases>/validator [--show dev]

The cases are split in two by a hash of their name: *dev* (the disagreements may be read,
to find the general rule of the specification that is missing) and *held-out* (only its
figures are printed, never its disagreements: it measures whether a rule generalises).
Cases that need packages we cannot load offline (``packages`` in the manifest) or that
validate a logical model rather than a resource (``logical``) are counted apart. The suite
is not in the repository (Apache-2.0, fetched by whoever measures).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.validator.cases import CASES, Verdict, manifest_cases, run_cases


def split_of(name: str) -> str:
    return "dev" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "held-out"


def select(cases: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(runnable R4 cases not in the shared subset, those that need packages)."""
    seen = {c["name"] for c in manifest_cases(CASES)} if (CASES / "manifest.json").exists() \
        else set()
    chosen, packaged = [], []
    for case in manifest_cases(cases):
        if not str(case.get("version", "")).startswith("4.0") or "java" not in case \
                or case.get("use-test") is False or case["name"] in seen \
                or not case["file"].endswith((".json", ".xml")) \
                or not (isinstance(case["java"], dict)
                        or (cases / "outcomes" / case["java"]).exists()):
            continue  # (no recorded R4 outcome of the reference validator to compare with)
        # cases that need packages, or validate a logical model (CDS Hooks requests…) instead
        # of a FHIR resource, are counted apart: we cannot load the one, do not do the other
        (packaged if case.get("packages") or case.get("logical") else chosen).append(case)
    return chosen, packaged


def run(cases: Path, selected: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Verdict]]:
    out = []
    for case in selected:
        try:
            verdicts = run_cases(cases, [case])
        except Exception as exc:  # noqa: BLE001 (a crash is a disagreement: recorded)
            verdicts = [Verdict(case["name"], case.get("module", ""), "base", True, False,
                                ["(java outcome not read)"], [f"crash: {exc!r}"[:200]])]
        out.extend((case, v) for v in verdicts)
    return out


def figures(rows: list[Verdict]) -> str:
    if not rows:
        return "0 verdicts"
    agree = sum(v.agrees for v in rows)
    false_err = sum(v.our_error and not v.expected_error for v in rows)
    missed = sum(v.expected_error and not v.our_error for v in rows)
    return (f"{agree}/{len(rows)} = {agree / len(rows):.1%} "
            f"(false errors {false_err}, missed errors {missed})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=Path, required=True,
                    help="the validator/ folder of a fhir-test-cases checkout")
    ap.add_argument("--show", choices=["dev", "none"], default="none",
                    help="list the dev split's disagreements (never the held-out split's)")
    args = ap.parse_args(argv)
    chosen, packaged = select(args.cases)
    started = time.perf_counter()
    results = run(args.cases, chosen)
    by_split: dict[str, list[Verdict]] = collections.defaultdict(list)
    for case, verdict in results:
        by_split[split_of(case["name"])].append(verdict)
    print(f"{len(chosen)} R4 cases not in ../shared (and {len(packaged)} more that need "
          f"packages or validate logical models, not run), {len(results)} verdicts, "
          f"{time.perf_counter() - started:.0f} s")
    for split in ("dev", "held-out"):
        print(f"  {split:9} {figures(by_split[split])}")
    print(f"  {'all':9} {figures([v for _, v in results])}")
    modules: dict[str, list[Verdict]] = collections.defaultdict(list)
    for case, verdict in results:
        if split_of(case["name"]) == "dev":
            modules[verdict.module].append(verdict)
    print("dev split by module:")
    for module, rows in sorted(modules.items(), key=lambda kv: -len(kv[1])):
        print(f"  {module or '-':18} {figures(rows)}")
    if args.show == "dev":
        for case, v in results:
            if split_of(case["name"]) == "dev" and not v.agrees:
                print(json.dumps({"case": v.name, "module": v.module, "kind": v.kind,
                                  "java": v.java_messages[:3], "ours": v.our_messages[:3]},
                                 ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
