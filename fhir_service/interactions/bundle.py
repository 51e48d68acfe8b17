"""batch and transaction — https://hl7.org/fhir/R4/http.html#transaction.

A transaction is atomic: every entry is validated first, identities are resolved (new ids for
POST, ``ifNoneExist`` and conditional PUT/DELETE criteria evaluated, ``urn:uuid`` fullUrls and
conditional references such as ``Practitioner?identifier=sys|val`` resolved), references are
rewritten, then the writes run in the spec's order (DELETE, POST, PUT/PATCH, then GET) inside
one database transaction. Any failure rolls everything back and answers one
OperationOutcome naming the entry. Two entries on the same resource answer 400.

A batch runs each entry on its own; an entry's failure is reported in its response.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson

from fhir_service import fhir
from fhir_service.context import FhirContext, instant
from fhir_service.interactions import write
from fhir_service.interactions.common import (
    ID_RE,
    iter_references,
    local_reference,
    parse_resource,
    validate_resource,
)
from fhir_service.interactions.patch import apply_json_patch
from fhir_service.outcomes import FhirError, Issue
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.provenance import record_changes, refuse_client_write
from fhir_service.store.repository import Stored

Dispatch = Callable[[FhirRequest], FhirResponse]
_CONDITIONAL_REF = re.compile(r"^[A-Z][A-Za-z]+\?")
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass
class Entry:
    index: int
    method: str
    url: str
    rtype: str | None
    rid: str | None
    criteria: str | None
    resource: dict[str, Any] | None
    full_url: str | None
    if_none_exist: str | None = None
    if_match: int | None = None
    status: int = 0
    stored: Stored | None = None
    response: FhirResponse | None = None
    outcome: dict[str, Any] | None = None
    target_key: tuple[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _parse_entry(ctx: FhirContext, index: int, raw: Any) -> Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise FhirError("structure", f"{where} must be an object", where)
    request = raw.get("request")
    if not isinstance(request, dict):
        raise FhirError("required", f"{where}.request is required in a batch or transaction",
                        f"{where}.request")
    method = request.get("method")
    url = request.get("url")
    if not isinstance(method, str) or method not in ORDER or not isinstance(url, str) or not url:
        raise FhirError("invalid", f"{where}.request needs a method (GET, POST, PUT, PATCH, "
                        "DELETE) and a url", f"{where}.request")
    path, _, query = url.partition("?")
    path = path.strip("/")
    parts = path.split("/") if path else []
    rtype = parts[0] if parts else None
    rid = parts[1] if len(parts) > 1 else None
    resource = raw.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise FhirError("required", f"{where}.resource is required for {method}",
                        f"{where}.resource")
    if rtype is not None and rtype not in ctx.params.types() and not rtype.startswith("$") \
            and not rtype.startswith("_"):
        raise FhirError("invalid", f"{where}.request.url names unknown type '{rtype}'",
                        f"{where}.request.url")
    if method in ("POST", "PUT") and isinstance(resource, dict) and rtype is not None and \
            resource.get("resourceType") != rtype:
        raise FhirError("invalid", f"{where}: the resource is a {resource.get('resourceType')} "
                        f"but the url names {rtype}", f"{where}.resource.resourceType")
    for key in ("ifMatch", "ifNoneExist", "ifNoneMatch", "ifModifiedSince"):
        if request.get(key) is not None and not isinstance(request[key], str):
            raise FhirError("structure", f"{where}.request.{key} must be a string",
                            f"{where}.request.{key}")
    if raw.get("fullUrl") is not None and not isinstance(raw["fullUrl"], str):
        raise FhirError("structure", f"{where}.fullUrl must be a string", f"{where}.fullUrl")
    if_match = None
    if request.get("ifMatch"):
        from fhir_service.interactions.common import parse_etag

        if_match = parse_etag(request["ifMatch"])
    return Entry(
        index=index,
        method=method,
        url=url,
        rtype=rtype,
        rid=rid,
        criteria=query or None,
        resource=resource if isinstance(resource, dict) else None,
        full_url=raw.get("fullUrl"),
        if_none_exist=request.get("ifNoneExist"),
        if_match=if_match,
    )


def process(ctx: FhirContext, req: FhirRequest, dispatch: Dispatch) -> FhirResponse:
    bundle = parse_resource(ctx, req, "Bundle")
    btype = bundle.get("type")
    if btype not in ("batch", "transaction"):
        raise FhirError("invalid", f"POST to the base takes a batch or transaction Bundle, "
                        f"not '{btype}'", "Bundle.type")
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        raise FhirError("structure", "Bundle.entry must be an array", "Bundle.entry")
    if len(raw_entries) > ctx.settings.max_bundle_entries:
        raise FhirError("too-large", f"The bundle has {len(raw_entries)} entries; the limit is "
                        f"{ctx.settings.max_bundle_entries}", "Bundle.entry")
    if btype == "batch":
        return _batch(ctx, req, raw_entries, dispatch)
    return _transaction(ctx, req, raw_entries, dispatch)


# --- batch ---------------------------------------------------------------------------------


def _batch(ctx: FhirContext, req: FhirRequest, raw_entries: list[Any],
           dispatch: Dispatch) -> FhirResponse:
    results = []
    touched: list[Stored] = []
    for index, raw in enumerate(raw_entries):
        try:
            entry = _parse_entry(ctx, index, raw)
            if entry.resource is not None and entry.method in ("POST", "PUT"):
                validate_resource(ctx, entry.resource, entry.where + ".resource")
            response = dispatch(_sub_request(req, entry))
            touched.extend(response.touched)
            results.append(_entry_from_response(entry.method, response, req))
        except FhirError as exc:
            results.append({"response": {"status": _status_text(exc.status),
                                         "outcome": exc.outcome()}})
    resp = _response_bundle(ctx, "batch-response", results)
    resp.touched = touched
    return resp


def _sub_request(req: FhirRequest, entry: Entry) -> FhirRequest:
    path, _, query = entry.url.partition("?")
    headers = {k: v for k, v in req.headers.items() if k in ("prefer", "authorization")}
    headers["content-type"] = "application/fhir+json"
    if entry.if_none_exist:
        headers["if-none-exist"] = entry.if_none_exist
    if entry.if_match is not None:
        headers["if-match"] = f'W/"{entry.if_match}"'
    body = fhir.dumps(entry.resource) if entry.resource is not None else b""
    if entry.method == "PATCH" and entry.resource is not None:
        headers["content-type"] = "application/json-patch+json"
        body = _binary_patch(entry)
    return FhirRequest(
        method=entry.method,
        segments=[s for s in path.strip("/").split("/") if s],
        query=parse_qsl(query, keep_blank_values=True),
        headers=headers,
        body=body,
        base_url=req.base_url,
        request_id=req.request_id,
        principal=req.principal,
    )


def _binary_patch(entry: Entry) -> bytes:
    res = entry.resource or {}
    if res.get("resourceType") != "Binary" or "data" not in res:
        raise FhirError("not-supported", f"{entry.where}: PATCH in a bundle takes a Binary "
                        "holding a JSON Patch document", f"{entry.where}.resource")
    return base64.b64decode(res["data"])


def _entry_from_response(method: str, response: FhirResponse, req: FhirRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"response": {"status": _status_text(response.status)}}
    headers = response.headers
    if "Location" in headers:
        out["response"]["location"] = headers["Location"]
    if "ETag" in headers:
        out["response"]["etag"] = headers["ETag"]
    if response.resource_bytes is not None:
        out["response"]["lastModified"] = _last_modified(response.resource_bytes)
    body = response.body
    if method == "GET" and body is not None:
        out["resource"] = orjson.Fragment(body) if isinstance(body, bytes) else body
    elif isinstance(body, bytes):
        out["resource"] = orjson.Fragment(body)
    elif isinstance(body, dict):
        out["response"]["outcome"] = body
    return out


def _last_modified(content: bytes) -> str:
    meta = orjson.loads(content).get("meta", {})
    return str(meta.get("lastUpdated", ""))


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 410: "Gone",
            412: "Precondition Failed", 413: "Payload Too Large", 415: "Unsupported Media Type",
            422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error"}


def _status_text(status: int) -> str:
    return f"{status} {_REASONS.get(status, '')}".strip()


def _response_bundle(ctx: FhirContext, btype: str, entries: list[dict[str, Any]]) -> FhirResponse:
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(ctx.clock())},
        "type": btype,
        "entry": entries,
    }
    return FhirResponse(200, orjson.dumps(bundle, default=fhir._default))


# --- transaction -----------------------------------------------------------------------------


def _transaction(ctx: FhirContext, req: FhirRequest, raw_entries: list[Any],
                 dispatch: Dispatch) -> FhirResponse:
    entries: list[Entry] = []
    problems: list[Issue] = []
    forbidden: list[Issue] = []
    for index, raw in enumerate(raw_entries):
        try:
            entry = _parse_entry(ctx, index, raw)
            entries.append(entry)
        except FhirError as exc:
            problems.extend(_prefixed(exc, index))
            continue
        try:  # Provenance and AuditEvent are written by the server only
            refuse_client_write(req.principal, entry.rtype, entry.method,
                                f"{entry.where}.request.url")
        except FhirError as exc:
            forbidden.extend(_prefixed(exc, index))
            continue
        try:
            if entry.resource is not None and entry.method in ("POST", "PUT"):
                validate_resource(ctx, entry.resource, entry.where + ".resource")
        except FhirError as exc:
            problems.extend(_prefixed(exc, index))
    if forbidden:
        raise FhirError("forbidden", forbidden[0].diagnostics, issues=forbidden)
    if problems:
        raise FhirError("invalid", problems[0].diagnostics, issues=problems)

    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        _resolve_identities(writer, entries)
        mapping = _identity_map(entries, req.base_url)
        references = _rewrite_references(ctx, writer, entries, mapping)
        writer.pending = frozenset(e.target_key for e in entries
                                   if e.target_key and e.method in ("POST", "PUT", "PATCH"))
        writer.deleting = frozenset(e.target_key for e in entries
                                    if e.target_key and e.method == "DELETE")
        _prefetch_references(ctx, writer, references, req.base_url)
        # the targets' locks and current rows, in one statement each (not one per entry)
        writer.session.raw.prepare_writes([e.target_key for e in entries if e.target_key
                                           and e.method != "GET" and e.method != "HEAD"])
        for entry in sorted(entries, key=lambda e: (ORDER[e.method], e.index)):
            if entry.method == "GET" or entry.method == "HEAD":
                continue
            try:
                _execute(ctx, writer, entry)
            except FhirError as exc:
                issues = _prefixed(exc, entry.index)
                raise FhirError(exc.category, issues[0].diagnostics, issues=issues) from None
        record_changes(writer, req)
    touched = [s for _, s in writer.changes]
    results: list[dict[str, Any]] = []
    for entry in entries:
        if entry.method in ("GET", "HEAD"):
            try:
                response = dispatch(_sub_request(req, entry))
                touched.extend(response.touched)
                results.append(_entry_from_response("GET", response, req))
            except FhirError as exc:
                results.append({"response": {"status": _status_text(exc.status),
                                             "outcome": exc.outcome()}})
            continue
        results.append(_write_entry(req, entry))
    resp = _response_bundle(ctx, "transaction-response", results)
    resp.touched = touched
    return resp


def _prefixed(exc: FhirError, index: int) -> list[Issue]:
    where = f"Bundle.entry[{index}]"
    out = []
    for issue in exc.issues:
        expr = issue.expression or (where,)
        expr = tuple(e if e.startswith(where) else f"{where}.resource.{e.split('.', 1)[-1]}"
                     if "." in e else where for e in expr)
        text = issue.diagnostics if issue.diagnostics.startswith(where) else \
            f"{where}: {issue.diagnostics}"
        out.append(Issue(issue.severity, issue.code, text, expr))
    return out


def _resolve_identities(writer: write.Writer, entries: list[Entry]) -> None:
    seen: dict[tuple[str, str], int] = {}

    def claim(entry: Entry, key: tuple[str, str]) -> None:
        if key in seen:
            raise FhirError("invalid", f"Bundle.entry[{entry.index}] and "
                            f"Bundle.entry[{seen[key]}] both act on {key[0]}/{key[1]}",
                            f"Bundle.entry[{entry.index}]")
        seen[key] = entry.index
        entry.target_key = key

    for entry in sorted(entries, key=lambda e: (ORDER[e.method], e.index)):
        try:
            _resolve_one(writer, entry, claim)
        except FhirError as exc:
            issues = _prefixed(exc, entry.index)
            raise FhirError(exc.category, issues[0].diagnostics, issues=issues) from None


def _resolve_one(writer: write.Writer, entry: Entry,
                 claim: Callable[[Entry, tuple[str, str]], None]) -> None:
    ctx = writer.ctx
    rtype = entry.rtype
    if entry.method in ("GET", "HEAD") or rtype is None:
        return
    if entry.method == "POST":
        if entry.if_none_exist:
            writer.session.lock_type(rtype)  # (PostgreSQL: as a plain conditional create)
            matches = writer.matches(rtype, entry.if_none_exist, identity=True)
            if len(matches) > 1:
                raise FhirError("multiple-matches",
                                f"ifNoneExist '{entry.if_none_exist}' matches several resources")
            if matches:
                entry.stored = matches[0]
                entry.status = 200
                claim(entry, (rtype, entry.stored.rid))
                return
        claim(entry, (rtype, ctx.new_id()))
        return
    if entry.criteria and entry.rid is None:
        writer.session.lock_type(rtype)
        matches = writer.matches(rtype, entry.criteria, identity=entry.method == "PUT")
        if len(matches) > 1:
            raise FhirError("multiple-matches",
                            f"Conditional {entry.method} '{entry.url}' matches several resources")
        if matches:
            claim(entry, (rtype, matches[0].rid))
        elif entry.method == "PUT":
            body_id = (entry.resource or {}).get("id")
            claim(entry, (rtype, body_id if isinstance(body_id, str) else ctx.new_id()))
        else:
            entry.status = 204
        return
    if entry.rid is None or not ID_RE.match(entry.rid):
        raise FhirError("invalid", f"{entry.method} needs a url of the form Type/id",
                        "request.url")
    claim(entry, (rtype, entry.rid))


def _identity_map(entries: list[Entry], base_url: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for entry in entries:
        if entry.target_key is None or entry.method == "DELETE":
            continue
        local = f"{entry.target_key[0]}/{entry.target_key[1]}"
        if entry.full_url:
            mapping[entry.full_url] = local
    return mapping


def _rewrite_references(ctx: FhirContext, writer: write.Writer, entries: list[Entry],
                        mapping: dict[str, str]) -> set[str]:
    """Rewrite the entries' references; returns every reference as written."""
    cache: dict[str, str] = {}
    written: set[str] = set()
    for entry in entries:
        if entry.resource is None or entry.method not in ("POST", "PUT"):
            continue
        for ref_obj in iter_references(entry.resource):
            ref = ref_obj["reference"]
            if ref in mapping:
                ref_obj["reference"] = mapping[ref]
            elif _CONDITIONAL_REF.match(ref):
                if ref not in cache:
                    cache[ref] = _conditional_reference(ctx, writer, entry, ref)
                ref_obj["reference"] = cache[ref]
            elif ref.startswith(("urn:uuid:", "urn:oid:")):
                raise FhirError("invalid", f"Bundle.entry[{entry.index}]: reference '{ref}' "
                                "matches no fullUrl in the transaction",
                                f"Bundle.entry[{entry.index}].resource")
            written.add(ref_obj["reference"])
    return written


