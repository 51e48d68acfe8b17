"""create — https://hl7.org/fhir/R4/http.html#create (with If-None-Exist, #ccreate).

The server assigns the id (any id in the body is ignored, as the spec says).
"""

from __future__ import annotations

from fhir_service.context import FhirContext
from fhir_service.interactions import write
from fhir_service.interactions.common import (
    check_type,
    parse_resource,
    validate_resource,
    write_response,
)
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.provenance import record_changes


def create(ctx: FhirContext, req: FhirRequest, rtype: str) -> FhirResponse:
    check_type(ctx, rtype)
    resource = parse_resource(ctx, req, rtype)
    resource.pop("id", None)
    validate_resource(ctx, resource)
    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        result = writer.create(resource, if_none_exist=req.header("if-none-exist"))
        record_changes(writer, req)
    assert result.stored is not None
    resp = write_response(req, result.stored, result.status, result.message)
    resp.touched = [s for _, s in writer.changes] or [result.stored]
    return resp
