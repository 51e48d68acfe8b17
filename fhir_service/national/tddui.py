"""Our projet personnalisé (CarePlan ``cm-care-plan`` + Goals ``cm-goal``) ⇄ ANS TDDUI
(``tddui-careplan-projet-perso`` + ``tddui-goal-objectif`` + ``tddui-consent-accord``).

A plan travels with its goals: both directions take and give a Bundle (``collection``)
holding one CarePlan, its Goals, its needs (ServiceRequest ``cm-need`` ⇄
``tddui-service-request-besoin``) and, for TDDUI, its accords and actions (Task
``tddui-task-action``).

To TDDUI:
- the plan: one identifier, one category — the TRE_R390 type of the plan, else ours mapped by
  ConceptMap ``cm-plan-type-to-tre-r390`` (a type without one is not carried); one note;
  our extensions (episode, person's agreement) stay;
- each action (``activity``): a TDDUI action (Task based on the plan: words, status, pillar as
  ``Task.code``, goals served, one professional referent, period);
- each need: a TDDUI besoin (one identifier, based on the plan, one SERAFIN-PH category: its
  own, else its life domain by ConceptMap ``cm-life-domain-to-serafin-besoin``);
- the accords TDDUI requires: the structure's (``supportingInfo`` "Consentement structure",
  required there) is **derived** from the plan's author and date (a warning says so); the
  person's from our ``cm-person-agreement`` when it says ``agree``;
- each goal: its plan (extension ``tddui-careplan-reference``), its title (note
  ``titreObjectif``: our description), and the need it addresses (``addresses``, required
  there): our goal's own ``addresses`` when it has one, else a need (ServiceRequest) **derived**
  from its life domain (warning); a goal that came from a TDDUI attente goes back as one.

From TDDUI:
- the plan needs our episode (``episode`` option, or the extension already there) and an
  author (``author`` option, or the plan's); the TRE_R390 category is kept (our plan types
  include PP, PPA, PPI); the person's accord (a referenced Consent in the Bundle performed by
  the subject) becomes ``cm-person-agreement``; the goals become ``CarePlan.goal``;
- each goal needs a life domain (``category``, required here): its own, else the one of the
  need it addresses; a goal with neither is refused (TDDUI's own domain is free text); its
  description comes from ``description.text`` or the ``titreObjectif`` note;
- besoins become our needs (SERAFIN-PH kept, life domain added by ConceptMap
  ``cm-serafin-besoin-to-life-domain``); actions (Tasks based on the plan) become
  ``CarePlan.activity``; an attente with one of our life domains becomes a goal that still
  claims ``tddui-goal-attente``; the projet de vie, attentes without a life domain and what an
  action carries that we have no home for are warnings (kept as sent).
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
TDDUI_NEED = f"{TDDUI}/StructureDefinition/tddui-service-request-besoin"
TDDUI_TASK = f"{TDDUI}/StructureDefinition/tddui-task-action"
TDDUI_ATTENTE = f"{TDDUI}/StructureDefinition/tddui-goal-attente"
TDDUI_PROJET_VIE = f"{TDDUI}/StructureDefinition/tddui-goal-projet-vie"
TASK_INPUT = f"{TDDUI}/CodeSystem/input-tddui-task-action-codesystem"
ACTION_IDS = "https://identifiant-medicosocial-action.esante.gouv.fr"
PLAN_REF = f"{TDDUI}/StructureDefinition/tddui-careplan-reference"
GOAL_NOTE = f"{TDDUI}/StructureDefinition/tddui-goal-note"
CM_PLAN = f"{IG}/StructureDefinition/cm-care-plan"
CM_GOAL = f"{IG}/StructureDefinition/cm-goal"
CM_NEED = f"{IG}/StructureDefinition/cm-need"
SERAFIN = "https://smt.esante.gouv.fr/terminologie-SERAFINPH"
TO_SERAFIN = f"{IG}/ConceptMap/cm-life-domain-to-serafin-besoin"
FROM_SERAFIN = f"{IG}/ConceptMap/cm-serafin-besoin-to-life-domain"
PLAN_TYPE = f"{IG}/CodeSystem/cm-plan-type"
LIFE_DOMAIN = f"{IG}/CodeSystem/cm-life-domain"
R390 = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r390-type-projet-personnalise"
TO_R390 = f"{IG}/ConceptMap/cm-plan-type-to-tre-r390"
EPISODE_EXT = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"
AGREEMENT_EXT = f"{IG}/StructureDefinition/cm-person-agreement"
PILLAR_EXT = f"{IG}/StructureDefinition/cm-care-pillar"
PILLAR = f"{IG}/CodeSystem/cm-care-pillar"
# our action (CarePlan.activity.detail.status) <-> TDDUI action (Task.status), both ways
# lossless for our codes but 'unknown'; TDDUI's business statuses are draft, in-progress,
# completed, cancelled
TO_TASK_STATUS = {"not-started": "draft", "scheduled": "ready", "in-progress": "in-progress",
                  "on-hold": "on-hold", "completed": "completed", "cancelled": "cancelled",
                  "stopped": "failed", "entered-in-error": "entered-in-error"}
FROM_TASK_STATUS = {"draft": "not-started", "requested": "scheduled", "received": "scheduled",
                    "accepted": "scheduled", "ready": "scheduled", "in-progress": "in-progress",
                    "on-hold": "on-hold", "completed": "completed", "cancelled": "cancelled",
                    "rejected": "cancelled", "failed": "stopped",
                    "entered-in-error": "entered-in-error"}
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


def _one(res: dict[str, Any], key: str, message: str, where: str, issues: list[Issue]) -> None:
    """Keep the first value of a list TDDUI carries once; say that the others are not."""
    if len(res.get(key, []) or []) > 1:
        res[key] = res[key][:1]
        issues.append(Issue("warning", "incomplete", message, (f"{where}.{key}",)))


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
    _one(out, "identifier", "TDDUI carries one identifier: the others are not carried",
         "CarePlan", issues)
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
    _one(out, "note", "TDDUI carries one note: the others are not carried", "CarePlan", issues)
    actions = _actions_to_tddui(plan, issues)
    out.pop("activity", None)
    made: list[dict[str, Any]] = []
    author = (plan.get("author") or {}).get("reference")
    when = plan.get("created") or (plan.get("period") or {}).get("start")
    sent = [i for i in plan.get("supportingInfo", []) or [] if i.get("display") in
            ("Consentement structure", "Consentement usager")]
    if any(i.get("display") == "Consentement structure" for i in sent):
        # a plan that came from TDDUI keeps the accords it was sent with
        goals_out, needs = _goals_to_tddui(resources, plan, pid, issues, registry)
        needs = [*_needs_to_tddui(resources, plan, registry, issues), *needs]
        return Conversion(_bundle([out, *goals_out, *needs, *actions], base_url), issues)
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
    goals, needs = _goals_to_tddui(resources, plan, pid, issues, registry)
    needs = [*_needs_to_tddui(resources, plan, registry, issues), *needs]
    return Conversion(_bundle([out, *goals, *made, *needs, *actions], base_url), issues)


def _goals_to_tddui(resources: list[dict[str, Any]], plan: dict[str, Any], pid: str,
                    issues: list[Issue], registry: Registry
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    goals: list[dict[str, Any]] = []
    made: list[dict[str, Any]] = []
    wanted = {_ref_id(g, "Goal") for g in plan.get("goal", []) or []}
    for goal in resources:
        if goal.get("resourceType") != "Goal" or goal.get("id") not in wanted:
            continue
        converted, needs = _goal_to_tddui(goal, pid, plan, issues, registry)
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
                   issues: list[Issue], registry: Registry
                   ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    attente = TDDUI_ATTENTE in (goal.get("meta") or {}).get("profile", [])
    out = _profiled(goal, CM_GOAL, TDDUI_ATTENTE if attente else TDDUI_GOAL)
    where = f"Goal/{goal.get('id')}"
    _one(out, "identifier", "TDDUI carries one identifier per goal: the others are not "
         "carried", where, issues)
    if not any(e.get("url") == PLAN_REF for e in out.get("extension", []) or []):
        out.setdefault("extension", []).append(
            {"url": PLAN_REF, "valueReference": {"reference": f"CarePlan/{pid}"}})
    if attente:  # the person's expectation it came from: an attente again
        out["meta"]["profile"] = [TDDUI_ATTENTE]
        return out, []
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
        derived: dict[str, Any] = {
            "resourceType": "ServiceRequest", "id": nid, "meta": {"profile": [TDDUI_NEED]},
            "identifier": [_derived_identifier(plan, "BESO", nid)],
            "status": "active", "intent": "plan",
            "code": {"text": f"Besoin : {domain.get('display') or domain.get('code') or title}"},
            "subject": goal.get("subject") or plan.get("subject"),
            "basedOn": [{"reference": f"CarePlan/{pid}"}],
        }
        serafin = [m for m in map_code(registry, TO_SERAFIN, LIFE_DOMAIN, domain["code"])] \
            if domain.get("code") else []
        if serafin:
            derived["category"] = [{"coding": [serafin[0]]}]
        needs.append(derived)
        out["addresses"] = [{"reference": f"ServiceRequest/{nid}"}]
        issues.append(Issue("warning", "informational", "The need the goal addresses (required "
                            "by TDDUI) is derived from its life domain", (f"{where}.addresses",)))
    else:
        _one(out, "addresses", "TDDUI carries one need per goal: the other addresses are not "
             "carried", where, issues)
    return out, needs


def _actions_to_tddui(plan: dict[str, Any], issues: list[Issue]) -> list[dict[str, Any]]:
    """Our actions (CarePlan.activity) as TDDUI actions (TDDUITaskAction, one Task each, based
    on the plan): title and description (our words), status, the goals served (input
    objectif), the referent (owner: a professional), the planned period (executionPeriod);
    the pillar travels as Task.code."""
    pid = plan.get("id") or "plan"
    tasks = []
    for index, activity in enumerate(plan.get("activity", []) or []):
        detail = activity.get("detail") or {}
        aid = activity.get("id") or str(index + 1)
        where = f"CarePlan.activity[{index}]"
        words = detail.get("description") or "Action"
        task: dict[str, Any] = {
            "resourceType": "Task", "id": f"{pid}-action-{aid}",
            "meta": {"profile": [TDDUI_TASK]},
            "identifier": [{"system": ACTION_IDS, "value": _derived_identifier(
                plan, "ACTI", aid)["value"]}],
            "basedOn": [{"reference": f"CarePlan/{pid}"}],
            "status": TO_TASK_STATUS.get(detail.get("status", ""), "draft"),
            "intent": "plan", "description": words, "for": plan.get("subject"),
        }
        if detail.get("status") not in TO_TASK_STATUS:
            issues.append(Issue("warning", "incomplete", f"The action's status "
                                f"'{detail.get('status')}' has no TDDUI equivalent: 'draft' "
                                "given", (f"{where}.detail.status",)))
        pillar = [e["valueCodeableConcept"] for e in detail.get("extension", []) or []
                  if e.get("url") == PILLAR_EXT and "valueCodeableConcept" in e]
        if pillar:
            task["code"] = pillar[0]
        owners = [p for p in detail.get("performer", []) or [] if str(
            p.get("reference", "")).split("/")[0] in ("Practitioner", "PractitionerRole")]
        if owners:
            task["owner"] = owners[0]
        if len(owners) < len(detail.get("performer", []) or []) or len(owners) > 1:
            issues.append(Issue("warning", "incomplete", "TDDUI's action has one referent, a "
                                "professional: the other performers are not carried",
                                (f"{where}.detail.performer",)))
        period = detail.get("scheduledPeriod")
        if period:
            task["executionPeriod"] = period
        for key in ("scheduledString", "scheduledTiming", "location"):
            if detail.get(key):
                issues.append(Issue("warning", "incomplete", f"TDDUI's action has no "
                                    f"{'place' if key == 'location' else 'schedule but its period'}"
                                    f": {key} is not carried", (f"{where}.detail.{key}",)))
        task["input"] = [{"type": {"coding": [{"system": TASK_INPUT, "code": "titre"}]},
                          "valueString": words}]
        task["input"].extend({"type": {"coding": [{"system": TASK_INPUT, "code": "objectif"}]},
                              "valueReference": {"reference": g["reference"]}}
                             for g in detail.get("goal", []) or [] if g.get("reference"))
        tasks.append({k: v for k, v in task.items() if v is not None})
    return tasks


def _actions_from_tddui(resources: list[dict[str, Any]], pid: str, goals: set[str],
                        issues: list[Issue], done: set[str]) -> list[dict[str, Any]]:
    """TDDUI actions (Tasks based on the plan) as our actions (CarePlan.activity); the
    Tasks converted are added to ``done``."""
    out = []
    for task in resources:
        if task.get("resourceType") != "Task" or not any(
                _ref_id(b, "CarePlan") == pid for b in task.get("basedOn", []) or []):
            continue
        where = f"Task/{task.get('id')}"
        other = [p for p in (task.get("meta") or {}).get("profile", [])
                 if p.startswith(f"{TDDUI}/") and p.split("|")[0] != TDDUI_TASK]
        if other:  # a prestation, transport, moyen or bilan: not an action of ours
            issues.append(Issue("warning", "incomplete", f"A TDDUI Task other than an action "
                                f"({other[0].rsplit('/', 1)[-1]}) has no home in our plan: not "
                                "carried (kept as sent)", (where,)))
            continue
        inputs: dict[str, list[Any]] = {}
        for item in task.get("input", []) or []:
            code = next((c.get("code") for c in (item.get("type") or {}).get("coding", []) or []
                         if c.get("system") == TASK_INPUT), None)
            value = next((v for k, v in item.items() if k.startswith("value")), None)
            inputs.setdefault(code or "", []).append(value)
        words = task.get("description") or next(iter(inputs.get("titre", [])), None)
        if not words:
            issues.append(Issue("warning", "incomplete", "An action without words (description "
                                "nor title) is not carried", (where,)))
            continue
        pillar = [c for c in (task.get("code") or {}).get("coding", []) or []
                  if c.get("system") == PILLAR]
        if not pillar:
            pillar = [{"system": PILLAR, "code": "soutien"}]
            issues.append(Issue("warning", "informational", "Our action belongs to a pillar of "
                                "care: 'soutien' given", (f"{where}.code",)))
        detail: dict[str, Any] = {
            "extension": [{"url": PILLAR_EXT, "valueCodeableConcept": {"coding": pillar[:1]}}],
            "status": FROM_TASK_STATUS.get(task.get("status", ""), "unknown"),
            "description": words,
        }
        served = [v for v in inputs.get("objectif", []) if isinstance(v, dict)
                  and _ref_id(v, "Goal") in goals]
        if served:
            detail["goal"] = [{"reference": v["reference"]} for v in served]
        if len(served) < len(inputs.get("objectif", [])):
            issues.append(Issue("warning", "incomplete", "Goals of the action that are not "
                                "goals of the plan are not carried", (f"{where}.input",)))
        if task.get("owner"):
            detail["performer"] = [task["owner"]]
        if task.get("executionPeriod"):
            detail["scheduledPeriod"] = task["executionPeriod"]
        lost = sorted(k for k in inputs if k not in ("titre", "objectif"))
        if words != next(iter(inputs.get("titre", [])), words):
            lost.insert(0, "titre")
        if lost:
            issues.append(Issue("warning", "incomplete", "Our action has no home for "
                                f"{', '.join(lost)}: not carried", (f"{where}.input",)))
        issues.append(Issue("information", "informational", "Our action has no identifier: "
                            "TDDUI's is not carried (the Task stays as sent)",
                            (f"{where}.identifier",)))
        tid = str(task.get("id"))
        aid = tid[len(f"{pid}-action-"):] if tid.startswith(f"{pid}-action-") else tid
        out.append({"id": aid, "detail": detail})
        done.add(where)
    return out


def _derived_identifier(plan: dict[str, Any], kind: str, rid: str) -> dict[str, Any]:
    """An identifier in the plan's namespace for a resource TDDUI requires and ours lacks
    (TDDUI's format: <plan identifier>-<kind>-<local id>)."""
    ident = (plan.get("identifier") or [{}])[0]
    out = {"value": f"{ident.get('value') or plan.get('id')}-{kind}-{rid}"}
    if ident.get("system"):
        out["system"] = ident["system"]
    return out


def _plan_needs(resources: list[dict[str, Any]], plan: dict[str, Any]
                ) -> list[dict[str, Any]]:
    """The needs of the plan in the Bundle: ServiceRequests based on it, or that its goals
    address (a TDDUI besoin is based on its projet personnalisé)."""
    pid = plan.get("id")
    addressed = {_ref_id(a, "ServiceRequest") for r in resources if r.get("resourceType") == "Goal"
                 for a in r.get("addresses", []) or []}
    return [r for r in resources if r.get("resourceType") == "ServiceRequest" and (
        any(_ref_id(b, "CarePlan") == pid for b in r.get("basedOn", []) or [])
        or r.get("id") in addressed)]


def _bare(coding: dict[str, Any]) -> dict[str, Any]:
    """System and code only: a display from a ConceptMap is in one language, which a
    validator working in another refuses (our CodeSystems carry the translations)."""
    return {k: v for k, v in coding.items() if k in ("system", "code")}


def _codings(res: dict[str, Any], system: str) -> list[dict[str, Any]]:
    return [c for cat in res.get("category", []) or [] for c in cat.get("coding", []) or []
            if c.get("system") == system]


def _needs_to_tddui(resources: list[dict[str, Any]], plan: dict[str, Any],
                    registry: Registry, issues: list[Issue]) -> list[dict[str, Any]]:
    """Our needs (cm-need) as TDDUI besoins: one identifier, based on the plan, one category
    from SERAFIN-PH (JDV_J285) — the need's own, else its life domain translated by the
    ConceptMap cm-life-domain-to-serafin-besoin."""
    out = []
    for need in _plan_needs(resources, plan):
        where = f"ServiceRequest/{need.get('id')}"
        res = _profiled(need, CM_NEED, TDDUI_NEED)
        if not res.get("identifier"):
            res["identifier"] = [_derived_identifier(plan, "BESO", str(need.get("id")))]
            issues.append(Issue("warning", "informational", "The need's identifier (required "
                                "by TDDUI) is derived from the plan's", (f"{where}.identifier",)))
        else:
            _one(res, "identifier", "TDDUI carries one identifier per need: the others are "
                 "not carried", where, issues)
        based = need.get("basedOn", []) or []
        res["basedOn"] = [{"reference": f"CarePlan/{plan.get('id')}"}]
        if len(based) > 1:
            issues.append(Issue("warning", "incomplete", "TDDUI bases a need on its plan only: "
                                "the other basedOn are not carried", (f"{where}.basedOn",)))
        serafin = _codings(need, SERAFIN)
        domains = _codings(need, LIFE_DOMAIN)
        if not serafin:
            serafin = [m for d in domains for m in map_code(registry, TO_SERAFIN, LIFE_DOMAIN,
                                                            d.get("code", ""))]
        for domain in domains:
            back = [m.get("code") for s in serafin[:1] for m in
                    map_code(registry, FROM_SERAFIN, SERAFIN, s.get("code", ""))]
            if back[:1] != [domain.get("code")]:
                issues.append(Issue("warning", "incomplete", f"TDDUI categorises a need with "
                                    f"SERAFIN-PH only: the life domain '{domain.get('code')}' is "
                                    "not carried" + (f" (it comes back as '{back[0]}')" if back
                                                     else ""), (f"{where}.category",)))
        others = [c for cat in need.get("category", []) or [] for c in cat.get("coding", []) or []
                  if c.get("system") not in (SERAFIN, LIFE_DOMAIN)]
        if others or len(serafin) > 1:
            issues.append(Issue("warning", "incomplete", "TDDUI carries one SERAFIN-PH category "
                                "per need: the other categories are not carried",
                                (f"{where}.category",)))
        if serafin:
            res["category"] = [{"coding": [{k: v for k, v in serafin[0].items()
                                            if k in ("system", "code", "display")}]}]
        else:
            res.pop("category", None)
        out.append(res)
    return out


def _needs_from_tddui(resources: list[dict[str, Any]], plan: dict[str, Any],
                      registry: Registry, issues: list[Issue]) -> list[dict[str, Any]]:
    """TDDUI besoins as our needs (cm-need): the SERAFIN-PH category is kept and the life
    domain added beside it (ConceptMap cm-serafin-besoin-to-life-domain)."""
    out = []
    for need in _plan_needs(resources, plan):
        where = f"ServiceRequest/{need.get('id')}"
        res = _profiled(need, TDDUI_NEED, CM_NEED)
        if not res.get("identifier"):
            issues.append(Issue("warning", "incomplete", "Our need has an identifier (TDDUI "
                                "requires one too): this besoin is not carried (kept as sent)",
                                (f"{where}.identifier",)))
            continue
        code = res.get("code") or {}
        if not code.get("text"):
            words = next((c.get("display") for c in code.get("coding", []) or []
                          if c.get("display")), None)
            if not words:
                issues.append(Issue("warning", "incomplete", "Our need is said in words "
                                    "(code.text): no text nor display, this besoin is not "
                                    "carried (kept as sent)", (f"{where}.code",)))
                continue
            res["code"] = {**code, "text": words}
        if res.get("intent") != "plan":
            issues.append(Issue("warning", "incomplete", f"Our need is a request of the plan "
                                f"(intent 'plan'): intent '{res.get('intent')}' is not carried",
                                (f"{where}.intent",)))
            res["intent"] = "plan"
        res["basedOn"] = [{"reference": f"CarePlan/{plan.get('id')}"}]
        if not _codings(need, LIFE_DOMAIN):
            domains = [m for s in _codings(need, SERAFIN)
                       for m in map_code(registry, FROM_SERAFIN, SERAFIN, s.get("code", ""))]
            if domains:
                res.setdefault("category", []).append({"coding": [_bare(domains[0])]})
        out.append(res)
    return out


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
        profiles = (goal.get("meta") or {}).get("profile", [])
        where = f"Goal/{goal.get('id')}"
        if TDDUI_PROJET_VIE in profiles:
            issues.append(Issue("warning", "incomplete", "The person's projet de vie has no "
                                "home in our plan: not carried (kept as sent)", (where,)))
            continue
        if f"CarePlan/{pid}" not in refs and not listed:
            continue
        if TDDUI_ATTENTE in profiles:
            if not any(c.get("system") == LIFE_DOMAIN and c.get("code") in LIFE_DOMAINS
                       for c in _codings(goal, LIFE_DOMAIN)):
                issues.append(Issue("warning", "incomplete", "An expectation (attente) "
                                    "becomes a goal of ours with a life domain: this one has "
                                    "none and is not carried (kept as sent)", (where,)))
                continue
            refused: list[Issue] = []
            attente = _goal_from_tddui(goal, refused, issues, [])
            if attente is not None:  # claims cm-goal and tddui-goal-attente: goes back as one
                goals.append(attente)
            issues.extend(Issue("warning", "incomplete", f"{i.diagnostics}: this attente is "
                                "not carried (kept as sent)", i.expression) for i in refused)
            continue
        converted = _goal_from_tddui(goal, errors, issues, _need_domains(resources, goal,
                                                                          registry))
        if converted is not None:
            goals.append(converted)
    out["goal"] = [{"reference": f"Goal/{g['id']}"} for g in goals]
    if not out["goal"]:
        out.pop("goal")
    needs = _needs_from_tddui(resources, plan, registry, issues)
    done = {f"ServiceRequest/{n['id']}" for n in needs}
    activities = _actions_from_tddui(resources, pid, {g["id"] for g in goals}, issues, done)
    if activities:
        out["activity"] = [*(out.get("activity", []) or []), *activities]
    others = sorted({r["resourceType"] for r in resources
                     if r.get("resourceType") not in ("CarePlan", "Goal")
                     and f"{r.get('resourceType')}/{r.get('id')}" not in done})
    if others:
        issues.append(Issue("information", "informational", f"Not converted (kept as sent): "
                            f"{', '.join(others)}", ("Bundle.entry",)))
    if errors:
        return Conversion(None, [*issues, *errors])
    return Conversion(_bundle([out, *goals, *needs], base_url), issues)


def _need_domains(resources: list[dict[str, Any]], goal: dict[str, Any],
                  registry: Registry) -> list[dict[str, Any]]:
    """The life domains of the needs a goal addresses (theirs, else their SERAFIN-PH
    category translated by cm-serafin-besoin-to-life-domain)."""
    wanted = {_ref_id(a, "ServiceRequest") for a in goal.get("addresses", []) or []}
    out: list[dict[str, Any]] = []
    for need in resources:
        if need.get("resourceType") != "ServiceRequest" or need.get("id") not in wanted:
            continue
        out.extend(_codings(need, LIFE_DOMAIN) or [
            m for c in _codings(need, SERAFIN)
            for m in map_code(registry, FROM_SERAFIN, SERAFIN, c.get("code", ""))])
    return [d for d in out if d.get("code") in LIFE_DOMAINS]


def _goal_from_tddui(goal: dict[str, Any], errors: list[Issue], issues: list[Issue],
                     need_domains: list[dict[str, Any]]) -> dict[str, Any] | None:
    out = _profiled(goal, TDDUI_GOAL, CM_GOAL)
    where = f"Goal/{goal.get('id')}"
    domains = [c for cat in goal.get("category", []) or [] for c in cat.get("coding", []) or []
               if c.get("system") == LIFE_DOMAIN and c.get("code") in LIFE_DOMAINS]
    if not domains and need_domains:
        domains = need_domains[:1]
        issues.append(Issue("warning", "informational", "The goal's life domain is the one "
                            "of the need it addresses", (f"{where}.category",)))
        out.setdefault("category", [])
    if not domains:
        errors.append(Issue("error", "required", "Our goal has a life domain (cm-life-domain, "
                            "required) and no correspondence from TDDUI's domain is defined: "
                            "give the goal a category of ours", (f"{where}.category",)))
        return None
    out["category"] = [{"coding": [_bare(domains[0])]}]
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
