"""history — https://hl7.org/fhir/R4/http.html#history (instance, type and system level).

Newest first; ``_since`` and ``_at``-free ``_count`` paging with a snapshot bound so that new
writes do not shift pages. Deletions appear as entries with a ``DELETE`` request and no
resource.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson

from fhir_service.context import FhirContext, instant
from fhir_service.interactions.common import check_id, check_type
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.search.extract import date_range
from fhir_service.search.query import split_prefix


def history(ctx: FhirContext, req: FhirRequest, rtype: str | None, rid: str | None) -> FhirResponse:
    if rtype is not None:
        check_type(ctx, rtype)
    if rid is not None:
        check_id(rid)
    params = dict(req.query)
    since = before = None
    count = ctx.settings.history_count
    offset = 0
    snapshot = None
    kept: list[tuple[str, str]] = []
    for key, value in req.query:
        if key == "_since":
            rng = date_range(value)
            if rng is None:
                raise FhirError("invalid", f"_since '{value}' is not a valid instant", "_since")
            since = rng[0]
            kept.append((key, value))
        elif key == "_at":
            _prefix, bare = split_prefix(value)
            rng = date_range(bare)
            if rng is None:
                raise FhirError("invalid", f"_at '{value}' is not a valid date", "_at")
            since, before = rng
            kept.append((key, value))
        elif key == "_count":
            try:
                count = max(0, min(int(value), ctx.settings.max_count))
            except ValueError:
                raise FhirError("invalid", "_count must be an integer", "_count") from None
            kept.append((key, str(count)))
        elif key == "_offset":
            offset = int(value) if value.isdigit() else 0
        elif key == "_snapshot":
            snapshot = int(value) if value.isdigit() else None
    del params
    with ctx.door(req.principal).read_session() as session:
        # instance history: the versions the caller may see (each by its own people); none,
        # and the resource does not exist for it (the answer for a missing id)
        if rtype and rid and session.history(rtype, rid, None, None, 0, 0)[1] == 0:
            raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
        rows, total, snap = session.history(rtype, rid, since, before, count, offset, snapshot)
    path = "/".join(p for p in (req.base_url, rtype, rid, "_history") if p)
    links = [{"relation": "self", "url": f"{path}?{urlencode(kept)}" if kept else path}]
    if offset + len(rows) < total:
        nxt = [*kept, ("_offset", str(offset + count)), ("_snapshot", str(snap))]
        links.append({"relation": "next", "url": f"{path}?{urlencode(nxt)}"})
    entries: list[dict[str, Any]] = []
    for row in rows:
        full_url = f"{req.base_url}/{row.rtype}/{row.rid}"
        entry: dict[str, Any] = {"fullUrl": full_url}
        if row.content is not None:
            entry["resource"] = orjson.Fragment(row.content)
        method = row.method if row.method in ("POST", "PUT", "DELETE", "PATCH") else "PUT"
        url = f"{row.rtype}" if method == "POST" else f"{row.rtype}/{row.rid}"
        entry["request"] = {"method": "PUT" if method == "PATCH" else method, "url": url}
        status = "201 Created" if row.version == 1 and method != "DELETE" else (
            "204 No Content" if method == "DELETE" else "200 OK")
        entry["response"] = {"status": status, "etag": f'W/"{row.version}"',
                             "lastModified": instant(row.updated)}
        entries.append(entry)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(ctx.clock())},
        "type": "history",
        "total": total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return FhirResponse(200, orjson.dumps(bundle), touched=rows)
