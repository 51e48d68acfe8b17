"""capabilities — https://hl7.org/fhir/R4/http.html#capabilities.

Derived from what is configured (resource types and search parameters from the loaded
definitions, supported interactions and operations, formats, profiles from IG packages);
never written by hand.
"""

from __future__ import annotations

from typing import Any

from fhir_service import __version__
from fhir_service.context import FhirContext
from fhir_service.fhir import FHIR_VERSION

TYPE_INTERACTIONS = ("read", "vread", "update", "patch", "delete", "history-instance",
                     "history-type", "create", "search-type")
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")
SEARCH_MODIFIERS_DOC = {
    "token": "modifiers :not :text :missing",
    "string": "modifiers :exact :contains :missing",
    "reference": "modifiers :[type] :identifier :missing; chaining",
    "uri": "modifiers :below :above :missing",
    "date": "prefixes eq ne gt lt ge le sa eb ap; :missing",
    "number": "prefixes eq ne gt lt ge le sa eb ap; :missing",
    "quantity": "prefixes eq ne gt lt ge le sa eb ap; :missing",
}


SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
CORE_SP = "http://hl7.org/fhir/SearchParameter/"


def _canonical_definitions(ctx: FhirContext) -> dict[tuple[str, str], str]:
    """(base, code) → canonical URL of the official, non-example SearchParameter: the R4
    package ships example SearchParameters (``SearchParameter/example`` for ``_id``,
    ``example-reference`` for Condition ``subject``) that must never be advertised."""
    out: dict[tuple[str, str], str] = {}
    for sp in ctx.registry.all_of("SearchParameter"):
        url, code = sp.get("url"), sp.get("code")
        if not isinstance(url, str) or not code or _is_example(sp):
            continue
        for base in sp.get("base", []):
            out.setdefault((base, code), url)
    return out


def _is_example(sp: dict[str, Any]) -> bool:
    url = str(sp.get("url", ""))
    return bool(sp.get("experimental")) and url.startswith(CORE_SP + "example")


def _definition(canonical: dict[tuple[str, str], str], rtype: str, param: Any) -> str:
    sp = param.definition if isinstance(param.definition, dict) else {}
    if not _is_example(sp):
        return str(param.url)
    if isinstance(sp.get("derivedFrom"), str):
        return str(sp["derivedFrom"])
    for base in (rtype, "DomainResource", "Resource"):
        if (base, param.code) in canonical:
            return canonical[(base, param.code)]
    return str(param.url)


def _sign_in(settings: Any) -> bool:
    """Practitioners sign in (security/smart_launch.py): embedded, or external with a user
    claim."""
    return settings.auth == "embedded" or bool(getattr(settings, "external_user_claim", ""))


def _security(ctx: FhirContext, base_url: str) -> dict[str, Any]:
    """``rest.security``: SMART Backend Services, and the token endpoint when this server
    issues tokens (https://hl7.org/fhir/smart-app-launch/conformance.html)."""
    settings = ctx.settings
    cors = bool(getattr(settings, "cors_origins", ""))
    if settings.auth == "off":
        return {"cors": cors, "description": "Authentication is OFF on this server (local "
                "experiments only): every request acts for the server itself."}
    security: dict[str, Any] = {
        "cors": cors,
        "service": [{
            "coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR",
                        "display": "SMART-on-FHIR"}],
            "text": "OAuth 2.0 bearer tokens, SMART Backend Services (client_credentials "
                    "with a private_key_jwt client assertion), system/ scopes"
                    + ("; practitioners sign in with SMART App Launch (standalone launch, "
                       "authorization code with PKCE S256, public clients), user/ scopes, "
                       "openid fhirUser" if _sign_in(settings) else ""),
        }],
        "description": "Every request except metadata and .well-known/smart-configuration "
                       "needs 'Authorization: Bearer <token>' with SMART system/ scopes "
                       "(e.g. system/CarePlan.rs). A client sees the people its structure "
                       "accompanies (care team, consent, managed episode) and changes only "
                       "what its structure owns. "
                       + ("A practitioner signed in with user/ scopes (e.g. user/CarePlan.rs) "
                          "sees what the structure of their active PractitionerRole may see. "
                          if _sign_in(settings) else "")
                       + ("Tokens are issued by this server's token endpoint "
                          "(see .well-known/smart-configuration)."
                          if settings.auth == "embedded" else
                          "Tokens are issued by the trusted external authorization server."),
    }
    if settings.auth == "embedded":
        root = base_url.rstrip("/")
        base_path = str(getattr(settings, "base_path", "")).rstrip("/")
        if base_path and root.endswith(base_path):
            root = root[: -len(base_path)]
        # R4's oauth-uris: authorize is the practitioners' sign-in (http/login.py)
        security["extension"] = [{"url": OAUTH_URIS, "extension": [
            {"url": "authorize", "valueUri": f"{root}/auth/authorize"},
            {"url": "token", "valueUri": f"{root}/auth/token"}]}]
    return security


