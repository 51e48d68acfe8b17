"""OAuth 2.0 bearer tokens (JWT) and SMART Backend Services client authentication.

https://hl7.org/fhir/smart-app-launch/backend-services.html — a registered client obtains an
access token with ``grant_type=client_credentials`` and a ``client_assertion`` JWT signed
with its private key (public keys registered as a JWKS). In the embedded mode this service
issues the access tokens itself (RS256, key under ``keys_dir``, published at
``/auth/jwks``); in the external mode it trusts an issuer (issuer, audience, JWKS URL in
settings). ``alg: none`` and symmetric algorithms are never accepted.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fhir_service.outcomes import FhirError
from fhir_service.security.clients import Client, ClientRegistry, UsedAssertions
from fhir_service.security.principal import Principal, Scopes, requested_scope_problem

ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LEEWAY_SECONDS = 30


class InvalidScope(FhirError):
    """A requested scope this server never grants (OAuth ``invalid_scope``, RFC 6749 §5.2)."""


class InvalidTokenRequest(FhirError):
    """A token request this endpoint cannot read (OAuth ``invalid_request``)."""


def unauthorized(message: str) -> FhirError:
    return FhirError("unauthorized", message,
                     headers={"WWW-Authenticate": 'Bearer realm="cm-fhir", error="invalid_token"'})


@dataclass
class SigningKey:
    kid: str
    private_pem: bytes
    _private: Any = None
    _public: Any = None

    @classmethod
    def load_or_create(cls, folder: Path) -> SigningKey:
        """The key of ``folder/signing-key.pem``, created when absent: the folder private
        (0700) when this creates it, the file private (0600) from its first byte."""
        from fhir_service.security.private_files import create_once

        def new_key() -> bytes:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())

        pem = create_once(folder / "signing-key.pem", new_key)
        kid = uuid.uuid5(uuid.NAMESPACE_URL, pem.decode()).hex[:16]
        return cls(kid, pem)

    @property
    def private_key(self) -> Any:
        """Parsed once: loading validates the RSA key, which takes milliseconds."""
        if self._private is None:
            self._private = serialization.load_pem_private_key(self.private_pem, password=None)
        return self._private

    @property
    def public_key(self) -> Any:
        if self._public is None:
            self._public = self.private_key.public_key()
        return self._public

    def jwks(self) -> dict[str, Any]:
        public = self.public_key
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}


class TokenService:
    def __init__(self, mode: str, issuer: str, audience: str, clients: ClientRegistry,
                 key: SigningKey | None, jwks_url: str = "", minutes: int = 60) -> None:
        self.mode = mode
        self.issuer = issuer
        self.audience = audience
        self.clients = clients
        self.key = key
        if minutes < 1:
            raise ValueError(f"the token lifetime (CM_FHIR_TOKEN_MINUTES) must be at least 1 "
                             f"minute, not {minutes}")
        self.minutes = minutes
        self._jwks_client = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        # client assertions already used: in the database, shared by workers and restarts
        self.used_assertions = UsedAssertions(clients.engine)
        # verified tokens → (claims, valid until): a signature is checked once per token;
        # expiry and the client's status are still checked on every request
        self._verified: dict[str, tuple[dict[str, Any], float]] = {}
        # practitioner sign-in (security/smart_launch.py): the principal of a user's token,
        # from their active role; None for a token that is not a user's
        self.user_principal: Callable[[dict[str, Any]], Principal | None] | None = None

    # --- issuing (embedded mode) ---------------------------------------------------------

    def mint(self, client: Client, scopes: Scopes, minutes: int | None = None,
             now: float | None = None,
             resource_types: frozenset[str] | set[str] | None = None) -> tuple[str, int]:
        """An access token for a registered client (the scopes narrowed to what it may have),
        valid ``minutes`` (default: the setting, ``CM_FHIR_TOKEN_MINUTES``; at least 1).
        Requested scopes must be SMART ``system/`` scopes on known types (``resource_types``
        when given): anything else raises :class:`InvalidScope`."""
        if self.key is None:
            raise FhirError("not-supported", "This server does not issue tokens (external mode)")
        lifetime_minutes = self.minutes if minutes is None else minutes
        if isinstance(lifetime_minutes, bool) or not isinstance(lifetime_minutes, int) \
                or lifetime_minutes < 1:
            raise ValueError(f"a token lifetime is a whole number of minutes, at least 1 "
                             f"(not {lifetime_minutes!r})")
        problems = [p for p in (requested_scope_problem(s, resource_types) for s in scopes.raw)
                    if p]
        if problems:
            raise InvalidScope("forbidden", "; ".join(problems[:5]))
        granted = Scopes.parse(client.scopes).narrow(scopes) if scopes.raw else \
            Scopes.parse(client.scopes)
        if not granted.grants:
            raise InvalidScope("forbidden",
                               "None of the requested scopes is allowed for this client")
        now = now or time.time()
        lifetime = 60 * lifetime_minutes
        claims = {
            "iss": self.issuer, "sub": client.client_id, "aud": self.audience,
            "iat": int(now), "nbf": int(now), "exp": int(now) + lifetime,
            "jti": uuid.uuid4().hex, "scope": " ".join(granted.raw),
            "client_id": client.client_id,
        }
        if client.structure:
            claims["cm_structure"] = f"Organization/{client.structure}"
        if client.practitioner:
            claims["fhirUser"] = f"Practitioner/{client.practitioner}"
        token = jwt.encode(claims, self.key.private_key, algorithm="RS256",
                           headers={"kid": self.key.kid})
        return token, lifetime

    def token_request(self, form: dict[str, str], token_url: str,
                      resource_types: frozenset[str] | set[str] | None = None
                      ) -> dict[str, Any]:
        """client_credentials with a private_key_jwt client assertion (SMART Backend Services).
        Scopes: as :meth:`mint` (``system/`` only, known types)."""
        if form.get("grant_type") != "client_credentials":
            raise InvalidTokenRequest("invalid", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise InvalidTokenRequest("invalid", f"client_assertion_type must be {ASSERTION_TYPE} with a "
                            "client_assertion")
        assertion = form["client_assertion"]
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Malformed client assertion: {exc}") from None
        client = self.clients.get(str(unverified.get("iss", "")))
        if client is None or not client.active or not client.jwks:
            raise unauthorized("Unknown client, or no public key registered for it")
        if header.get("alg") not in ASYMMETRIC:
            raise unauthorized("The client assertion must be signed with an asymmetric key")
        key = _key_from_jwks(json.loads(client.jwks), header.get("kid"), header.get("alg"))
        try:
            claims = jwt.decode(assertion, key=key, algorithms=ASYMMETRIC, audience=token_url,
                                issuer=client.client_id, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iss", "sub", "aud", "jti"]})
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Client assertion rejected: {exc}") from None
        if claims["sub"] != client.client_id:
            raise unauthorized("The assertion's sub must be the client id")
        if claims["exp"] - time.time() > 300 + LEEWAY_SECONDS:
            raise unauthorized("The assertion must expire within 5 minutes")
        self._check_replay(client.client_id, claims["jti"], claims["exp"])
        token, lifetime = self.mint(client, Scopes.parse(form.get("scope", "")),
                                    resource_types=resource_types)
        return {"access_token": token, "token_type": "bearer", "expires_in": lifetime,
                "scope": jwt.decode(token, options={"verify_signature": False})["scope"]}

    def _check_replay(self, client_id: str, jti: Any, exp: float) -> None:
        if not isinstance(jti, str) or not jti:
            raise unauthorized("The assertion's jti must be a non-empty string")
        if not self.used_assertions.claim(client_id, jti, float(exp) + LEEWAY_SECONDS):
            raise unauthorized("This client assertion was already used (jti replay)")

    # --- verifying ---------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise unauthorized("Authentication required: send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Only Bearer tokens are accepted")
        token = token.strip()
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            return self._principal(cached[0])
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise unauthorized("Malformed token") from None
        if header.get("alg") not in ASYMMETRIC:
            raise unauthorized(f"Token algorithm '{header.get('alg')}' is not accepted")
        key = self._verification_key(token)
        try:
            claims = jwt.decode(token, key=key, algorithms=ASYMMETRIC, audience=self.audience,
                                issuer=self.issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise unauthorized("The token has expired") from None
        except jwt.ImmatureSignatureError:
            raise unauthorized("The token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise unauthorized("The token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise unauthorized("The token comes from an untrusted issuer") from None
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Invalid token: {exc}") from None
        if len(self._verified) > 10_000:
            now = time.time()
            self._verified = {k: v for k, v in self._verified.items() if v[1] > now}
        self._verified[token] = (claims, float(claims["exp"]) + LEEWAY_SECONDS)
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        if self.user_principal is not None:
            user = self.user_principal(claims)
            if user is not None:
                return user
        client_id = str(claims.get("client_id") or claims["sub"])
        client = self.clients.get(client_id)
        if self.mode == "embedded" and (client is None or not client.active):
            raise unauthorized("The token's client is not registered or was deactivated")
        structure = client.structure if client else _ref_id(claims.get("cm_structure"))
        practitioner = client.practitioner if client else _ref_id(claims.get("fhirUser"))
        return Principal(client_id=client_id, structure=structure, practitioner=practitioner,
                         scopes=Scopes.parse(str(claims.get("scope", ""))),
                         operator=bool(client and client.role == "operator"),
                         token_id=claims.get("jti"))

    def _verification_key(self, token: str) -> Any:
        if self.mode == "embedded":
            assert self.key is not None
            return self.key.public_key
        if self._jwks_client is None:
            raise unauthorized("No JWKS configured for the external issuer")
        try:
            return self._jwks_client.get_signing_key_from_jwt(token).key
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Cannot find the token's signing key: {exc}") from None


def _ref_id(value: Any) -> str | None:
    if isinstance(value, str) and "/" in value:
        return value.rsplit("/", 1)[1]
    return None


def _key_from_jwks(jwks: dict[str, Any], kid: str | None, alg: str | None) -> Any:
    keys = jwks.get("keys", [])
    candidates = [k for k in keys if kid is None or k.get("kid") == kid]
    if not candidates:
        raise unauthorized("No registered key matches the assertion's kid")
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg).key
    except jwt.PyJWTError as exc:
        raise unauthorized(f"Unusable registered key: {exc}") from None
