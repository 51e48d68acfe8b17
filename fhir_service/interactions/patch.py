"""patch with JSON Patch (RFC 6902) — https://hl7.org/fhir/R4/http.html#patch.

The patched resource is validated like any update and written with the same rules
(``If-Match``, no new version when nothing changed).
"""

from __future__ import annotations

from typing import Any

import jsonpatch

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.interactions import write
from fhir_service.interactions.common import (
    check_id,
    check_type,
    parse_etag,
    validate_resource,
    write_response,
)
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.provenance import record_changes

JSON_PATCH = "application/json-patch+json"


def apply_json_patch(resource: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise FhirError("invalid", "A JSON Patch document is an array of operations")
    try:
        patched = jsonpatch.JsonPatch(operations).apply(resource)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise FhirError("unprocessable", f"JSON Patch test failed: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError,
            TypeError, ValueError, IndexError) as exc:
        raise FhirError("unprocessable", f"JSON Patch cannot be applied: {exc}") from None
    if not isinstance(patched, dict):
        raise FhirError("unprocessable", "The patch does not produce a resource")
    return patched


def patch(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str) -> FhirResponse:
    check_type(ctx, rtype)
    check_id(rid)
    ctype = (req.header("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype != JSON_PATCH:
        raise FhirError("unsupported-media-type",
                        f"PATCH takes {JSON_PATCH} (FHIRPath Patch is not supported)")
    operations = fhir.loads(req.body)
    if_match = parse_etag(req.header("if-match"))
    with ctx.door(req.principal).write_session() as session:
        writer = write.Writer(ctx, session, req.base_url, req.principal, probed=req.probed)
        current = writer.visible_current(rtype, rid)
        if current is None or current.deleted or current.content is None:
            raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
        patched = apply_json_patch(fhir.loads(current.content), operations)
        if patched.get("resourceType") != rtype or patched.get("id") != rid:
            raise FhirError("unprocessable", "A patch must not change resourceType or id")
        validate_resource(ctx, patched)
        result = writer.update(rtype, rid, patched,
                               if_match if if_match is not None else current.version)
        record_changes(writer, req)
    assert result.stored is not None
    resp = write_response(req, result.stored, result.status, result.message)
    resp.touched = [s for _, s in writer.changes] or [result.stored]
    return resp
