"""Case-management indicators as FHIR Measures, evaluated into MeasureReports
(https://hl7.org/fhir/R4/measure.html, https://hl7.org/fhir/R4/measurereport.html,
https://hl7.org/fhir/R4/measure-operation-evaluate-measure.html). See docs/indicators.md.

The Measures are the guide's (``profiles/input/fsh/measures.fsh``); each is computed by a
function of this package from the SQL of :mod:`fhir_service.measures.sql`, through the
caller's door: only what the caller may see counts. Reports are ``summary`` reports (no
individual data), with a subject when one was asked (a case manager, a structure or a
territory) and the caller's structure as ``reporter``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from fhir_service.measures.sql import (
    EPISODE_OUTCOME,
    LIFE_DOMAIN,
    RUPTURE_KIND,
    Queries,
    Scope,
)

IG = "https://interop.cm-sante-mentale.fr/fhir/"
INDICATOR = IG + "CodeSystem/cm-indicator"
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
DAY = 86400.0
NONE_TEXT = "aucun"
REPORT_STRUCTURE = IG + "StructureDefinition/cm-report-structure"
# the code system of a coded stratifier's values
STRATUM_SYSTEMS = {"life-domain": LIFE_DOMAIN, "rupture-kind": RUPTURE_KIND,
                   "outcome": EPISODE_OUTCOME}


def load_measures(ig_paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    """The guide's Measures (compiled JSON under ``fsh-generated/resources``)."""
    out = []
    for path in ig_paths:
        folder = Path(path) / "fsh-generated" / "resources"
        for file in sorted(folder.glob("Measure-*.json")) if folder.is_dir() else ():
            data = json.loads(file.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("resourceType") == "Measure":
                out.append(data)
    return out


# --- pieces of a report ---------------------------------------------------------------------


def concept(code: str, system: str = INDICATOR) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def population(code: str, count: int) -> dict[str, Any]:
    return {"code": concept(code, POPULATION), "count": count}


def days(value: float) -> dict[str, Any]:
    return {"value": Decimal(str(round(value, 1))), "unit": "j", "system": "http://unitsofmeasure.org",
            "code": "d"}


def stratum_value(kind: str, key: str | None) -> dict[str, Any]:
    if key is None:
        return {"text": NONE_TEXT}
    if kind == "case-manager":
        return {"text": f"Practitioner/{key}"}
    if kind == "structure":
        return {"text": f"Organization/{key}"}
    return concept(key, STRATUM_SYSTEMS[kind])


def stratifier(kind: str, counts: dict[str | None, int]) -> dict[str, Any]:
    """A stratifier of a cohort group: one stratum per value, with its count."""
    keys = sorted(counts, key=lambda k: (k is None, k or ""))
    return with_strata(kind, [
        {"value": stratum_value(kind, k), "population": [population("initial-population",
                                                                    counts[k])]}
        for k in keys])


def with_strata(kind: str, strata: list[dict[str, Any]]) -> dict[str, Any]:
    """A stratifier (no ``stratum`` when nothing was counted: FHIR arrays are never empty)."""
    out: dict[str, Any] = {"code": [concept(kind)]}
    if strata:
        out["stratum"] = strata
    return out


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def p90(values: list[float]) -> float:
    """90th percentile by nearest rank: the ⌈0.9 n⌉-th smallest value."""
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(0.9 * len(ordered))) - 1])


def utc_day(instant: float) -> int:
    return math.floor(instant / DAY)


# --- the indicators -------------------------------------------------------------------------


class Period:
    """``[start, end)`` in epoch seconds, from periodStart and periodEnd (inclusive days)."""

    def __init__(self, start: str, end: str, low: float, high: float) -> None:
        self.start_text, self.end_text = start, end
        self.start, self.end = low, high

    @property
    def last_day(self) -> int:
        return utc_day(self.end - 1)


