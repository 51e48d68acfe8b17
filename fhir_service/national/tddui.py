"""Our projet personnalisé (CarePlan ``cm-care-plan`` + Goals ``cm-goal``) ⇄ ANS TDDUI
(``tddui-careplan-projet-perso`` + ``tddui-goal-objectif`` + ``tddui-consent-accord``).

A plan travels with its goals: both directions take and give a Bundle (``collection``)
holding one CarePlan and its Goals (and, for TDDUI, the accords and needs they reference).

To TDDUI:
- the plan: one identifier, one category — the TRE_R390 type of the plan, else ours mapped by
  ConceptMap ``cm-plan-type-to-tre-r390`` (a type without one is not carried); one note;
  actions (``activity``) are not carried (TDDUI carries them as Task resources, not vendored);
  our extensions (episode, person's agreement) stay;
- the accords TDDUI requires: the structure's (``supportingInfo`` "Consentement structure",
  required there) is **derived** from the plan's author and date (a warning says so); the
  person's from our ``cm-person-agreement`` when it says ``agree``;
- each goal: its plan (extension ``tddui-careplan-reference``), its title (note
  ``titreObjectif``: our description), and the need it addresses (``addresses``, required
  there): our goal's own ``addresses`` when it has one, else a need (ServiceRequest) **derived**
  from its life domain (warning).

From TDDUI:
- the plan needs our episode (``episode`` option, or the extension already there) and an
  author (``author`` option, or the plan's); the TRE_R390 category is kept (our plan types
  include PP, PPA, PPI); the person's accord (a referenced Consent in the Bundle performed by
  the subject) becomes ``cm-person-agreement``; the goals become ``CarePlan.goal``;
- each goal needs a life domain (``category``, required here): a goal without one of ours is
  refused (no correspondence from TDDUI's free domain is defined); its description comes from
  ``description.text`` or the ``titreObjectif`` note.
"""

from __future__ import annotations

import copy
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.national import IG, Conversion, map_code
from fhir_service.outcomes import Issue

