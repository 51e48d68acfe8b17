"""Authentication: SMART Backend Services token requests and bearer-token verification.
Every rejection is a 401/403 with an OperationOutcome (API) or an RFC 6749 error (token)."""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.security.conftest import ClientKey, bearer, mint

TOKEN_URL = "http://test/auth/token"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def register(app: Any, client_id: str = "partner", key: ClientKey | None = None,
             scopes: str = "system/CarePlan.rs system/Patient.rs") -> ClientKey:
    key = key or ClientKey()
    app.state.security.clients.add(client_id, "Partner", "org-a", None, scopes, jwks=key.jwks())
    return key


def token_request(client: Any, assertion: str, scope: str = "system/CarePlan.rs") -> Any:
    return client.post("/auth/token", data={
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": ASSERTION, "client_assertion": assertion})


def api_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_smart_configuration(secure_client: Any) -> None:
    conf = secure_client.get("/fhir/.well-known/smart-configuration").json()
    assert conf["token_endpoint"] == "http://test/auth/token"
    assert "client_credentials" in conf["grant_types_supported"]
    assert "private_key_jwt" in conf["token_endpoint_auth_methods_supported"]
    jwks = secure_client.get(conf["jwks_uri"].replace("http://test", "")).json()
    assert jwks["keys"][0]["kty"] == "RSA"
    assert secure_client.get("/fhir/metadata").status_code == 200  # public


def test_backend_services_flow(secure_app: Any, secure_client: Any) -> None:
    key = register(secure_app)
    r = token_request(secure_client, key.assertion("partner", TOKEN_URL),
                      "system/CarePlan.rs system/Goal.rs system/CarePlan.cud")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert body["scope"] == "system/CarePlan.rs"  # narrowed to what the client may have
    assert secure_client.get("/fhir/CarePlan", headers=bearer(body["access_token"])) \
        .status_code == 200
    denied = secure_client.get("/fhir/Goal", headers=bearer(body["access_token"]))
    api_error(denied, 403)


def test_token_request_rejections(secure_app: Any, secure_client: Any) -> None:
    key = register(secure_app)
    other = ClientKey()
    cases = {
        "wrong key": other.assertion("partner", TOKEN_URL),
        "wrong audience": key.assertion("partner", "http://elsewhere/token"),
        "expired": key.assertion("partner", TOKEN_URL, lifetime=-120),
        "too long": key.assertion("partner", TOKEN_URL, lifetime=3600),
        "unknown client": key.assertion("nobody", TOKEN_URL),
        "sub differs": key.assertion("partner", TOKEN_URL, sub="someone-else"),
    }
    for name, assertion in cases.items():
        r = token_request(secure_client, assertion)
        assert r.status_code in (400, 401), (name, r.text)
        assert r.json()["error"] in ("invalid_client", "invalid_request"), name
    ok = key.assertion("partner", TOKEN_URL)
    assert token_request(secure_client, ok).status_code == 200
    replay = token_request(secure_client, ok)
    assert replay.status_code == 401 and "replay" in replay.json()["error_description"]
    none_alg = jwt.encode({"iss": "partner", "sub": "partner", "aud": TOKEN_URL,
                           "exp": int(time.time()) + 60, "jti": "x"}, None, algorithm="none")
    assert token_request(secure_client, none_alg).status_code == 401
    bad_grant = secure_client.post("/auth/token", data={"grant_type": "password"})
    assert bad_grant.status_code == 400


def _forge(app: Any, **claims: Any) -> str:
    key = app.state.security.tokens.key
    tokens = app.state.security.tokens
    now = int(time.time())
    base = {"iss": tokens.issuer, "aud": tokens.audience, "sub": "partner",
            "client_id": "partner", "iat": now, "nbf": now, "exp": now + 300,
            "scope": "system/*.rs", "jti": "t"}
    base.update(claims)
    base = {k: v for k, v in base.items() if v is not None}
    return jwt.encode(base, key.private_key, algorithm="RS256", headers={"kid": key.kid})


def test_bearer_token_rejections(secure_app: Any, secure_client: Any) -> None:
    register(secure_app, scopes="system/*.rs")
    now = int(time.time())
    good = _forge(secure_app)
    assert secure_client.get("/fhir/Patient", headers=bearer(good)).status_code == 200
    cases = {
        "no token": {},
        "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "garbage": bearer("not.a.token"),
        "expired": bearer(_forge(secure_app, exp=now - 3600, iat=now - 7200, nbf=now - 7200)),
        "not yet valid": bearer(_forge(secure_app, nbf=now + 3600)),
        "wrong audience": bearer(_forge(secure_app, aud="urn:other")),
        "wrong issuer": bearer(_forge(secure_app, iss="urn:evil")),
        "unknown client": bearer(_forge(secure_app, sub="ghost", client_id="ghost")),
        "alg none": bearer(jwt.encode({"sub": "partner", "exp": now + 60}, None,
                                      algorithm="none")),
        "bad signature": bearer(good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")),
    }
    other = ClientKey()
    cases["signed by another key"] = bearer(jwt.encode(
        {"iss": secure_app.state.security.tokens.issuer,
         "aud": secure_app.state.security.tokens.audience, "sub": "partner",
         "iat": now, "exp": now + 60}, other.key, algorithm="RS256"))
    hs = jwt.encode({"iss": secure_app.state.security.tokens.issuer, "sub": "partner",
                     "aud": secure_app.state.security.tokens.audience, "iat": now,
                     "exp": now + 60}, "s" * 48, algorithm="HS256")
    cases["symmetric alg"] = bearer(hs)
    for name, headers in cases.items():
        r = secure_client.get("/fhir/Patient", headers=headers)
        body = api_error(r, 401)
        assert "www-authenticate" in r.headers, name
        assert body["issue"][0]["code"] == "login", name
    no_scope = bearer(_forge(secure_app, scope="system/Patient.rs"))
    api_error(secure_client.get("/fhir/CarePlan", headers=no_scope), 403)
    write = secure_client.post("/fhir/Patient", json={"resourceType": "Patient"},
                               headers=bearer(good))
    api_error(write, 403)  # read-only scopes


def test_deactivated_client_is_refused(secure_app: Any, secure_client: Any) -> None:
    register(secure_app, scopes="system/*.rs")
    token = mint(secure_app, "partner")
    assert secure_client.get("/fhir/Patient", headers=bearer(token)).status_code == 200
    secure_app.state.security.clients.deactivate("partner")
    api_error(secure_client.get("/fhir/Patient", headers=bearer(token)), 401)


def test_scope_parsing_v1_and_v2() -> None:
    from fhir_service.security.principal import Scopes

    s = Scopes.parse("system/CarePlan.rs system/Goal.read user/Patient.write system/*.s junk")
    assert s.allows("CarePlan", "r") and s.allows("CarePlan", "s")
    assert not s.allows("CarePlan", "c")
    assert s.allows("Goal", "s") and not s.allows("Goal", "u")
    assert s.allows("Patient", "u") and not s.allows("Patient", "r")
    assert s.allows("Observation", "s") and not s.allows("Observation", "r")
    wide = Scopes.parse("system/*.cruds")
    assert wide.narrow(Scopes.parse("system/CarePlan.rd system/*.r")).raw == \
        ("system/CarePlan.rd", "system/*.r")
