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


def capability_statement(ctx: FhirContext, base_url: str) -> dict[str, Any]:
    resources = []
    for rtype in ctx.resource_types:
        params = ctx.params.for_type(rtype)
        search = []
        for code in sorted(params):
            p = params[code]
            if not p.indexed and code not in ("_id", "_lastUpdated"):
                continue
            entry = {"name": code, "definition": p.url, "type": p.type}
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
            "searchInclude": includes,
        })
        if revincludes:
            res["searchRevInclude"] = revincludes
        res["searchParam"] = search
        operations = [op for op in ctx.operations.values()
                      if isinstance(op, dict) and rtype in op.get("types", ())]
        if operations:
            res["operation"] = [{"name": op["name"], "definition": op["definition"]}
                                for op in operations]
        resources.append(res)
    system_ops = [op for op in ctx.operations.values()
                  if isinstance(op, dict) and op.get("system")]
    rest: dict[str, Any] = {
        "mode": "server",
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
        "software": {"name": "cm-fhir", "version": __version__},
        "implementation": {"description": "Case-management FHIR service", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [rest],
    }


# revinclude lists grow quadratically with types; keep them for the case-management set
_REVINCLUDE_TARGETS = frozenset({
    "CarePlan", "Goal", "CareTeam", "EpisodeOfCare", "Patient", "Practitioner",
    "PractitionerRole", "Organization", "RelatedPerson", "ServiceRequest", "Consent",
    "Provenance", "AuditEvent", "Questionnaire", "QuestionnaireResponse",
})
