"""read and vread — https://hl7.org/fhir/R4/http.html#read, #vread.

Conditional read (``If-None-Match``, ``If-Modified-Since``) answers 304 when the client's
copy is current. A deleted resource answers 410 Gone.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from fhir_service.context import FhirContext
from fhir_service.interactions.common import check_id, check_type, parse_etag, resource_headers
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse


def read(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str) -> FhirResponse:
    check_type(ctx, rtype)
    check_id(rid)
    stored, hidden_people = ctx.door(req.principal).read(rtype, rid)
    if stored is None:
        req.probed.update(hidden_people)  # a refused look is recorded under the person
        raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
    if stored.deleted:
        raise FhirError("deleted", f"{rtype}/{rid} was deleted", rtype,
                        headers={"ETag": f'W/"{stored.version}"'})
    headers = resource_headers(stored, req.base_url)
    touched = [stored]
    if_none_match = req.header("if-none-match")
    if if_none_match is not None and parse_etag(if_none_match) == stored.version:
        return FhirResponse(304, None, headers, touched=touched)
    since = req.header("if-modified-since")
    if since is not None:
        try:
            ts = parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            raise FhirError("invalid", "Malformed If-Modified-Since date") from None
        if int(stored.updated) <= ts:
            return FhirResponse(304, None, headers, touched=touched)
    return FhirResponse(200, stored.content, headers, touched=touched)


def vread(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str, vid: str) -> FhirResponse:
    check_type(ctx, rtype)
    check_id(rid)
    if not vid.isdigit():
        raise FhirError("not-found", f"Version '{vid[:20]}' of {rtype}/{rid} is not known")
    door = ctx.door(req.principal)
    with door.read_session() as session:
        stored = session.version_any(rtype, rid, int(vid))  # (checked next)
    if stored is not None:
        stored, hidden_people = door.visible_version(stored)
        req.probed.update(hidden_people)
    if stored is None:
        raise FhirError("not-found", f"{rtype}/{rid} has no version {vid}", rtype)
    if stored.deleted or stored.content is None:
        raise FhirError("deleted", f"Version {vid} of {rtype}/{rid} is a deletion", rtype)
    return FhirResponse(200, stored.content, resource_headers(stored, req.base_url),
                        touched=[stored])
