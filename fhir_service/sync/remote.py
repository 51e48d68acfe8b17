"""The partner's FHIR server, client side: ``requests`` with timeouts, and its authentication.

* ``none``: an open test server.
* ``bearer``: a static token (read from a file or an environment variable, never from the
  command line, where ``ps`` would show it).
* ``smart``: SMART Backend Services, client side
  (https://hl7.org/fhir/smart-app-launch/backend-services.html): the token endpoint is read
  from ``[base]/.well-known/smart-configuration``; each token request is a
  ``client_credentials`` grant with a fresh ``client_assertion`` (a JWT signed with our
  private key, from a PEM file: ``iss`` = ``sub`` = our client id at the partner, ``aud`` =
  the token endpoint, a unique ``jti``, expiry within 5 minutes) of type
  ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``. The token is kept until shortly
  before it expires, and requested again once when the server answers 401.

Nothing here logs a token, an assertion, or a body.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_service import __version__

log = logging.getLogger("cm_fhir.sync")

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = (429, 502, 503, 504)


class RemoteError(Exception):
    """The partner could not be reached, or refused what was asked (the message names the
    HTTP status and the OperationOutcome's issue codes and locations, never a body)."""

    def __init__(self, message: str, status: int | None = None,
                 outcome: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome


def outcome_summary(outcome: Any, details: bool = False, limit: int = 5) -> str:
    """``code at expression`` for each issue of an OperationOutcome; with ``details`` its
    diagnostics too (a partner's messages may quote data: off by default)."""
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    parts = []
    for issue in (outcome.get("issue") or [])[:limit]:
        if not isinstance(issue, dict):
            continue
        where = issue.get("expression") or issue.get("location") or []
        text = f"{issue.get('severity', '?')} {issue.get('code', '?')}"
        if where:
            text += f" at {', '.join(str(w) for w in where[:3])}"
        if details and issue.get("diagnostics"):
            text += f": {str(issue['diagnostics'])[:300]}"
        parts.append(text)
    return "; ".join(parts)


@dataclass
class SmartBackendAuth:
    """Access tokens from the partner's SMART Backend Services token endpoint."""

    fhir_base: str
    client_id: str
    key_file: Path
    scope: str = "system/*.cruds"
    kid: str | None = None
    token_endpoint: str | None = None  # discovered when None
    _key: Any = None
    _alg: str = "RS384"
    _token: str | None = None
    _expires: float = 0.0

    def load_key(self) -> None:
        if self._key is not None:
            return
        try:
            key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise RemoteError(f"cannot read the private key {self.key_file}: "
                              f"{type(exc).__name__}") from None
        if isinstance(key, rsa.RSAPrivateKey):
            self._alg = "RS384"
        elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
            self._alg = "ES384"
        elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
            self._alg = "ES256"
        else:
            raise RemoteError("the private key must be RSA or EC P-384/P-256 (SMART Backend "
                              "Services: RS384 or ES384)")
        self._key = key

    def discover(self, session: requests.Session, timeout: tuple[float, float]) -> str:
        if self.token_endpoint:
            return self.token_endpoint
        url = f"{self.fhir_base.rstrip('/')}/.well-known/smart-configuration"
        try:
            resp = session.get(url, headers={"Accept": "application/json"}, timeout=timeout,
                               allow_redirects=False)
        except requests.RequestException as exc:
            raise RemoteError(f"cannot reach {url} ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise RemoteError(f"{url} answered {resp.status_code}", resp.status_code)
        try:
            endpoint = resp.json().get("token_endpoint")
        except ValueError:
            endpoint = None
        if not isinstance(endpoint, str) or not endpoint:
            raise RemoteError(f"{url} names no token_endpoint")
        self.token_endpoint = endpoint
        return endpoint

    def assertion(self, endpoint: str, now: float | None = None) -> str:
        self.load_key()
        now = time.time() if now is None else now
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": endpoint,
                  "iat": int(now), "exp": int(now) + 240, "jti": uuid.uuid4().hex}
        headers = {"kid": self.kid} if self.kid else None
        return jwt.encode(claims, self._key, algorithm=self._alg, headers=headers)

    def token(self, session: requests.Session, timeout: tuple[float, float]) -> str:
        if self._token and time.time() < self._expires:
            return self._token
        endpoint = self.discover(session, timeout)
        form = {"grant_type": "client_credentials", "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(endpoint)}
        try:
            resp = session.post(endpoint, data=form, timeout=timeout, allow_redirects=False,
                                headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise RemoteError(f"cannot reach the token endpoint ({type(exc).__name__})") \
                from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body.get("access_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise RemoteError(f"the token endpoint refused the client assertion "
                              f"({resp.status_code} {error or ''})".rstrip(), resp.status_code)
        lifetime = body.get("expires_in") if isinstance(body.get("expires_in"), int) else 300
        self._token = body["access_token"]
        self._expires = time.time() + max(lifetime - 30, lifetime / 2)
        return self._token

    def forget(self) -> None:
        self._token = None
        self._expires = 0.0


@dataclass
class Remote:
    """A partner FHIR R4 server: ``request()`` sends FHIR JSON and returns (status, body,
    headers), raising :class:`RemoteError` when it cannot be reached."""

    base: str
    auth: str = "none"  # none | bearer | smart
    bearer_token: str | None = None
    smart: SmartBackendAuth | None = None
    timeout: tuple[float, float] = (10.0, 120.0)  # (connect, read) seconds
    retries: int = 3
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.base = self.base.rstrip("/")
        parts = urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RemoteError(f"the remote must be an http(s) FHIR base URL, not {self.base!r}")
        if self.auth not in ("none", "bearer", "smart"):
            raise RemoteError(f"remote authentication must be none, bearer or smart, "
                              f"not {self.auth!r}")
        if self.auth == "bearer" and not self.bearer_token:
            raise RemoteError("bearer authentication needs a token")
        if self.auth == "smart" and self.smart is None:
            raise RemoteError("smart authentication needs a client id and a key file")
        self.session.headers["User-Agent"] = f"cm-fhir-sync/{__version__}"

    def _authorization(self, fresh: bool = False) -> dict[str, str]:
        if self.auth == "bearer":
            return {"Authorization": f"Bearer {self.bearer_token}"}
        if self.auth == "smart":
            assert self.smart is not None
            if fresh:
                self.smart.forget()
            return {"Authorization": f"Bearer {self.smart.token(self.session, self.timeout)}"}
        return {}

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if path != self.base and not path.startswith((self.base + "/", self.base + "?")):
                raise RemoteError("the remote answered with a link to another server")
            return path
        return f"{self.base}/{path.lstrip('/')}" if path else self.base

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                params: list[tuple[str, str]] | None = None,
                headers: dict[str, str] | None = None,
                form: list[tuple[str, str]] | None = None) -> tuple[int, Any, dict[str, str]]:
        url = self.url(path)
        fresh = False
        attempt = 0
        while True:
            attempt += 1
            sent = {"Accept": FHIR_JSON, **(headers or {}), **self._authorization(fresh)}
            if body is not None:
                sent["Content-Type"] = FHIR_JSON
            try:
                resp = self.session.request(method, url, json=body, params=params, data=form,
                                            headers=sent, timeout=self.timeout,
                                            allow_redirects=False)
            except requests.RequestException as exc:
                raise RemoteError(f"cannot reach {self.base} ({type(exc).__name__})") \
                    from None
            if resp.status_code == 401 and self.auth == "smart" and not fresh:
                fresh = True  # the token may have been revoked or expired: once more
                continue
            if resp.status_code in RETRY_STATUSES and attempt < self.retries:
                pause = _retry_after(resp.headers.get("Retry-After"), attempt)
                log.info("remote busy (%s), retrying in %.1f s", resp.status_code, pause)
                time.sleep(pause)
                continue
            try:
                data = resp.json() if resp.content else None
            except ValueError:
                data = None
            return resp.status_code, data, dict(resp.headers)

    def expect(self, method: str, path: str, body: dict[str, Any] | None = None,
               params: list[tuple[str, str]] | None = None, ok: tuple[int, ...] = (200,),
               details: bool = False, form: list[tuple[str, str]] | None = None
               ) -> tuple[Any, dict[str, str]]:
        status, data, headers = self.request(method, path, body, params, form=form)
        if status not in ok:
            summary = outcome_summary(data, details)
            raise RemoteError(f"{method} {path.split('?', 1)[0]} answered {status}"
                              + (f": {summary}" if summary else ""), status, data)
        return data, headers

    def search_all(self, rtype: str, params: list[tuple[str, str]]
                   ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """Every match of a search (following ``next`` links on this server only), and the
        headers of the first page. The criteria go in a POST ``_search`` form, never in a URL
        (which access logs keep): an identifier may be an INS."""
        found: list[dict[str, Any]] = []
        bundle, first = self.expect("POST", f"{rtype}/_search", form=params)
        pages = 0
        while True:
            pages += 1
            for entry in (bundle or {}).get("entry") or []:
                res = entry.get("resource") if isinstance(entry, dict) else None
                mode = (entry.get("search") or {}).get("mode", "match")
                if isinstance(res, dict) and res.get("resourceType") == rtype and \
                        mode == "match":
                    found.append(res)
            nxt = next((link.get("url") for link in (bundle or {}).get("link") or []
                        if link.get("relation") == "next"), None)
            if not nxt or pages >= 10_000:
                return found, first
            bundle, _ = self.expect("GET", nxt)


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        return min(max(float(value or ""), 0.0), 30.0)
    except ValueError:
        return min(0.5 * 2 ** attempt, 10.0)
