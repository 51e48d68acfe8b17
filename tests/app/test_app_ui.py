"""The page's files are served by the service with a strict Content-Security-Policy; its
HTML names the FHIR base the page signs in for (the ``aud`` of its authorization request)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_the_page_is_served_with_its_fhir_base_and_a_strict_policy(make_context: Any,
                                                                   tmp_path: Any) -> None:
    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys")
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as client:
        page = client.get("/app/")
        assert page.status_code == 200
        assert 'data-fhir-base="http://test/fhir"' in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy
        assert page.headers["cache-control"] == "no-store"
        script = client.get("/app/app.js")
        assert script.status_code == 200 and "text/javascript" in script.headers["content-type"]
        assert "innerHTML" not in script.text  # data goes in as text only
        for name in ("../settings.py", "index.html.bak", "%2e%2e%2fapp.py"):
            assert client.get(f"/app/{name}").status_code == 404
        assert client.get("/app", follow_redirects=False).headers["location"] == "/app/"
