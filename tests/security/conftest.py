"""Fixtures for the security tests: a server with the embedded issuer, clients, keys."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fhir_service.security.principal import Scopes


@pytest.fixture
def secure_ctx(make_context: Any, tmp_path: Any) -> Any:
    return make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                        provenance=True, rate_limit_per_second=0.0)


@pytest.fixture
def secure_app(secure_ctx: Any) -> Any:
    from fhir_service.app import create_app

    return create_app(secure_ctx.settings, secure_ctx)


@pytest.fixture
def secure_client(secure_app: Any) -> Any:
    from fastapi.testclient import TestClient

    with TestClient(secure_app, base_url="http://test") as c:
        yield c


class ClientKey:
    """A partner's key pair, its public JWKS registered with the server."""

    def __init__(self, kid: str = "k1") -> None:
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS384", "use": "sig"})
        return {"keys": [jwk]}

    def assertion(self, client_id: str, aud: str, lifetime: int = 120,
                  **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + lifetime,
                  "iat": now, "jti": uuid.uuid4().hex, **overrides}
        return jwt.encode(claims, self.key, algorithm="RS384", headers={"kid": self.kid})


def mint(app: Any, client_id: str, scopes: str = "", minutes: int = 10) -> str:
    security = app.state.security
    client = security.clients.get(client_id)
    token, _ = security.tokens.mint(client, Scopes.parse(scopes), minutes=minutes)
    return str(token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}


@pytest.fixture
def router_factory(make_context: Any) -> Any:
    """Routers (framework-free) on fresh databases with audit and provenance on; the security
    suites call them as one principal or another."""
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    made: list[Router] = []

    def make() -> Router:
        router = Router(make_context(audit=True, provenance=True))
        install_all(router)
        made.append(router)
        return router

    yield make
    for router in made:  # before make_context closes the repositories
        router.close()
