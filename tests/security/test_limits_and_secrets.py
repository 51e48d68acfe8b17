"""Limits instead of 500s; nothing sensitive in logs (the "trust" issue).

* Search parameter values have limits (number of OR values, length of a value or a name,
  chain hops) answered with 400 OperationOutcomes naming the parameter, never its value.
* An unhandled error's log line has the error's type, the request id and its frames, but no
  query parameter (``hide_parameters``) nor any message that may quote request data.
* A client assertion's ``jti`` is remembered in the database: refused again by another
  worker and after a restart.
* The SQLite file (and its -wal/-shm), the keys and the audit journal are private.
* ``cm-fhir serve`` prints an access token only with the demo on.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest

INS = "1234567890123"  # an INS/NIR-like identifier: must never reach a log


def _outcome_400(r: Any, parameter: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text[:500]
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert any(parameter in i.get("expression", []) for i in body["issue"]), body
    return body


def _formatted(caplog: pytest.LogCaptureFixture) -> str:
    """The server's log records as a handler prints them, tracebacks (exc_text) included;
    the test client's own records (httpx prints the URL it requests) left out."""
    return "\n".join(logging.Formatter().format(r) for r in caplog.records
                     if not r.name.startswith(("httpx", "httpcore")))


def _values(n: int, fmt: str = "v{}") -> str:
    return ",".join(fmt.format(i) for i in range(n))


# --- search limits ------------------------------------------------------------------------

