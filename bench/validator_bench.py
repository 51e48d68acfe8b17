"""CarePlans validated per second against our CarePlan profile, on one core, with a time
breakdown by phase and by invariant. ``python -m bench.validator_bench [--fhirpathpy]``.

Two corpora: the IG's example CarePlan (Diego: 3.7 KB, 5 activities) and 1,000 CarePlans of the
benchmark corpus (``bench/generate.py``, seed 1: 3.5 KB, 3–6 activities each). Each rate is the
best of ``--repeat`` passes, as wall-clock time and as the process's CPU time (the machine is
shared: CPU time is what one core gives when others compete for it). The structural check
remembers short primitive values it found valid; "cold" passes start with an empty memory,
"no reuse" empties it before every validation (the worst case), "warm" never does.

The breakdown comes from cProfile (its own overhead inflates small functions, so read it as
proportions): each function's own time is assigned to a phase, and the invariants' time is
split by key with a timer around each evaluation.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import build_registry
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator import fhirpath as fp

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-care-plan"

# function name (or module) -> phase; the first match wins
PHASES: list[tuple[str, Callable[[str, str], bool]]] = [
    ("invariants (compiled)", lambda f, n: f.endswith("validator/native.py")),
    ("invariants (fhirpathpy)", lambda f, n: "fhirpathpy" in f),
    ("invariants (dispatch)", lambda f, n: f.endswith("validator/fhirpath.py")),
    ("bindings / terminology", lambda f, n: f.endswith("terminology.py") or n in (
        "_binding", "_coding", "_in_valueset", "check_code", "expand", "contains")),
    ("slicing", lambda f, n: n in ("_sliced", "_matches", "_disc_expected", "_disc_node",
                                   "_walk", "_contains", "_conforms", "_conforms_profile",
                                   "_child")),
    ("cardinality", lambda f, n: n == "cardinality_failures"),
    ("types / primitives", lambda f, n: f.endswith(("structure.py", "xhtml.py")) or n in (
        "_before", "_date_parts", "_min_max", "_value_range", "fullmatch", "match")),
    ("references", lambda f, n: n in ("_reference", "_profile_type", "_ref_type")),
    ("extensions", lambda f, n: n in ("_contexts", "check_context", "_extension_model",
                                      "_extension_rules", "_element_extensions")),
    ("structure walk", lambda f, n: f.endswith("validator/engine.py") or n in (
        "<built-in method builtins.isinstance>", "<method 'get' of 'dict' objects>",
        "<method 'items' of 'dict' objects>")),
]


def careplans(n: int = 200) -> list[dict[str, Any]]:
    from bench.generate import make_directory, person

    rng = random.Random(1)
    directory = make_directory(rng, 20, 10)
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < n:
        out += [e["resource"] for e in person(rng, directory, i)
                if e["resource"]["resourceType"] == "CarePlan"]
        i += 1
    return out


def rate(validator: Validator, corpus: list[dict[str, Any]], rounds: int,
         repeat: int, forget_each: bool = False) -> tuple[float, float]:
    """Best (wall, CPU) CarePlans per second over ``repeat`` passes. The memory of valid
    primitive values is emptied before each pass (so a pass only reuses what recurs across
    the corpus), or before each validation with ``forget_each`` (no reuse at all)."""
    best_wall = best_cpu = 0.0
    valid = getattr(validator.checker, "_valid", set())  # (absent before the memory)
    for _ in range(repeat):
        valid.clear()
        w, c = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            for resource in corpus:
                if forget_each:
                    valid.clear()
                validator.validate(resource, [PROFILE])
        w, c = time.perf_counter() - w, time.process_time() - c
        count = rounds * len(corpus)
        best_wall, best_cpu = max(best_wall, count / w), max(best_cpu, count / max(c, 1e-9))
    return best_wall, best_cpu


def bare_walk_rate(validator: Validator, corpus: list[dict[str, Any]], repeat: int) -> float:
    """The floor of a snapshot-driven walk in Python: each key looked up in the compiled
    element tree and each object visited, nothing checked (best CPU rate of ``repeat``)."""
    model = validator.model(PROFILE)
    assert model is not None

    def walk(obj: dict[str, Any], node: Any) -> None:
        keys = node.choice_keys
        for key, value in obj.items():
            found = keys.get(key[1:] if key[:1] == "_" else key)
            if found is None:
                continue
            child, ctype = found
            for item in value if isinstance(value, list) else (value,):
                if isinstance(item, dict):
                    target = validator._children_of(child, ctype)
                    if target is not None:
                        walk(item, target[0])

    best = 0.0
    for _ in range(repeat):
        c = time.process_time()
        for resource in corpus:
            walk(resource, model.root)
        best = max(best, len(corpus) / max(time.process_time() - c, 1e-9))
    return best


def breakdown(validator: Validator, corpus: list[dict[str, Any]]) -> list[tuple[str, float]]:
    prof = cProfile.Profile()
    prof.enable()
    for resource in corpus:
        validator.validate(resource, [PROFILE])
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    phases: dict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, tottime, _, _) in stats.items():
        phase = next((p for p, match in PHASES if match(filename, name)), "other (Python)")
        phases[phase] += tottime
    total = sum(phases.values())
    return sorted(((p, t / total) for p, t in phases.items()), key=lambda x: -x[1])


def by_invariant(validator: Validator, corpus: list[dict[str, Any]]
                 ) -> list[tuple[str, int, float, str]]:
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    how: dict[str, str] = {}
    original = fp.evaluate

    def timed(inv: fp.Invariant, *args: Any) -> bool | None:
        t = time.perf_counter()
        try:
            return original(inv, *args)
        finally:
            s = spent[inv.key]
            s[0] += 1
            s[1] += time.perf_counter() - t
            if inv.key not in how:
                native = fp.USE_NATIVE and hasattr(fp, "evaluate_native") and (
                    fp.evaluate_native(inv, *args) is not fp.NOT_NATIVE)
                how[inv.key] = "compiled" if native else "fhirpathpy"

    fp.evaluate = timed  # type: ignore[assignment]
    try:
        for resource in corpus:
            validator.validate(resource, [PROFILE])
    finally:
        fp.evaluate = original  # type: ignore[assignment]
    n = len(corpus)
    return sorted(((k, round(c / n), t / n, how[k]) for k, (c, t) in spent.items()),
                  key=lambda x: -x[2])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fhirpathpy", action="store_true",
                        help="evaluate every invariant with fhirpathpy (the 'before' figure)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profiles", type=Path, default=ROOT / "profiles",
                        help="the IG folder (SUSHI project with fsh-generated/)")
    args = parser.parse_args(argv)
    fp.USE_NATIVE = not args.fhirpathpy
    validator = Validator(build_registry(core_package_dir(), [args.profiles]))
    diego = json.loads((args.profiles / "fsh-generated/resources/CarePlan-diego-careplan.json")
                       .read_text())
    generated = careplans(1000)
    for resource in [diego, *generated]:
        errors = [i for i in validator.validate(resource, [PROFILE]) if i.severity == "error"]
        assert not errors, errors  # a valid corpus: the figures are for the common case
    print(f"CarePlans against {PROFILE}")
    compiled = fp.USE_NATIVE and hasattr(fp, "evaluate_native")
    print(f"invariants: {'compiled, fhirpathpy for the rest' if compiled else 'fhirpathpy'}")
    for label, corpus, rounds, forget in (
        ("IG example, no reuse", [diego], 400, True),
        ("IG example, warm", [diego], 400, False),
        ("1,000 generated, cold", generated, 1, False),
    ):
        wall, cpu = rate(validator, corpus, rounds, args.repeat, forget)
        print(f"  {label:22} {wall:7,.0f} CarePlans/s wall ({1e6 / wall:5,.0f} µs), "
              f"{cpu:7,.0f} /s CPU time ({1e6 / cpu:5,.0f} µs); target 2,000/s")
    floor = bare_walk_rate(validator, generated, args.repeat)
    print(f"  {'bare walk, no checks':22} {floor:7,.0f} CarePlans/s CPU time ({1e6 / floor:5,.0f} µs)"
          ": the ceiling of a Python walk over the snapshot")
    print("time breakdown (cProfile own time, 1,000 generated, cold):")
    getattr(validator.checker, "_valid", set()).clear()
    for phase, share in breakdown(validator, generated):
        print(f"  {phase:26} {share:6.1%}")
    print("invariants per CarePlan (1,000 generated; timer overhead included):")
    for key, count, seconds, how in by_invariant(validator, generated):
        print(f"  {key:10} {count:3} evaluations {seconds * 1e6:7.1f} µs  ({how})")


if __name__ == "__main__":
    main()
