"""CarePlans validated per second against our CarePlan profile, on one core, with a time
breakdown (walk vs FHIRPath invariants). ``python -m bench.validator_bench``."""

from __future__ import annotations

import cProfile
import json
import pstats
import time
from pathlib import Path

from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import build_registry
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator import fhirpath as fp

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-care-plan"


def main(n: int = 2000) -> None:
    validator = Validator(build_registry(core_package_dir(), [ROOT / "profiles"]))
    careplan = json.loads(
        (ROOT / "profiles/fsh-generated/resources/CarePlan-diego-careplan.json").read_text())
    assert not [i for i in validator.validate(careplan, [PROFILE]) if i.severity == "error"]
    t0 = time.perf_counter()
    for _ in range(n):
        validator.validate(careplan, [PROFILE])
    total = time.perf_counter() - t0
    # breakdown: time spent inside FHIRPath invariant evaluation
    spent = [0.0]
    original = fp.evaluate

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    fp.evaluate = timed  # type: ignore[assignment]
    import fhir_service.conformance.validator.engine as engine

    engine.fhirpath.evaluate = timed  # type: ignore[assignment]
    t0 = time.perf_counter()
    for _ in range(n):
        validator.validate(careplan, [PROFILE])
    total2 = time.perf_counter() - t0
    engine.fhirpath.evaluate = original  # type: ignore[assignment]
    fp.evaluate = original  # type: ignore[assignment]
    print(f"CarePlan against {PROFILE}")
    print(f"  {n / total:,.0f} CarePlans/s ({total / n * 1e6:,.0f} µs each; target 2,000/s)")
    print(f"  FHIRPath invariants (fhirpathpy): {spent[0] / total2:.0%} of the time "
          f"({spent[0] / n * 1e6:,.0f} µs per CarePlan); walk, slicing, bindings, "
          f"references and native rules: {1 - spent[0] / total2:.0%}")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(200):
        validator.validate(careplan, [PROFILE])
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(12)


if __name__ == "__main__":
    main()
