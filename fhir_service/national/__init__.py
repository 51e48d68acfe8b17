"""Conversions between this guide's profiles and the French national guides.

- :mod:`fhir_service.national.careteam`: our CareTeam (``cm-care-team``) ⇄ ANS Cercle de
  Soins CareTeam (``cds-ihe-careteam``).

Each conversion is a pure function ``(resource, registry) -> Conversion``: the converted
resource and the issues that say what could not be carried (warnings) or why it cannot be
converted (errors, nothing returned). Code correspondences are ConceptMaps of our IG, read
from the registry (data, not code). docs/national-guides.md lists, per direction, what is
carried and what is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.outcomes import Issue

IG = "https://interop.cm-sante-mentale.fr/fhir"
CDS = "https://interop.esante.gouv.fr/ig/fhir/cds"
TDDUI = "https://interop.esante.gouv.fr/ig/fhir/tddui"

# which converter serves (resource type, target profile)
PROFILES = {
    "cm-care-team": f"{IG}/StructureDefinition/cm-care-team",
    "cds-careteam": f"{CDS}/StructureDefinition/cds-ihe-careteam",
    "cm-care-plan": f"{IG}/StructureDefinition/cm-care-plan",
    "tddui-projet-perso": f"{TDDUI}/StructureDefinition/tddui-careplan-projet-perso",
}


@dataclass
class Conversion:
    resource: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.resource is not None and not any(
            i.severity in ("error", "fatal") for i in self.issues)


def map_code(registry: Registry, concept_map: str, system: str, code: str
             ) -> list[dict[str, Any]]:
    """The target codings of (system, code) in a ConceptMap of the registry, every group
    whose source is ``system``; ``unmatched`` and ``disjoint`` targets are not correspondences."""
    cm = registry.by_url(concept_map)
    if cm is None:
        raise LookupError(f"ConceptMap {concept_map} is not loaded")
    out = []
    for group in cm.get("group", []):
        if group.get("source") != system:
            continue
        for element in group.get("element", []):
            if element.get("code") != code:
                continue
            for target in element.get("target", []):
                if target.get("equivalence") in ("unmatched", "disjoint") or "code" not in target:
                    continue
                coding = {"system": group["target"], "code": target["code"]}
                if target.get("display"):
                    coding["display"] = target["display"]
                out.append(coding)
    return out


def convert(resource: dict[str, Any], target: str, registry: Registry,
            base_url: str = "", episode: str | None = None,
            author: str | None = None) -> Conversion:
    """Convert ``resource`` to the profile ``target`` (a canonical URL or a key of
    :data:`PROFILES`): a CareTeam, or a plan (a CarePlan, or a Bundle with one CarePlan and
    its goals; ``episode`` and ``author`` for a TDDUI plan that has none of ours).
    Raises ValueError for a pair no converter serves."""
    from fhir_service.national import careteam, tddui

    url = PROFILES.get(target, target)
    rtype = resource.get("resourceType")
    if rtype == "CareTeam" and url == PROFILES["cds-careteam"]:
        return careteam.to_cds(resource, registry, base_url)
    if rtype == "CareTeam" and url == PROFILES["cm-care-team"]:
        return careteam.from_cds(resource, registry)
    if rtype in ("CarePlan", "Bundle") and url == PROFILES["tddui-projet-perso"]:
        return tddui.to_tddui(resource, registry, base_url)
    if rtype in ("CarePlan", "Bundle") and url == PROFILES["cm-care-plan"]:
        return tddui.from_tddui(resource, registry, base_url, episode, author)
    known = ", ".join(f"{k} ({v})" for k, v in PROFILES.items())
    raise ValueError(f"No conversion of a {rtype} to {target}; known targets: {known}")
