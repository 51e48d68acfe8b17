"""``cm-fhir sync push|pull``: exchange people's shared plans with a partner's FHIR server
(docs/sync.md)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

sync_app = typer.Typer(help="Exchange people's shared plans with a partner's FHIR R4 server "
                            "(docs/sync.md).", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)

TOKEN_ENV = "CM_FHIR_SYNC_TOKEN"

ClientOpt = Annotated[str, typer.Option(
    "--client", help="the local registered client on whose behalf we sync (its structure's "
                     "view, rules and audit)")]
RemoteOpt = Annotated[str, typer.Option(
    "--remote", envvar="CM_FHIR_SYNC_REMOTE", help="the partner's FHIR base URL")]
AuthOpt = Annotated[str, typer.Option(
    "--remote-auth", help="none (open test server) | bearer (--token-file or "
                          f"{TOKEN_ENV}) | smart (SMART Backend Services)")]
TokenFileOpt = Annotated[Path | None, typer.Option(
    "--token-file", help="bearer: a file holding the partner's access token")]
RemoteClientOpt = Annotated[str | None, typer.Option(
    "--remote-client-id", help="smart: our client id at the partner")]
KeyOpt = Annotated[Path | None, typer.Option(
    "--key", help="smart: our private key (PEM, RSA or EC P-384) registered at the partner")]
KidOpt = Annotated[str | None, typer.Option("--kid", help="smart: the key's kid")]
ScopeOpt = Annotated[str, typer.Option("--scope", help="smart: the scopes to request")]
StateOpt = Annotated[Path | None, typer.Option(
    "--state", help="the sync state file (default: CM_FHIR_SYNC_STATE, else "
                    "var/sync/state.json)")]
DatabaseOpt = Annotated[str | None, typer.Option("--database", help="SQLAlchemy URL")]
TimeoutOpt = Annotated[float, typer.Option(
    "--timeout", min=1.0, help="seconds to wait for the partner's answer")]
DetailsOpt = Annotated[bool, typer.Option(
    "--details", help="show the partner's diagnostics in errors (they may quote data)")]


def _remote(url: str, auth: str, token_file: Path | None, client_id: str | None,
            key: Path | None, kid: str | None, scope: str, timeout: float) -> Any:
    from fhir_service.sync.remote import Remote, SmartBackendAuth

    token = None
    smart = None
    if auth == "bearer":
        if token_file is not None:
            try:
                token = token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise typer.BadParameter(f"cannot read {token_file}: {exc.strerror}",
                                         param_hint="--token-file") from None
        else:
            token = os.environ.get(TOKEN_ENV, "").strip() or None
        if not token:
            raise typer.BadParameter(f"bearer needs --token-file or {TOKEN_ENV}",
                                     param_hint="--remote-auth")
    elif auth == "smart":
        if not client_id or key is None:
            raise typer.BadParameter("smart needs --remote-client-id and --key",
                                     param_hint="--remote-auth")
        smart = SmartBackendAuth(url, client_id, key, scope=scope, kid=kid)
    return Remote(url, auth=auth, bearer_token=token, smart=smart,
                  timeout=(min(10.0, timeout), timeout))


@contextmanager
def _local(database: str | None, client: str) -> Iterator[tuple[Any, Any]]:
    """This server's app (definitions loaded, no HTTP) and the client's view of it."""
    from fhir_service.app import create_app
    from fhir_service.conformance.registry import PackageError
    from fhir_service.settings import Settings
    from fhir_service.store.migrate import SchemaError
    from fhir_service.sync.local import LocalStore, UnknownClient

    settings = Settings.from_env(database_url=database)
    if settings.auth == "off":  # (the client registry and the door apply all the same)
        settings.auth = "embedded"
    console.print("Loading FHIR R4 definitions…")
    try:
        application = create_app(settings)
    except (PackageError, SchemaError) as exc:
        console.print(f"[red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    try:
        try:
            local = LocalStore.for_client(application, client)
        except UnknownClient as exc:
            console.print(f"[red]Error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        yield settings, local
    finally:
        application.state.router.close()  # every audit record written
        application.state.ctx.close()


def _run(kind: str, persons: list[str], client: str, remote_url: str, auth: str,
         token_file: Path | None, remote_client_id: str | None, key: Path | None,
         kid: str | None, scope: str, state_file: Path | None, database: str | None,
         timeout: float, details: bool, everyone: bool = False, force: bool = False) -> None:
    from fhir_service.outcomes import FhirError
    from fhir_service.sync import engine
    from fhir_service.sync.plan import IDENTIFIER_SYSTEM
    from fhir_service.sync.remote import RemoteError
    from fhir_service.sync.state import StateBusy, SyncState, default_state_path

    try:
        remote = _remote(remote_url, auth, token_file, remote_client_id, key, kid, scope,
                         timeout)
    except RemoteError as exc:
        raise typer.BadParameter(str(exc), param_hint="--remote") from None
    with _local(database, client) as (settings, local):
        own = getattr(settings, "sync_identifier_system", "") or IDENTIFIER_SYSTEM
        path = state_file or (Path(settings.sync_state) if getattr(settings, "sync_state", "")
                              else default_state_path())
        state = SyncState(path, remote.base, client)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("people pushed" if kind == "push" else "steps pulled",
                                total=None)

            def progress(_stage: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                if everyone:
                    persons = engine.everyone(local)
                    if not persons:
                        bar.stop()
                        console.print("This client's structure accompanies nobody: nothing "
                                      "to push.")
                        return
                if kind == "push":
                    report = engine.push(local, remote, state, persons, own, progress, details,
                                         force)
                else:
                    report = engine.pull(local, remote, state, persons, own, progress, details)
            except (engine.UnknownPerson, StateBusy, FhirError) as exc:
                bar.stop()
                message = exc.message if isinstance(exc, FhirError) else str(exc)
                console.print(f"[red]Error:[/] {escape(message)}")
                raise typer.Exit(2) from None
            except engine.SyncFailed as exc:
                bar.stop()
                console.print(f"[red]Failed:[/] {escape(str(exc))}")
                console.print(escape(exc.report.line()))
                raise typer.Exit(1) from None
            except RemoteError as exc:
                bar.stop()
                console.print(f"[red]Error:[/] {escape(str(exc))}")
                raise typer.Exit(1) from None
    console.print(escape(report.line()))
    for line in report.refused:
        console.print(f"[yellow]refused:[/] {escape(line)}")
    for line in report.skipped:
        console.print(f"[yellow]skipped:[/] {escape(line)}")


@sync_app.command("push")
def push_command(
    client: ClientOpt,
    remote: RemoteOpt,
    persons: Annotated[list[str] | None, typer.Argument(
        metavar="PERSON", help="Patient ids or system|value identifiers (none: resume the "
                               "interrupted push)")] = None,
    remote_auth: AuthOpt = "none",
    token_file: TokenFileOpt = None, remote_client_id: RemoteClientOpt = None,
    key: KeyOpt = None, kid: KidOpt = None, scope: ScopeOpt = "system/*.cruds",
    state: StateOpt = None, database: DatabaseOpt = None, timeout: TimeoutOpt = 120.0,
    details: DetailsOpt = False,
    everyone: Annotated[bool, typer.Option(
        "--all", help="every person the client's structure accompanies")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="overwrite what the partner changed since our last push or pull")]
        = False,
) -> None:
    """Send people's shared plans to the partner: one transaction of conditional PUTs per
    person, by business identifier; a second push changes nothing there."""
    if everyone and persons:
        raise typer.BadParameter("give people or --all, not both", param_hint="--all")
    _run("push", persons or [], client, remote, remote_auth, token_file, remote_client_id,
         key, kid, scope, state, database, timeout, details, everyone, force)


@sync_app.command("pull")
def pull_command(
    client: ClientOpt,
    remote: RemoteOpt,
    persons: Annotated[list[str] | None, typer.Argument(
        metavar="PERSON", help="Patient ids or system|value identifiers (default: everyone "
                               "pushed to this partner)")] = None,
    remote_auth: AuthOpt = "none",
    token_file: TokenFileOpt = None, remote_client_id: RemoteClientOpt = None,
    key: KeyOpt = None, kid: KidOpt = None, scope: ScopeOpt = "system/*.cruds",
    state: StateOpt = None, database: DatabaseOpt = None, timeout: TimeoutOpt = 120.0,
    details: DetailsOpt = False,
) -> None:
    """Bring back the partner's changes since the last pull, through this client's rules
    (refusals are reported)."""
    _run("pull", persons or [], client, remote, remote_auth, token_file, remote_client_id,
         key, kid, scope, state, database, timeout, details)
