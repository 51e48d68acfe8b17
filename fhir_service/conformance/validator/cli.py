"""``cm-fhir validate FILE|DIR… [--profile URL] [--ig PATH-or-TGZ] [--format text|json]``.

For partners' CI: validates every ``*.json`` and ``*.xml`` given (folders recursively)
against base R4, the profiles each resource claims, the ``--profile`` ones, with our IG
(``profiles/``) and any ``--ig`` package loaded. Exit code 1 when any file has an error or a fatal issue.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fhir_service import fhir
from fhir_service.conformance.validator.positions import (
    json_positions,
    locate,
    outcome_with_positions,
)
from fhir_service.conformance.validator.xmlformat import XmlReader
from fhir_service.outcomes import FhirError, Issue


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.is_file()
                              and x.suffix in (".json", ".xml")))
        else:
            out.append(p)
    return out


def _validator(igs: list[Path]) -> Any:
    from fhir_service.conformance.package import ensure_core_package
    from fhir_service.conformance.registry import build_registry
    from fhir_service.conformance.validator import Validator
    from fhir_service.settings import Settings

    settings = Settings.from_env()
    core = ensure_core_package(settings.cache_dir)
    registry = build_registry(core, [*settings.ig_packages, *igs])
    return Validator(registry)


def validate_command(
    paths: Annotated[list[Path], typer.Argument(
        help="JSON or XML files, or folders (recursive)")],
    profile: Annotated[list[str] | None, typer.Option(
        "--profile", help="Also validate against this profile URL (repeatable)")] = None,
    ig: Annotated[list[Path] | None, typer.Option(
        "--ig", help="IG package folder or .tgz to load besides ours (repeatable)")] = None,
    output: Annotated[str, typer.Option(
        "--format", help="text (readable summary) or json (one OperationOutcome per file)")]
        = "text",
    warnings: Annotated[bool, typer.Option(
        "--warnings/--no-warnings", help="List warnings in the text output")] = True,
) -> None:
    """Validate FHIR R4 JSON files against R4 and the profiles (exit 1 on errors)."""
    console = Console(stderr=output == "json")
    started = time.perf_counter()
    validator = _validator(list(ig or []))
    profiles = list(profile or [])
    for url in profiles:
        if not validator.knows_profile(url):
            console.print(f"[red]Unknown profile {url}[/] (load its IG with --ig)")
            raise typer.Exit(2)
    files = _files(paths)
    results: list[tuple[Path, list[Issue]]] = []
    texts: dict[Path, bytes] = {}
    for path in files:
        try:
            raw = path.read_bytes()
            if path.suffix == ".xml":
                resource = XmlReader(validator.registry).loads(raw)
            else:
                resource = fhir.loads(raw)
                texts[path] = raw
            issues = validator.validate(resource, profiles)
        except FhirError as exc:
            issues = [Issue("fatal", i.code, i.diagnostics, i.expression) for i in exc.issues]
        except OSError as exc:
            issues = [Issue("fatal", "exception", f"Cannot read the file: {exc}")]
        results.append((path, issues))
    elapsed = time.perf_counter() - started
    n_err = sum(1 for _, issues in results if _errors(issues))
    if output == "json":
        out = [{"file": str(p), "outcome": outcome_with_positions(i, texts.get(p))}
               for p, i in results]
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_text(console, results, warnings, texts)
        console.print(f"{len(files)} file(s) validated in {elapsed:.2f} s: "
                      f"[{'red' if n_err else 'green'}]{n_err} with errors[/], "
                      f"{len(files) - n_err} valid")
    if n_err:
        raise typer.Exit(1)


def _errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity in ("error", "fatal")]


def _print_text(console: Console, results: list[tuple[Path, list[Issue]]],
                warnings: bool, texts: dict[Path, bytes]) -> None:
    shown = ("error", "fatal", "warning") if warnings else ("error", "fatal")
    for path, issues in results:
        listed = [i for i in issues if i.severity in shown]
        if not listed:
            continue
        table = Table(title=str(path), title_justify="left", show_lines=False, expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("where", overflow="fold", ratio=1)
        table.add_column("message", overflow="fold", ratio=3)
        positions = json_positions(texts[path]) if path in texts else {}
        for i in listed:
            colour = "red" if i.severity in ("error", "fatal") else "yellow"
            where = ", ".join(i.expression)
            at = locate(i.expression[0], positions) if i.expression and positions else None
            if at is not None:
                where = f"{where} ({at[0]}:{at[1]})"
            table.add_row(f"[{colour}]{i.severity}[/]", where, i.diagnostics)
        console.print(table)
