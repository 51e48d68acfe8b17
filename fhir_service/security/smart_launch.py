"""Practitioner sign-in: SMART App Launch 2.x, standalone launch, authorization code + PKCE.

https://hl7.org/fhir/smart-app-launch/app-launch.html — a public app (the page at ``/app/``
or another registered one) sends the practitioner to ``/auth/authorize``; they sign in on
our form (embedded identity provider, ``accounts.py``) and approve the scopes; the app
gets a one-time code and exchanges it at ``/auth/token`` with its PKCE verifier for an
access token (and an ``id_token`` whose ``fhirUser`` is the Practitioner).

What the practitioner sees is decided by who they are, through the same door as any
client: the token names the **PractitionerRole** they act in, and the principal of each
request is built from it — the structure is that role's organisation, so the access policy
applies unchanged. The role is checked again on every request (cached a few seconds): a
role that ended (``period.end``), turned inactive or moved elsewhere stops access at once.

* Codes: 256 random bits, stored as a digest, bound to the client, the exact redirect URI
  and the S256 code challenge, valid ``CODE_SECONDS``, claimed once by an atomic update
  (a replay, even concurrent, gets ``invalid_grant``; a code presented with a wrong
  verifier, client or redirect URI is spent too, so a verifier cannot be guessed).
* ``user/`` scopes only (v2 ``user/CarePlan.rs`` and v1 ``user/CarePlan.read``), narrowed to
  what the app client is registered for; ``openid fhirUser`` give the ``id_token``;
  ``online_access`` (12 h) or ``offline_access`` (30 days) a refresh token, used once and
  replaced at each refresh, the account and role checked again each time.
* In the ``external`` mode the hospital's OIDC provider signs the tokens; a claim
  (``CM_FHIR_EXTERNAL_USER_CLAIM``) names the practitioner by an identifier
  (``CM_FHIR_EXTERNAL_USER_SYSTEM``), and the same role rule applies
  (:meth:`SmartLaunch.external_principal`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import orjson
from sqlalchemy import delete, insert, select, update

from fhir_service.search.extract import date_range
from fhir_service.security.accounts import AccountStore, AppClient, AppClientRegistry
from fhir_service.security.principal import Principal, Scopes, parse_scope
from fhir_service.security.tokens import TokenService, unauthorized
from fhir_service.store.schema import auth_codes
from fhir_service.store.sqlstore import begin_write

CODE_SECONDS = 60
CACHE_SECONDS = 5.0
# scopes that are not about resources: identity (OpenID Connect) and refresh tokens
IDENTITY_SCOPES = ("openid", "fhirUser", "profile", "online_access", "offline_access")
REFRESH_AUDIENCE = "cm-fhir:refresh"
REFRESH_SECONDS = {"online_access": 12 * 3600, "offline_access": 30 * 24 * 3600}
DEFAULT_APP_SCOPES = "openid fhirUser user/*.rs"
DIRECTORY_READER = Principal(
    "cm-fhir:sign-in",
    scopes=Scopes.parse("system/Practitioner.rs system/PractitionerRole.rs "
                        "system/Organization.rs"))


class AuthorizeError(Exception):
    """A refused authorization request. ``redirect``: whether the error may be sent to the
    redirect URI (only once the client and its exact redirect URI are known, RFC 6749
    §4.1.2.1); otherwise it is shown to the user, never redirected."""

    def __init__(self, error: str, description: str, redirect: bool = True) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect = redirect


class GrantError(Exception):
    """A refused token request (``invalid_grant``, ``invalid_client``…)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Role:
    """An active PractitionerRole: the structure a practitioner acts for."""

    role_id: str
    organization: str
    organization_name: str
    label: str


@dataclass
class AuthRequest:
    client: AppClient
    redirect_uri: str
    state: str
    code_challenge: str
    scope: str  # granted (narrowed)
    nonce: str = ""
    params: dict[str, str] = field(default_factory=dict)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()


def _active_now(period: Any, now: float) -> bool:
    if not isinstance(period, dict):
        return True
    if isinstance(period.get("start"), str):
        rng = date_range(period["start"])
        if rng and rng[0] > now:
            return False
    if isinstance(period.get("end"), str):
        rng = date_range(period["end"])
        if rng and rng[1] <= now:
            return False
    return True


def _ref_id(ref: Any, rtype: str) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        head, _, rid = ref["reference"].rstrip("/").rpartition("/")
        if head.rsplit("/", 1)[-1] == rtype and rid:
            return rid
    return None


