"""A DUI's plan in the case file without a manual conversion.

A médico-social structure's DUI stores its projet personnalisé as ANS TDDUI resources (a
``tddui-careplan-projet-perso`` CarePlan, its goals, besoins, actions and accords), without our
episode of care. :class:`DuiPlanReader` is the reader of the case-file export
(``$casefile``) that also offers, as plans of an episode, the TDDUI plans of the episode's
person, converted to our profiles by :func:`fhir_service.national.tddui.from_tddui` (the
episode given, the author being the plan's or else the episode's case manager). Everything is
read as the caller; what cannot be converted is left out, as the export leaves out what the
caller may not read. The stored resources stay as the DUI sent them.
"""

from __future__ import annotations

from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.mapping.service import CallerReader
from fhir_service.national import tddui


class DuiPlanReader(CallerReader):
    def __init__(self, reader: CallerReader, registry: Registry) -> None:
        super().__init__(reader.dispatch, reader.base_url, reader.headers, reader.principal)
        self.registry = registry
        self.converted: dict[str, dict[str, Any]] = {}  # "Type/id" -> our shape

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        return self.converted.get(f"{rtype}/{rid}") or super().read(rtype, rid)

    def search(self, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found = super().search(rtype, query)
        episode = next((v for k, v in query if k == "episode-of-care"), None)
        if rtype == "CarePlan" and episode:
            wanted = next((v for k, v in query if k == "_id"), None)
            found = [*found, *self._dui_plans(episode, wanted)]
        return [self.converted.get(f"{r.get('resourceType')}/{r.get('id')}", r) for r in found]

    def _dui_plans(self, episode_ref: str, wanted: str | None) -> list[dict[str, Any]]:
        episode = super().read("EpisodeOfCare", episode_ref.split("/")[-1])
        patient = ((episode or {}).get("patient") or {}).get("reference")
        if not patient:
            return []
        query = [("subject", patient), ("_profile", tddui.TDDUI_PLAN)]
        plans = super().search("CarePlan", [*query, *([("_id", wanted)] if wanted else [])])
        out = []
        for plan in plans:
            if tddui.CM_PLAN in (plan.get("meta") or {}).get("profile", []):
                continue  # already ours: the episode's own search finds it
            converted = self._convert(plan, patient, episode_ref, episode or {})
            if converted is not None:
                out.append(converted)
        return out

    def _convert(self, plan: dict[str, Any], patient: str, episode_ref: str,
                 episode: dict[str, Any]) -> dict[str, Any] | None:
        search, read = super().search, super().read  # (comprehensions have no super())
        pid = f"CarePlan/{plan.get('id')}"
        listed = {g.get("reference") for g in plan.get("goal", []) or []}
        goals = [g for g in search("Goal", [("subject", patient)])
                 if f"Goal/{g.get('id')}" in listed or any(
                     (e.get("valueReference") or {}).get("reference") == pid
                     for e in g.get("extension", []) or [] if e.get("url") == tddui.PLAN_REF)]
        based = [r for rtype in ("ServiceRequest", "Task")
                 for r in search(rtype, [("based-on", pid)])]
        accords = [r for info in plan.get("supportingInfo", []) or []
                   if str(info.get("reference", "")).startswith("Consent/")
                   for r in [read("Consent", info["reference"].split("/")[1])] if r]
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": r} for r in (plan, *accords, *goals, *based)]}
        author = None if plan.get("author") else (episode.get("careManager") or {}).get(
            "reference")
        result = tddui.from_tddui(bundle, self.registry, "", episode=episode_ref, author=author)
        if not result.ok or result.resource is None:
            return None
        for entry in result.resource["entry"]:
            res = entry["resource"]
            self.converted[f"{res['resourceType']}/{res['id']}"] = res
        plan_out: dict[str, Any] = result.resource["entry"][0]["resource"]
        return plan_out


def offer_dui_plans(service: Any, registry: Registry) -> Any:
    """The case-file service ``service`` whose reader also offers the DUI's plans: one place
    for ``$casefile`` and ``cm-fhir export``."""
    service.reader = DuiPlanReader(service.reader, registry)
    return service

