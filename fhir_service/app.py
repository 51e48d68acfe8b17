"""The one composition root: settings → definitions, storage, router, operations, HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fhir_service import __version__, fhir
from fhir_service.context import FhirContext, build_context
from fhir_service.http.adapter import install
from fhir_service.http.auth import install as install_auth
from fhir_service.http.igdocs import install as install_ig_docs
from fhir_service.http.openapi import openapi
from fhir_service.operations import install_all as install_operations
from fhir_service.outcomes import FhirError
from fhir_service.router import Router
from fhir_service.security.service import Security
from fhir_service.settings import Settings


def create_app(settings: Settings | None = None, context: FhirContext | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    ctx = context or build_context(settings)
    router = Router(ctx)
    install_operations(router)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        subscriptions = getattr(ctx, "subscriptions", None)  # (operations/subscription.py)
        if subscriptions is not None:
            subscriptions.start()  # the delivery worker
        yield
        if subscriptions is not None:
            subscriptions.stop()
        router.close()  # every audit record written and indexed
        if context is None:  # the app built its context: it closes it
            ctx.close()

    app = FastAPI(title="cm-fhir", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=lifespan)
    app.state.ctx = ctx
    app.state.router = router
    security = Security.from_context(ctx)
    app.state.security = security
    install(app, router, settings.base_path, settings.public_base_url, settings.max_body_bytes,
            security, settings.request_threads)
    install_auth(app, security, settings.public_base_url, settings.base_path)
    install_ig_docs(app)
    from fhir_service.http.app_ui import install as install_app_ui

    install_app_ui(app, settings.public_base_url, settings.base_path)  # /app/ (docs/app.md)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(CORSMiddleware,
                           allow_origins=[o.strip() for o in settings.cors_origins.split(",")],
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "If-Match",
                                          "If-None-Exist", "If-None-Match", "Prefer"],
                           expose_headers=["ETag", "Location", "Last-Modified"])

    @app.get("/", include_in_schema=False)
    def root() -> Any:
        return RedirectResponse(url=f"{settings.base_path}/metadata")

    @app.exception_handler(StarletteHTTPException)
    async def framework_error(request: Any, exc: StarletteHTTPException) -> Any:
        """What the framework answers itself (no route matched, e.g. a control character in
        the path) is an OperationOutcome too."""
        category = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "invalid")
        err = FhirError(category, f"No such URL or method ({exc.status_code})")
        return Response(fhir.dumps(err.outcome()), status_code=exc.status_code,
                        media_type="application/fhir+json; charset=utf-8")

    openapi_cache: dict[str, Any] = {}

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_json() -> Any:
        """OpenAPI 3 description of the FHIR API, derived from the CapabilityStatement."""
        if "doc" not in openapi_cache:
            server = settings.public_base_url.rstrip("/") or settings.base_path or "/"
            caps = orjson.loads(router.capabilities(server))
            openapi_cache["doc"] = orjson.dumps(openapi(ctx, caps, server,
                                                        auth=settings.auth != "off"))
        return Response(openapi_cache["doc"], media_type="application/json")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Any:
        return JSONResponse({"status": "ok"})

    from fhir_service.logs import configure

    configure(getattr(settings, "log_level", "INFO"))  # (each worker process, too)
    return app