# (query, the parameter the OperationOutcome names): each gave a 500 or was accepted whole
ATTACKS = {
    "2000 OR values": (f"Patient?identifier={_values(2000)}", "identifier"),
    "2000 INS values": (f"Patient?identifier={','.join([INS] * 2000)}", "identifier"),
    "65000-char value": ("Patient?name=" + "x" * 65_000, "name"),
    "2000 _id values": (f"Patient?_id={_values(2000)}", "_id"),
    "2000 tokens": (f"Observation?code={_values(2000, 'http://loinc.org|{}')}", "code"),
    "2000 dates": ("Patient?birthdate=" + ",".join(["ge2000-01-01"] * 2000), "birthdate"),
    "2000 references": (f"Observation?subject={_values(2000, 'Patient/{}')}", "subject"),
    "chained OR list": (f"Observation?subject:Patient.identifier={_values(2000)}",
                        "subject:Patient.identifier"),
    "long _has": ("Patient?_has:Observation:patient:code=" + "y" * 65_000,
                  "_has:Observation:patient:code"),
    "long _sort": ("Patient?_sort=" + ",".join(["birthdate"] * 5000), "_sort"),
    "101 _sort keys": ("Patient?_sort=" + ",".join(["birthdate"] * 101), "_sort"),
    "long _elements": ("Patient?_elements=" + ",".join(["name"] * 10_000), "_elements"),
    "long _include": ("Patient?_include=" + "P" * 65_000, "_include"),
    "long _revinclude": ("Patient?_revinclude=Observation:" + "p" * 3000, "_revinclude"),
    "101 OR values": (f"Patient?identifier={_values(101)}", "identifier"),
    "101 _id values": (f"Patient?_id={_values(101)}", "_id"),
    "4 chain hops": ("Observation?subject:Patient.organization:Organization.partof:"
                     "Organization.partof:Organization.partof.name=a",
                     "subject:Patient.organization:Organization.partof:Organization.partof:"
                     "Organization.partof.name"),
    "5 _has hops": ("Patient?" + "_has:Observation:patient:" * 5 + "code=a",
                    "_has:Observation:patient:" * 5 + "code"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_oversized_search_parameters_are_400(client: Any, name: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    query, parameter = ATTACKS[name]
    caplog.set_level(logging.DEBUG)
    body = _outcome_400(client.get(f"/fhir/{query}"), parameter)
    text = str(body)
    value = query.split("=", 1)[1]
    if "hops" not in name:
        assert value[:40] not in text  # the message does not repeat the value
        assert any(i["code"] == "too-costly" for i in body["issue"])
    assert INS not in text
    assert INS not in _formatted(caplog)


def test_the_limits_are_inclusive(client: Any) -> None:
    """100 values and 2,048 characters are served; the same request on PostgreSQL and
    SQLite stays within what their planners accept (50 parameters of 100 values each)."""
    assert client.get(f"/fhir/Patient?identifier={_values(100)}").status_code == 200
    assert client.get(f"/fhir/Patient?_id={_values(100)}").status_code == 200
    assert client.get("/fhir/Patient?name=" + "x" * 2048).status_code == 200
    assert client.get("/fhir/Patient?_sort=" + ",".join(["birthdate"] * 100)).status_code \
        == 200
    many = "&".join(f"identifier={_values(100, 's|{}')}" for _ in range(45))
    assert client.get(f"/fhir/Patient?{many}").status_code == 200
    chained = "&".join(f"subject:Patient.organization:Organization.partof:Organization.name="
                       f"{_values(100)}" for _ in range(45))
    assert client.get(f"/fhir/Observation?{chained}").status_code == 200
    has = "&".join("_has:Observation:patient:_has:Provenance:target:_has:AuditEvent:entity:"
                   f"_id={_values(100)}" for _ in range(45))
    assert client.get(f"/fhir/Patient?{has}").status_code == 200


def test_a_parameter_name_has_the_length_limit(client: Any) -> None:
    r = client.get("/fhir/Patient?" + "n" * 65_000 + "=1")
    assert r.status_code == 400, r.text[:300]
    assert len(r.text) < 2000  # the name is not sent back whole
    assert r.json()["issue"][0]["code"] == "too-costly"


def test_limits_apply_to_post_search_and_conditional_writes(client: Any) -> None:
    form = {"identifier": _values(101)}
    _outcome_400(client.post("/fhir/Patient/_search", data=form), "identifier")
    r = client.post("/fhir/Patient", json={"resourceType": "Patient"},
                    headers={"If-None-Exist": f"identifier={_values(101)}",
                             "Content-Type": "application/fhir+json"})
    assert r.status_code == 400, r.text[:300]


def test_limits_come_from_the_parser_settings(ctx: Any) -> None:
    from fhir_service.outcomes import FhirError
    from fhir_service.search.query import QueryParser

    parser = QueryParser(ctx.params, 20, 1000, max_or_values=3, max_value_length=12)
    parser.parse("Patient", [("identifier", "a,b,c")])
    parser.parse("Patient", [("identifier", "a\\,b,c,d")])  # an escaped comma separates not
    with pytest.raises(FhirError) as too_many:
        parser.parse("Patient", [("identifier", "a,b,c,d")])
    assert too_many.value.status == 400
    assert too_many.value.issues[0].expression == ("identifier",)
    with pytest.raises(FhirError) as too_long:
        parser.parse("Patient", [("name", "x" * 13)])
    assert too_long.value.status == 400 and "x" * 13 not in too_long.value.message
    with pytest.raises(FhirError):
        parser.parse("Patient", [("n" * 13, "x")])
    with pytest.raises(FhirError):
        parser.parse("Patient", [("_sort", "_id,_id,_id,_id")])
    # the defaults of existing callers
    default = QueryParser(ctx.params, 20, 1000)
    assert (default.max_or_values, default.max_value_length) == (100, 2048)


def test_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from fhir_service.settings import Settings

    assert (Settings().max_or_values, Settings().max_value_length) == (100, 2048)
    monkeypatch.setenv("CM_FHIR_MAX_OR_VALUES", "7")
    monkeypatch.setenv("CM_FHIR_MAX_VALUE_LENGTH", "99")
    s = Settings.from_env()
    assert (s.max_or_values, s.max_value_length) == (7, 99)


# --- nothing sensitive in the log of an unhandled error --------------------------------------


def test_a_database_error_logs_no_parameter(client: Any, ctx: Any,
                                            caplog: pytest.LogCaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The attacker's request with the limits lifted: SQLite refuses the statement (an
    expression tree too deep); the log says so, with the statement's frames, but neither
    the INS among its parameters nor the query string."""
    monkeypatch.setattr(ctx.parser, "max_or_values", 10**6)
    monkeypatch.setattr(ctx.parser, "max_value_length", 10**6)
    caplog.set_level(logging.DEBUG)
    values = ",".join([INS] + [f"{INS[:-4]}{i:04d}" for i in range(2000)])
    r = client.get(f"/fhir/Patient?identifier={values}", headers={"X-Request-Id": "req-42"})
    assert r.status_code == 500
    assert r.json()["resourceType"] == "OperationOutcome"
    logged = _formatted(caplog)
    assert "unhandled error OperationalError (request id req-42)" in logged
    assert "Traceback (most recent call last)" in logged and "sqlstore.py" in logged
    assert "Expression tree is too large" in logged  # SQLite's own message is kept
    assert "[SQL: SELECT" in logged  # the statement, with placeholders
    assert INS not in logged and INS[:-4] not in logged
    assert not any(r.exc_info for r in caplog.records)


class _FakePgError(Exception):
    """A DBAPI error as psycopg raises them: its message quotes the value."""

    pgcode = "23505"


@pytest.mark.parametrize("make_error", [
    lambda: KeyError(f"Patient/{INS}"),
    lambda: ValueError(f"invalid literal for int() with base 10: '{INS}'"),
    lambda: __import__("sqlalchemy.exc").exc.IntegrityError(
        "INSERT INTO idx_token (code) VALUES (%(code)s)", {"code": INS},
        _FakePgError(f"duplicate key value\nDETAIL:  Key (code)=({INS}) already exists.")),
], ids=["KeyError", "ValueError", "postgres-error-without-hide_parameters"])
def test_an_unhandled_error_logs_no_request_data(client: Any, ctx: Any, make_error: Any,
                                                 caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        try:
            raise RuntimeError(f"context quoting {INS}")
        except RuntimeError as inner:
            raise make_error() from inner

    monkeypatch.setattr(ctx.parser, "parse", fail)
    caplog.set_level(logging.DEBUG)
    r = client.get(f"/fhir/Patient?identifier={INS}")
    assert r.status_code == 500 and INS not in r.text
    logged = _formatted(caplog)
    assert "unhandled error" in logged and "test_limits_and_secrets.py" in logged
    assert "direct cause" in logged and "RuntimeError" in logged  # the chain, its frames
    assert INS not in logged


def test_engines_hide_parameters(tmp_path: Path) -> None:
    from fhir_service.store.sqlstore import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        assert engine.hide_parameters
    finally:
        engine.dispose()


# --- client assertions are used once, by every worker and across restarts --------------------

TOKEN_URL = "http://test/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _token_form(assertion: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "scope": "system/CarePlan.rs",
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


def _other_worker(app: Any) -> Any:
    """The token service of another worker process: its own engine on the same database."""
    from fhir_service.security.clients import ClientRegistry
    from fhir_service.security.tokens import TokenService
    from fhir_service.store.sqlstore import make_engine

    tokens = app.state.security.tokens
    engine = make_engine(app.state.ctx.settings.database_url)
    return TokenService("embedded", tokens.issuer, tokens.audience, ClientRegistry(engine),
                        tokens.key)


def test_a_client_assertion_is_accepted_once_by_every_worker_and_restart(
        secure_app: Any, secure_client: Any, make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from fhir_service.outcomes import FhirError
    from tests.security.conftest import ClientKey

    key = ClientKey()
    secure_app.state.security.clients.add("partner", "Partner", "org-a", None,
                                          "system/CarePlan.rs", jwks=key.jwks())
    assertion = key.assertion("partner", TOKEN_URL)
    assert secure_client.post("/auth/token", data=_token_form(assertion)).status_code == 200
    again = secure_client.post("/auth/token", data=_token_form(assertion))
    assert again.status_code == 401 and "replay" in again.json()["error_description"]

    worker = _other_worker(secure_app)  # `serve --workers 2`
    try:
        with pytest.raises(FhirError) as refused:
            worker.token_request(_token_form(assertion), TOKEN_URL)
        assert refused.value.status == 401 and "replay" in refused.value.message
        fresh = key.assertion("partner", TOKEN_URL)  # a new jti is fine in any worker
        assert worker.token_request(_token_form(fresh), TOKEN_URL)["access_token"]
        assert secure_client.post("/auth/token", data=_token_form(fresh)).status_code == 401
    finally:
        worker.clients.engine.dispose()

    # a restart: a new context (repository, engine) and app on the same database and keys
    settings = secure_app.state.ctx.settings
    restarted = make_context(url=settings.database_url, auth="embedded",
                             keys_dir=settings.keys_dir, audit=False,
                             rate_limit_per_second=0.0)
    with TestClient(create_app(restarted.settings, restarted), base_url="http://test") as c:
        after = c.post("/auth/token", data=_token_form(assertion))
        assert after.status_code == 401 and "replay" in after.json()["error_description"]
        assert c.post("/auth/token", data=_token_form(
            key.assertion("partner", TOKEN_URL))).status_code == 200



@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_racing_workers_accept_an_assertion_once(database: str, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    import threading

    from fhir_service.security.clients import UsedAssertions
    from fhir_service.store.schema import metadata
    from fhir_service.store.sqlstore import make_engine

    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        from tests.pg import fresh_database

        url = fresh_database(request.getfixturevalue("pg_server"), "cmfhir_jti_race")
    engines = [make_engine(url) for _ in range(8)]
    metadata.create_all(engines[0])
    ledgers = [UsedAssertions(e) for e in engines]
    barrier = threading.Barrier(len(ledgers))
    results: list[bool] = []

    def claim(ledger: UsedAssertions) -> None:
        barrier.wait()
        results.append(ledger.claim("partner", "jti-1", 4e9))

    threads = [threading.Thread(target=claim, args=(ledger,)) for ledger in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(results) == [False] * 7 + [True]
        # a jti is unique per client: another client may use the same value
        assert ledgers[0].claim("other", "jti-1", 4e9)
    finally:
        for e in engines:
            e.dispose()


def test_expired_assertions_are_purged(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from fhir_service.security.clients import UsedAssertions
    from fhir_service.store.schema import auth_jti, metadata
    from fhir_service.store.sqlstore import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'purge.db'}")
    metadata.create_all(engine)
    ledger = UsedAssertions(engine)
    try:
        assert ledger.claim("c", "old", expires=1000.0, now=900.0)
        assert not ledger.claim("c", "old", expires=1000.0, now=950.0)
        assert ledger.claim("c", "new", expires=5000.0, now=960.0)
        # once expired, the row is forgotten by the next purge (every minute at most)
        assert ledger.claim("c", "later", expires=5000.0, now=1100.0)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(auth_jti)).scalar() == 2
        assert ledger.purge(now=6000.0) == 2
    finally:
        engine.dispose()


def test_a_jti_must_be_a_string(secure_app: Any, secure_client: Any) -> None:
    from tests.security.conftest import ClientKey

    key = ClientKey()
    secure_app.state.security.clients.add("partner", "Partner", "org-a", None,
                                          "system/CarePlan.rs", jwks=key.jwks())
    for jti in ({"a": 1}, ""):
        r = secure_client.post("/auth/token", data=_token_form(
            key.assertion("partner", TOKEN_URL, jti=jti)))
        assert r.status_code == 401, r.text


# --- private files ----------------------------------------------------------------------------

@pytest.fixture
def usual_umask() -> Any:
    """The umask most servers run with (022): what is private must be so by its own mode."""
    import os

    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_database_and_its_wal_files_are_private(tmp_path: Path,
                                                           usual_umask: Any) -> None:
    from sqlalchemy import insert

    from fhir_service.store.schema import clients, metadata
    from fhir_service.store.sqlstore import make_engine

    db = tmp_path / "not" / "yet" / "there.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(clients).values(client_id="c", name="n", scopes="s",
                                                role="client", active=True, created=0.0))
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists()
        assert (_mode(db), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        engine.dispose()


def test_the_signing_key_is_private(tmp_path: Path, usual_umask: Any) -> None:
    from fhir_service.security.tokens import SigningKey

    folder = tmp_path / "var" / "keys"
    key = SigningKey.load_or_create(folder)
    assert _mode(folder) == 0o700
    assert _mode(folder / "signing-key.pem") == 0o600
    assert [p.name for p in folder.iterdir()] == ["signing-key.pem"]  # no temporary left
    assert SigningKey.load_or_create(folder).kid == key.kid  # loaded, not replaced


def test_the_audit_journal_is_private(tmp_path: Path, usual_umask: Any) -> None:
    from fhir_service.security.audit import AuditJournal

    journal = AuditJournal(tmp_path / "db-audit", sync=False)
    segment, _ = journal.append([b'{"resourceType": "AuditEvent"}'])
    assert _mode(tmp_path / "db-audit") == 0o700
    assert _mode(segment) == 0o600
    journal.release(segment)


def test_a_server_creates_its_files_private(make_context: Any, tmp_path: Path,
                                            usual_umask: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(url=f"sqlite:///{tmp_path / 'srv' / 'cm.db'}", auth="embedded",
                       keys_dir=tmp_path / "srv" / "keys", audit=True, audit_journal="",
                       audit_indexer="thread")
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        assert c.get("/fhir/metadata").status_code == 200
        assert _mode(tmp_path / "srv" / "cm.db") == 0o600
        assert _mode(tmp_path / "srv" / "keys") == 0o700
        assert _mode(tmp_path / "srv" / "keys" / "signing-key.pem") == 0o600
        assert _mode(tmp_path / "srv" / "cm.db-audit") == 0o700  # the journal's folder


# --- no token printed unless the demo is on ---------------------------------------------------

@pytest.mark.parametrize("demo", [False, True])
def test_serve_prints_a_token_only_with_the_demo(demo: bool, make_context: Any,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`cm-fhir serve` up to the moment it would listen (uvicorn.run is not called for real;
    the definitions are the test session's)."""
    import gc
    import re
    import sys

    import uvicorn
    from typer.testing import CliRunner

    import fhir_service.context
    from fhir_service.cli import app

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: served.append(application))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda _interval: None)
    monkeypatch.setattr(fhir_service.context, "build_context", lambda settings: make_context(
        url=settings.database_url, auth=settings.auth, demo=settings.demo,
        keys_dir=settings.keys_dir))
    env = {"CM_FHIR_KEYS_DIR": str(tmp_path / "keys"), "CM_FHIR_DEMO": None,
           "CM_FHIR_AUTH": None, "COLUMNS": "200"}
    args = ["serve", "--database", f"sqlite:///{tmp_path / 'serve.db'}"]
    result = CliRunner().invoke(app, [*args, "--demo" if demo else "--no-demo"], env=env)
    assert result.exit_code == 0, result.output
    assert served, "the server was not started"
    jwt_like = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
    if demo:
        assert jwt_like.search(result.stdout), result.output
    else:
        assert not jwt_like.search(result.output), result.output
        assert "access token" not in result.output
        assert "is serving FHIR R4 at" in result.output
