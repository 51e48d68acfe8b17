"""$import-casefile and $casefile: case files in and out through the declarative maps.

- https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/import-casefile —
  ``POST [base]/$import-casefile``: the body is the case file (JSON), the goals sheet
  (``text/csv``) or a Parameters with ``casefile`` (Binary). Returns a Parameters with
  ``outcome`` (OperationOutcome) and ``response`` (the transaction-response Bundle). A file
  that breaks the contract answers 400 with an OperationOutcome naming every problem by JSON
  path (or CSV row and column); nothing is written.
- https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/casefile —
  ``GET [base]/EpisodeOfCare/[id]/$casefile[?plan=id]``: the case file as JSON
  (``application/json``), or a Binary when the client asks for FHIR. FHIR data that does not
  make a valid case file (written by other clients) is exported as it maps, unless the client
  sends ``Prefer: handling=strict``: then 422 with every problem by JSON path, and every
  reference the export could not follow (left out of a lenient export).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.operations import declare
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse

if TYPE_CHECKING:
    from fhir_service.router import Router

CANONICAL = "https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/"


def install(router: Router) -> None:
    router.add_operation("system", "*", "import-casefile", import_casefile)
    router.add_operation("instance", "EpisodeOfCare", "casefile", export_casefile)
    declare(router, "import-casefile", CANONICAL + "import-casefile", system=True)
    declare(router, "casefile", CANONICAL + "casefile", types=("EpisodeOfCare",))


def _service(ctx: FhirContext, router: Router, req: FhirRequest) -> Any:
    from fhir_service.mapping.service import CasefileService
    from fhir_service.national.dui import offer_dui_plans

    service = CasefileService.for_context(ctx, router.dispatch, req.base_url, req.headers,
                                          req.principal)
    return offer_dui_plans(service, ctx.registry)  # a DUI's (TDDUI) plans too


def _body(req: FhirRequest) -> tuple[str, bytes]:
    ctype = (req.header("content-type") or "application/json").split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return "csv", req.body
    data = fhir.loads(req.body) if req.body.strip() else None
    if isinstance(data, dict) and data.get("resourceType") == "Parameters":
        for param in data.get("parameter", []):
            if param.get("name") == "casefile":
                binary = param.get("resource") or {}
                raw = base64.b64decode(binary.get("data", ""))
                kind = "csv" if "csv" in str(binary.get("contentType", "")) else "json"
                return kind, raw
        raise FhirError("required", "The Parameters has no 'casefile' parameter",
                        "Parameters.parameter")
    return "json", req.body


def import_casefile(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    if req.method != "POST":
        raise FhirError("method-not-allowed", "$import-casefile takes a POST")
    kind, raw = _body(req)
    service = _service(ctx, router, req)
    results = service.import_csv(raw) if kind == "csv" else [service.import_json(raw)]
    params: list[dict[str, Any]] = []
    for result in results:
        params.append({"name": "outcome", "resource": result.outcome})
        if result.response is not None:
            params.append({"name": "response", "resource": result.response})
    return FhirResponse(200, {"resourceType": "Parameters", "parameter": params})


def export_casefile(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    if req.method not in ("GET", "POST"):
        raise FhirError("method-not-allowed", "$casefile takes a GET")
    episode_id = req.segments[1]
    plan = next((v for k, v in req.query if k == "plan"), None)
    service = _service(ctx, router, req)
    result = service.export(episode_id, plan)
    if (result.problems or result.notes) and req.strict:
        raise service.invalid_export(result, f"EpisodeOfCare/{episode_id}")
    content = fhir.dumps(result.document)
    accept = (req.header("accept") or "application/json").lower()
    if "fhir" in accept and "application/json" not in accept:
        binary = {"resourceType": "Binary", "contentType": "application/json",
                  "data": base64.b64encode(content).decode()}
        return FhirResponse(200, binary, touched=service.reader.touched)
    return FhirResponse(200, content, {"Content-Type": "application/json; charset=utf-8"},
                        touched=service.reader.touched)