TDDUI = "https://interop.esante.gouv.fr/ig/fhir/tddui"
TDDUI_PLAN = f"{TDDUI}/StructureDefinition/tddui-careplan-projet-perso"
TDDUI_GOAL = f"{TDDUI}/StructureDefinition/tddui-goal-objectif"
TDDUI_ACCORD = f"{TDDUI}/StructureDefinition/tddui-consent-accord"
PLAN_REF = f"{TDDUI}/StructureDefinition/tddui-careplan-reference"
GOAL_NOTE = f"{TDDUI}/StructureDefinition/tddui-goal-note"
CM_PLAN = f"{IG}/StructureDefinition/cm-care-plan"
CM_GOAL = f"{IG}/StructureDefinition/cm-goal"
PLAN_TYPE = f"{IG}/CodeSystem/cm-plan-type"
LIFE_DOMAIN = f"{IG}/CodeSystem/cm-life-domain"
R390 = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise"
TO_R390 = f"{IG}/ConceptMap/cm-plan-type-to-tre-r390"
EPISODE_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"
AGREEMENT_EXT = f"{IG}/StructureDefinition/cm-person-agreement"
LIFE_DOMAINS = ("sante", "loisirs", "scolarite-formation", "emploi", "vie-affective-sexualite",
                "organisation-quotidien", "hygiene-de-vie", "vie-sociale", "logement",
                "droits-demarches")


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    if bundle.get("resourceType") != "Bundle":
        return [bundle]
    return [e["resource"] for e in bundle.get("entry", []) or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _bundle(resources: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/") or "urn:cm-fhir"
    entries = []
    for res in resources:
        full = f"{base}/{res['resourceType']}/{res['id']}" if base != "urn:cm-fhir" \
            else f"urn:uuid:{_uuid(res['resourceType'], res['id'])}"
        entries.append({"fullUrl": full, "resource": res})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _uuid(rtype: str, rid: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rtype}/{rid}"))


def _profiled(res: dict[str, Any], drop: str, add: str) -> dict[str, Any]:
    out = copy.deepcopy(res)
    meta = out.setdefault("meta", {})
    profiles = [p for p in meta.get("profile", []) if p.split("|")[0] != drop]
    meta["profile"] = [add, *[p for p in profiles if p != add]]
    for key in ("versionId", "lastUpdated", "source"):
        meta.pop(key, None)
    out.pop("text", None)
    return out


def _ref_id(ref: Any, rtype: str) -> str | None:
    value = ref.get("reference") if isinstance(ref, dict) else None
    if isinstance(value, str) and value.startswith(f"{rtype}/"):
        return value.split("/")[1]
    return None


def _one_plan(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    plans = [r for r in resources if r.get("resourceType") == "CarePlan"]
    return plans[0] if len(plans) == 1 else None


# --- ours -> TDDUI ---------------------------------------------------------------------------


def to_tddui(bundle: dict[str, Any], registry: Registry, base_url: str = "") -> Conversion:
    resources = _resources(bundle)
    plan = _one_plan(resources)
    if plan is None:
        return Conversion(None, [Issue("error", "required", "Give one CarePlan (with its goals "
                                       "in a Bundle)", ("Bundle.entry",))])
    issues: list[Issue] = []
    pid = plan.get("id") or "plan"
    out = _profiled(plan, CM_PLAN, TDDUI_PLAN)
    if not out.get("identifier"):
        return Conversion(None, [Issue("error", "required", "TDDUI requires the plan's "
                                       "identifier", ("CarePlan.identifier",))])
    if len(out["identifier"]) > 1:
        issues.append(Issue("warning", "incomplete", "TDDUI carries one identifier: the others "
                            "are not carried", ("CarePlan.identifier",)))
        out["identifier"] = out["identifier"][:1]
    codings = [c for cat in plan.get("category", []) or [] for c in cat.get("coding", []) or []]
    r390 = [c for c in codings if c.get("system") == R390]
    if not r390:
        r390 = [m for c in codings if c.get("system") == PLAN_TYPE
                for m in map_code(registry, TO_R390, PLAN_TYPE, c["code"])]
    if r390:
        out["category"] = [{"coding": [{k: v for k, v in r390[0].items() if k != "display"}]}]
    else:
        out.pop("category", None)
    if len(plan.get("category", []) or []) > (1 if r390 else 0):
        issues.append(Issue("warning", "incomplete", "TDDUI carries one plan type, from "
                            "TRE_R390: the other categories are not carried",
                            ("CarePlan.category",)))
    if len(out.get("note", []) or []) > 1:
        issues.append(Issue("warning", "incomplete", "TDDUI carries one note: the others are "
                            "not carried", ("CarePlan.note",)))
        out["note"] = out["note"][:1]
    if out.pop("activity", None):
        issues.append(Issue("warning", "incomplete", "The plan's actions are not carried (TDDUI "
                            "carries actions as Task resources, not supported here)",
                            ("CarePlan.activity",)))
    made: list[dict[str, Any]] = []
    author = (plan.get("author") or {}).get("reference")
    when = plan.get("created") or (plan.get("period") or {}).get("start")
    sent = [i for i in plan.get("supportingInfo", []) or [] if i.get("display") in
            ("Consentement structure", "Consentement usager")]
    if any(i.get("display") == "Consentement structure" for i in sent):
        # a plan that came from TDDUI keeps the accords it was sent with
        goals_out, needs = _goals_to_tddui(resources, plan, pid, issues)
        return Conversion(_bundle([out, *goals_out, *needs], base_url), issues)
    if not author or not when:
        return Conversion(None, [*issues, Issue(
            "error", "required", "TDDUI requires the structure's accord: the plan needs an "
            "author and a creation date to derive it", ("CarePlan.author", "CarePlan.created"))])
    accords = [{"reference": f"Consent/{pid}-accord-structure",
                "display": "Consentement structure"}]
    made.append(_accord(f"{pid}-accord-structure", plan, author, when))
    issues.append(Issue("warning", "informational", "The structure's accord (required by TDDUI) "
                        "is derived from the plan's author and creation date",
                        ("CarePlan.supportingInfo",)))
    agreement = next((e for e in plan.get("extension", []) or []
                      if e.get("url") == AGREEMENT_EXT), None)
    if agreement is not None:
        parts = {e.get("url"): e for e in agreement.get("extension", []) or []}
        if parts.get("status", {}).get("valueCode") == "agree" and "date" in parts:
            subject = (plan.get("subject") or {}).get("reference")
            made.append(_accord(f"{pid}-accord-usager", plan, subject,
                                parts["date"]["valueDateTime"]))
            accords.insert(0, {"reference": f"Consent/{pid}-accord-usager",
                               "display": "Consentement usager"})
    out["supportingInfo"] = [*accords, *(plan.get("supportingInfo", []) or [])]
    goals, needs = _goals_to_tddui(resources, plan, pid, issues)
    return Conversion(_bundle([out, *goals, *made, *needs], base_url), issues)


def _goals_to_tddui(resources: list[dict[str, Any]], plan: dict[str, Any], pid: str,
                    issues: list[Issue]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    goals: list[dict[str, Any]] = []
    made: list[dict[str, Any]] = []
    wanted = {_ref_id(g, "Goal") for g in plan.get("goal", []) or []}
    for goal in resources:
        if goal.get("resourceType") != "Goal" or goal.get("id") not in wanted:
            continue
        converted, needs = _goal_to_tddui(goal, pid, plan, issues)
        goals.append(converted)
        made.extend(needs)
    missing = wanted - {g["id"] for g in goals}
    if missing:
        issues.append(Issue("warning", "incomplete", "Goals referenced by the plan but not in "
                            f"the Bundle are not converted: {', '.join(sorted(filter(None, missing)))}",
                            ("CarePlan.goal",)))
    return goals, made


def _accord(cid: str, plan: dict[str, Any], performer: str | None, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Consent", "id": cid, "meta": {"profile": [TDDUI_ACCORD]},
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "treatment"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": plan.get("subject"),
        "dateTime": when,
        "performer": [{"reference": performer}],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN"}]},
        "provision": {"type": "permit",
                      "data": [{"meaning": "related",
                                "reference": {"reference": f"CarePlan/{plan.get('id')}"}}]},
    }


def _goal_to_tddui(goal: dict[str, Any], pid: str, plan: dict[str, Any],
                   issues: list[Issue]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = _profiled(goal, CM_GOAL, TDDUI_GOAL)
    where = f"Goal/{goal.get('id')}"
    if len(out.get("identifier", []) or []) > 1:
        out["identifier"] = out["identifier"][:1]
        issues.append(Issue("warning", "incomplete", "TDDUI carries one identifier per goal: "
                            "the others are not carried", (f"{where}.identifier",)))
    if not any(e.get("url") == PLAN_REF for e in out.get("extension", []) or []):
        out.setdefault("extension", []).append(
            {"url": PLAN_REF, "valueReference": {"reference": f"CarePlan/{pid}"}})
    title = (goal.get("description") or {}).get("text", "")
    kept = [n for n in goal.get("note", []) or [] if any(
        e.get("url") == GOAL_NOTE for e in n.get("extension", []) or [])]
    if len(kept) < len(goal.get("note", []) or []):
        issues.append(Issue("warning", "incomplete", "TDDUI notes on a goal are its title, the "
                            "person's opinion or the strategy: our other notes are not carried",
                            (f"{where}.note",)))
    if not any(e.get("valueCode") == "titreObjectif" for n in kept
               for e in n.get("extension", []) or []):
        kept.insert(0, {"extension": [{"url": GOAL_NOTE, "valueCode": "titreObjectif"}],
                        "text": title})
    out["note"] = kept
    needs = []
    if not goal.get("addresses"):
        domain: dict[str, Any] = next(
            (c for cat in goal.get("category", []) or [] for c in cat.get("coding", []) or []
             if c.get("system") == LIFE_DOMAIN), {})
        nid = f"{goal.get('id')}-besoin"
        needs.append({
            "resourceType": "ServiceRequest", "id": nid, "status": "active", "intent": "plan",
            "code": {"text": f"Besoin : {domain.get('display') or domain.get('code') or title}"},
            "subject": goal.get("subject") or plan.get("subject"),
            "basedOn": [{"reference": f"CarePlan/{pid}"}],
        })
        out["addresses"] = [{"reference": f"ServiceRequest/{nid}"}]
        issues.append(Issue("warning", "informational", "The need the goal addresses (required "
                            "by TDDUI) is derived from its life domain", (f"{where}.addresses",)))
    elif len(goal["addresses"]) > 1:
        out["addresses"] = goal["addresses"][:1]
        issues.append(Issue("warning", "incomplete", "TDDUI carries one need per goal: the other "
                            "addresses are not carried", (f"{where}.addresses",)))
    return out, needs


# --- TDDUI -> ours ---------------------------------------------------------------------------


def from_tddui(bundle: dict[str, Any], registry: Registry, base_url: str = "",
               episode: str | None = None, author: str | None = None) -> Conversion:
    resources = _resources(bundle)
    plan = _one_plan(resources)
    if plan is None:
        return Conversion(None, [Issue("error", "required", "Give one CarePlan (with its goals "
                                       "in a Bundle)", ("Bundle.entry",))])
    issues: list[Issue] = []
    errors: list[Issue] = []
    pid = plan.get("id") or "plan"
    out = _profiled(plan, TDDUI_PLAN, CM_PLAN)
    exts = [e for e in out.get("extension", []) or [] if e.get("url") != EPISODE_EXT]
    has_episode = any(e.get("url") == EPISODE_EXT for e in plan.get("extension", []) or [])
    if episode:
        exts.insert(0, {"url": EPISODE_EXT, "valueReference": {"reference": episode}})
    elif has_episode:
        exts = out.get("extension", [])
    else:
        errors.append(Issue("error", "required", "Our plan belongs to an accompaniment: give "
                            "the episode (EpisodeOfCare reference)", ("CarePlan.extension",)))
    out["extension"] = exts
    if author:
        out["author"] = {"reference": author}
    elif not out.get("author"):
        errors.append(Issue("error", "required", "Our plan has an author (the case manager): "
                            "give one", ("CarePlan.author",)))
    out["intent"] = "plan"
    if not out.get("category"):
        out["category"] = [{"coding": [{"system": PLAN_TYPE, "code": "projet-soins-vie"}]}]
        issues.append(Issue("warning", "informational", "No plan type: 'projet-soins-vie' given",
                            ("CarePlan.category",)))
    by_ref = {f"{r.get('resourceType')}/{r.get('id')}": r for r in resources}
    subject = (plan.get("subject") or {}).get("reference")
    agreed = any(e.get("url") == AGREEMENT_EXT for e in out["extension"])
    for info in [] if agreed else plan.get("supportingInfo", []) or []:
        consent = by_ref.get(info.get("reference", ""))
        if consent and consent.get("resourceType") == "Consent" and any(
                p.get("reference") == subject for p in consent.get("performer", []) or []) \
                and consent.get("dateTime"):
            out["extension"].append({"url": AGREEMENT_EXT, "extension": [
                {"url": "status", "valueCode": "agree"},
                {"url": "date", "valueDateTime": consent["dateTime"]}]})
            contributors = out.setdefault("contributor", [])
            if subject and all(c.get("reference") != subject for c in contributors):
                contributors.append({"reference": subject})
            break
    goals = []
    for goal in resources:
        if goal.get("resourceType") != "Goal":
            continue
        refs = [e.get("valueReference", {}).get("reference") for e in
                goal.get("extension", []) or [] if e.get("url") == PLAN_REF]
        listed = any(_ref_id(g, "Goal") == goal.get("id") for g in plan.get("goal", []) or [])
        if f"CarePlan/{pid}" not in refs and not listed:
            continue
        converted = _goal_from_tddui(goal, errors)
        if converted is not None:
            goals.append(converted)
    out["goal"] = [{"reference": f"Goal/{g['id']}"} for g in goals]
    if not out["goal"]:
        out.pop("goal")
    others = sorted({r["resourceType"] for r in resources
                     if r.get("resourceType") not in ("CarePlan", "Goal")})
    if others:
        issues.append(Issue("information", "informational", f"Not converted (kept as sent): "
                            f"{', '.join(others)}", ("Bundle.entry",)))
    if errors:
        return Conversion(None, [*issues, *errors])
    return Conversion(_bundle([out, *goals], base_url), issues)


def _goal_from_tddui(goal: dict[str, Any], errors: list[Issue]) -> dict[str, Any] | None:
    out = _profiled(goal, TDDUI_GOAL, CM_GOAL)
    where = f"Goal/{goal.get('id')}"
    domains = [c for cat in goal.get("category", []) or [] for c in cat.get("coding", []) or []
               if c.get("system") == LIFE_DOMAIN and c.get("code") in LIFE_DOMAINS]
    if not domains:
        errors.append(Issue("error", "required", "Our goal has a life domain (cm-life-domain, "
                            "required) and no correspondence from TDDUI's domain is defined: "
                            "give the goal a category of ours", (f"{where}.category",)))
        return None
    out["category"] = [{"coding": [domains[0]]}]
    if not (out.get("description") or {}).get("text"):
        title = next((n.get("text") for n in goal.get("note", []) or [] if any(
            e.get("url") == GOAL_NOTE and e.get("valueCode") == "titreObjectif"
            for e in n.get("extension", []) or [])), None)
        if not title:
            errors.append(Issue("error", "required", "Our goal is described in words: no "
                                "description nor title", (f"{where}.description",)))
            return None
        out["description"] = {"text": title}
    return out
