"""``cm-fhir convert FILE --to TARGET [--out FILE] [--base URL] [--episode REF] [--author REF]``:
a resource to or from the French national guides, offline (the same conversions as ``$convert``).

TARGET is a profile's canonical URL or a key: ``cds-careteam`` (ANS Cercle de Soins CareTeam),
``cm-care-team`` (ours), ``tddui-projet-perso`` (a plan with its goals, needs and actions, as a
Bundle, to TDDUI) or ``cm-care-plan`` (a TDDUI plan Bundle — projet personnalisé, objectifs,
besoins, actions, attentes, accords — to ours, with ``--episode`` and ``--author``). The
converted resource is written to ``--out`` (or standard output); what could not be carried
is printed as warnings on standard error. Exit code 1 when the resource cannot be converted
(the reasons on standard error), 2 when the command cannot run (unreadable file, unknown
target).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape


def convert_command(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A FHIR resource (JSON)")],
    to: Annotated[str, typer.Option("--to", metavar="TARGET",
                                    help="Target profile URL, or cds-careteam / cm-care-team")],
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE",
                                             help="Write the result here (default: stdout)")] = None,
    base: Annotated[str, typer.Option("--base", metavar="URL",
                                      help="FHIR base of the resource (makes an identifier "
                                           "from its id when it has none)")] = "",
    episode: Annotated[str | None, typer.Option(
        "--episode", metavar="REF", help="TDDUI plan to ours: its EpisodeOfCare/id")] = None,
    author: Annotated[str | None, typer.Option(
        "--author", metavar="REF", help="TDDUI plan to ours: its author, when it has none")]
        = None,
) -> None:
    """Convert a resource between our profiles and the French national guides."""
    from fhir_service.conformance.package import ensure_core_package
    from fhir_service.conformance.registry import build_registry
    from fhir_service.national import convert
    from fhir_service.settings import Settings

    err = Console(stderr=True, soft_wrap=True)
    try:
        resource = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        err.print(f"[red]Error:[/] {escape(f'{path}: {exc}')}", highlight=False)
        raise typer.Exit(2) from None
    settings = Settings()
    registry = build_registry(ensure_core_package(settings.cache_dir),
                              [*settings.national_packages, *settings.ig_packages])
    try:
        result = convert(resource, to, registry, base, episode=episode, author=author)
    except ValueError as exc:
        err.print(f"[red]Error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    for issue in result.issues:
        where = ", ".join(issue.expression)
        err.print(f"{issue.severity}: {escape(where)}: {escape(issue.diagnostics)}",
                  highlight=False)
    if result.resource is None or not result.ok:
        raise typer.Exit(1)
    text = json.dumps(result.resource, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
