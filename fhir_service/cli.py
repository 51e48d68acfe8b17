"""The ``cm-fhir`` command line: serve the API, load FHIR files."""

from __future__ import annotations

import bz2
import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from fhir_service import fhir
from fhir_service.conformance.validator.cli import validate_command
from fhir_service.mapping.cli import export_command, import_command
from fhir_service.measures.cli import indicators_command
from fhir_service.national.cli import convert_command
from fhir_service.outcomes import FhirError
from fhir_service.sync.cli import sync_app

# Help as plain click text: rich's option tables truncate option names ("--referenti…") in
# a narrow terminal; click's layout wraps the help text instead, up to 120 columns.
app = typer.Typer(help="FHIR R4 service for case management in French mental health.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  context_settings={"max_content_width": 120})
console = Console(stderr=True, soft_wrap=True)  # lines are never broken: URLs stay whole


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
        "--ig", metavar="PATH",
        help="IG to load (repeatable): a package folder or .tgz, or loose "
                     "conformance resources (a .json/.xml file or a folder of them)")] = None,
    auth: Annotated[str | None, typer.Option(
        "--auth", help="embedded (default: this server issues tokens) | external | off")] = None,
    workers: Annotated[int, typer.Option(
        help="worker processes (each loads the definitions; use the number of cores)")] = 1,
) -> None:
    """Start the FHIR server (default http://127.0.0.1:8080/fhir)."""
    import uvicorn

    from fhir_service.app import create_app
    from fhir_service.context import build_context

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = load_settings(
        database_url=database,
        referential_integrity=referential_integrity,
        demo=demo,
        ig_packages=tuple(ig) if ig else None,
        auth=auth,
    )
    from fhir_service.conformance.registry import PackageError
    from fhir_service.store.migrate import SchemaError

    console.print("Loading FHIR R4 definitions…")
    try:
        ctx = build_context(settings)
    except (PackageError, SchemaError) as exc:  # a bad --ig, a schema to upgrade: one line
        console.print(f"[red]Error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    application = create_app(settings, ctx)
    n = install_conformance(application)
    console.print(f"{n} conformance resources of the implementation guide(s) installed.")
    if settings.demo:
        n = load_demo(application, settings)
        console.print(f"Demo scenarios loaded ({n} resources: the example case files of "
                      "Diego and Nadia).")
    base = f"http://{host}:{port}{settings.base_path}"
    token = None
    if settings.auth == "off":
        console.print("[bold red]WARNING: authentication is OFF. Anyone who can reach this port "
                      "reads and writes every person's data. Never use --auth off with real "
                      "data.[/]")
    elif settings.auth == "embedded" and settings.demo:
        token, structure, practitioner = demo_token(application)
        console.print(f"Demo client '{DEMO_CLIENT}' (structure Organization/{structure}, "
                      f"practitioner Practitioner/{practitioner}); its access token, valid "
                      f"{settings.token_minutes} minutes (CM_FHIR_TOKEN_MINUTES; a new one: "
                      f"cm-fhir token {DEMO_CLIENT}):")
        print(token, flush=True)  # the one line on standard output
        from fhir_service.security.sign_in_cli import demo_account

        if (account := demo_account(application)) is not None:  # the page (docs/app.md)
            console.print(f"Care-plan page: http://{host}:{port}/app/ — user {account[0]}, "
                          f"password {account[1]} (demo case manager)")
    console.print(f"[bold green]cm-fhir is serving FHIR R4 at {base}[/] "
                  f"(database: {_safe_url(settings.database_url)}, auth: {settings.auth})")
    # plain lines (no rich wrapping), so each can be copied whole
    print(try_hint(base, token), file=sys.stderr, flush=True)
    if workers > 1:
        # each worker builds its own app from the same settings (passed by environment);
        # this process only supervises them: its definitions and connections go
        application.state.router.close()
        ctx.close()
        del application, ctx
        gc.collect()
        os.environ.update(settings_environment(settings))
        uvicorn.run("fhir_service.app:create_app", factory=True, host=host, port=port,
                    workers=workers, log_level="warning")
    else:
        # the definitions (millions of objects) live as long as the process: keep them out
        # of the cyclic collector's passes, which otherwise dominate small allocations
        gc.collect()
        gc.freeze()
        # the audit writer thread waits on fdatasync then needs the interpreter back at once:
        # a short switch interval keeps it from queueing behind the event loop for 5 ms
        sys.setswitchinterval(float(os.environ.get("CM_FHIR_SWITCH_INTERVAL", "0.0005")))
        uvicorn.run(application, host=host, port=port, log_level="warning")


DEMO_CLIENT = "demo-cjaad"


def try_hint(base: str, token: str | None) -> str:
    """The "Try:" lines printed by ``serve``: shell lines meant to be copied whole."""
    lines = ["Try:"]
    if token:
        lines += [f"  export TOKEN={token}",
                  '  export H="Authorization: Bearer $TOKEN"',
                  f"  curl {base}/metadata",
                  f"  curl -H \"$H\" '{base}/CarePlan?_include=CarePlan:goal'"]
    else:
        lines += [f"  curl {base}/metadata",
                  f"  curl '{base}/CarePlan?_include=CarePlan:goal'"]
    return "\n".join(lines)


def _id_by_identifier(application: Any, rtype: str, system: str, value: str) -> str | None:
    from fhir_service.request import FhirRequest

    resp = application.state.router.dispatch(FhirRequest(
        "GET", [rtype], query=[("identifier", f"{system}|{value}")], base_url="http://localhost"))
    body = json.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
    entries = body.get("entry", [])
    return str(entries[0]["resource"]["id"]) if len(entries) == 1 else None


def demo_token(application: Any) -> tuple[str, str, str]:
    """Register the demo client (the young-adult centre that accompanies Diego, acting through
    his case manager; both found by FINESS and RPPS in the imported demo) and mint a token
    for it, valid as long as any (``CM_FHIR_TOKEN_MINUTES``, 60 by default):
    (token, structure id, practitioner id)."""
    from fhir_service.demo import DEMO_PRACTITIONER_IDENTIFIER, DEMO_STRUCTURE_IDENTIFIER
    from fhir_service.security.principal import Scopes

    structure = _id_by_identifier(application, "Organization", *DEMO_STRUCTURE_IDENTIFIER)
    practitioner = _id_by_identifier(application, "Practitioner", *DEMO_PRACTITIONER_IDENTIFIER)
    if structure is None or practitioner is None:
        raise RuntimeError("the demo structure and practitioner are not loaded")
    security = application.state.security
    client = security.clients.add(DEMO_CLIENT, "Demo: Centre d'évaluation jeunes adultes",
                                  structure, practitioner, "system/*.cruds")
    token, _ = security.tokens.mint(client, Scopes.parse("system/*.cruds"))
    return str(token), structure, practitioner


def _app_for_admin(database: str | None) -> Any:
    from fhir_service.app import create_app

    settings = load_settings(database_url=database)
    if settings.auth == "off":
        settings.auth = "embedded"
    return create_app(settings)


@app.command("client")
def client_add(
    action: Annotated[str, typer.Argument(help="add | list | deactivate")],
    client_id: Annotated[str | None, typer.Argument(help="client id")] = None,
    structure: Annotated[str | None, typer.Option(
        help="Organization id, or finess:NUMBER / siret:NUMBER")] = None,
    practitioner: Annotated[str | None, typer.Option(help="Practitioner id (fhirUser)")] = None,
    scopes: Annotated[str, typer.Option(help="SMART scopes it may get")] = "system/*.rs",
    jwks: Annotated[Path | None, typer.Option(help="JWKS file of its public keys")] = None,
    operator: Annotated[bool, typer.Option(help="operator role (audit, clients)")] = False,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    database: Annotated[str | None, typer.Option("--database")] = None,
) -> None:
    """Register (add), list or deactivate API clients; each is bound to a structure."""
    application = _app_for_admin(database)
    registry = application.state.security.clients
    if action == "list":
        for c in registry.all():
            console.print(f"{c.client_id}\t{c.role}\tOrganization/{c.structure}\t"
                          f"{c.scopes}\t{'active' if c.active else 'inactive'}")
        return
    if client_id is None:
        raise typer.BadParameter("a client id is required")
    if action == "deactivate":
        registry.deactivate(client_id)
        console.print(f"{client_id} deactivated")
        return
    if action != "add":
        raise typer.BadParameter("action must be add, list or deactivate")
    from fhir_service.security.principal import requested_scope_problem

    problems = [p for p in (requested_scope_problem(
        scope, frozenset(application.state.ctx.resource_types)) for scope in scopes.split()) if p]
    if problems or not scopes.split():
        raise typer.BadParameter("; ".join(problems) or "at least one scope is needed",
                                 param_hint="--scopes")
    org = _resolve_structure(application, structure) if structure else None
    keys = json.loads(jwks.read_text()) if jwks else None
    registry.add(client_id, name or client_id, org, practitioner, scopes,
                 "operator" if operator else "client", keys)
    console.print(f"{client_id} registered (structure: {org or 'none'}, scopes: {scopes})")


def _resolve_structure(application: Any, value: str) -> str:
    from fhir_service.request import FhirRequest

    systems = {"finess": "https://finess.esante.gouv.fr",
               "siret": "https://sirene.fr"}
    kind, _, number = value.partition(":")
    if kind not in systems:
        return value
    resp = application.state.router.dispatch(FhirRequest(
        "GET", ["Organization"], query=[("identifier", f"{systems[kind]}|{number}")],
        base_url="http://localhost"))
    entries = json.loads(resp.body).get("entry", [])
    if len(entries) != 1:
        raise typer.BadParameter(f"{value} matches {len(entries)} Organizations, not one")
    return str(entries[0]["resource"]["id"])


@app.command()
def token(
    client_id: Annotated[str, typer.Argument(help="a registered client")],
    scopes: Annotated[str | None, typer.Option(
        help="SMART system/ scopes (default: all it may get)")] = None,
    minutes: Annotated[int | None, typer.Option(
        min=1, help="lifetime in minutes, at least 1 (default: CM_FHIR_TOKEN_MINUTES, 60)")]
        = None,
    database: Annotated[str | None, typer.Option("--database")] = None,
) -> None:
    """Mint an access token for a registered client (embedded mode)."""
    from fhir_service.security.principal import Scopes
    from fhir_service.security.tokens import InvalidScope

    application = _app_for_admin(database)
    security = application.state.security
    client = security.clients.get(client_id)
    if client is None:
        raise typer.BadParameter(f"unknown client {client_id}")
    try:
        minted, _ = security.tokens.mint(
            client, Scopes.parse(scopes or ""), minutes=minutes,
            resource_types=frozenset(application.state.ctx.resource_types))
    except InvalidScope as exc:
        raise typer.BadParameter(exc.message, param_hint="--scopes") from None
    print(minted)


def settings_environment(settings: Any) -> dict[str, str]:
    """CM_FHIR_* variables that reproduce these settings in another process."""
    return settings.environment()


def load_settings(**overrides: Any) -> Any:
    """The settings from the environment and the command's options; a wrong value is a clear
    error naming the variable (exit 2), not a traceback."""
    from fhir_service.settings import Settings, SettingsError

    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        for line in exc.lines:
            console.print(f"[red]Error:[/] {escape(line)}", soft_wrap=True)
        raise typer.Exit(2) from None


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
    """Load the demo scenarios: the import of the example case files (mappings/examples),
    idempotent (a re-import changes nothing). Returns the number of resources they map to."""
    from fhir_service.demo import demo_casefiles
    from fhir_service.mapping.service import CasefileService

    service = CasefileService.for_context(application.state.ctx,
                                          application.state.router.dispatch)
    total = 0
    for path in demo_casefiles():
        result = service.import_json(path.read_bytes())
        total += sum(sum(counts.values()) for counts in result.summary.values())
    return total


def _read_json(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".bz2":
        raw = bz2.decompress(raw)
    return raw


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE", help="JSON resources or bundles (.json, .json.bz2)")],
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
            try:
                raw = _read_json(path)
                data = fhir.loads(raw)
            except (OSError, ValueError, FhirError) as exc:  # bz2/JSON errors are ValueErrors
                reason = exc.message if isinstance(exc, FhirError) else \
                    getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                console.print(f"[red]{escape(str(path))}: cannot be read:[/] {escape(reason)}")
                failures += 1
                progress.advance(task)
                continue
            rtype = data.get("resourceType") if isinstance(data, dict) else None
            try:
                if rtype == "Bundle" and data.get("type") in ("batch", "transaction"):
                    resp = requests.post(url, data=raw, headers=headers, timeout=600)
                elif rtype and data.get("id"):
                    resp = requests.put(f"{url}/{rtype}/{data['id']}", data=raw,
                                        headers=headers, timeout=600)
                elif rtype:
                    resp = requests.post(f"{url}/{rtype}", data=raw, headers=headers,
                                         timeout=600)
                else:
                    console.print(f"[red]{escape(str(path))}: not a FHIR resource[/]")
                    failures += 1
                    progress.advance(task)
                    continue
            except requests.RequestException as exc:
                progress.stop()
                console.print(f"[red]Error:[/] cannot reach {escape(url)} "
                              f"({type(exc).__name__}): is the server running?")
                raise typer.Exit(2) from None
            if resp.status_code >= 400:
                failures += 1
                console.print(f"[red]{escape(str(path))}: {resp.status_code}[/] "
                              f"{escape(resp.text[:500])}")
            progress.advance(task)
    console.print(f"{len(files) - failures} loaded, {failures} failed")
    if failures:
        raise typer.Exit(1)


db = typer.Typer(help="The database: its schema version and migrations (Alembic).",
                 no_args_is_help=True)
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade(
    database: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: settings)")]
    = None,
) -> None:
    """Bring the database's schema to this release's (back it up first)."""
    from fhir_service.store.migrate import SchemaError, upgrade
    from fhir_service.store.sqlstore import make_engine

    url = load_settings(database_url=database).database_url
    engine = make_engine(url)
    try:
        before, after = upgrade(engine)
    except SchemaError as exc:
        console.print(f"[red]Error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if before == after:
        console.print(f"The schema is at {after}: nothing to do.")
    else:
        console.print(f"Schema upgraded: {before or 'empty'} → {after}.")


@db.command("current")
def db_current(
    database: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: settings)")]
    = None,
) -> None:
    """Print the database's schema revision and this release's."""
    from fhir_service.store.migrate import current, head
    from fhir_service.store.sqlstore import make_engine

    engine = make_engine(load_settings(database_url=database).database_url)
    try:
        print(f"database: {current(engine) or 'empty'}; this release: {head()}")
    finally:
        engine.dispose()


# Commands contributed by other modules (imported explicitly above: a renamed or missing module
# or function fails at import instead of a command silently missing from the CLI).
app.command(name="validate")(validate_command)
app.command(name="import")(import_command)
app.command(name="export")(export_command)
app.command(name="convert")(convert_command)
app.command(name="indicators")(indicators_command)
app.add_typer(sync_app, name="sync")
from fhir_service.security.sign_in_cli import app_clients, user  # noqa: E402

app.add_typer(user, name="user")
app.add_typer(app_clients, name="app")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
