"""Registered API clients: each is bound to a structure (an Organization of this store, found
by id, FINESS or SIRET when registered) and may carry a practitioner (``fhirUser``); and the
client assertions they have already used (``jti``), in the database."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from fhir_service.security.principal import Scopes
from fhir_service.store.schema import auth_jti, clients
from fhir_service.store.sqlstore import begin_write

ROLES = ("client", "operator")


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    structure: str | None
    practitioner: str | None
    scopes: str
    role: str
    jwks: str | None
    active: bool


class ClientRegistry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[str, tuple[float, Client | None]] = {}

    def get(self, client_id: str) -> Client | None:
        cached = self._cache.get(client_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
        client = Client(row.client_id, row.name, row.structure, row.practitioner, row.scopes,
                        row.role, row.jwks, bool(row.active)) if row else None
        self._cache[client_id] = (time.monotonic() + 5.0, client)  # deactivation within 5 s
        return client

    def add(self, client_id: str, name: str, structure: str | None, practitioner: str | None,
            scopes: str, role: str = "client", jwks: dict[str, Any] | None = None) -> Client:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if not Scopes.parse(scopes).grants:
            raise ValueError(f"no valid SMART scope in '{scopes}'")
        values = {"name": name, "structure": structure, "practitioner": practitioner,
                  "scopes": scopes, "role": role, "jwks": json.dumps(jwks) if jwks else None,
                  "active": True}
        with begin_write(self.engine) as conn:
            exists = conn.execute(select(clients.c.client_id)
                                  .where(clients.c.client_id == client_id)).first()
            if exists:
                conn.execute(update(clients).where(clients.c.client_id == client_id)
                             .values(**values))
            else:
                conn.execute(insert(clients).values(client_id=client_id, created=time.time(),
                                                    **values))
        self._cache.pop(client_id, None)
        client = self.get(client_id)
        assert client is not None
        return client

    def deactivate(self, client_id: str) -> None:
        with begin_write(self.engine) as conn:
            conn.execute(update(clients).where(clients.c.client_id == client_id)
                         .values(active=False))
        self._cache.pop(client_id, None)

    def all(self) -> list[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(clients).order_by(clients.c.client_id)).all()
        return [Client(r.client_id, r.name, r.structure, r.practitioner, r.scopes, r.role,
                       r.jwks, bool(r.active)) for r in rows]


class UsedAssertions:
    """The client assertions (``jti``) already accepted, until they expire: a row of the
    database's ``auth_jti`` table, so every worker process and every later start of the
    server knows them. Claiming inserts the row; the primary key decides between two workers
    that race with the same assertion (exactly one insert succeeds)."""

    PURGE_SECONDS = 60.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._next_purge = 0.0

    @staticmethod
    def key(client_id: str, jti: str) -> str:
        return hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()

    def claim(self, client_id: str, jti: str, expires: float, now: float | None = None) -> bool:
        """True the first time (client, jti) is presented before ``expires``; False after."""
        now = time.time() if now is None else now
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_SECONDS
            self.purge(now)
        key = self.key(client_id, jti)
        try:
            with begin_write(self.engine) as conn:
                conn.execute(insert(auth_jti).values(jti=key, expires=expires))
            return True
        except IntegrityError:
            pass
        # known: a replay, unless its row outlived the assertion and was not purged yet
        with begin_write(self.engine) as conn:
            taken = conn.execute(update(auth_jti)
                                 .where(auth_jti.c.jti == key, auth_jti.c.expires <= now)
                                 .values(expires=expires))
        return bool(taken.rowcount == 1)

    def purge(self, now: float | None = None) -> int:
        """Forget the assertions that have expired (they are refused anyway)."""
        now = time.time() if now is None else now
        with begin_write(self.engine) as conn:
            return int(conn.execute(delete(auth_jti).where(auth_jti.c.expires <= now))
                       .rowcount)
