"""References: target types and profiles, resolution in the resource or its Bundle
(https://hl7.org/fhir/R4/references.html)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fhir_service.conformance.validator import fhirpath
from fhir_service.conformance.validator.common import CORE, _bundle_entry, _from, _ref_type, _Run
from fhir_service.conformance.validator.plan import reference_targets

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Node, Validator


def check_reference(
    validator: Validator,
    run: _Run,
    item: dict[str, Any],
    node: Node,
    expr: str,
    resource: dict[str, Any],
    root: dict[str, Any],
) -> None:
    ref = item.get("reference")
    if not isinstance(ref, str):
        return
    rtype: str | None = None
    unresolved = False  # a literal reference whose target is not at hand
    resolved: dict[str, Any] | None = None
    if ref.startswith("#"):
        container = root if isinstance(root, dict) else resource
        if ref == "#":
            rtype = container.get("resourceType")
        else:
            target = next(
                (
                    c
                    for c in container.get("contained", []) or []
                    if isinstance(c, dict) and c.get("id") == ref[1:]
                ),
                None,
            )
            if target is None:
                run.add(
                    "error",
                    "invariant",
                    f"Constraint failed: ref-1: the contained resource '{ref}' is not in the resource",
                    f"{expr}.reference",
                )
                return
            rtype = target.get("resourceType")
            resolved = target
    elif ref.startswith(("urn:uuid:", "urn:oid:")):
        if run.bundle is not None:
            entry = next(
                (
                    e
                    for e in run.bundle.get("entry", []) or []
                    if isinstance(e, dict) and e.get("fullUrl") == ref
                ),
                None,
            )
            if entry is None:
                run.add(
                    "warning",
                    "not-found",
                    f"The reference {ref} does not resolve to an entry of the Bundle",
                    f"{expr}.reference",
                )
                return
            res = entry.get("resource")
            rtype = res.get("resourceType") if isinstance(res, dict) else None
            resolved = res if isinstance(res, dict) else None
    else:
        rtype = _ref_type(ref)
        if rtype is not None and validator.registry.type_definition(rtype) is None:
            rtype = None
        resolved = _bundle_entry(run.bundle, ref)
        unresolved = resolved is None
    allowed = reference_targets(validator, node)  # None: no target, or one we do not know
    if allowed is None or rtype is None:
        return
    if rtype in allowed or "Resource" in allowed or "DomainResource" in allowed:
        if resolved is not None:
            target_profiles(validator, run, resolved, node, ref, expr)
        return
    run.add(
        validator.unresolved_reference_types if unresolved else "error",
        "structure",
        f"The type '{rtype}' implied by the reference is not a valid target for "
        f"{node.path} (must be one of {', '.join(sorted(allowed))}){_from(run)}",
        f"{expr}.reference",
    )


def target_profiles(
    validator: Validator, run: _Run, target: dict[str, Any], node: Node, ref: str, expr: str
) -> None:
    """A target at hand conforms to one of the element's target profiles of its type
    (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.type.targetProfile);
    core type definitions and unknown profiles are not checked."""
    rtype = target.get("resourceType")
    profiles = [
        p
        for t in node.types
        if t.code == "Reference"
        for p in t.targets
        if not p.startswith(CORE) and (m := validator.model(p)) is not None and m.type == rtype
    ]
    if not profiles or any(
        p.startswith(CORE) and p.endswith(f"/{rtype}") for t in node.types for p in t.targets
    ):
        return
    if any(resource_conforms(validator, run, target, p) for p in profiles):
        return
    run.add(
        "error",
        "structure",
        f"Unable to find a profile match for {ref} among choices: {', '.join(profiles)}{_from(run)}",
        f"{expr}",
    )


def resource_conforms(validator: Validator, run: _Run, res: dict[str, Any], url: str) -> bool:
    """Does ``res`` (contained, or an entry of the Bundle of ``run``) conform to the
    profile ``url``? A check already under way for the same pair counts as conforming."""
    key = (id(res), url)
    if key in run.guard:
        return True
    run.guard.add(key)
    try:
        sub = _Run(run.bundle, run.guard)
        scope = fhirpath.set_scope(res, res, run.bundle)
        try:
            validator._resource(sub, res, str(res.get("resourceType")), [url], False, False, res)
        finally:
            fhirpath.restore_scope(scope)
    finally:
        run.guard.discard(key)
    return not any(i.severity in ("error", "fatal") for i in sub.issues)


def conforms_profile(validator: Validator, value: Any, url: str, run: _Run | None = None) -> bool:
    model = validator.model(url)
    if model is None:
        return False
    if isinstance(value, dict) and "resourceType" in value:
        if run is not None:  # in the Bundle being validated: its references resolve
            return resource_conforms(validator, run, value, url)
        issues = validator.validate(value, [url], meta_profiles=False)
    else:
        sub = _Run()
        if isinstance(value, dict):
            validator._complex(sub, value, model.root, model.type, "x", {}, {})
        issues = sub.issues
    return not any(i.severity in ("error", "fatal") for i in issues)