def split(pairs: dict[tuple[str | None, str | None], int], index: int
          ) -> dict[str | None, int]:
    """Counts by (case manager, structure) summed by one of the two."""
    out: dict[str | None, int] = defaultdict(int)
    for key, n in pairs.items():
        out[key[index]] += n
    return dict(out)


def caseload(q: Queries, scope: Scope, period: Period, _: dict[str, Any]
             ) -> list[dict[str, Any]]:
    pairs = q.caseload(scope, period.end)
    return [{"code": concept("caseload"),
             "population": [population("initial-population", sum(pairs.values()))],
             "stratifier": [stratifier("case-manager", split(pairs, 0)),
                            stratifier("structure", split(pairs, 1))]}]


def referral_delay(q: Queries, scope: Scope, period: Period, _: dict[str, Any]
                   ) -> list[dict[str, Any]]:
    rows = q.referral_delays(scope, period.start, period.end)
    delays = [(utc_day(start) - utc_day(referred), cm, org) for start, referred, cm, org in rows]
    groups = []
    for code, score in (("delay-median", median), ("delay-p90", p90)):
        def part(items: list[tuple[int, str | None, str | None]],
                 score: Callable[[list[float]], float] = score) -> dict[str, Any]:
            kept = [float(d) for d, _, _ in items if d >= 0]
            out: dict[str, Any] = {"population": [
                population("initial-population", len(items)),
                population("measure-population", len(kept)),
                population("measure-population-exclusion", len(items) - len(kept)),
                population("measure-observation", len(kept))]}
            if kept:
                out["measureScore"] = days(score(kept))
            return out

        strata = []
        for kind, index in (("case-manager", 1), ("structure", 2)):
            by: dict[str | None, list[tuple[int, str | None, str | None]]] = defaultdict(list)
            for item in delays:
                by[item[index]].append(item)  # type: ignore[index]
            keys = sorted(by, key=lambda k: (k is None, k or ""))
            strata.append(with_strata(kind, [
                {"value": stratum_value(kind, k), **part(by[k])} for k in keys]))
        groups.append({"code": concept(code), **part(delays), "stratifier": strata})
    return groups


def goals_by_domain(q: Queries, scope: Scope, period: Period, _: dict[str, Any]
                    ) -> list[dict[str, Any]]:
    counts = q.goals(scope, period.start, period.end)
    return [{"code": concept(group),
             "population": [population("initial-population", sum(counts[group].values()))],
             "stratifier": [stratifier("life-domain", counts[group])]}
            for group in ("goals-achieved", "goals-not-achieved", "goals-ongoing")]


def ruptures(q: Queries, scope: Scope, period: Period, params: dict[str, Any]
             ) -> list[dict[str, Any]]:
    held = q.interruptions(scope, period.start, period.end)
    gap_days = int(params["contactGapDays"])
    latest: dict[str, float] = {}
    managers: dict[str, set[str | None]] = defaultdict(set)
    for person, started, last, cm in q.last_contacts(scope, period.end):
        seen = max(started, last) if last is not None else started
        latest[person] = max(latest.get(person, seen), seen)
        managers[person].add(cm)
    lost = [p for p, seen in latest.items() if period.last_day - utc_day(seen) > gap_days]
    by_cm: dict[str | None, int] = defaultdict(int)
    for person in lost:
        for cm in managers[person]:
            by_cm[cm] += 1
    events = q.ruptures(scope, period.start, period.end)
    return [
        {"code": concept("interruption"),
         "population": [population("initial-population", sum(held.values()))],
         "stratifier": [stratifier("case-manager", split(held, 0))]},
        {"code": concept("contact-gap"),
         "population": [population("initial-population", len(lost))],
         "stratifier": [stratifier("case-manager", dict(by_cm))]},
        {"code": concept("rupture-event"),
         "population": [population("initial-population", len({r[0] for r in events}))],
         "stratifier": [stratifier("rupture-kind", distinct_by(events, 3)),
                        stratifier("case-manager", distinct_by(events, 2))]},
    ]


