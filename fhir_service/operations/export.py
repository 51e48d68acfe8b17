"""Bulk Data ``$export`` (FHIR Bulk Data Access IG 2.0.0, https://hl7.org/fhir/uv/bulkdata/),
with the asynchronous request pattern.

- Kick-off: ``GET [base]/$export`` (system), ``GET [base]/Patient/$export`` (every person's
  data the caller may see), ``GET [base]/Group/[id]/$export`` (the data of the group's
  members), with ``Prefer: respond-async`` (required; 400 without). Parameters:
  ``_outputFormat`` (``application/fhir+ndjson``, ``application/ndjson``, ``ndjson``),
  ``_type`` (comma-separated, repeatable), ``_since`` (instant: changed after). Any other
  parameter (``_typeFilter``, ``_elements``, ``patient``, ``includeAssociatedData``,
  ``_until``, ``organizeOutputBy``…) is refused (400 OperationOutcome naming it), or ignored
  with ``Prefer: handling=lenient`` and then reported in the manifest's ``error`` file.
  Answer: 202 with ``Content-Location`` (the status URL). Kick-off by POST is not supported
  (405).
- Status: ``GET [base]/$export/status/[job]``: 202 with ``X-Progress`` and ``Retry-After``
  while queued or running; 200 with the manifest (``transactionTime``, ``request``,
  ``requiresAccessToken`` true, ``output`` per type and file with its ``count``, ``error``)
  when done; 500 with an OperationOutcome if it failed. ``DELETE`` on it cancels the job and
  removes its files (202).
- Files: ``GET [base]/$export/files/[job]/[Type]-[n].ndjson`` (``application/fhir+ndjson``),
  streamed from disk.

Who sees what: the files hold what the requester's door shows at the kick-off instant (the
transaction time; resources created or changed after it are left to the next export with
``_since``); only types its token may read (``r``): a ``_type`` naming a type it may not
read is refused (403, as the IG asks of types a client may not access), and without
``_type`` the other types are simply not part of the export. The status, downloads and
cancellation are the requester's only (same client and structure, with a token that still
may read every exported type): for anyone else a job is answered exactly as an unknown job.
The work runs in a thread (``fhir_service/export/jobs.py``), never in the request.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from fhir_service.context import FhirContext, http_date
from fhir_service.export import selection
from fhir_service.export.jobs import (
    FILE_NAME,
    STALE_SECONDS,
    UNFINISHED,
    Exports,
    Plan,
    read_people,
)
from fhir_service.interactions.common import check_id
from fhir_service.operations import declare
from fhir_service.operations.everything import FORMAT_PARAMETERS, parse_instant
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.principal import Principal

if TYPE_CHECKING:
    from fhir_service.router import Router

BULK = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
NDJSON = "application/fhir+ndjson"

_EXPORTS: dict[int, Exports] = {}
_EXPORTS_LOCK = threading.Lock()


def exports_of(ctx: FhirContext) -> Exports:
    """The export jobs of a service context (one per context, made at installation)."""
    key = id(ctx)
    with _EXPORTS_LOCK:
        exports = _EXPORTS.get(key)
        if exports is None:
            exports = _EXPORTS[key] = Exports(ctx.settings)
            weakref.finalize(ctx, _forget, key)
    return exports


def _forget(key: int) -> None:
    with _EXPORTS_LOCK:
        exports = _EXPORTS.pop(key, None)
    if exports is not None:
        exports.close()


def install(router: Router) -> None:
    exports_of(router.ctx)  # (sweeps what expired while the service was down)
    router.add_operation("system", "*", "export", export_system)
    router.add_operation("type", "Patient", "export", export_patients)
    router.add_operation("instance", "Group", "export", export_group)
    declare(router, "export", BULK + "export", types=("Patient", "Group"), system=True,
            per_type={"Patient": BULK + "patient-export", "Group": BULK + "group-export"})


# --- kick-off ------------------------------------------------------------------------------------


def export_system(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    """``[base]/$export`` (kick-off), and under it the jobs' status URLs
    (``$export/status/[job]``) and files (``$export/files/[job]/[name]``)."""
    if len(req.segments) == 1:
        return _kickoff(ctx, req, persons_only=False)
    if req.segments[1] == "status":
        return export_status(ctx, req)
    if req.segments[1] == "files":
        return export_file(ctx, req)
    raise FhirError("not-found", "Unknown URL under $export (status/[job], files/[job]/[name])")


def export_patients(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    return _kickoff(ctx, req, persons_only=True)


def export_group(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    _check_kickoff(req)
    gid = req.segments[1]
    check_id(gid)
    group, hidden_people = ctx.door(req.principal).read("Group", gid)
    if group is None:
        req.probed.update(hidden_people)
        raise FhirError("not-found", f"Group/{gid} is not known", "Group")
    if group.deleted or group.content is None:
        raise FhirError("deleted", f"Group/{gid} was deleted", "Group")
    members = []
    for member in orjson.loads(group.content).get("member", []):
        ref = (member.get("entity") or {}).get("reference", "") if isinstance(member, dict) \
            else ""
        if isinstance(ref, str) and ref.startswith("Patient/") and ref.count("/") == 1:
            members.append(ref.split("/", 1)[1])
    return _kickoff(ctx, req, persons_only=True, people=sorted(set(members)))


def _check_kickoff(req: FhirRequest) -> None:
    if req.method != "GET":
        raise FhirError("method-not-allowed", "$export is started by a GET (a kick-off by POST "
                        "is not supported)")
    if "respond-async" not in req.prefer:
        raise FhirError("invalid", "$export runs asynchronously: send the header "
                        "Prefer: respond-async")


def _kickoff(ctx: FhirContext, req: FhirRequest, persons_only: bool,
             people: list[str] | None = None) -> FhirResponse:
    _check_kickoff(req)
    lenient = req.prefer.get("handling") == "lenient"
    types: set[str] | None = None
    since: float | None = None
    ignored: list[str] = []
    problems: list[Issue] = []
    for name, value in req.query:
        if name in FORMAT_PARAMETERS:
            continue
        if name == "_outputFormat":
            # (an unencoded "+" in a query string arrives as a space)
            if value.replace(" ", "+") not in OUTPUT_FORMATS:
                problems.append(Issue("error", "not-supported", "_outputFormat must be one "
                                      f"of {', '.join(OUTPUT_FORMATS)}", (name,)))
        elif name == "_type":
            names = [t.strip() for t in value.split(",") if t.strip()]
            unknown = [t for t in names if t not in ctx.params.types()]
            if unknown or not names:
                problems.append(Issue("error", "value", "_type names no resource type of FHIR "
                                      f"R4: {', '.join(unknown)[:120]}", (name,)))
            types = (types or set()) | set(names)
        elif name == "_since":
            since = parse_instant(value)
            if since is None:
                problems.append(Issue("error", "value", "_since must be an instant (e.g. "
                                      "2026-01-31T12:00:00Z)", (name,)))
        elif lenient:
            ignored.append(name[:64])
        else:
            problems.append(Issue("error", "not-supported", f"Parameter '{name[:64]}' is not "
                                  "supported by $export (send Prefer: handling=lenient to "
                                  "have it ignored)", (name[:64],)))
    if problems:
        raise FhirError("invalid", problems[0].diagnostics, issues=problems)
    door = ctx.door(req.principal)
    access = door.access
    if types is not None:
        refused = sorted(t for t in types if not access.can(t, "r"))
        if refused:
            raise FhirError("forbidden", "The token's scopes do not allow reading "
                            f"{', '.join(refused)[:200]}, which _type asks for", "_type")
    elif not any(access.can(t, "r") for t in ctx.resource_types):
        raise FhirError("forbidden", "The token's scopes allow reading no resource type")
    exports = exports_of(ctx)
    owner = _owner(req.principal)
    unfinished = sum(1 for _, r in exports.store.jobs()
                     if r is not None and r.get("owner") == owner
                     and r.get("status") in UNFINISHED)
    if unfinished >= ctx.settings.export_max_jobs_per_client:
        raise FhirError("too-many-requests", f"{unfinished} exports of this client are not "
                        "finished yet: wait for one to end, or cancel it",
                        headers={"Retry-After": "60"})
    exports.sweep()
    with door.read_session() as session:
        snapshot = selection.max_pk(session)
        # every change committed before the kick-off is in, even one stamped a little ahead
        # of the wall clock (the store's clock steps 1 ms per write under heavy writing)
        until = max(access.now, selection.max_updated(session))
        if types is None:
            types = {t for t in selection.present_types(session) if access.can(t, "r")}
    plan = Plan(types=sorted(types), snapshot=snapshot, until=until, since=since,
                persons_only=persons_only, people=people, base_url=req.base_url,
                ignored=ignored)
    request = f"{req.base_url}/{'/'.join(req.segments)}"
    if req.query:
        request += "?" + urlencode(req.query)
    record = {"owner": owner, "request": request, "types": plan.types}
    job_id = exports.start(record, door, plan)
    outcome = operation_outcome([Issue("information", "informational",
                                       "The export was accepted; poll the Content-Location")])
    return FhirResponse(202, outcome,
                        {"Content-Location": f"{req.base_url}/$export/status/{job_id}"})


def _owner(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"client": "", "structure": None}
    return {"client": principal.client_id, "structure": principal.structure}


# --- status, cancellation, files ---------------------------------------------------------------


def _job(ctx: FhirContext, req: FhirRequest, job_id: str) -> dict[str, Any] | None:
    """The requester's job, or None: unknown, someone else's and expired are one answer."""
    exports = exports_of(ctx)
    record = exports.store.load(job_id)
    if record is None or record.get("owner") != _owner(req.principal):
        return None
    expires = record.get("expires")
    if expires is not None and exports.clock() >= float(expires):
        exports.store.remove(job_id)
        return None
    return record


def _unknown_job(job_id: str) -> FhirError:
    return FhirError("not-found", f"Export job {job_id[:64]} is not known")


def _require_types(ctx: FhirContext, req: FhirRequest, types: list[str]) -> None:
    """The token must still cover every exported type (Bulk Data: status and file requests
    are protected like the kick-off)."""
    principal = req.principal
    if principal is None or principal.system:
        return
    refused = sorted(t for t in types if not principal.can(t, "r"))
    if refused:
        raise FhirError("forbidden", "The token's scopes do not allow reading "
                        f"{', '.join(refused)[:200]}, which this export holds")


def export_status(ctx: FhirContext, req: FhirRequest) -> FhirResponse:
    if len(req.segments) != 3:
        raise FhirError("not-found", "The status URL is [base]/$export/status/[job]")
    job_id = req.segments[2]
    record = _job(ctx, req, job_id)
    if record is None:
        raise _unknown_job(job_id)
    if req.method == "DELETE":
        exports_of(ctx).store.remove(job_id)
        return FhirResponse(202, operation_outcome([Issue(
            "information", "informational", "The export was cancelled and its files removed")]))
    if req.method != "GET":
        raise FhirError("method-not-allowed", f"{req.method} is not allowed on an export's "
                        "status (GET polls, DELETE cancels)")
    _require_types(ctx, req, record.get("types", []))
    status = record.get("status")
    if status in UNFINISHED:
        if exports_of(ctx).clock() - float(record.get("heartbeat", 0)) > STALE_SECONDS:
            raise FhirError("internal", "The export stopped (the server process running it "
                            "ended); start a new one")
        progress = "".join(c for c in str(record.get("progress", "")) if 32 <= ord(c) < 127)
        return FhirResponse(202, None, {"X-Progress": progress[:100], "Retry-After": "2"})
    if status != "completed":
        raise FhirError("internal", str(record.get("message") or "The export failed; start "
                                        "a new one"))
    headers = {"Content-Type": "application/json",
               "Expires": http_date(float(record["expires"]))}
    return FhirResponse(200, orjson.dumps(record["manifest"]), headers)


def export_file(ctx: FhirContext, req: FhirRequest) -> FhirResponse:
    if len(req.segments) != 4:
        raise FhirError("not-found", "A file's URL is [base]/$export/files/[job]/[name]")
    job_id, name = req.segments[2], req.segments[3]
    if req.method != "GET":
        raise FhirError("method-not-allowed", f"{req.method} is not allowed on an export file")
    record = _job(ctx, req, job_id)
    manifest = (record or {}).get("manifest") or {}
    listed = {item["url"].rsplit("/", 1)[1]: item["type"]
              for key in ("output", "error") for item in manifest.get(key, [])}
    unknown = FhirError("not-found", f"Export file {job_id[:64]}/{name[:80]} is not known")
    if record is None or not FILE_NAME.match(name) or name not in listed:
        raise unknown
    if listed[name] != "OperationOutcome":
        _require_types(ctx, req, [listed[name]])
    path = exports_of(ctx).store.folder(job_id) / name
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except FileNotFoundError:
        raise unknown from None
    # the download is audited under every person whose data the file holds
    req.probed.update(read_people(path))
    size = os.fstat(handle.fileno()).st_size
    return FhirResponse(200, _chunks(handle),  # type: ignore[arg-type]
                        {"Content-Type": NDJSON, "Content-Length": str(size)})


def _chunks(handle: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """The file in pieces (the HTTP layer streams them: constant memory), closed at the end;
    the file was opened before the answer, so a removal meanwhile does not cut it."""
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()
