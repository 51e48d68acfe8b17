"""The sign-in pages of the embedded identity provider (SMART App Launch, standalone):
``GET /auth/authorize`` checks the app's request and shows the login form; ``POST
/auth/authorize`` checks the password, then shows the approval page (scopes, the structure
the practitioner acts for), then redirects to the app with a one-time code. The logic is in
``security/smart_launch.py``; this module is HTML and HTTP only.

Defences: an unknown client or a redirect URI that is not registered exactly is shown an
error page, never redirected to; forms carry a CSRF token equal to a ``SameSite=Strict``
cookie; the step between login and approval is a short-lived ticket signed by the server
and bound to that cookie and to the request; logins are limited per address (token bucket)
and per account (lock-out, ``accounts.py``); pages are ``no-store``, never framed, and
their Content-Security-Policy allows no script.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fhir_service.outcomes import FhirError
from fhir_service.security.ratelimit import RateLimiter
from fhir_service.security.smart_launch import AuthorizeError, AuthRequest, SmartLaunch

CSRF_COOKIE = "cm_auth_csrf"
TICKET_SECONDS = 600
TICKET_AUDIENCE = "cm-fhir:sign-in"
REQUEST_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state", "aud",
                  "code_challenge", "code_challenge_method", "nonce")

SCOPE_WORDS = {"c": "créer", "r": "lire", "u": "modifier", "d": "supprimer", "s": "rechercher"}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f6f8;color:#1b1f24;line-height:1.5}
main{max-width:28rem;margin:2rem auto;background:#fff;padding:1.5rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=password],select{width:100%;box-sizing:border-box;
padding:.6rem;font-size:1rem;border:1px solid #6b7280;border-radius:4px}
button{margin-top:1.25rem;padding:.65rem 1.2rem;font-size:1rem;border-radius:4px;
border:1px solid #0b4f8a;background:#0b5cad;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#0b4f8a}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.error{background:#fde8e8;border-left:4px solid #b91c1c;padding:.5rem .75rem}
ul{padding-left:1.2rem}.muted{color:#4b5563;font-size:.9rem}
"""


def install(app: FastAPI, launch: SmartLaunch, public_base_url: str, base_path: str) -> None:
    per_address = RateLimiter(per_second=1 / 30, burst=10)  # logins per client address

    def origin_of(request: Request) -> str:
        root = public_base_url.rstrip("/")
        if root and base_path and root.endswith(base_path.rstrip("/")):
            root = root[: -len(base_path.rstrip("/"))]
        if root:
            parts = urlsplit(root)
            return f"{parts.scheme}://{parts.netloc}"
        return str(request.base_url).rstrip("/")

    def fhir_base(request: Request) -> str:
        if public_base_url:
            return public_base_url.rstrip("/")
        return f"{str(request.base_url).rstrip('/')}{base_path}"

    @app.get("/auth/authorize", include_in_schema=False)
    def authorize(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k in REQUEST_FIELDS}
        try:
            auth = launch.check_request(params, origin_of(request), fhir_base(request))
        except AuthorizeError as exc:
            return _refusal(exc, params)
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        response = _page("Connexion", _login_form(auth, csrf), auth.redirect_uri)
        _set_csrf(response, csrf, request)
        return response

    @app.post("/auth/authorize", include_in_schema=False)
    async def authorize_post(request: Request) -> Response:
        body = await request.body()
        if len(body) > 32 * 1024:
            return _page("Erreur", _error("Requête trop grande."), status=413)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        params = {k: v for k, v in form.items() if k in REQUEST_FIELDS}
        try:
            auth = launch.check_request(params, origin_of(request), fhir_base(request))
        except AuthorizeError as exc:
            return _refusal(exc, params)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not secrets.compare_digest(cookie, form.get("csrf", "")):
            return _page("Session expirée", _error(
                "Votre session de connexion a expiré ou ce formulaire ne vient pas de cette "
                "page. Revenez à l'application et recommencez."), status=403)
        if form.get("step") == "consent":
            return _consent_answer(request, launch, auth, form, cookie)
        try:
            per_address.check(request.client.host if request.client else "?")
        except FhirError:
            return _page("Trop de tentatives", _login_form(
                auth, cookie, "Trop de tentatives de connexion depuis cette adresse. "
                "Patientez une minute avant de réessayer."), auth.redirect_uri, status=429)
        username = form.get("username", "")[:128]
        result = launch.accounts.login(username, form.get("password", ""))
        if result.account is None:
            # the same words and status whether the name is unknown, the password wrong or
            # the account locked: the page tells nobody which accounts exist
            return _page("Connexion", _login_form(
                auth, cookie, "Identifiant ou mot de passe incorrect, ou trop de tentatives "
                "récentes : vérifiez-les, ou réessayez dans quelques minutes.", username),
                auth.redirect_uri, status=401)
        practitioner = result.account.practitioner
        roles = launch.directory.active_roles(practitioner)
        if not roles:
            return _page("Aucun rôle actif", _error(
                "Votre compte n'est rattaché à aucun rôle actif dans une structure "
                "(PractitionerRole). Contactez l'administrateur de votre structure."),
                status=403)
        ticket = jwt.encode({
            "aud": TICKET_AUDIENCE, "exp": int(time.time()) + TICKET_SECONDS,
            "user": result.account.username, "practitioner": practitioner,
            "csrf": _digest(cookie), "req": _request_digest(params)},
            launch.tokens.key.private_key, algorithm="RS256")  # type: ignore[union-attr]
        name = launch.directory.practitioner_name(practitioner)
        return _page("Autoriser l'application", _consent_form(auth, cookie, ticket, name, roles),
                     auth.redirect_uri)

    @app.get("/auth/login.css", include_in_schema=False)
    def style() -> Response:
        return Response(STYLE, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})