def _prefetch_references(ctx: FhirContext, writer: write.Writer, references: set[str],
                         base_url: str) -> None:
    """The references of the whole transaction looked up in one statement: the write
    session remembers those found, so each entry's check (``check_references``) asks only
    about the rest."""
    if not ctx.settings.referential_integrity:
        return
    keys = {key for ref in references
            if (key := local_reference(ctx, ref, base_url)) is not None}
    keys -= writer.pending
    if keys:
        writer.session.existing(sorted(keys))


def _conditional_reference(ctx: FhirContext, writer: write.Writer, entry: Entry,
                           ref: str) -> str:
    rtype, _, criteria = ref.partition("?")
    if rtype not in ctx.params.types():
        raise FhirError("invalid", f"Bundle.entry[{entry.index}]: conditional reference "
                        f"'{ref}' names an unknown type")
    matches = writer.matches(rtype, criteria)
    if not matches:
        raise FhirError("not-found", f"Bundle.entry[{entry.index}]: conditional reference "
                        f"'{ref}' matches no resource", f"Bundle.entry[{entry.index}].resource")
    if len(matches) > 1:
        raise FhirError("multiple-matches", f"Bundle.entry[{entry.index}]: conditional "
                        f"reference '{ref}' matches several resources",
                        f"Bundle.entry[{entry.index}].resource")
    found = matches[0]
    return f"{found.rtype}/{found.rid}"


