"""``cm-fhir import`` and ``cm-fhir export``: case files in and out, on the local database
(the same store and settings as ``cm-fhir serve``; the server itself is the writer, as for
the demo data). Registered by ``fhir_service.cli`` (explicit imports at its end)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fhir_service import fhir
from fhir_service.outcomes import FhirError

console = Console(stderr=True)

DatabaseOption = Annotated[str | None, typer.Option(
    "--database", help="SQLAlchemy URL (default: the server's, env CM_FHIR_DATABASE_URL)")]


def _local_service(database: str | None) -> Any:
    """The case-file service on the local store, through the FHIR router (validation,
    transactions, referential integrity as for any client)."""
    from fhir_service.cli import load_settings  # (a wrong setting: a clear error)
    from fhir_service.context import build_context
    from fhir_service.mapping.service import CasefileService
    from fhir_service.national.dui import offer_dui_plans
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    settings = load_settings(database_url=database)
    ctx = build_context(settings)
    router = Router(ctx)
    install_all(router)
    # as $casefile: a DUI's (TDDUI) plans are offered too (docs/national-guides.md)
    return ctx, offer_dui_plans(CasefileService.for_context(ctx, router.dispatch),
                                ctx.registry)


def _outcome_text(exc: FhirError) -> str:
    return json.dumps(exc.outcome(), ensure_ascii=False, indent=2)


def import_command(
    files: Annotated[list[Path], typer.Argument(
        help="case files (.json) or goals sheets (.csv)", exists=True, dir_okay=False)],
    database: DatabaseOption = None,
) -> None:
    """Import case files (JSON) or goals sheets (CSV): each file is one transaction, written
    whole or not at all; re-importing a file changes nothing."""
    # a console of this run (the terminal it runs in decides whether the bar is drawn)
    console = Console(stderr=True)
    with console.status("Loading the FHIR definitions…"):
        ctx, service = _local_service(database)
    totals: dict[str, Counter[str]] = {"created": Counter(), "updated": Counter(),
                                       "unchanged": Counter()}
    rejected: list[tuple[Path, FhirError]] = []
    try:
        # on standard error and erased when done: standard output keeps only the outcomes
        with Progress(TextColumn("Importing"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"),
                      console=console, transient=True) as progress:
            task = progress.add_task("", total=len(files))
            for path in files:
                progress.update(task, description=path.name)
                try:
                    raw = path.read_bytes()
                    results = service.import_csv(raw) if path.suffix.lower() == ".csv" \
                        else [service.import_json(raw)]
                except OSError as exc:
                    rejected.append((path, FhirError("invalid", f"cannot read the file: "
                                                     f"{exc.strerror or exc}")))
                except FhirError as exc:
                    rejected.append((path, exc))
                else:
                    for result in results:
                        for status, counts in result.summary.items():
                            totals[status].update(counts)
                        for warning in result.warnings:
                            console.print(f"[yellow]{path.name}: {warning.diagnostics}[/]")
                progress.advance(task)
    finally:
        ctx.close()
    table = Table(title="Case-file import")
    table.add_column("Resource type")
    for status in totals:
        table.add_column(status, justify="right")
    for rtype in sorted(set().union(*totals.values())):
        table.add_row(rtype, *(str(totals[s][rtype]) for s in totals))
    table.add_row("[bold]total[/]", *(f"[bold]{sum(totals[s].values())}[/]" for s in totals))
    console.print(table)
    console.print(f"{len(files) - len(rejected)} file(s) imported, {len(rejected)} rejected")
    for path, refusal in rejected:
        console.print(f"[red]{path}: rejected, nothing written[/]")
        print(_outcome_text(refusal))
    if rejected:
        raise typer.Exit(1)


def export_command(
    episode: Annotated[str, typer.Option("--episode", help="EpisodeOfCare id")],
    plan: Annotated[str | None, typer.Option(
        "--plan", help="CarePlan id (default: the episode's current plan)")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="file to write (default: standard output)")] = None,
    database: DatabaseOption = None,
) -> None:
    """Export the case file (JSON) of an episode of care."""
    ctx, service = _local_service(database)
    try:
        result = service.export(episode, plan)
    except FhirError as exc:
        console.print(f"[red]{exc.message}[/]")
        print(_outcome_text(exc))
        raise typer.Exit(1) from None
    finally:
        ctx.close()
    for problem in result.problems:
        console.print(f"[yellow]not a valid case file: {problem.path}: {problem.message}[/]")
    for note in result.notes:
        console.print(f"[yellow]incomplete: {note}[/]")
    text = fhir.dumps(result.document, pretty=True).decode() + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Case file of EpisodeOfCare/{episode} written to {output}")
