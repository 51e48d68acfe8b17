"""Agreement with the reference (Java) validator on the official validator test cases; the
report of disagreements is rewritten in tests/validator/validator-cases-report.md."""

from __future__ import annotations

from tests.conftest import require_testdata
from tests.validator.reasons import REASONS

# measured: see the report. The target is 90%; this floor guards against regressions.
FLOOR = 0.74
PROFILE_FLOOR = 0.74


def test_agreement_with_the_reference_validator() -> None:
    require_testdata("fhir-validator-cases")
    from tests.validator.cases import run_cases, summary, write_report

    verdicts = run_cases()
    write_report(verdicts, REASONS)
    s = summary(verdicts)
    print(s)
    assert s["total"] >= 150
    assert s["agreement"] >= FLOOR, s
    assert s["profile_agreement"] >= PROFILE_FLOOR, s
