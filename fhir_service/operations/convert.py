"""$convert: a resource to or from the French national guides (docs/national-guides.md).

https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/convert —
``POST [base]/CareTeam/$convert?target=…`` (the body is the resource, or a Parameters with
``resource`` and ``target``) and ``GET [base]/CareTeam/[id]/$convert?target=…`` (a stored
team the caller may read; one it may not is answered as a missing one, 404). The same on
CarePlan, where a plan travels with its goals: the body may be a Bundle (the plan, its goals,
and for TDDUI its accords, needs and actions); the instance form gathers the goals, and the
needs (ServiceRequest) and actions (Task) based on the plan, that the caller may read; a TDDUI
plan converted to ours takes ``episode`` and ``author`` (references) in the query. ``target`` is a
canonical URL or a key of :data:`fhir_service.national.PROFILES`. The answer is a Parameters
with ``return`` (the converted resource) and ``outcome`` (what could not be carried, as
warnings); a resource that cannot be converted is 422 with the reason; nothing is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from fhir_service.interactions.common import check_id, parse_body
from fhir_service.national import convert as run_conversion
from fhir_service.operations import declare
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest, FhirResponse

if TYPE_CHECKING:
    from fhir_service.context import FhirContext
    from fhir_service.router import Router

DEFINITION = "https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/convert"
TYPES = ("CareTeam", "CarePlan")


def install(router: Router) -> None:
    for rtype in TYPES:
        router.add_operation("type", rtype, "convert", convert_type)
        router.add_operation("instance", rtype, "convert", convert_instance)
    declare(router, "convert", DEFINITION, types=TYPES)


def _target(req: FhirRequest, body_target: str | None) -> str:
    targets = [v for k, v in req.query if k == "target"]
    if body_target:
        targets.append(body_target)
    if len(targets) != 1:
        raise FhirError("required", "Give one target profile: ?target=<profile URL or key>",
                        "target")
    return targets[0]


def convert_type(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    if req.method != "POST":
        raise FhirError("method-not-allowed", "$convert on a type takes a POST with the resource")
    rtype = req.segments[0]
    body = parse_body(req)
    if not isinstance(body, dict):
        raise FhirError("invalid", "The body must be a FHIR resource or a Parameters")
    body_target = None
    resource: Any = body
    if body.get("resourceType") == "Parameters":
        resource = None
        for p in body.get("parameter", []) or []:
            if isinstance(p, dict) and p.get("name") == "resource":
                resource = p.get("resource")
            elif isinstance(p, dict) and p.get("name") == "target":
                body_target = p.get("valueString") or p.get("valueUri") or p.get("valueCanonical")
    accepted = (rtype, "Bundle") if rtype == "CarePlan" else (rtype,)
    if not isinstance(resource, dict) or resource.get("resourceType") not in accepted:
        raise FhirError("invalid", f"$convert on {rtype} takes a "
                        f"{' or a '.join(accepted)}", "resource")
    return _answer(ctx, req, resource, _target(req, body_target), [])


def convert_instance(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    if req.method not in ("GET", "POST"):
        raise FhirError("method-not-allowed", f"$convert takes a GET (not {req.method})")
    rtype, rid = req.segments[0], req.segments[1]
    check_id(rid)
    target = _target(req, None)
    focus, hidden_people = ctx.door(req.principal).read(rtype, rid)
    if focus is None:
        req.probed.update(hidden_people)
        raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
    if focus.deleted or focus.content is None:
        raise FhirError("deleted", f"{rtype}/{rid} was deleted", rtype)
    resource = orjson.loads(focus.content)
    touched = [focus]
    if rtype == "CarePlan":  # a plan travels with its goals (those the caller may read)
        door = ctx.door(req.principal)
        entries = [{"resource": resource}]
        for ref in resource.get("goal", []) or []:
            value = ref.get("reference", "") if isinstance(ref, dict) else ""
            if value.startswith("Goal/"):
                goal, _ = door.read("Goal", value.split("/")[1])
                if goal is not None and not goal.deleted and goal.content is not None:
                    entries.append({"resource": orjson.loads(goal.content)})
                    touched.append(goal)
        entries.extend({"resource": r} for r in _based_on(router, req, rid, touched))
        resource = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return _answer(ctx, req, resource, target, touched)


def _based_on(router: Router, req: FhirRequest, pid: str, touched: list[Any]
              ) -> list[dict[str, Any]]:
    """The plan's needs (ServiceRequest) and actions (Task) based on it, searched as the
    caller (what it may not read is not sent)."""
    from fhir_service.mapping.service import CallerReader

    reader = CallerReader(router.dispatch, req.base_url, dict(req.headers), req.principal)
    found = [r for rtype in ("ServiceRequest", "Task")
             for r in reader.search(rtype, [("based-on", f"CarePlan/{pid}")])]
    touched.extend(reader.touched)
    return found


def _answer(ctx: FhirContext, req: FhirRequest, resource: dict[str, Any], target: str,
            touched: list[Any]) -> FhirResponse:
    options = {k: v for k, v in req.query if k in ("episode", "author")}
    try:
        result = run_conversion(resource, target, ctx.registry, req.base_url, **options)
    except ValueError as exc:
        raise FhirError("not-supported", str(exc), "target") from None
    if result.resource is None or not result.ok:
        issues = result.issues or [Issue("error", "processing", "The resource cannot be "
                                         "converted")]
        return FhirResponse(422, operation_outcome(issues), touched=touched)
    issues = result.issues or [Issue("information", "informational",
                                     "Converted without loss")]
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "return", "resource": result.resource},
        {"name": "outcome", "resource": operation_outcome(issues)},
    ]}
    return FhirResponse(200, parameters, touched=touched)
