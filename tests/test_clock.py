"""The service clock: unique, increasing instants for resource versions; audit events use the
plain wall clock so that a burst of audited reads cannot push version times ahead."""

from __future__ import annotations

from fhir_service.context import Clock


def test_versions_get_unique_increasing_instants_even_within_one_millisecond() -> None:
    clock = Clock(lambda: 1_767_225_600.0004)
    stamps = [clock() for _ in range(5)]
    assert stamps == sorted(set(stamps)) and len(stamps) == 5
    assert round(stamps[-1] - stamps[0], 6) == 0.004


def test_the_wall_clock_does_not_run_ahead_under_a_burst() -> None:
    now = [1_767_225_600.0]
    clock = Clock(lambda: now[0])
    for _ in range(3000):  # 3,000 audit events within one real second
        assert clock.wall() == 1_767_225_600.0
    assert clock() == 1_767_225_600.0  # the audit burst left the version clock on time