def capability_statement(ctx: FhirContext, base_url: str) -> dict[str, Any]:
    resources = []
    canonical = _canonical_definitions(ctx)
    for rtype in ctx.resource_types:
        params = ctx.params.for_type(rtype)
        search = []
        for code in sorted(params):
            p = params[code]
            if not p.indexed and code not in ("_id", "_lastUpdated"):
                continue
            entry = {"name": code, "definition": _definition(canonical, rtype, p),
                     "type": p.type}
            doc = SEARCH_MODIFIERS_DOC.get(p.type)
            if doc:
                entry["documentation"] = doc
            search.append(entry)
        includes = sorted(f"{rtype}:{c}" for c, p in params.items()
                          if p.type == "reference" and p.indexed)
        revincludes = sorted(
            f"{other}:{c}"
            for other in ctx.resource_types
            for c, p in ctx.params.for_type(other).items()
            if p.type == "reference" and p.indexed and (rtype in p.targets or not p.targets)
        ) if rtype in _REVINCLUDE_TARGETS else []
        res: dict[str, Any] = {
            "type": rtype,
            "profile": f"http://hl7.org/fhir/StructureDefinition/{rtype}",
        }
        supported = ctx.registry.profiles_for(rtype)
        if supported:
            res["supportedProfile"] = supported
        res.update({
            "interaction": [{"code": c} for c in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "full-support",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "referencePolicy": ["literal", "logical"] + (
                ["enforced"] if ctx.settings.referential_integrity else []),
        })
        if includes:  # FHIR arrays are never empty
            res["searchInclude"] = includes
        if revincludes:
            res["searchRevInclude"] = revincludes
        res["searchParam"] = search
        operations = [op for op in ctx.operations.values()
                      if isinstance(op, dict) and rtype in op.get("types", ())]
        if operations:
            res["operation"] = [{"name": op["name"], "definition": op.get(
                "per_type", {}).get(rtype, op["definition"])} for op in operations]
        if rtype == "Subscription" and getattr(ctx, "subscriptions", None) is not None:
            from fhir_service.subscriptions.service import capability

            capability(res)  # (the Backport profile and our topics)
        resources.append(res)
    system_ops = [op for op in ctx.operations.values()
                  if isinstance(op, dict) and op.get("system")]
    rest: dict[str, Any] = {
        "mode": "server",
        "security": _security(ctx, base_url),
        "resource": resources,
        "interaction": [{"code": c} for c in SYSTEM_INTERACTIONS],
        "searchParam": [
            {"name": "_id", "type": "token",
             "definition": "http://hl7.org/fhir/SearchParameter/Resource-id"},
            {"name": "_lastUpdated", "type": "date",
             "definition": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"},
        ],
    }
    if system_ops:
        rest["operation"] = [{"name": op["name"], "definition": op["definition"]}
                             for op in system_ops]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "cm-fhir",
        "kind": "instance",
        **({"instantiates": [BACKPORT_SERVER]} if getattr(ctx, "subscriptions", None) else {}),
        "software": {"name": "cm-fhir", "version": __version__},
        "implementation": {"description": "Case-management FHIR service", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [rest],
    }


BACKPORT_SERVER = ("http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/"
                   "backport-subscription-server-r4")

# revinclude lists grow quadratically with types; keep them for the case-management set
_REVINCLUDE_TARGETS = frozenset({
    "CarePlan", "Goal", "CareTeam", "EpisodeOfCare", "Patient", "Practitioner",
    "PractitionerRole", "Organization", "RelatedPerson", "ServiceRequest", "Consent",
    "Provenance", "AuditEvent", "Questionnaire", "QuestionnaireResponse",
})