class Directory:
    """Practitioners and their roles, read through a door of their own: a principal that may
    read the directory (public to every client) and nothing of anyone's data."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self._roles: dict[str, tuple[float, list[Role]]] = {}

    def _search(self, rtype: str, items: list[tuple[str, str]], count: int = 50
                ) -> list[dict[str, Any]]:
        query = self.ctx.parser.parse(rtype, items, strict=True)
        query.count = count
        query.total = "none"
        with self.ctx.door(DIRECTORY_READER).read_session() as session:
            page = session.search(query)
        return [orjson.loads(s.content) for s in page.rows if s.content and not s.deleted]

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        stored, _ = self.ctx.door(DIRECTORY_READER).read(rtype, rid)
        if stored is None or stored.deleted or not stored.content:
            return None
        return dict(orjson.loads(stored.content))

    def practitioner_id(self, value: str) -> str | None:
        """A Practitioner by id or by identifier ``system|value`` (exactly one match)."""
        if "|" in value:
            found = self._search("Practitioner", [("identifier", value)], count=2)
            return str(found[0]["id"]) if len(found) == 1 else None
        value = value.removeprefix("Practitioner/")
        return value if self.read("Practitioner", value) is not None else None

    def practitioner_name(self, pid: str) -> str:
        res = self.read("Practitioner", pid) or {}
        for name in res.get("name", []) or []:
            if isinstance(name, dict):
                text = name.get("text") or " ".join(
                    [*name.get("given", []), name.get("family", "")]).strip()
                if text:
                    return str(text)
        return f"Practitioner/{pid}"

    def active_roles(self, pid: str, now: float | None = None, cached: bool = False
                     ) -> list[Role]:
        """The practitioner's roles active at ``now``: ``active`` not false, the period
        covering now, an organisation named."""
        now = time.time() if now is None else now
        hit = self._roles.get(pid)
        if cached and hit is not None and hit[0] > time.monotonic():
            return hit[1]
        roles = []
        for res in self._search("PractitionerRole", [("practitioner", f"Practitioner/{pid}")]):
            org = _ref_id(res.get("organization"), "Organization")
            if org is None or res.get("active") is False or \
                    not _active_now(res.get("period"), now):
                continue
            organization = self.read("Organization", org) or {}
            label = ""
            for code in res.get("code", []) or []:
                label = code.get("text") or next(
                    (c.get("display") for c in code.get("coding", []) if c.get("display")), "")
                if label:
                    break
            roles.append(Role(str(res["id"]), org, str(organization.get("name") or org),
                              str(label)))
        roles.sort(key=lambda r: (r.organization_name, r.role_id))
        self._roles[pid] = (time.monotonic() + CACHE_SECONDS, roles)
        return roles


class SmartLaunch:
    """The authorization server's side of the standalone launch (see module docstring)."""

    def __init__(self, ctx: Any, tokens: TokenService) -> None:
        self.ctx = ctx
        self.tokens = tokens
        engine = ctx.sql("practitioner sign-in").engine
        self.accounts = AccountStore(engine)
        self.apps = AppClientRegistry(engine)
        self.directory = Directory(ctx)
        self.resource_types = frozenset(ctx.resource_types)
        self._checked: dict[tuple[str, ...], float] = {}

    # --- the authorization request --------------------------------------------------------

    def builtin_redirect(self, origin: str) -> str:
        return f"{origin.rstrip('/')}/app/"

    def app_client(self, client_id: str, origin: str) -> AppClient | None:
        """A registered app client, or the built-in page (whose redirect URI is on this
        server's own origin)."""
        if client_id == AppClientRegistry.BUILTIN:
            stored = self.apps.get(client_id)
            if stored is not None and not stored.active:
                return stored
            return AppClient(client_id, "Plan de soins partagé", (self.builtin_redirect(origin),),
                             DEFAULT_APP_SCOPES, True)
        return self.apps.get(client_id)

    def check_request(self, params: dict[str, str], origin: str, fhir_base: str) -> AuthRequest:
        """Validate an authorization request (RFC 6749 §4.1.1, RFC 7636, SMART App Launch)."""
        client_id = params.get("client_id", "")
        client = self.app_client(client_id, origin) if client_id else None
        if client is None or not client.active:
            raise AuthorizeError("unauthorized_client", "Application inconnue ou désactivée "
                                 "(client_id).", redirect=False)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise AuthorizeError("invalid_request", "Adresse de retour (redirect_uri) non "
                                 "enregistrée pour cette application.", redirect=False)
        if params.get("response_type") != "code":
            raise AuthorizeError("unsupported_response_type", "response_type must be code")
        state = params.get("state", "")
        if not state or len(state) > 512:
            raise AuthorizeError("invalid_request", "state is required (1 to 512 characters)")
        if params.get("code_challenge_method") != "S256":
            raise AuthorizeError("invalid_request", "PKCE is required with "
                                 "code_challenge_method=S256 (plain is not accepted)")
        challenge = params.get("code_challenge", "")
        if not 43 <= len(challenge) <= 128 or \
                any(c not in _B64URL for c in challenge):
            raise AuthorizeError("invalid_request", "code_challenge must be the base64url "
                                 "SHA-256 of the code verifier (43 characters)")
        aud = params.get("aud", "").rstrip("/")
        if aud != fhir_base.rstrip("/"):
            raise AuthorizeError("invalid_request", "aud must be this server's FHIR base URL")
        scope = self.grantable(params.get("scope", ""), client)
        nonce = params.get("nonce", "")[:256]
        return AuthRequest(client, redirect_uri, state, challenge, scope, nonce, dict(params))

    def grantable(self, requested: str, client: AppClient) -> str:
        """The requested scopes this server grants to a practitioner through ``client``:
        identity scopes, and ``user/`` resource scopes on known types narrowed to the
        client's registration. ``patient/``, ``system/`` and unknown scopes are refused."""
        kept_identity, resource = [], []
        for scope in requested.split():
            if scope in IDENTITY_SCOPES:
                if scope not in kept_identity:
                    kept_identity.append(scope)
                continue
            parsed = parse_scope(scope)
            if not scope.startswith("user/") or parsed is None:
                raise AuthorizeError("invalid_scope", f"'{scope[:80]}': this server grants "
                                     "practitioners user/<Type or *>.<cruds> scopes (and "
                                     "openid, fhirUser, profile)")
            if parsed[0] != "*" and parsed[0] not in self.resource_types:
                raise AuthorizeError("invalid_scope", f"'{scope[:80]}': {parsed[0]} is not a "
                                     "FHIR R4 resource type of this server")
            resource.append(scope)
        allowed = Scopes.parse(" ".join(s for s in client.scopes.split()
                                        if s.startswith("user/")))
        granted = allowed.narrow(Scopes.parse(" ".join(resource)))
        if not granted.grants:
            raise AuthorizeError("invalid_scope", "no requested user/ scope is allowed for "
                                 "this application")
        return " ".join([*kept_identity, *granted.raw])

    # --- codes ------------------------------------------------------------------------------

    def issue_code(self, request: AuthRequest, username: str, practitioner: str,
                   role: Role, now: float | None = None) -> str:
        now = time.time() if now is None else now
        code = secrets.token_urlsafe(32)
        grant = {"user": username, "practitioner": practitioner, "role": role.role_id,
                 "structure": role.organization, "scope": request.scope,
                 "nonce": request.nonce, "auth_time": int(now)}
        with begin_write(self.ctx.sql("practitioner sign-in").engine) as conn:
            conn.execute(delete(auth_codes).where(auth_codes.c.expires < now - 3600))
            conn.execute(insert(auth_codes).values(
                code=_digest(code), client_id=request.client.client_id,
                redirect_uri=request.redirect_uri, code_challenge=request.code_challenge,
                grant=json.dumps(grant), expires=now + CODE_SECONDS, used=False))
        return code

    def exchange(self, form: dict[str, str], origin: str, fhir_base: str) -> dict[str, Any]:
        """``grant_type=authorization_code`` for a public client with its PKCE verifier."""
        client_id = form.get("client_id", "")
        client = self.app_client(client_id, origin) if client_id else None
        if client is None or not client.active:
            raise GrantError("invalid_client", "unknown or deactivated client_id", 401)
        code = form.get("code", "")
        verifier = form.get("code_verifier", "")
        if not code or not verifier:
            raise GrantError("invalid_request", "code and code_verifier are required")
        now = time.time()
        key = _digest(code)
        with begin_write(self.ctx.sql("practitioner sign-in").engine) as conn:
            claimed = conn.execute(update(auth_codes).where(
                auth_codes.c.code == key, auth_codes.c.used.is_(False),
                auth_codes.c.expires > now).values(used=True)).rowcount
            row = conn.execute(select(auth_codes).where(auth_codes.c.code == key)).first()
        if claimed != 1 or row is None:
            raise GrantError("invalid_grant", "the code is unknown, expired or already used")
        if row.client_id != client.client_id:
            raise GrantError("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri", "") != row.redirect_uri:
            raise GrantError("invalid_grant", "redirect_uri differs from the authorization "
                             "request's")
        if not 43 <= len(verifier) <= 128 or \
                not hmac.compare_digest(s256(verifier), row.code_challenge):
            raise GrantError("invalid_grant", "the code_verifier does not match the "
                             "code_challenge (PKCE S256)")
        grant = json.loads(row.grant)
        self._still_entitled(grant, now)
        return self._token_response(client, grant, now, fhir_base)

    def _still_entitled(self, grant: dict[str, Any], now: float) -> None:
        account = self.accounts.get(grant["user"])
        if account is None or not account.active or \
                account.practitioner != grant["practitioner"]:
            raise GrantError("invalid_grant", "the account was deactivated or changed")
        if not any(r.role_id == grant["role"] and r.organization == grant["structure"]
                   for r in self.directory.active_roles(grant["practitioner"], now)):
            raise GrantError("invalid_grant", "the practitioner's role is no longer active")

    def refresh(self, form: dict[str, str], origin: str, fhir_base: str) -> dict[str, Any]:
        """``grant_type=refresh_token`` (a public client): each refresh token is used once
        (its ``jti`` claimed in the replay table, ``auth_jti``) and replaced by a new one
        that ends when the first did; the account and the role are checked again; a
        ``scope`` may only narrow the grant."""
        client_id = form.get("client_id", "")
        client = self.app_client(client_id, origin) if client_id else None
        if client is None or not client.active:
            raise GrantError("invalid_client", "unknown or deactivated client_id", 401)
        assert self.tokens.key is not None
        now = time.time()
        try:
            claims = jwt.decode(form.get("refresh_token", ""), self.tokens.key.public_key,
                                algorithms=["RS256"], audience=REFRESH_AUDIENCE,
                                issuer=self.tokens.issuer,
                                options={"require": ["exp", "jti", "aud", "iss"]})
        except jwt.PyJWTError:
            raise GrantError("invalid_grant", "the refresh token is invalid or expired") \
                from None
        if claims.get("client_id") != client.client_id:
            raise GrantError("invalid_grant", "the refresh token was issued to another client")
        grant = dict(claims["grant"])
        if form.get("scope"):
            granted = grant["scope"].split()
            asked = form["scope"].split()
            if any(s not in granted for s in asked):
                raise GrantError("invalid_scope", "a refresh may only narrow the scopes")
            grant["scope"] = " ".join(asked)
        if not self.tokens.used_assertions.claim(f"refresh:{client.client_id}",
                                                 str(claims["jti"]), float(claims["exp"])):
            raise GrantError("invalid_grant", "this refresh token was already used")
        self._still_entitled(grant, now)
        grant.pop("nonce", None)
        return self._token_response(client, grant, now, fhir_base, int(claims["exp"]))

    def _token_response(self, client: AppClient, grant: dict[str, Any], now: float,
                        fhir_base: str, refresh_until: int | None = None) -> dict[str, Any]:
        assert self.tokens.key is not None
        lifetime = 60 * self.tokens.minutes
        scopes = grant["scope"].split()
        resource_scopes = " ".join(s for s in scopes if s not in IDENTITY_SCOPES)
        claims = {
            "iss": self.tokens.issuer, "sub": grant["user"], "aud": self.tokens.audience,
            "iat": int(now), "nbf": int(now), "exp": int(now) + lifetime,
            "jti": secrets.token_hex(16), "scope": resource_scopes,
            "client_id": client.client_id, "cm_user": grant["user"],
            "cm_role": f"PractitionerRole/{grant['role']}",
            "cm_structure": f"Organization/{grant['structure']}",
            "fhirUser": f"Practitioner/{grant['practitioner']}",
        }
        key = self.tokens.key
        access = jwt.encode(claims, key.private_key, algorithm="RS256",
                            headers={"kid": key.kid})
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                  "expires_in": lifetime, "scope": grant["scope"]}
        if "openid" in scopes:
            id_claims: dict[str, Any] = {
                "iss": self.tokens.issuer, "sub": grant["user"], "aud": client.client_id,
                "iat": int(now), "exp": int(now) + lifetime,
                "auth_time": grant.get("auth_time", int(now))}
            if grant.get("nonce"):
                id_claims["nonce"] = grant["nonce"]
            if "fhirUser" in scopes:
                id_claims["fhirUser"] = f"{fhir_base.rstrip('/')}/Practitioner/" \
                                        f"{grant['practitioner']}"
            if "profile" in scopes:
                id_claims["name"] = self.directory.practitioner_name(grant["practitioner"])
            answer["id_token"] = jwt.encode(id_claims, key.private_key, algorithm="RS256",
                                            headers={"kid": key.kid})
        lasting = [REFRESH_SECONDS[s] for s in scopes if s in REFRESH_SECONDS]
        if lasting:
            until = refresh_until or int(now) + max(lasting)
            answer["refresh_token"] = jwt.encode({
                "iss": self.tokens.issuer, "aud": REFRESH_AUDIENCE, "sub": grant["user"],
                "client_id": client.client_id, "iat": int(now), "exp": until,
                "jti": secrets.token_hex(16),
                "grant": {k: v for k, v in grant.items() if k != "nonce"}},
                key.private_key, algorithm="RS256", headers={"kid": key.kid})
        return answer

    # --- the principal of a practitioner's request ---------------------------------------

    def user_principal(self, claims: dict[str, Any]) -> Principal:
        """The caller of a token this server issued at sign-in: its structure is the
        organisation of the role named in the token, checked active again (cached
        ``CACHE_SECONDS``)."""
        client_id = str(claims.get("client_id", ""))
        user = str(claims.get("cm_user", ""))
        practitioner = _last(claims.get("fhirUser"))
        role = _last(claims.get("cm_role"))
        structure = _last(claims.get("cm_structure"))
        if not (client_id and user and practitioner and role and structure):
            raise unauthorized("Incomplete practitioner token")
        key = (client_id, user, practitioner, role, structure)
        if self._checked.get(key, 0.0) < time.monotonic():
            client = self.app_client(client_id, "")
            if client is None or not client.active:
                raise unauthorized("The token's application was deactivated")
            account = self.accounts.get(user)
            if account is None or not account.active or account.practitioner != practitioner:
                raise unauthorized("The practitioner's account was deactivated or changed: "
                                   "sign in again")
            self._require_role(practitioner, role, structure)
            self._checked[key] = time.monotonic() + CACHE_SECONDS
        return Principal(client_id=client_id, structure=structure, practitioner=practitioner,
                         scopes=Scopes.parse(str(claims.get("scope", ""))),
                         token_id=claims.get("jti"))

    def _require_role(self, practitioner: str, role: str | None, structure: str | None) -> None:
        roles = self.directory.active_roles(practitioner)
        if not any((role is None or r.role_id == role) and
                   (structure is None or r.organization == structure) for r in roles):
            raise unauthorized("The practitioner has no active role in this structure "
                               "(PractitionerRole ended or inactive): sign in again")

    def external_principal(self, claims: dict[str, Any], claim: str, system: str
                           ) -> Principal | None:
        """External mode: the hospital's OIDC provider names the practitioner in ``claim``
        (an identifier value of ``system``, or ``system|value``); their active roles decide
        the structure (the one the token names in ``cm_structure`` when they have several).
        None when the token carries no such claim (a system client's token)."""
        value = claims.get(claim)
        if not isinstance(value, str) or not value:
            return None
        ident = value if "|" in value else f"{system}|{value}"
        key = ("external", ident, str(claims.get("cm_structure", "")))
        cached = self._checked.get(key)
        practitioner = self.directory.practitioner_id(ident) if "|" in ident else None
        if practitioner is None:
            raise unauthorized("The signed-in user is not a known Practitioner of this server")
        wanted = _last(claims.get("cm_structure"))
        roles = [r for r in self.directory.active_roles(practitioner, cached=bool(cached))
                 if wanted is None or r.organization == wanted]
        structures = sorted({r.organization for r in roles})
        if not structures:
            raise unauthorized("The practitioner has no active role (PractitionerRole) in a "
                               "structure of this server")
        if len(structures) > 1:
            raise unauthorized("The practitioner works for several structures: the token must "
                               "name one (cm_structure)")
        self._checked[key] = time.monotonic() + CACHE_SECONDS
        scope = str(claims.get("scope", ""))
        return Principal(client_id=str(claims.get("client_id") or claims.get("azp")
                                       or claims.get("sub")),
                         structure=structures[0], practitioner=practitioner,
                         scopes=Scopes.parse(scope), token_id=claims.get("jti"))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _last(value: Any) -> str | None:
    if isinstance(value, str) and "/" in value:
        rid = value.rstrip("/").rsplit("/", 1)[1]
        return rid or None
    return None
