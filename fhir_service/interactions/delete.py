"""delete and conditional delete — https://hl7.org/fhir/R4/http.html#delete, #3.1.0.7.1.

Deleting a resource that others reference answers 409 (referential integrity) unless the
setting is off. Deleting an unknown or deleted resource answers 204.
"""

from __future__ import annotations

from fhir_service.context import FhirContext
from fhir_service.interactions import write
from fhir_service.interactions.common import check_type
from fhir_service.outcomes import info_outcome
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.provenance import record_changes


def delete(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str) -> FhirResponse:
    check_type(ctx, rtype)
    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        result = writer.delete(rtype, rid)
        record_changes(writer, req)
    return _response(req, result, writer)


def conditional_delete(ctx: FhirContext, req: FhirRequest, rtype: str) -> FhirResponse:
    check_type(ctx, rtype)
    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        result = writer.conditional_delete(rtype, req.query)
        record_changes(writer, req)
    return _response(req, result, writer)


def _response(req: FhirRequest, result: write.WriteResult, writer: write.Writer) -> FhirResponse:
    touched = [s for _, s in writer.changes]
    if req.prefer.get("return", "").lower() == "operationoutcome":
        return FhirResponse(200, info_outcome(result.message), touched=touched)
    return FhirResponse(204, touched=touched)