def _consent_answer(request: Request, launch: SmartLaunch, auth: AuthRequest,
                    form: dict[str, str], cookie: str) -> Response:
    key = launch.tokens.key
    assert key is not None
    try:
        ticket = jwt.decode(form.get("ticket", ""), key.public_key, algorithms=["RS256"],
                            audience=TICKET_AUDIENCE, options={"require": ["exp", "aud"]})
    except jwt.PyJWTError:
        return _page("Session expirée", _error("La validation a expiré : revenez à "
                                               "l'application et reconnectez-vous."), status=403)
    params = {k: v for k, v in form.items() if k in REQUEST_FIELDS}
    if ticket.get("csrf") != _digest(cookie) or ticket.get("req") != _request_digest(params):
        return _page("Session expirée", _error("Cette validation ne correspond pas à votre "
                                               "connexion : recommencez."), status=403)
    if form.get("decision") != "approve":
        return _redirect(auth.redirect_uri, {"error": "access_denied",
                                             "error_description": "refusé par l'utilisateur",
                                             "state": auth.state})
    account = launch.accounts.get(str(ticket.get("user")))
    if account is None or not account.active or account.practitioner != ticket.get("practitioner"):
        return _page("Compte désactivé", _error("Ce compte a été désactivé."), status=403)
    roles = {r.role_id: r for r in launch.directory.active_roles(account.practitioner)}
    role = roles.get(form.get("role", ""))
    if role is None:
        return _page("Rôle inconnu", _error("Ce rôle n'est pas (ou plus) actif pour vous : "
                                            "recommencez."), status=403)
    code = launch.issue_code(auth, account.username, account.practitioner, role)
    return _redirect(auth.redirect_uri, {"code": code, "state": auth.state})


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _request_digest(params: dict[str, str]) -> str:
    return _digest(json.dumps({k: params.get(k, "") for k in REQUEST_FIELDS}, sort_keys=True))


def _redirect(uri: str, query: dict[str, str]) -> Response:
    sep = "&" if urlsplit(uri).query else "?"
    return RedirectResponse(f"{uri}{sep}{urlencode(query)}", status_code=303,
                            headers={"Cache-Control": "no-store"})


def _refusal(exc: AuthorizeError, params: dict[str, str]) -> Response:
    if exc.redirect:
        query = {"error": exc.error, "error_description": exc.description}
        if params.get("state"):
            query["state"] = params["state"]
        return _redirect(params["redirect_uri"], query)
    return _page("Demande refusée", _error(
        f"Cette demande de connexion ne peut pas être traitée : {exc.description} "
        "Vous n'avez pas été redirigé."), status=400)


def _set_csrf(response: Response, csrf: str, request: Request) -> None:
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/auth",
                        secure=request.url.scheme == "https", max_age=3600)


