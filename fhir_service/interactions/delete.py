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


def delete(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str) -> FhirResponse:
    check_type(ctx, rtype)
    with ctx.repository.write_session() as session:
        result = write.delete(ctx, session, rtype, rid)
    return _response(req, result)


def conditional_delete(ctx: FhirContext, req: FhirRequest, rtype: str) -> FhirResponse:
    check_type(ctx, rtype)
    with ctx.repository.write_session() as session:
        result = write.conditional_delete(ctx, session, rtype, req.query)
    return _response(req, result)


def _response(req: FhirRequest, result: write.WriteResult) -> FhirResponse:
    if req.prefer.get("return", "").lower() == "operationoutcome":
        return FhirResponse(200, info_outcome(result.message))
    return FhirResponse(204)
