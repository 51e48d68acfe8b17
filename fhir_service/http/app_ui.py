"""The shared care-plan page at ``/app/`` (docs/app.md): static files of ``fhir_service/web``
(plain ES modules, no build step), served with a Content-Security-Policy that allows only
this origin. The page is a public SMART app (``cm-fhir-app``, its redirect URI ``/app/`` on
this server's origin): it signs the practitioner in and reads ``/fhir`` with their token,
like any partner; nothing here reads data."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

WEB = Path(__file__).resolve().parent.parent / "web"
FILES = {"app.js": "text/javascript", "fhir.js": "text/javascript", "i18n.js": "text/javascript",
         "style.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def install(app: FastAPI, public_base_url: str, base_path: str) -> None:
    index = (WEB / "index.html").read_text(encoding="utf-8")
    files = {name: (WEB / name).read_bytes() for name in FILES}

    @app.get("/app", include_in_schema=False)
    def app_root() -> Response:
        return RedirectResponse("/app/", status_code=308)

    @app.get("/app/", include_in_schema=False)
    def app_index(request: Request) -> Response:
        base = public_base_url.rstrip("/") or f"{str(request.base_url).rstrip('/')}{base_path}"
        page = index.replace("{{FHIR_BASE}}", html.escape(base, quote=True))
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={**HEADERS, "Cache-Control": "no-store"})

    @app.get("/app/{name}", include_in_schema=False)
    def app_file(name: str) -> Response:
        if name not in files:
            return Response("Not found", status_code=404, media_type="text/plain")
        return Response(files[name], media_type=FILES[name],
                        headers={**HEADERS, "Cache-Control": "no-cache"})
