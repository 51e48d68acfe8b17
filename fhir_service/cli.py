"""The ``cm-fhir`` command line: serve the API, load FHIR files."""

from __future__ import annotations

import bz2
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from fhir_service import fhir

app = typer.Typer(help="FHIR R4 service for case management in French mental health.",
                  no_args_is_help=True, add_completion=False)
console = Console(stderr=True)


@app.callback()
def main() -> None:
    """cm-fhir: FHIR R4 (4.0.1) case-management service."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8080,
    database: Annotated[str | None, typer.Option(
        "--database", help="SQLAlchemy URL (default: SQLite under var/)")] = None,
    demo: Annotated[bool | None, typer.Option(
        "--demo/--no-demo",
        help="Load the demo scenarios (default on; env CM_FHIR_DEMO)")] = None,
    referential_integrity: Annotated[bool | None, typer.Option(
        "--referential-integrity/--no-referential-integrity",
        help="Require references to resolve; refuse deleting referenced resources "
             "(default on; env CM_FHIR_REFERENTIAL_INTEGRITY)")] = None,
    ig: Annotated[list[Path] | None, typer.Option(
        "--ig", help="IG package folder or .tgz to load (repeatable)")] = None,
) -> None:
    """Start the FHIR server (default http://127.0.0.1:8080/fhir)."""
    import uvicorn

    from fhir_service.app import create_app
    from fhir_service.context import build_context
    from fhir_service.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env(
        database_url=database,
        referential_integrity=referential_integrity,
        demo=demo,
        ig_packages=tuple(ig) if ig else None,
    )
    console.print("Loading FHIR R4 definitions…")
    ctx = build_context(settings)
    application = create_app(settings, ctx)
    n = install_conformance(application)
    console.print(f"{n} conformance resources of the implementation guide(s) installed.")
    if settings.demo:
        n = load_demo(application, settings)
        console.print(f"Demo scenarios loaded ({n} resources: Diego and Nadia).")
    base = f"http://{host}:{port}{settings.base_path}"
    console.print(f"[bold green]cm-fhir is serving FHIR R4 at {base}[/] "
                  f"(database: {_safe_url(settings.database_url)})")
    console.print(f"Try: curl {base}/metadata   |   curl '{base}/CarePlan?_include=CarePlan:goal'")
    uvicorn.run(application, host=host, port=port, log_level="warning")


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _post_local(application: Any, body: bytes) -> None:
    from fhir_service.request import FhirRequest

    router = application.state.router
    resp = router.dispatch(FhirRequest("POST", [], body=body, base_url="http://localhost/fhir",
                                       headers={"content-type": "application/fhir+json"}))
    if resp.status != 200:
        raise RuntimeError(f"loading failed: {resp.body!r}")


def install_conformance(application: Any) -> int:
    """Store the IG packages' conformance resources (idempotent: PUT, unchanged = no version),
    so that GET /StructureDefinition/…, /CodeSystem/… serve them and search finds them."""
    from fhir_service.demo import conformance_transaction

    ctx = application.state.ctx
    bundle = conformance_transaction(ctx.registry)
    if bundle["entry"]:
        _post_local(application, fhir.dumps(bundle))
    return len(bundle["entry"])


def load_demo(application: Any, settings: Any) -> int:
    """Load the demo scenarios: the IG's example transaction bundles (PUT with fixed ids)."""
    from fhir_service.demo import demo_bundles

    total = 0
    for path in demo_bundles(settings):
        body = path.read_bytes()
        _post_local(application, body)
        total += len(json.loads(body)["entry"])
    return total


def _read_json(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".bz2":
        raw = bz2.decompress(raw)
    return raw


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(help="JSON resources or bundles (.json, .json.bz2)")],
    url: Annotated[str, typer.Option(help="FHIR base URL")] = "http://127.0.0.1:8080/fhir",
    token: Annotated[str | None, typer.Option(help="Bearer token")] = None,
) -> None:
    """Post bundles (batch/transaction) or single resources to a running server."""
    import requests

    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    failures = 0
    with Progress(console=console) as progress:
        task = progress.add_task("Loading", total=len(files))
        for path in files:
            raw = _read_json(path)
            data = fhir.loads(raw)
            rtype = data.get("resourceType") if isinstance(data, dict) else None
            if rtype == "Bundle" and data.get("type") in ("batch", "transaction"):
                resp = requests.post(url, data=raw, headers=headers, timeout=600)
            elif rtype and data.get("id"):
                resp = requests.put(f"{url}/{rtype}/{data['id']}", data=raw, headers=headers,
                                    timeout=600)
            elif rtype:
                resp = requests.post(f"{url}/{rtype}", data=raw, headers=headers, timeout=600)
            else:
                console.print(f"[red]{path}: not a FHIR resource[/]")
                failures += 1
                progress.advance(task)
                continue
            if resp.status_code >= 400:
                failures += 1
                console.print(f"[red]{path}: {resp.status_code}[/] {resp.text[:500]}")
            progress.advance(task)
    console.print(f"{len(files) - failures} loaded, {failures} failed")
    if failures:
        raise typer.Exit(1)


# Commands contributed by other modules: (module, command name, function name).
OPTIONAL_COMMANDS = (
    ("fhir_service.conformance.validator.cli", "validate", "validate_command"),
    ("fhir_service.mapping.cli", "import", "import_command"),
    ("fhir_service.mapping.cli", "export", "export_command"),
)


def _register_optional_commands() -> None:
    import importlib

    for module_name, command, function in OPTIONAL_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # not written yet
            raise
        app.command(name=command)(getattr(module, function))


_register_optional_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