def distinct_by(rows: list[tuple[int, str, str | None, str | None]], index: int
                ) -> dict[str | None, int]:
    """Distinct events (the rows' first column) by the value of column ``index``: an event
    during two episodes, or with two codes, counts once in each of their strata."""
    out: dict[str | None, set[int]] = defaultdict(set)
    for row in rows:
        out[cast("str | None", row[index])].add(row[0])
    return {k: len(v) for k, v in out.items()}


def episode_outcomes(q: Queries, scope: Scope, period: Period, _: dict[str, Any]
                     ) -> list[dict[str, Any]]:
    pairs, by_outcome = q.episode_outcomes(scope, period.start, period.end)
    return [{"code": concept("episodes-ended"),
             "population": [population("initial-population", sum(pairs.values()))],
             "stratifier": [stratifier("outcome", by_outcome),
                            stratifier("case-manager", split(pairs, 0))]}]


def hospitalisations(q: Queries, scope: Scope, period: Period, _: dict[str, Any]
                     ) -> list[dict[str, Any]]:
    rows = q.hospital_stays(scope, period.start, period.end)
    people_by: dict[str | None, set[str]] = defaultdict(set)
    for _stay, person, cm in rows:
        people_by[cm].add(person)
    return [
        {"code": concept("hospital-stays"),
         "population": [population("initial-population", len({r[0] for r in rows}))],
         "stratifier": [stratifier("case-manager",
                                   distinct_by([(stay, person, cm, None)
                                                for stay, person, cm in rows], 2))]},
        {"code": concept("hospitalised-people"),
         "population": [population("initial-population", len({r[1] for r in rows}))],
         "stratifier": [stratifier("case-manager",
                                   {k: len(v) for k, v in people_by.items()})]},
    ]


INDICATORS: dict[str, Callable[[Queries, Scope, Period, dict[str, Any]],
                               list[dict[str, Any]]]] = {
    IG + "Measure/cm-caseload": caseload,
    IG + "Measure/cm-referral-delay": referral_delay,
    IG + "Measure/cm-goals-by-domain": goals_by_domain,
    IG + "Measure/cm-ruptures": ruptures,
    IG + "Measure/cm-hospitalisations": hospitalisations,
    IG + "Measure/cm-episode-outcomes": episode_outcomes,
}
# the types each indicator reads (the caller's token must allow searching them)
READS: dict[str, tuple[str, ...]] = {
    IG + "Measure/cm-caseload": ("EpisodeOfCare",),
    IG + "Measure/cm-referral-delay": ("EpisodeOfCare", "ServiceRequest"),
    IG + "Measure/cm-goals-by-domain": ("Goal", "EpisodeOfCare"),
    IG + "Measure/cm-ruptures": ("EpisodeOfCare", "Encounter", "Observation"),
    IG + "Measure/cm-hospitalisations": ("EpisodeOfCare", "Encounter"),
    IG + "Measure/cm-episode-outcomes": ("EpisodeOfCare",),
}


def evaluate(session: Any, measure: dict[str, Any], period: Period, scope: Scope,
             subject: str | None, reporter: str | None, params: dict[str, Any],
             now: str) -> dict[str, Any]:
    """The summary MeasureReport of ``measure`` over what ``session``'s caller sees."""
    compute = INDICATORS[measure["url"]]
    report: dict[str, Any] = {
        "resourceType": "MeasureReport", "status": "complete", "type": "summary",
        "measure": measure["url"] + (f"|{measure['version']}" if measure.get("version") else ""),
    }
    if subject and subject.startswith("Organization/"):  # (R4: subject is no Organization)
        report["extension"] = [{"url": REPORT_STRUCTURE, "valueReference": {"reference": subject}}]
    elif subject:
        report["subject"] = {"reference": subject}
    report["date"] = now
    if reporter:
        report["reporter"] = {"reference": f"Organization/{reporter}"}
    report["period"] = {"start": period.start_text, "end": period.end_text}
    if measure.get("improvementNotation"):
        report["improvementNotation"] = measure["improvementNotation"]
    report["group"] = compute(Queries(session), scope, period, params)
    return report
