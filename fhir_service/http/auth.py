"""OAuth endpoints of the embedded issuer: ``POST /auth/token`` (SMART Backend Services,
client_credentials + private_key_jwt) and ``GET /auth/jwks``. Errors follow RFC 6749 §5.2:
a body that is not ``application/x-www-form-urlencoded`` is ``invalid_request`` (saying so);
a scope other than ``system/<known type or *>.<cruds>`` is ``invalid_scope``.
``/auth/authorize`` is the practitioners' sign-in (SMART App Launch, standalone, with PKCE:
``http/login.py``, ``security/smart_launch.py``), whose codes ``/auth/token`` exchanges
(``grant_type=authorization_code``)."""

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
    ctx = getattr(app.state, "ctx", None)
    launch = _install_sign_in(app, security, ctx, public_base_url, base_path)
    if security.tokens is None or security.tokens.key is None:
        return
    tokens = security.tokens
    resource_types = frozenset(ctx.resource_types) if ctx is not None else None

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
        if launch is not None and form.get("grant_type") in ("authorization_code",
                                                             "refresh_token"):
            return await run_in_threadpool(_code_grant, launch, form, request, public_base_url,
                                           base_path)
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


def _install_sign_in(app: FastAPI, security: Security, ctx: Any, public_base_url: str,
                     base_path: str) -> Any:
    """Practitioner sign-in (security/smart_launch.py): the embedded identity provider's
    pages, or the external OIDC provider's user claim; None when authentication is off."""
    if security.tokens is None or ctx is None:
        return None
    from fhir_service.security.smart_launch import SmartLaunch

    launch = SmartLaunch(ctx, security.tokens)
    security.launch = launch
    if security.tokens.key is not None:
        from fhir_service.http.login import install as install_login

        security.tokens.user_principal = \
            lambda claims: launch.user_principal(claims) if "cm_user" in claims else None
        install_login(app, launch, public_base_url, base_path)
    else:
        claim = str(getattr(ctx.settings, "external_user_claim", "") or "")
        system = str(getattr(ctx.settings, "external_user_system", "") or "")
        if claim:
            security.tokens.user_principal = \
                lambda claims: launch.external_principal(claims, claim, system)
    return launch


def _code_grant(launch: Any, form: dict[str, str], request: Request, public_base_url: str,
                base_path: str) -> JSONResponse:
    from fhir_service.security.smart_launch import GrantError

    fhir_base = public_base_url.rstrip("/") or f"{str(request.base_url).rstrip('/')}{base_path}"
    root = public_base_url.rstrip("/")
    if root and base_path and root.endswith(base_path.rstrip("/")):
        root = root[: -len(base_path.rstrip("/"))]
    exchange = launch.exchange if form.get("grant_type") == "authorization_code" else \
        launch.refresh
    try:
        result = exchange(form, root or str(request.base_url), fhir_base)
    except GrantError as exc:
        return _oauth_error(exc.status, exc.error, exc.description)
    return JSONResponse(result, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})
