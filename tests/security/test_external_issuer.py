"""External issuer mode: tokens from another authorisation server, keys fetched from its JWKS
URL (served here on 127.0.0.1 by the test)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any

import jwt
import pytest

from tests.security.conftest import ClientKey, bearer


@pytest.fixture
def jwks_server() -> Any:
    key = ClientKey(kid="issuer-key")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(key.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield key, f"http://127.0.0.1:{server.server_port}/jwks"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_tokens_of_a_trusted_external_issuer(make_context: Any, jwks_server: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    key, url = jwks_server
    ctx = make_context(auth="external", issuer="https://auth.example.org",
                       audience="https://fhir.example.org/fhir", jwks_url=url,
                       rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    now = int(time.time())

    def token(**claims: Any) -> str:
        base = {"iss": "https://auth.example.org", "aud": "https://fhir.example.org/fhir",
                "sub": "dpi-chs", "iat": now, "exp": now + 300, "scope": "system/*.rs",
                "cm_structure": "Organization/org-a", "jti": "j"}
        base.update(claims)
        return jwt.encode(base, key.key, algorithm="RS384", headers={"kid": key.kid})

    with TestClient(app, base_url="http://test") as c:
        assert c.get("/fhir/Organization", headers=bearer(token())).status_code == 200
        smart = c.get("/fhir/.well-known/smart-configuration").json()
        assert smart["issuer"] == "https://auth.example.org" and "token_endpoint" not in smart
        for bad in (token(iss="https://evil.example"), token(aud="urn:other"),
                    token(exp=now - 600, iat=now - 900),
                    jwt.encode({"iss": "https://auth.example.org", "sub": "x",
                                "aud": "https://fhir.example.org/fhir", "iat": now,
                                "exp": now + 60}, ClientKey(kid="issuer-key").key,
                               algorithm="RS384", headers={"kid": "issuer-key"})):
            assert c.get("/fhir/Organization", headers=bearer(bad)).status_code == 401
        assert c.post("/auth/token", data={"grant_type": "client_credentials"}).status_code \
            == 404  # no embedded issuer in this mode
        who = app.state.security.authenticate(f"Bearer {token()}")
        assert who is not None and who.structure == "org-a" and who.client_id == "dpi-chs"
