"""Agreement with the reference (Java) validator on the official validator test cases; the
report of disagreements must equal the committed tests/validator/validator-cases-report.md
(the test fails with the diff; `make update-goldens` rewrites it)."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import require_testdata
from tests.validator.reasons import REASONS

# measured: see the report (148/158 overall, 45/51 on profile cases, 0 false errors). The
# issue's target is 90%; these floors guard against regressions.
FLOOR = 0.93
PROFILE_FLOOR = 0.88


def test_agreement_with_the_reference_validator(golden: Callable[..., None]) -> None:
    require_testdata("fhir-validator-cases")
    from tests.validator.cases import REPORT, render_report, run_cases, summary

    verdicts = run_cases()
    s = summary(verdicts)
    print(s)
    assert s["total"] >= 150
    assert s["agreement"] >= FLOOR, s
    assert s["profile_agreement"] >= PROFILE_FLOOR, s
    assert s["false_errors"] == 0, s
    # every disagreement is explained, and no explanation outlives its disagreement
    wrong = {(v.name, f"{v.name}/{v.kind}") for v in verdicts if not v.agrees}
    unexplained = [k for n, k in wrong if n not in REASONS and k not in REASONS]
    assert not unexplained, unexplained
    keys = {n for n, _ in wrong} | {k for _, k in wrong}
    stale = [k for k in REASONS if k not in keys]
    assert not stale, stale
    golden(REPORT, render_report(verdicts, REASONS))
