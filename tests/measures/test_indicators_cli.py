"""``cm-fhir indicators``: the CSV of a running server's indicators (a real uvicorn server on
127.0.0.1), its figures checked against the definitions recomputed from the data."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from fhir_service.cli import app
from tests.measures.conftest import indicators_csv, serving
from tests.measures.test_measures import (
    GAP,
    P_END,
    P_START,
    expected,
    generate,
    resources,
    seen_people,
)


def test_indicators_as_csv(make_context: Any, tmp_path: Any) -> None:
    world = generate(seed=7, people=25)
    with serving(make_context, resources(world)) as url:
        rows = indicators_csv(url, tmp_path / "indicators.csv", "--from", P_START.isoformat(),
                              "--to", P_END.isoformat(), "--contact-gap-days", str(GAP))
        want = expected(world, seen_people(world, None))

        def total(measure: str, group: str, population: str = "initial-population") -> int:
            (row,) = [r for r in rows if r["measure"] == measure and r["group"] == group
                      and r["stratifier"] == "" and r["population"] == population]
            return int(row["count"])

        assert total("cm-caseload", "caseload") == want["caseload"]
        assert total("cm-referral-delay", "delay-median") == want["delay_n"]
        assert total("cm-goals-by-domain", "goals-achieved") == \
            sum(want["goals"]["achieved"].values())
        assert total("cm-ruptures", "interruption") == want["interruptions"]
        assert total("cm-ruptures", "contact-gap") == want["contact_gap"]
        by_manager = {r["stratum"]: int(r["count"]) for r in rows
                      if r["measure"] == "cm-caseload" and r["stratifier"] == "case-manager"}
        assert by_manager == {f"Practitioner/{m}" if m else "aucun": n
                              for m, n in want["caseload_by_manager"].items()}
        if want["median"] is not None:
            (median,) = [r for r in rows if r["group"] == "delay-median" and not r["stratifier"]
                         and r["population"] == "initial-population"]
            assert float(median["score"]) == want["median"] and median["score_unit"] == "d"

        bad = CliRunner().invoke(app, ["indicators", "--from", "2026-07-01", "--to",
                                       "2026-06-30", "--url", url])
        assert bad.exit_code == 1 and "400" in bad.output
    unreachable = CliRunner().invoke(app, ["indicators", "--from", "2026-01-01", "--to",
                                           "2026-06-30", "--url", url])
    assert unreachable.exit_code == 2 and "cannot reach" in unreachable.output
