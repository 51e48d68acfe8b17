"""OAuth endpoints of the embedded issuer: ``POST /auth/token`` (SMART Backend Services,
client_credentials + private_key_jwt) and ``GET /auth/jwks``. Errors follow RFC 6749 §5.2:
a body that is not ``application/x-www-form-urlencoded`` is ``invalid_request`` (saying so);
a scope other than ``system/<known type or *>.<cruds>`` is ``invalid_scope``.
``GET /auth/authorize`` exists only because R4's ``oauth-uris`` extension of the
CapabilityStatement requires an authorize URL: there is no user authorization here, so it
answers ``unsupported_response_type``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fhir_service.outcomes import FhirError
from fhir_service.security.service import Security
from fhir_service.security.tokens import InvalidScope, InvalidTokenRequest


def install(app: FastAPI, security: Security, public_base_url: str, base_path: str) -> None:
    if security.tokens is None or security.tokens.key is None:
        return
    tokens = security.tokens
    ctx = getattr(app.state, "ctx", None)
    resource_types = frozenset(ctx.resource_types) if ctx is not None else None

    @app.get("/auth/authorize", include_in_schema=False)
    def authorize() -> Any:
        return _oauth_error(400, "unsupported_response_type", "this server has no user "
                            "authorization: it supports SMART Backend Services only "
                            "(client_credentials at /auth/token)")

    @app.post("/auth/token", include_in_schema=False)
    async def token(request: Request) -> Any:
        body = await request.body()
        if len(body) > 64 * 1024:
            return _oauth_error(400, "invalid_request", "request too large")
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if (ctype and ctype != FORM) or (not ctype and body.lstrip()[:1] in (b"{", b"[")):
            return _oauth_error(400, "invalid_request", "the token request must be "
                                f"{FORM} (RFC 6749 §4.4.2), not {ctype[:40] or 'JSON'}")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        root = public_base_url.rstrip("/")
        if root and base_path and root.endswith(base_path.rstrip("/")):
            root = root[: -len(base_path.rstrip("/"))]
        token_url = f"{root or str(request.base_url).rstrip('/')}/auth/token"
        try:
            result = await run_in_threadpool(tokens.token_request, form, token_url,
                                             resource_types)
        except InvalidScope as exc:
            return _oauth_error(400, "invalid_scope", exc.message)
        except InvalidTokenRequest as exc:
            return _oauth_error(400, "invalid_request", exc.message)
        except FhirError as exc:
            kind = "invalid_client" if exc.status == 401 else (
                "invalid_scope" if exc.status == 403 else "invalid_request")
            return _oauth_error(401 if exc.status == 401 else 400, kind, exc.message)
        return JSONResponse(result, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.get("/auth/jwks", include_in_schema=False)
    def jwks() -> Any:
        assert tokens.key is not None
        return JSONResponse(tokens.key.jwks())


FORM = "application/x-www-form-urlencoded"


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})
