"""``cm-fhir indicators``: the guide's indicators from a running server, as CSV.

It asks the server's ``$evaluate-measure`` (with the caller's token, so the figures are
those the token's structure may see) and writes one CSV row per population of each group and
of each stratum (docs/indicators.md).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

MEASURES = ("cm-caseload", "cm-referral-delay", "cm-goals-by-domain", "cm-ruptures",
            "cm-hospitalisations", "cm-episode-outcomes")
COLUMNS = ("measure", "period_start", "period_end", "subject", "group", "stratifier",
           "stratum", "population", "count", "score", "score_unit")

console = Console(stderr=True)


def _code(concept: Any) -> str:
    if isinstance(concept, list):
        concept = concept[0] if concept else {}
    if not isinstance(concept, dict):
        return ""
    codings = concept.get("coding") or []
    if codings and isinstance(codings[0], dict) and codings[0].get("code"):
        return str(codings[0]["code"])
    return str(concept.get("text") or "")


def report_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The rows of a MeasureReport: one per population, of each group and each stratum."""
    measure = str(report.get("measure", "")).split("|")[0].rsplit("/", 1)[-1]
    period = report.get("period") or {}
    subject = (report.get("subject") or {}).get("reference", "")
    for ext in report.get("extension") or []:
        if str(ext.get("url", "")).endswith("/cm-report-structure"):
            subject = (ext.get("valueReference") or {}).get("reference", "")
    base = {"measure": measure, "period_start": period.get("start", ""),
            "period_end": period.get("end", ""), "subject": subject}
    rows: list[dict[str, str]] = []

    def emit(group: str, stratifier: str, stratum: str, part: dict[str, Any]) -> None:
        score = part.get("measureScore") or {}
        for pop in part.get("population") or []:
            rows.append({**base, "group": group, "stratifier": stratifier, "stratum": stratum,
                         "population": _code(pop.get("code")), "count": str(pop.get("count", "")),
                         "score": str(score.get("value", "")),
                         "score_unit": str(score.get("code", "")) if score else ""})

    for group in report.get("group") or []:
        code = _code(group.get("code"))
        emit(code, "", "", group)
        for strat in group.get("stratifier") or []:
            for stratum in strat.get("stratum") or []:
                emit(code, _code(strat.get("code")), _code(stratum.get("value")), stratum)
    return rows


def indicators_command(
    period_start: Annotated[str, typer.Option("--from", help="periodStart (YYYY-MM-DD)")],
    period_end: Annotated[str, typer.Option("--to", help="periodEnd (YYYY-MM-DD)")],
    measure: Annotated[list[str] | None, typer.Option(
        help="Measure id (repeatable; default: the guide's four)")] = None,
    subject: Annotated[str | None, typer.Option(
        help="Practitioner/[id] (a case manager) or Organization/[id] (a structure or "
             "territory)")] = None,
    contact_gap_days: Annotated[int | None, typer.Option(
        help="cm-ruptures: days without contact counted as a rupture")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="CSV file (default: stdout)")] = None,
    url: Annotated[str, typer.Option(help="FHIR base URL")] = "http://127.0.0.1:8080/fhir",
    token: Annotated[str | None, typer.Option(help="Bearer token")] = None,
) -> None:
    """Evaluate the indicators on a running server and write them as CSV."""
    import requests

    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    params: dict[str, str] = {"periodStart": period_start, "periodEnd": period_end}
    if subject:
        params["subject"] = subject
    rows: list[dict[str, str]] = []
    for mid in measure or MEASURES:
        query = dict(params)
        if contact_gap_days is not None and mid == "cm-ruptures":
            query["contactGapDays"] = str(contact_gap_days)
        try:
            resp = requests.get(f"{url.rstrip('/')}/Measure/{mid}/$evaluate-measure",
                                params=query, headers=headers, timeout=600)
        except requests.RequestException as exc:
            console.print(f"[red]Error:[/] cannot reach {escape(url)} "
                          f"({type(exc).__name__}): is the server running?")
            raise typer.Exit(2) from None
        if resp.status_code != 200:
            console.print(f"[red]{escape(mid)}: {resp.status_code}[/] {escape(resp.text[:500])}")
            raise typer.Exit(1)
        rows += report_rows(resp.json())
    out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if output:
            out.close()
