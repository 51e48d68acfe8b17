"""$validate and profile validation on write.

https://hl7.org/fhir/R4/resource-operation-validate.html — ``POST [type]/$validate`` and
``POST [type]/[id]/$validate``. The body is the resource, or a ``Parameters`` with
``resource``, ``mode`` (create | update | delete; update and delete only at instance level)
and ``profile``. The answer is 200 with an OperationOutcome whether or not the resource is
valid; 400 only when the request itself is unusable.

On write (``ctx.profile_validator``, called after the base structural checks): the resource
is validated against base R4 (invariants, required bindings) and every profile it claims in
``meta.profile`` that the registry knows (an unknown claimed profile is a warning, so US
Core-tagged data still loads). ``CM_FHIR_REQUIRE_PROFILES=1`` also requires our IG's profile
for the case-management types (off by default).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from fhir_service.conformance.registry import Registry
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator.positions import outcome_with_positions
from fhir_service.interactions.common import check_id, check_type, parse_body
from fhir_service.operations import declare
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest, FhirResponse

if TYPE_CHECKING:
    from fhir_service.context import FhirContext
    from fhir_service.router import Router

DEFINITION = "http://hl7.org/fhir/OperationDefinition/Resource-validate"
IG_CANONICAL = "https://interop.cm-sante-mentale.fr/fhir/"
CASE_MANAGEMENT_TYPES = (
    "CarePlan", "CareTeam", "Consent", "EpisodeOfCare", "Goal", "Organization", "Patient",
    "Practitioner", "PractitionerRole", "Provenance", "RelatedPerson", "ServiceRequest",
)
MODES = ("create", "update", "delete")

_validators: weakref.WeakKeyDictionary[Registry, dict[str, Validator]] = (
    weakref.WeakKeyDictionary())


def validator_for(registry: Registry, unknown_extensions: str = "error") -> Validator:
    """One validator (and its compiled definitions) per registry and strictness: $validate
    treats an unknown extension and a wrong display as errors like the reference validator;
    writes (lenient) as warnings, so data carrying other IGs' extensions, or displays of its
    own (Synthea's 'M' for married), still loads."""
    by_mode = _validators.setdefault(registry, {})
    v = by_mode.get(unknown_extensions)
    if v is None:
        v = Validator(registry, unknown_extensions=unknown_extensions,
                      wrong_display=unknown_extensions)
        by_mode[unknown_extensions] = v
    return v


def required_profiles(registry: Registry, rtype: str) -> list[str]:
    if rtype not in CASE_MANAGEMENT_TYPES:
        return []
    return [u for u in registry.profiles_for(rtype) if u.startswith(IG_CANONICAL)][:1]


def make_profile_validator(ctx: FhirContext) -> Any:
    validator = validator_for(ctx.registry, unknown_extensions="warning")
    registry = ctx.registry
    required = ctx.settings.require_profiles
    base = ctx.settings.validate_base

    def profile_validator(resource: dict[str, Any]) -> list[Issue]:
        rtype = resource.get("resourceType", "")
        profiles = required_profiles(registry, rtype) if required else []
        meta = resource.get("meta")
        claims = isinstance(meta, dict) and bool(meta.get("profile"))
        if not profiles and not claims and not base:
            return []
        issues = validator.validate(resource, profiles)
        if required and profiles:
            claimed = meta.get("profile", []) if isinstance(meta, dict) else []
            if not any(p in claimed for p in profiles) and any(
                i.severity in ("error", "fatal") for i in issues
            ):
                issues.insert(0, Issue("error", "invariant",
                                       f"This server requires {rtype} resources to conform to "
                                       f"{profiles[0]}", (rtype,)))
        return issues

    return profile_validator


def install(router: Router) -> None:
    ctx = router.ctx
    ctx.profile_validator = make_profile_validator(ctx)
    router.add_operation("type", "*", "validate", validate_type)
    router.add_operation("instance", "*", "validate", validate_instance)
    declare(router, "validate", DEFINITION, types=tuple(ctx.resource_types))


# --- the operation ---------------------------------------------------------------------------


def _parse(req: FhirRequest, rtype: str) -> tuple[dict[str, Any] | None, str | None, list[str]]:
    """(resource, mode, profiles) from the body (a resource or Parameters) and the query."""
    mode = None
    profiles: list[str] = []
    for key, value in req.query:
        if key == "mode":
            mode = value
        elif key == "profile":
            profiles.append(value)
    resource: dict[str, Any] | None = None
    if req.body.strip():
        body = parse_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
            raise FhirError("invalid", "The body must be a FHIR resource or a Parameters")
        is_parameters = body["resourceType"] == "Parameters" and (
            rtype != "Parameters" or any(
                isinstance(p, dict) and p.get("name") in ("resource", "mode", "profile")
                for p in body.get("parameter", []) or [])
        )
        if is_parameters:
            for p in body.get("parameter", []) or []:
                if not isinstance(p, dict):
                    continue
                name = p.get("name")
                if name == "resource":
                    resource = p.get("resource")
                elif name == "mode":
                    mode = p.get("valueCode") or p.get("valueString")
                elif name == "profile":
                    url = p.get("valueUri") or p.get("valueCanonical") or p.get("valueString")
                    if url:
                        profiles.append(url)
        else:
            resource = body
    return resource, mode, profiles


def _run(ctx: FhirContext, req: FhirRequest, rtype: str, rid: str | None) -> FhirResponse:
    check_type(ctx, rtype)
    if rid is not None:
        check_id(rid)
    resource, mode, profiles = _parse(req, rtype)
    mode = mode or ("update" if rid is not None and resource is not None else "create")
    if mode not in MODES:
        raise FhirError("invalid", f"Unknown mode '{mode}' (create, update or delete)", "mode")
    if mode in ("update", "delete") and rid is None:
        raise FhirError("invalid", f"mode={mode} is only allowed at instance level "
                        f"({rtype}/[id]/$validate)", "mode")
    issues: list[Issue] = []
    if mode == "delete":
        issues.extend(_delete_issues(ctx, rtype, rid or "", req.principal))
        return _answer(issues)
    if resource is None:
        raise FhirError("invalid", "No resource to validate (body, or the 'resource' parameter)")
    if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
        got = resource.get("resourceType") if isinstance(resource, dict) else None
        raise FhirError("invalid", f"The resource is a {got}, the URL names {rtype}",
                        "resourceType")
    if mode == "update" and resource.get("id") != rid:
        issues.append(Issue("error", "invalid",
                            f"The resource id '{resource.get('id')}' differs from the URL id "
                            f"'{rid}'", (f"{rtype}.id",)))
    validator = validator_for(ctx.registry)
    for url in profiles:
        if not validator.knows_profile(url):
            issues.append(Issue("error", "not-found", f"Profile {url} is not known here",
                                ("profile",)))
    known = [u for u in profiles if validator.knows_profile(u)]
    issues.extend(validator.validate(resource, known))
    return _answer(issues, req.body, _resource_path(req, rtype))


def _delete_issues(ctx: FhirContext, rtype: str, rid: str,
                   principal: Any = None) -> list[Issue]:
    from fhir_service.interactions.write import referenced_by

    with ctx.door(principal).read_session() as session:
        current = session.get_visible(rtype, rid)
        if current is None or current.deleted:
            return [Issue("warning", "not-found", f"{rtype}/{rid} does not exist", (rtype,))]
        if ctx.settings.referential_integrity:
            users = referenced_by(session, rtype, rid)
            if users:
                return [Issue("error", "conflict", users, (rtype,))]
    return []


def _answer(issues: list[Issue], text: bytes | None = None,
            prefix: tuple[str | int, ...] = ()) -> FhirResponse:
    """The OperationOutcome; with the body's text, each issue carries the line and column of
    its element (operationoutcome-issue-line / -col, as the reference validator does)."""
    if not any(i.severity in ("error", "fatal", "warning") for i in issues):
        issues = [*issues, Issue("information", "informational", "All OK")]
    if text is None or not text.strip():
        return FhirResponse(200, operation_outcome(issues))
    return FhirResponse(200, outcome_with_positions(issues, text, prefix))


def _resource_path(req: FhirRequest, rtype: str) -> tuple[str | int, ...]:
    """Where the validated resource is in the body: the body itself, or a Parameters'
    ``resource`` parameter."""
    body = parse_body(req)
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        return ()
    params = body.get("parameter", []) or []
    if rtype == "Parameters" and not any(  # as _parse: a Parameters to validate, or a wrapper
        isinstance(p, dict) and p.get("name") in ("resource", "mode", "profile") for p in params
    ):
        return ()
    for i, p in enumerate(params):
        if isinstance(p, dict) and p.get("name") == "resource":
            return ("parameter", i, "resource")
    return ()


def validate_type(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    if req.method.upper() != "POST":
        raise FhirError("method-not-allowed", "$validate takes POST")
    return _run(ctx, req, req.segments[0], None)


def validate_instance(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    if req.method.upper() != "POST":
        raise FhirError("method-not-allowed", "$validate takes POST")
    return _run(ctx, req, req.segments[0], req.segments[1])
