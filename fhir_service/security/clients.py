"""Registered API clients: each is bound to a structure (an Organization of this store, found
by id, FINESS or SIRET when registered) and may carry a practitioner (``fhirUser``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update

from fhir_service.security.principal import Scopes
from fhir_service.store.schema import clients

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
        with self.engine.begin() as conn:
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
        with self.engine.begin() as conn:
            conn.execute(update(clients).where(clients.c.client_id == client_id)
                         .values(active=False))
        self._cache.pop(client_id, None)

    def all(self) -> list[Client]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(clients).order_by(clients.c.client_id)).all()
        return [Client(r.client_id, r.name, r.structure, r.practitioner, r.scopes, r.role,
                       r.jwks, bool(r.active)) for r in rows]
