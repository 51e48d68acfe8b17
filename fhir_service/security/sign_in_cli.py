"""``cm-fhir user`` (practitioner accounts of the embedded identity provider) and ``cm-fhir
app`` (public SMART app clients with their redirect URIs): see docs/security.md, "Sign-in"."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

user = typer.Typer(help="Practitioner accounts (sign-in to the shared care-plan page).",
                   no_args_is_help=True, rich_markup_mode=None)
app_clients = typer.Typer(help="Public SMART app clients (authorization code with PKCE).",
                          no_args_is_help=True, rich_markup_mode=None)
console = Console(stderr=True, soft_wrap=True)


def _launch(database: str | None) -> Any:
    from fhir_service.cli import _app_for_admin

    application = _app_for_admin(database)
    launch = application.state.security.launch
    if launch is None or application.state.security.tokens.key is None:
        console.print("[red]Error:[/] accounts exist in the embedded mode only "
                      "(CM_FHIR_AUTH=embedded)")
        raise typer.Exit(2)
    return launch


@user.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="the login name")],
    practitioner: Annotated[str, typer.Option(
        help="the Practitioner: an identifier system|value (e.g. "
             "https://rpps.esante.gouv.fr|10000000001) or an id")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from the first line of standard input "
                                 "(otherwise it is asked for, hidden)")] = False,
    database: Annotated[str | None, typer.Option("--database")] = None,
) -> None:
    """Create (or reset) a practitioner's account. What they see comes from their active
    PractitionerRoles, checked at sign-in and on every request."""
    launch = _launch(database)
    pid = launch.directory.practitioner_id(practitioner)
    if pid is None:
        console.print(f"[red]Error:[/] no single Practitioner is {escape(practitioner)}")
        raise typer.Exit(2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        launch.accounts.add(username, pid, password)
    except ValueError as exc:
        console.print(f"[red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    roles = launch.directory.active_roles(pid)
    where = ", ".join(f"{r.organization_name} (Organization/{r.organization})" for r in roles)
    console.print(f"{escape(username)}: Practitioner/{pid}; active roles: "
                  f"{escape(where) or 'none (they will see nothing until one is recorded)'}")


@user.command("list")
def user_list(database: Annotated[str | None, typer.Option("--database")] = None) -> None:
    """The accounts: user name, Practitioner, status."""
    for account in _launch(database).accounts.all():
        print(f"{account.username}\tPractitioner/{account.practitioner}\t"
              f"{'active' if account.active else 'inactive'}")


@user.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument()],
                    database: Annotated[str | None, typer.Option("--database")] = None) -> None:
    """Stop an account: its tokens stop working within seconds."""
    if not _launch(database).accounts.deactivate(username):
        console.print(f"[red]Error:[/] no account {escape(username)}")
        raise typer.Exit(2)
    console.print(f"{escape(username)} deactivated")


@app_clients.command("add")
def app_add(
    client_id: Annotated[str, typer.Argument(help="the app's client_id")],
    redirect_uri: Annotated[list[str], typer.Option(
        "--redirect-uri", help="an exact redirect URI (repeatable; https, or http on localhost)")],
    scopes: Annotated[str, typer.Option(help="the scopes it may ask for")]
        = "openid fhirUser user/*.rs",
    name: Annotated[str | None, typer.Option(help="the name shown on the sign-in page")] = None,
    database: Annotated[str | None, typer.Option("--database")] = None,
) -> None:
    """Register a public app (no secret: PKCE S256 protects its codes)."""
    launch = _launch(database)
    try:
        made = launch.apps.add(client_id, name or client_id, list(redirect_uri), scopes)
    except ValueError as exc:
        console.print(f"[red]Error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    console.print(f"{escape(made.client_id)} registered: {escape(' '.join(made.redirect_uris))}")


@app_clients.command("list")
def app_list(database: Annotated[str | None, typer.Option("--database")] = None) -> None:
    for client in _launch(database).apps.all():
        print(f"{client.client_id}\t{' '.join(client.redirect_uris)}\t{client.scopes}\t"
              f"{'active' if client.active else 'inactive'}")


@app_clients.command("deactivate")
def app_deactivate(client_id: Annotated[str, typer.Argument()],
                   database: Annotated[str | None, typer.Option("--database")] = None) -> None:
    if not _launch(database).apps.deactivate(client_id):
        console.print(f"[red]Error:[/] no app {escape(client_id)}")
        raise typer.Exit(2)
    console.print(f"{escape(client_id)} deactivated")


def demo_account(application: Any) -> tuple[str, str] | None:
    """With the demo on (embedded mode): an account for the demo case manager (Diego's, found
    by RPPS), with a new random password at each start: (user name, password)."""
    import secrets

    from fhir_service.demo import DEMO_PRACTITIONER_IDENTIFIER

    launch = application.state.security.launch
    if launch is None or application.state.security.tokens.key is None:
        return None
    pid = launch.directory.practitioner_id("|".join(DEMO_PRACTITIONER_IDENTIFIER))
    if pid is None:
        return None
    password = secrets.token_urlsafe(12)
    launch.accounts.add("demo", pid, password)
    return "demo", password