def _page(title: str, content: str, redirect_uri: str | None = None,
          status: int = 200) -> HTMLResponse:
    form_action = "'self'"
    if redirect_uri:  # the approval's redirect follows the form submission
        parts = urlsplit(redirect_uri)
        form_action += f" {parts.scheme}://{parts.netloc}"
    body = (f'<!doctype html><html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(title)} — cm-fhir</title>'
            f'<link rel="stylesheet" href="/auth/login.css"></head>'
            f'<body><main>{content}</main></body></html>')
    return HTMLResponse(body, status_code=status, headers={
        "Cache-Control": "no-store", "Pragma": "no-cache", "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'self'; "
                                   f"form-action {form_action}; frame-ancestors 'none'; "
                                   "base-uri 'none'"})


def _error(message: str) -> str:
    return f'<h1>Connexion impossible</h1><p class="error" role="alert">{html.escape(message)}</p>'


def _hidden(auth: AuthRequest, csrf: str) -> str:
    fields = [(k, auth.params.get(k, "")) for k in REQUEST_FIELDS if k in auth.params]
    fields.append(("csrf", csrf))
    return "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                   for k, v in fields)


def _login_form(auth: AuthRequest, csrf: str, error: str = "", username: str = "") -> str:
    alert = f'<p class="error" role="alert" id="login-error">{html.escape(error)}</p>' \
        if error else ""
    described = ' aria-describedby="login-error"' if error else ""
    return (f'<h1>Connexion professionnelle</h1>'
            f'<p>L\'application <strong>{html.escape(auth.client.name)}</strong> demande à '
            f'accéder aux plans de soins partagés en votre nom.</p>{alert}'
            f'<form method="post" action="/auth/authorize">{_hidden(auth, csrf)}'
            f'<input type="hidden" name="step" value="login">'
            f'<label for="username">Identifiant</label>'
            f'<input type="text" id="username" name="username" autocomplete="username" '
            f'required value="{html.escape(username)}"{described}>'
            f'<label for="password">Mot de passe</label>'
            f'<input type="password" id="password" name="password" '
            f'autocomplete="current-password" required{described}>'
            f'<button type="submit">Se connecter</button></form>')


def _scope_lines(scope: str) -> str:
    from fhir_service.security.principal import parse_scope

    lines: list[str] = []
    for s in scope.split():
        if s == "openid" or s == "fhirUser":
            if "identité" not in " ".join(lines):
                lines.append("connaître votre identité de professionnel (Practitioner)")
            continue
        if s == "profile":
            lines.append("connaître votre nom")
            continue
        if s == "online_access":
            lines.append("rester connectée pendant 12 heures au plus sans vous redemander "
                         "votre mot de passe")
            continue
        if s == "offline_access":
            lines.append("garder l'accès pendant 30 jours au plus, même quand vous n'êtes "
                         "pas devant l'application")
            continue
        parsed = parse_scope(s)
        if parsed:
            rtype, letters = parsed
            what = "toutes les données" if rtype == "*" else rtype
            verbs = ", ".join(SCOPE_WORDS[c] for c in letters)
            lines.append(f"{verbs} : {what} des personnes que votre structure accompagne")
    return "".join(f"<li>{html.escape(line)}</li>" for line in lines)


def _consent_form(auth: AuthRequest, csrf: str, ticket: str, name: str, roles: list[Any]) -> str:
    options = "".join(
        f'<option value="{html.escape(r.role_id)}">{html.escape(r.organization_name)}'
        f'{" — " + html.escape(r.label) if r.label else ""}</option>' for r in roles)
    return (f'<h1>Autoriser l\'application</h1>'
            f'<p>Connecté·e : <strong>{html.escape(name)}</strong></p>'
            f'<p><strong>{html.escape(auth.client.name)}</strong> pourra :</p>'
            f'<ul>{_scope_lines(auth.scope)}</ul>'
            f'<form method="post" action="/auth/authorize">{_hidden(auth, csrf)}'
            f'<input type="hidden" name="step" value="consent">'
            f'<input type="hidden" name="ticket" value="{html.escape(ticket)}">'
            f'<label for="role">Vous agissez pour</label>'
            f'<select id="role" name="role">{options}</select>'
            f'<p class="muted">Vous ne verrez que les personnes que cette structure accompagne.'
            f'</p>'
            f'<button type="submit" name="decision" value="approve">Autoriser</button> '
            f'<button type="submit" name="decision" value="deny" class="secondary">Refuser'
            f'</button></form>')