def _execute(ctx: FhirContext, writer: write.Writer, entry: Entry) -> None:
    if entry.status and entry.stored is not None:
        return  # ifNoneExist matched: nothing to write
    if entry.target_key is None:
        return  # conditional delete with no match
    rtype, rid = entry.target_key
    if entry.method == "DELETE":
        result = writer.delete(rtype, rid)
    elif entry.method == "POST":
        assert entry.resource is not None
        resource = {k: v for k, v in entry.resource.items() if k != "id"}
        result = writer.create(resource, rid=rid)
    elif entry.method == "PUT":
        assert entry.resource is not None
        resource = {**entry.resource, "id": rid}
        if entry.criteria is None and entry.resource.get("id") not in (None, rid):
            raise FhirError("invalid", f"The body id '{entry.resource.get('id')}' differs from "
                            f"the url id '{rid}'", "resource.id")
        result = writer.update(rtype, rid, resource, entry.if_match)
    else:  # PATCH
        current = writer.visible_current(rtype, rid)
        if current is None or current.deleted or current.content is None:
            raise FhirError("not-found", f"{rtype}/{rid} is not known")
        patched = apply_json_patch(fhir.loads(current.content), fhir.loads(_binary_patch(entry)))
        validate_resource(ctx, patched)
        result = writer.update(rtype, rid, patched, entry.if_match)
    entry.status = result.status
    entry.stored = result.stored


def _write_entry(req: FhirRequest, entry: Entry) -> dict[str, Any]:
    status = entry.status or 204
    out: dict[str, Any] = {"response": {"status": _status_text(status)}}
    stored = entry.stored
    if stored is not None:
        out["response"]["location"] = f"{stored.rtype}/{stored.rid}/_history/{stored.version}"
        out["response"]["etag"] = f'W/"{stored.version}"'
        out["response"]["lastModified"] = instant(stored.updated)
        if req.prefer.get("return") == "representation" and stored.content is not None:
            out["resource"] = orjson.Fragment(stored.content)
    return {"fullUrl": _full_url(req, entry), **out} if stored is not None else out


def _full_url(req: FhirRequest, entry: Entry) -> str:
    assert entry.stored is not None
    return f"{req.base_url}/{entry.stored.rtype}/{entry.stored.rid}"

