"""FastAPI adapter: HTTP in → :class:`FhirRequest` → router → HTTP out. Nothing FHIR-specific
is decided here except content negotiation (https://hl7.org/fhir/R4/http.html#mime-type).

Only JSON is spoken: an XML ``Accept`` or ``_format`` answers 406, an XML body 415, each with
an OperationOutcome. Logs are structured, carry a request id and never patient data (no query
strings, no bodies, no resource ids).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import unquote

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from fhir_service import fhir, logs
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.router import Router
from fhir_service.security.service import Security

log = logging.getLogger("cm_fhir.http")

JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir", "json",
              "text/json"}
XML_MARKERS = ("xml",)
BODY_TYPES = JSON_TYPES | {"application/json-patch+json", "application/x-www-form-urlencoded",
                           "text/csv"}
FHIR_CONTENT_TYPE = "application/fhir+json; charset=utf-8"


def _format_param(query: list[tuple[str, str]]) -> str | None:
    for key, value in query:
        if key == "_format":
            return value
    return None


def negotiate(req: FhirRequest) -> None:
    """Formats (JSON only) and FHIR versions (https://hl7.org/fhir/R4/versioning.html#mt-version).

    A ``fhirVersion`` MIME parameter must name this server's version: ``4.0`` (the major.minor
    form the specification uses) or ``4.0.1``. On ``Accept`` (or ``_format``) any other
    version answers **406 Not Acceptable** when no acceptable type remains (``Accept`` may
    list alternatives: one JSON type with version 4.0 or none suffices); on the
    ``Content-Type`` of a body it answers **415 Unsupported Media Type**: the body is in a
    format (another version's JSON) this server cannot read. Both with an OperationOutcome.
    """
    supported_versions = ("4.0", "4.0.1")

    def parse(value: str) -> tuple[str, str | None]:
        """(media type, fhirVersion or None) of one media range."""
        kind, *params = value.split(";")
        version = None
        for param in params:
            name, _, val = param.partition("=")
            if name.strip().lower() == "fhirversion":
                version = val.strip().strip('"').strip()
        return kind.strip().lower(), version

    def version_error(category: str, where: str) -> FhirError:
        return FhirError(category, f"{where}: the requested fhirVersion is not supported: "
                         "this server speaks FHIR R4 only (fhirVersion=4.0 or 4.0.1)",
                         "_format" if where == "_format" else None)

    fmt = _format_param(req.query)
    if fmt is not None:
        kind, version = parse(fmt)
        if kind not in JSON_TYPES:
            raise FhirError("not-acceptable", f"_format={fmt[:40]} is not supported: this "
                            "server speaks FHIR JSON only (application/fhir+json)", "_format")
        if version is not None and version not in supported_versions:
            raise version_error("not-acceptable", "_format")
    accept = (req.header("accept") or "").lower()
    if fmt is None and accept:
        ranges = [parse(a) for a in accept.split(",")]
        usable = [(k, v) for k, v in ranges
                  if k in JSON_TYPES or k in ("*/*", "application/*", "") or k.endswith("+json")]
        if not usable:
            raise FhirError("not-acceptable", f"Accept: {accept[:60]} cannot be served: this "
                            "server speaks FHIR JSON only (application/fhir+json)")
        if all(v is not None and v not in supported_versions for _, v in usable):
            raise version_error("not-acceptable", "Accept")
    if req.body and req.method in ("POST", "PUT", "PATCH"):
        ctype, version = parse(req.header("content-type") or "")
        if ctype and ctype not in BODY_TYPES:
            raise FhirError("unsupported-media-type", f"Content-Type {ctype[:60]} is not "
                            "supported: send application/fhir+json")
        if version is not None and version not in supported_versions:
            raise version_error("unsupported-media-type", "Content-Type")


def _pretty(req: FhirRequest) -> bool:
    return any(k == "_pretty" and v == "true" for k, v in req.query)


def render(req: FhirRequest, resp: FhirResponse) -> Response:
    headers = dict(resp.headers)
    if req.request_id:
        headers["X-Request-Id"] = req.request_id
    if resp.body is None or resp.status in (204, 304):
        return Response(status_code=resp.status, headers=headers)
    if not isinstance(resp.body, (bytes, dict)):  # pieces of a file (a bulk export's): streamed
        return StreamingResponse(resp.body, status_code=resp.status, headers=headers)
    body = resp.body if isinstance(resp.body, bytes) else fhir.dumps(resp.body)
    if _pretty(req):
        body = fhir.pretty_bytes(body)
    return Response(content=body, status_code=resp.status, headers=headers,
                    media_type=FHIR_CONTENT_TYPE)


def error_response(req: FhirRequest, exc: FhirError) -> Response:
    return render(req, FhirResponse(exc.status, exc.outcome(), dict(exc.headers)))


PUBLIC_PATHS = (["metadata"], [".well-known", "smart-configuration"])


def install(app: FastAPI, router: Router, base_path: str, public_base_url: str,
            max_body_bytes: int, security: Security, request_threads: int = 2) -> None:
    base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
    # Requests other than reads by id run in at most ``request_threads`` pool threads, the
    # others wait their turn on the event loop. Python runs one thread at a time: with 16
    # connections, 16 pool threads handed the interpreter to each other at every SQLite call
    # and each search cost twice the CPU of a lone one (bench/README.md, "request threads").
    # Created on first use: a limiter belongs to the running event loop.
    limiter: list[anyio.CapacityLimiter] = []
    app.state.request_limiter = limiter

    async def in_thread(req: FhirRequest) -> FhirResponse:
        if not limiter:
            limiter.append(anyio.CapacityLimiter(request_threads))
        return await anyio.to_thread.run_sync(router.handle, req, limiter=limiter[0])

    async def handle(request: Request) -> Response:
        request_id = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:64]
        bound = logs.bind(request_id)  # on every log record of this request (logs.py)
        try:
            return await serve(request, request_id)
        finally:
            logs.unbind(bound)

    async def serve(request: Request, request_id: str) -> Response:
        started = time.perf_counter()
        raw_path = request.url.path[len(base_path):].strip("/")
        segments = [unquote(s) for s in raw_path.split("/") if s]
        base_url = public_base_url.rstrip("/") if public_base_url else (
            f"{request.url.scheme}://{request.url.netloc}{base_path}")
        req = FhirRequest(
            method=request.method.upper(),
            segments=segments,
            query=list(request.query_params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            base_url=base_url,
            request_id=request_id,
        )
        status = 500
        try:
            if segments not in PUBLIC_PATHS:
                req.principal = security.authenticate(req.header("authorization"))
                if req.principal is not None:
                    security.limiter.check(req.principal.client_id)
            req.body = await _read_body(request, max_body_bytes)
            negotiate(req)
            if segments == PUBLIC_PATHS[1]:
                auth_base = (public_base_url.rsplit(base_path, 1)[0] if public_base_url
                             else f"{request.url.scheme}://{request.url.netloc}") + "/auth"
                resp = FhirResponse(200, security.smart_configuration(base_url, auth_base))
            elif _is_fast(req) and not (req.principal and req.principal.operator):
                # read/vread by id: a key look-up, cheaper than a thread hop; its audit record
                # is awaited here without blocking the event loop
                resp = await router.handle_read(req)
            else:
                resp = await in_thread(req)
            response = render(req, resp)
        except FhirError as exc:
            response = error_response(req, exc)
        except Exception as exc:  # noqa: BLE001 (logged below, without exc_info)
            # the type, the request id and the frames; no message that may quote request
            # data (see _redacted_traceback), no exc_info for a handler to format in full
            log.error("unhandled error %s (request id %s)\n%s", type(exc).__qualname__,
                      request_id, _redacted_traceback(exc), extra={"request_id": request_id})
            outcome = operation_outcome([Issue(
                "error", "exception",
                f"Internal error (request id {request_id}); nothing was written")])
            response = Response(content=fhir.dumps(outcome), status_code=500,
                                media_type=FHIR_CONTENT_TYPE,
                                headers={"X-Request-Id": request_id})
        status = response.status_code
        log.info(json.dumps({
            "event": "request", "request_id": request_id, "method": req.method,
            "type": segments[0] if segments else "", "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }))
        return response

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    app.add_api_route(base_path or "/", handle, methods=methods, include_in_schema=False)
    app.add_api_route(base_path + "/{path:path}", handle, methods=methods,
                      include_in_schema=False)


def _redacted_traceback(exc: BaseException) -> str:
    """An unhandled error's traceback for the log: every frame (file, line, function, source
    line; never local variables) of the exception and its causes, but messages only where
    they cannot quote request data. A database error keeps the database's own message when
    the database is SQLite (which never quotes values) and its statement (placeholders, its
    parameters never shown: ``hide_parameters``); the messages of other errors
    (``KeyError('<an id>')``, ``int()`` of a value, PostgreSQL's ``DETAIL: Key (…)=(…)``)
    are withheld."""
    import traceback

    chain: list[tuple[BaseException, str]] = []
    current: BaseException | None = exc
    link = ""
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, ("The above exception was the direct cause "
                                                "of the following exception:")
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, ("During handling of the above exception, "
                                                  "another exception occurred:")
        else:
            current = None
    parts: list[str] = []
    following = ""
    for error, link in reversed(chain):
        if following:
            parts.append(f"\n{following}\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(f"{_error_name(error)}: {_safe_message(error)}\n")
        following = link
    return "".join(parts).rstrip("\n")


def _error_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"


def _safe_message(error: BaseException) -> str:
    import sqlite3

    from sqlalchemy.exc import StatementError

    if isinstance(error, sqlite3.Error):
        return str(error)
    if isinstance(error, StatementError):
        orig = error.orig
        cause = f"({_error_name(orig)}) {_safe_message(orig)} " if orig is not None else ""
        statement = (error.statement or "")[:2000]
        return f"{cause}[SQL: {statement}] [parameters withheld]"
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str) and state:
        return f"SQLSTATE {state} [message withheld: it may quote values]"
    return "[message withheld: it may quote request data]"


def _is_fast(req: FhirRequest) -> bool:
    n = len(req.segments)
    return req.method == "GET" and not req.query and (
        (n == 2 and not req.segments[1].startswith(("$", "_")))
        or (n == 4 and req.segments[2] == "_history")
    )


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise FhirError("too-large", f"The body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FhirError("too-large", f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def info_page(base_url: str) -> dict[str, Any]:
    return {"service": "cm-fhir", "fhirBase": base_url, "fhirVersion": fhir.FHIR_VERSION}
