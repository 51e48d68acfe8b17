"""Needs (besoins): our ``cm-need`` (a ServiceRequest shaped as ANS TDDUI's
TDDUIServiceRequestBesoin) in the case file and both ways with TDDUI.

- case file → FHIR → case file keeps the plan's needs and the needs each goal addresses;
- our plan with needs → TDDUI → ours keeps them (words, status, life domain through the
  SERAFIN-PH ConceptMaps, the goals' ``addresses``), every resource valid with 0 errors;
- a DUI's plan with SERAFIN-PH besoins → ours: the besoins become our needs (SERAFIN-PH kept,
  life domain added), a goal without a life domain of ours takes its need's (golden file)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhir_service.conformance.registry import Registry
from fhir_service.mapping.service import CasefileService
from fhir_service.national import convert
from fhir_service.national.tddui import CM_NEED, SERAFIN, TDDUI_NEED
from tests.mapping.conftest import NAMES, example, router, service
from tests.mapping.test_casefile_export import episode_id
from tests.national.test_tddui_conversion import assert_valid, dui_to_ours, dump, load, our_plan

__all__ = ["router", "service"]  # the mapping tests' fixtures, used here

HERE = Path(__file__).resolve().parent
BESOINS = HERE / "examples" / "tddui-projet-perso-besoins.json"
LIFE_DOMAIN = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain"
NEEDS = [
    {"localId": "B-1", "description": "Retrouver un rythme de sommeil régulier",
     "domain": "hygiene-de-vie", "status": "active", "note": "Exprimé au bilan"},
    {"localId": "B-2", "description": "Reprendre contact avec l'université",
     "domain": "scolarite-formation", "status": "active"},
    {"localId": "B-3", "description": "Être soutenu dans les démarches", "status": "draft"},
]


@pytest.fixture(scope="module")
def registry(base_context: Any) -> Registry:
    return base_context.registry


def with_needs(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["plan"]["needs"] = copy.deepcopy(NEEDS)
    goals = doc["plan"]["goals"]
    goals[0]["needs"] = ["B-2"]
    goals[1]["needs"] = ["B-1", "B-3"]
    return doc


def test_casefile_needs_survive_the_round_trip(router: Any, service: CasefileService,
                                               registry: Registry) -> None:
    doc = with_needs(example(NAMES[0]))
    eid = episode_id(service, doc)
    exported = service.export(eid).document
    assert sorted(exported["plan"]["needs"], key=lambda n: n["localId"]) == NEEDS
    assert {g["localId"]: sorted(g.get("needs", [])) for g in exported["plan"]["goals"]} == \
        {g["localId"]: sorted(g.get("needs", [])) for g in doc["plan"]["goals"]}
    # in FHIR: cm-need ServiceRequests based on the plan, valid with 0 errors
    found = service.reader.search("ServiceRequest", [("_profile", CM_NEED)])
    assert sorted(n["code"]["text"] for n in found) == sorted(n["description"] for n in NEEDS)
    bundle = {"entry": [{"resource": n} for n in found]}
    assert_valid(registry, bundle)
    assert all(n["basedOn"][0]["reference"].startswith("CarePlan/") for n in found)


def test_reimporting_the_exported_needs_writes_nothing(service: CasefileService) -> None:
    """FHIR → case file → FHIR: the exported case file, needs included, re-imports without
    changing anything."""
    eid = episode_id(service, with_needs(example(NAMES[0])))
    first = service.export(eid).document
    assert len(first["plan"]["needs"]) == len(NEEDS)
    result = service.import_json(first)
    assert not result.changed, result.summary
    assert service.export(eid).document["plan"]["needs"] == first["plan"]["needs"]


def test_a_goal_naming_an_unknown_need_is_refused(service: CasefileService) -> None:
    doc = with_needs(example(NAMES[0]))
    doc["plan"]["goals"][0]["needs"] = ["B-9"]
    with pytest.raises(Exception) as refused:
        service.import_json(doc)
    assert "B-9" in str(getattr(refused.value, "issues", refused.value)) or "B-9" in str(
        refused.value)


def our_plan_with_needs() -> dict[str, Any]:
    bundle = our_plan()
    plan = bundle["entry"][0]["resource"]
    goals = [e["resource"] for e in bundle["entry"][1:]]
    needs = []
    for i, (goal, text) in enumerate(zip(goals[:3], (
            "Reprendre ses études", "Mieux dormir", "Comprendre son traitement"), strict=True)):
        domain = goal["category"][0]["coding"][0]
        need = {"resourceType": "ServiceRequest", "id": f"diego-need-{i + 1}",
                "meta": {"profile": [CM_NEED]},
                "identifier": [{"system": "https://ids.exemple-ghu-psy.fr/cjaad",
                                "value": f"B-{i + 1}"}],
                "basedOn": [{"reference": f"CarePlan/{plan['id']}"}],
                "status": "active", "intent": "plan",
                "category": [{"coding": [{"system": LIFE_DOMAIN, "code": domain["code"]}]}],
                "code": {"text": text}, "subject": plan["subject"]}
        goal["addresses"] = [{"reference": f"ServiceRequest/{need['id']}"}]
        needs.append(need)
    bundle["entry"].extend({"resource": n} for n in needs)
    return bundle


def test_our_needs_to_tddui_and_back(registry: Registry) -> None:
    sent = our_plan_with_needs()
    assert_valid(registry, sent)  # our needs are valid cm-need
    tddui = convert(sent, "tddui-projet-perso", registry, "https://fhir.example.org/fhir")
    assert tddui.ok, tddui.issues
    assert_valid(registry, tddui.resource)
    besoins = {e["resource"]["id"]: e["resource"] for e in tddui.resource["entry"]
               if e["resource"]["resourceType"] == "ServiceRequest"}
    # our three needs, and the one derived for the goal that addresses none
    assert sorted(besoins) == ["diego-goal-4-besoin", "diego-need-1", "diego-need-2",
                               "diego-need-3"]
    assert all(b["meta"]["profile"] == [TDDUI_NEED] for b in besoins.values())
    assert [c["system"] for b in besoins.values() for cat in b["category"]
            for c in cat["coding"]] == [SERAFIN] * 4
    assert besoins["diego-need-1"]["category"][0]["coding"][0]["code"] == "1.3.3.1"
    # back to ours: the needs, their words and life domains, and the goals' addresses
    back = convert(tddui.resource, "cm-care-plan", registry, "",
                   episode="EpisodeOfCare/diego-episode")
    assert back.ok, back.issues
    assert_valid(registry, back.resource)
    before = {e["resource"]["id"]: e["resource"] for e in sent["entry"]}
    after = {e["resource"]["id"]: e["resource"] for e in back.resource["entry"]}
    for nid in ("diego-need-1", "diego-need-2", "diego-need-3"):
        assert after[nid]["meta"]["profile"][0] == CM_NEED
        assert after[nid]["code"] == before[nid]["code"]
        assert after[nid]["identifier"] == before[nid]["identifier"]
        domains = [c["code"] for cat in after[nid]["category"] for c in cat["coding"]
                   if c["system"] == LIFE_DOMAIN]
        assert domains == [before[nid]["category"][0]["coding"][0]["code"]]
    for gid in ("diego-goal-1", "diego-goal-2", "diego-goal-3"):
        assert after[gid]["addresses"] == before[gid]["addresses"]


def test_a_life_domain_without_serafin_equivalent_is_said(registry: Registry) -> None:
    sent = our_plan_with_needs()
    need = sent["entry"][-1]["resource"]
    need["category"][0]["coding"][0]["code"] = "loisirs"  # SERAFIN 1.3.4.1 comes back as vie-sociale
    result = convert(sent, "tddui-projet-perso", registry)
    assert result.ok
    said = [i for i in result.issues if i.expression == (f"ServiceRequest/{need['id']}.category",)]
    assert [i.severity for i in said] == ["warning"]
    assert "'loisirs' is not carried (it comes back as 'vie-sociale')" in said[0].diagnostics


def test_tddui_besoins_to_ours(registry: Registry, golden: Any) -> None:
    sent, result = dui_to_ours(registry, BESOINS, "EpisodeOfCare/ep-malik")
    out = {e["resource"]["id"]: e["resource"] for e in result.resource["entry"]}
    logement = out["tddui-besoin-logement-malik"]
    assert logement["meta"]["profile"][0] == CM_NEED
    assert [[c["code"] for c in cat["coding"]] for cat in logement["category"]] == \
        [["1.3.2.1"], ["logement"]]  # SERAFIN-PH kept, life domain added
    assert [c["code"] for cat in out["tddui-besoin-transport-malik"]["category"]
            for c in cat["coding"]] == ["1.3.4.2"]  # no life domain for transport
    # the goal without a life domain of ours takes its need's
    assert out["tddui-objectif-appartement"]["category"][0]["coding"][0]["code"] == "logement"
    said = {(i.expression[0], i.diagnostics) for i in result.issues}
    assert ("Goal/tddui-objectif-appartement.category",
            "The goal's life domain is the one of the need it addresses") in said
    golden(HERE / "golden" / "tddui-projet-perso-besoins.cm.json", dump(result.resource),
           as_json=True)
    # and back: the besoins are TDDUI besoins again, with their SERAFIN-PH category
    again = convert(result.resource, "tddui-projet-perso", registry)
    assert again.ok, again.issues
    back = {e["resource"]["id"]: e["resource"] for e in again.resource["entry"]}
    for nid in ("tddui-besoin-logement-malik", "tddui-besoin-transport-malik"):
        sent_need = next(e["resource"] for e in sent["entry"] if e["resource"]["id"] == nid)
        assert back[nid]["category"] == sent_need["category"]
        assert back[nid]["meta"]["profile"] == [TDDUI_NEED]
    assert_valid(registry, again.resource)


def test_a_besoin_without_words_is_said_not_refused(registry: Registry) -> None:
    sent = load(BESOINS)
    need = next(e["resource"] for e in sent["entry"]
                if e["resource"]["id"] == "tddui-besoin-transport-malik")
    need["code"] = {"coding": [{"system": SERAFIN, "code": "1.3.4.2"}]}
    result = convert(sent, "cm-care-plan", registry, "", episode="EpisodeOfCare/ep-malik")
    assert result.ok, result.issues
    kept = [e["resource"]["id"] for e in result.resource["entry"]]
    assert "tddui-besoin-transport-malik" not in kept and "tddui-objectif-bus" in kept
    assert any(i.expression == ("ServiceRequest/tddui-besoin-transport-malik.code",)
               and i.severity == "warning" for i in result.issues)


def test_instance_convert_sends_the_stored_needs(router: Any, service: CasefileService) -> None:
    """GET CarePlan/[id]/$convert?target=tddui-projet-perso sends the plan's needs (those
    based on it that the caller may read) with it."""
    from fhir_service.request import FhirRequest

    eid = episode_id(service, with_needs(example(NAMES[0])))
    plan = service.export(eid).document["plan"]
    found = service.reader.search("CarePlan", [("episode-of-care", f"EpisodeOfCare/{eid}")])
    pid = found[0]["id"]
    resp = router.dispatch(FhirRequest("GET", ["CarePlan", pid, "$convert"],
                                       query=[("target", "tddui-projet-perso")]))
    assert resp.status == 200, resp.body
    body = resp.body if isinstance(resp.body, dict) else json.loads(resp.body)
    entries = [e["resource"] for e in body["parameter"][0]["resource"]["entry"]]
    besoins = [e for e in entries if e["resourceType"] == "ServiceRequest"
               and not e["id"].endswith("-besoin")]
    assert sorted(b["code"]["text"] for b in besoins) == \
        sorted(n["description"] for n in plan["needs"])
