"""The security components of one server, built from settings (see docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_service.context import FhirContext
from fhir_service.outcomes import FhirError
from fhir_service.security.clients import ClientRegistry
from fhir_service.security.principal import Principal
from fhir_service.security.ratelimit import RateLimiter
from fhir_service.security.tokens import SigningKey, TokenService

SCOPES_SUPPORTED = ["system/*.cruds", "system/*.rs", "system/CarePlan.rs", "system/Goal.rs",
                    "system/CareTeam.rs", "system/EpisodeOfCare.rs", "system/*.read",
                    "system/*.write", "system/*.*"]


@dataclass
class Security:
    mode: str  # embedded | external | off
    clients: ClientRegistry
    tokens: TokenService | None
    limiter: RateLimiter
    launch: Any = None  # practitioner sign-in (security/smart_launch.py), set by http/auth.py

    @classmethod
    def from_context(cls, ctx: FhirContext) -> Security:
        s = ctx.settings
        clients = ClientRegistry(ctx.sql("OAuth clients").engine)
        limiter = RateLimiter(s.rate_limit_per_second, s.rate_limit_burst)
        if s.auth == "off":
            return cls("off", clients, None, limiter)
        if s.auth not in ("embedded", "external"):
            raise ValueError(f"auth must be embedded, external or off, not '{s.auth}'")
        base = s.public_base_url.rstrip("/")
        issuer = s.issuer or (f"{base}/auth" if base else "urn:cm-fhir:issuer")
        audience = s.audience or (base or "urn:cm-fhir:api")
        key = SigningKey.load_or_create(s.keys_dir) if s.auth == "embedded" else None
        tokens = TokenService(s.auth, issuer, audience, clients, key, s.jwks_url,
                              s.token_minutes)
        return cls(s.auth, clients, tokens, limiter)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The caller (None when authentication is off: the server acts for itself)."""
        if self.tokens is None:
            return None
        return self.tokens.authenticate(authorization)

    def smart_configuration(self, fhir_base: str, auth_base: str) -> dict[str, Any]:
        if self.tokens is None:
            raise FhirError("not-found", "Authentication is off on this server")
        config: dict[str, Any] = {
            "issuer": self.tokens.issuer,
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384", "RS256"],
            "scopes_supported": SCOPES_SUPPORTED,
            "capabilities": ["client-confidential-asymmetric", "permission-v2",
                             "permission-v1"],
        }
        if self.mode == "embedded":
            config["token_endpoint"] = f"{auth_base}/token"
            config["jwks_uri"] = f"{auth_base}/jwks"
        if self.launch is not None:
            self._sign_in(config, auth_base)
        return config

    def _sign_in(self, config: dict[str, Any], auth_base: str) -> None:
        """Practitioner sign-in (SMART App Launch standalone, security/smart_launch.py)."""
        settings = self.launch.ctx.settings
        if self.mode == "embedded":
            authorize = f"{auth_base}/authorize"
        else:
            authorize = settings.external_authorize_url
            if not (authorize and settings.external_user_claim):
                return
            if settings.external_token_url:
                config["token_endpoint"] = settings.external_token_url
        config["authorization_endpoint"] = authorize
        config["grant_types_supported"] = ["authorization_code", "client_credentials"] + (
            ["refresh_token"] if self.mode == "embedded" else [])
        config["response_types_supported"] = ["code"]
        config["code_challenge_methods_supported"] = ["S256"]
        config["token_endpoint_auth_methods_supported"] = ["private_key_jwt", "none"]
        config["scopes_supported"] = [*SCOPES_SUPPORTED, "openid", "fhirUser", "profile",
                                      "online_access", "offline_access", "user/*.rs",
                                      "user/*.cruds", "user/*.read"]
        config["capabilities"] = [*config["capabilities"], "launch-standalone",
                                  "client-public", "sso-openid-connect"]
