"""Practitioner accounts of the embedded identity provider, and the public app clients that
sign practitioners in (SMART App Launch, see ``smart_launch.py``).

* An account is the login of one Practitioner of this store (``cm-fhir user add``); its
  password is hashed with argon2id (argon2-cffi, its recommended parameters). What the
  practitioner may see is never stored here: it comes from their PractitionerRoles at
  sign-in and on every request.
* Guessing is slowed down in the database, so every worker process and every restart
  knows it: after ``FREE_FAILURES`` consecutive failures an account is locked for a time
  that doubles with each further failure (up to ``MAX_LOCK_SECONDS``); a success resets it.
  An unknown user name or a locked account costs the same hash verification as a known
  one, and the login page answers all three alike.
* App clients are public (no secret: PKCE protects the code) and registered with the exact
  redirect URIs they may use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, insert, select, update

from fhir_service.store.schema import app_clients, user_accounts
from fhir_service.store.sqlstore import begin_write

FREE_FAILURES = 5
BASE_LOCK_SECONDS = 30.0
MAX_LOCK_SECONDS = 15 * 60.0
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
# verified against when the user name is unknown, so both cost the same time
_DUMMY_HASH = _hasher.hash("cm-fhir: no such account")


@dataclass(frozen=True)
class Account:
    username: str
    practitioner: str
    active: bool


@dataclass(frozen=True)
class LoginResult:
    account: Account | None
    retry_after: float = 0.0  # seconds until the next attempt may succeed (locked)


class AccountStore:
    def __init__(self, engine: Engine, now: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.now = now

    def add(self, username: str, practitioner: str, password: str) -> Account:
        """Create the account, or replace its practitioner and password (re-activating it)."""
        username = username.strip()
        if not username or len(username) > 128 or any(c.isspace() for c in username):
            raise ValueError("a user name is 1 to 128 characters without spaces")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
        values = {"practitioner": practitioner, "password_hash": _hasher.hash(password),
                  "active": True, "failures": 0, "locked_until": 0.0}
        with begin_write(self.engine) as conn:
            exists = conn.execute(select(user_accounts.c.username)
                                  .where(user_accounts.c.username == username)).first()
            if exists:
                conn.execute(update(user_accounts)
                             .where(user_accounts.c.username == username).values(**values))
            else:
                conn.execute(insert(user_accounts).values(username=username,
                                                          created=self.now(), **values))
        return Account(username, practitioner, True)

    def get(self, username: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(user_accounts)
                               .where(user_accounts.c.username == username)).first()
        return Account(row.username, row.practitioner, bool(row.active)) if row else None

    def deactivate(self, username: str) -> bool:
        with begin_write(self.engine) as conn:
            done = conn.execute(update(user_accounts)
                                .where(user_accounts.c.username == username)
                                .values(active=False))
        return bool(done.rowcount)

    def all(self) -> list[Account]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(user_accounts)
                                .order_by(user_accounts.c.username)).all()
        return [Account(r.username, r.practitioner, bool(r.active)) for r in rows]

    def login(self, username: str, password: str) -> LoginResult:
        """The account if the password is right, it is active and not locked. A failure
        counts against the account (locking it after ``FREE_FAILURES``); the answer never
        says whether the user name exists."""
        now = float(self.now())
        with self.engine.connect() as conn:
            row = conn.execute(select(user_accounts)
                               .where(user_accounts.c.username == username[:128])).first()
        if row is None:
            _verify(_DUMMY_HASH, password)
            return LoginResult(None)
        if row.locked_until > now:
            _verify(_DUMMY_HASH, password)  # (as long as any other answer)
            return LoginResult(None, row.locked_until - now)
        if not _verify(row.password_hash, password) or not row.active:
            failures = row.failures + 1
            locked = 0.0
            if failures >= FREE_FAILURES:
                locked = now + min(MAX_LOCK_SECONDS,
                                   BASE_LOCK_SECONDS * 2 ** (failures - FREE_FAILURES))
            with begin_write(self.engine) as conn:
                conn.execute(update(user_accounts)
                             .where(user_accounts.c.username == row.username)
                             .values(failures=failures, locked_until=locked))
            return LoginResult(None, max(0.0, locked - now))
        if row.failures or _hasher.check_needs_rehash(row.password_hash):
            with begin_write(self.engine) as conn:
                values: dict[str, object] = {"failures": 0, "locked_until": 0.0}
                if _hasher.check_needs_rehash(row.password_hash):
                    values["password_hash"] = _hasher.hash(password)
                conn.execute(update(user_accounts)
                             .where(user_accounts.c.username == row.username).values(**values))
        return LoginResult(Account(row.username, row.practitioner, True))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AppClient:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: str
    active: bool


class AppClientRegistry:
    """Public SMART app clients; the built-in page (``/app/``) is ``BUILTIN``, whose one
    redirect URI is the page itself on this server's own origin."""

    BUILTIN = "cm-fhir-app"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, client_id: str, name: str, redirect_uris: list[str], scopes: str) -> AppClient:
        from urllib.parse import urlsplit

        if not redirect_uris:
            raise ValueError("an app client needs at least one redirect URI")
        for uri in redirect_uris:
            parts = urlsplit(uri)
            local = parts.hostname in ("localhost", "127.0.0.1", "::1")
            if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment \
                    or (parts.scheme == "http" and not local):
                raise ValueError(f"redirect URI '{uri[:100]}': an absolute https URI without "
                                 "fragment (http only for localhost)")
        values = {"name": name, "redirect_uris": json.dumps(redirect_uris), "scopes": scopes,
                  "active": True}
        with begin_write(self.engine) as conn:
            exists = conn.execute(select(app_clients.c.client_id)
                                  .where(app_clients.c.client_id == client_id)).first()
            if exists:
                conn.execute(update(app_clients).where(app_clients.c.client_id == client_id)
                             .values(**values))
            else:
                conn.execute(insert(app_clients).values(client_id=client_id,
                                                        created=time.time(), **values))
        found = self.get(client_id)
        assert found is not None
        return found

    def get(self, client_id: str) -> AppClient | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(app_clients)
                               .where(app_clients.c.client_id == client_id[:128])).first()
        if row is None:
            return None
        return AppClient(row.client_id, row.name, tuple(json.loads(row.redirect_uris)),
                         row.scopes, bool(row.active))

    def deactivate(self, client_id: str) -> bool:
        with begin_write(self.engine) as conn:
            done = conn.execute(update(app_clients).where(app_clients.c.client_id == client_id)
                                .values(active=False))
        return bool(done.rowcount)

    def all(self) -> list[AppClient]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(app_clients).order_by(app_clients.c.client_id)).all()
        return [AppClient(r.client_id, r.name, tuple(json.loads(r.redirect_uris)), r.scopes,
                          bool(r.active)) for r in rows]
