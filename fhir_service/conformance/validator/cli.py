"""``cm-fhir validate FILE|DIR… [--profile URL] [--ig PATH-or-TGZ] [--format text|json]``.

For partners' CI: validates every ``*.json`` and ``*.xml`` given (folders recursively)
against base R4, the profiles each resource claims, the ``--profile`` ones, with our IG
(``profiles/``) and any ``--ig`` loaded: a package (folder or ``.tgz``) or, as the HL7
validator's ``-ig``, loose conformance resources (a JSON or XML file, or a folder of them).
Exit code 1 when any file has an error or a fatal issue; 2 when the command cannot run (an
``--ig`` that cannot be loaded, an unknown profile, no file to validate), with a one-line
message and no traceback. A progress bar (on standard error, erased at the end) shows the
files validated; standard output stays parseable (``--format json``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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
    from fhir_service.cli import load_settings  # (a wrong setting: a clear error)
    from fhir_service.conformance.package import ensure_core_package
    from fhir_service.conformance.registry import build_registry
    from fhir_service.conformance.validator import Validator

    settings = load_settings()
    core = ensure_core_package(settings.cache_dir)
    registry = build_registry(core, [*settings.national_packages, *settings.ig_packages, *igs])
    return Validator(registry)


def _fail(message: str, code: int = 2) -> typer.Exit:
    """A one-line error on standard error (no traceback) and the exit to raise."""
    Console(stderr=True, soft_wrap=True).print(f"[red]Error:[/] {escape(message)}",
                                               highlight=False)
    return typer.Exit(code)


def _progress(total: int) -> Progress:
    """Validation progress on standard error, erased when done (stdout stays parseable)."""
    return Progress(TextColumn("Validating"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("{task.description}"),
                    console=Console(stderr=True), transient=True, disable=total < 2)


def validate_command(
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH", help="JSON or XML files, or folders (recursive)")],
    profile: Annotated[list[str] | None, typer.Option(
        "--profile", metavar="URL", help="Also validate against this profile URL (repeatable)")] = None,
    ig: Annotated[list[Path] | None, typer.Option(
        "--ig", metavar="PATH",
        help="Conformance resources to load besides ours (repeatable): a package "
                     "folder or .tgz, a StructureDefinition (or other conformance resource) "
                     "as a .json or .xml file, or a folder of such files")] = None,
    output: Annotated[str, typer.Option(
        "--format", metavar="text|json",
        help="text (readable summary) or json (one OperationOutcome per file)")]
        = "text",
    warnings: Annotated[bool, typer.Option(
        "--warnings/--no-warnings", help="List warnings in the text output")] = True,
) -> None:
    """Validate FHIR R4 JSON or XML files against R4 and the profiles (exit 1 on errors).

    Example, with a partner's profile given as a loose file:

    \b
      cm-fhir validate --ig partner/StructureDefinition-x.json out/ --format json
    """
    from fhir_service.conformance.registry import PackageError

    if output not in ("text", "json"):
        raise _fail(f"--format must be text or json, not {output!r}")
    console = Console(stderr=output == "json")
    started = time.perf_counter()
    try:
        validator = _validator(list(ig or []))
    except PackageError as exc:
        raise _fail(f"cannot load the conformance resources: {exc}") from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise _fail(f"cannot load the FHIR definitions: {exc}") from None
    profiles = list(profile or [])
    for url in profiles:
        if not validator.knows_profile(url):
            raise _fail(f"unknown profile {url} (load its IG with --ig)")
    files = _files(paths)
    if not files:
        raise _fail("no .json or .xml file to validate in "
                    + ", ".join(str(p) for p in paths))
    results: list[tuple[Path, list[Issue]]] = []
    texts: dict[Path, bytes] = {}
    with _progress(len(files)) as progress:
        task = progress.add_task("", total=len(files))
        for path in files:
            progress.update(task, description=path.name)
            results.append((path, _validate_file(validator, path, profiles, texts)))
            progress.advance(task)
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


def _validate_file(validator: Any, path: Path, profiles: list[str],
                   texts: dict[Path, bytes]) -> list[Issue]:
    """The issues of one file; bad input is a fatal issue of that file, never a crash."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".xml":
            resource = XmlReader(validator.registry).loads(raw)
        else:
            resource = fhir.loads(raw)
            texts[path] = raw
        return list(validator.validate(resource, profiles))
    except FhirError as exc:
        return [Issue("fatal", i.code, i.diagnostics, i.expression) for i in exc.issues]
    except OSError as exc:
        return [Issue("fatal", "exception", f"Cannot read the file: {exc}")]
    except RecursionError:
        return [Issue("fatal", "too-costly", "The content is nested too deeply to validate")]
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
        return [Issue("fatal", "exception",
                      f"The validator could not process this file ({type(exc).__name__})")]


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
