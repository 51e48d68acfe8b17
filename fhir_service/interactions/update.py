"""update and conditional update — https://hl7.org/fhir/R4/http.html#update, #cond-update.

Update-as-create with client ids; ``If-Match`` gives optimistic locking (412 on mismatch).
"""

from __future__ import annotations

from fhir_service.context import FhirContext
from fhir_service.interactions import write
from fhir_service.interactions.common import (
    check_type,
    parse_etag,
    parse_resource,
    validate_resource,
    write_response,
)
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.provenance import record_changes


def update(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str) -> FhirResponse:
    check_type(ctx, rtype)
    resource = parse_resource(ctx, req, rtype)
    validate_resource(ctx, resource)
    if_match = parse_etag(req.header("if-match"))
    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        result = writer.update(rtype, rid, resource, if_match)
        record_changes(writer, req)
    assert result.stored is not None
    resp = write_response(req, result.stored, result.status, result.message)
    resp.touched = [s for _, s in writer.changes] or [result.stored]
    return resp


def conditional_update(ctx: FhirContext, req: FhirRequest, rtype: str) -> FhirResponse:
    check_type(ctx, rtype)
    resource = parse_resource(ctx, req, rtype)
    validate_resource(ctx, resource)
    if_match = parse_etag(req.header("if-match"))
    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        result = writer.conditional_update(rtype, req.query, resource, if_match)
        record_changes(writer, req)
    assert result.stored is not None
    resp = write_response(req, result.stored, result.status, result.message)
    resp.touched = [s for _, s in writer.changes] or [result.stored]
    return resp
