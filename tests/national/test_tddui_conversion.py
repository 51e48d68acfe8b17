"""Our projet personnalisé (CarePlan + Goals) ⇄ ANS TDDUI: the conversions (golden files),
what they derive or refuse, $convert on CarePlan, and a DUI's plan in the case file once
converted and stored as ours (the case-file service alone does not see a plan stored as the
DUI sent it; the $casefile operation offers it converted on the fly:
test_tddui_casefile.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fhir_service.conformance.registry import Registry
from fhir_service.mapping.service import CasefileService
from fhir_service.national import PROFILES, convert
from fhir_service.operations.validate import validator_for
from fhir_service.request import FhirRequest
from tests.mapping.conftest import NAMES, example, keys_with_test_secret, router, service
from tests.mapping.test_casefile_export import episode_id

__all__ = ["router", "service"]  # the mapping tests' fixtures, used here

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
IG = ROOT / "profiles" / "fsh-generated" / "resources"
TDDUI_PLAN = HERE / "examples" / "tddui-projet-perso-samsah.json"
H = {"content-type": "application/fhir+json"}


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def our_plan() -> dict[str, Any]:
    plan = load(IG / "CarePlan-diego-careplan.json")
    goals = [load(p) for p in sorted(IG.glob("Goal-diego-goal-*.json"))]
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in [plan, *goals]]}


@pytest.fixture(scope="module")
def registry(base_context: Any) -> Registry:
    return base_context.registry


def errors_by_resource(registry: Registry, bundle: dict[str, Any]) -> dict[str, list[str]]:
    """Each entry against base R4 and the profiles it claims (national ones included)."""
    validator = validator_for(registry)
    out = {}
    for e in bundle["entry"]:
        res = e["resource"]
        out[f"{res['resourceType']}/{res['id']}"] = [
            f"{i.expression}: {i.diagnostics}" for i in validator.validate(res, [])
            if i.severity in ("error", "fatal")]
    return out


def assert_valid(registry: Registry, bundle: dict[str, Any]) -> None:
    """Every resource of the Bundle: 0 errors with our validator."""
    errors = errors_by_resource(registry, bundle)
    assert errors == {k: [] for k in errors}


def dui_to_ours(registry: Registry, path: Path, episode: str) -> tuple[dict[str, Any], Any]:
    """A DUI's plan (a valid TDDUI example) converted to ours, valid too."""
    sent = load(path)
    assert_valid(registry, sent)
    result = convert(sent, "cm-care-plan", registry, "", episode=episode)
    assert result.ok, result.issues
    assert_valid(registry, result.resource)
    return sent, result


def dump(resource: Any) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def test_our_plan_to_tddui(registry: Registry, golden: Any) -> None:
    result = convert(our_plan(), "tddui-projet-perso", registry, "https://fhir.example.org/fhir")
    assert result.ok
    found = errors_by_resource(registry, result.resource)
    assert found == {k: [] for k in found}
    kinds = sorted(e["resource"]["resourceType"] for e in result.resource["entry"])
    assert kinds == ["CarePlan", "Consent", "Consent", *["Goal"] * 4, *["ServiceRequest"] * 4,
                     *["Task"] * 4]  # the actions, as TDDUI actions
    plan = result.resource["entry"][0]["resource"]
    assert plan["meta"]["profile"][0] == PROFILES["tddui-projet-perso"]
    assert plan["category"][0]["coding"][0]["code"] == "PP"  # ConceptMap cm-plan-type-to-tre-r390
    assert [i["display"] for i in plan["supportingInfo"][:2]] == ["Consentement usager",
                                                                 "Consentement structure"]
    said = {(i.expression[0], i.diagnostics.split(":")[0]) for i in result.issues}
    assert ("Goal/diego-goal-4.note", "TDDUI notes on a goal are its title, the person's "
            "opinion or the strategy") in said
    golden(HERE / "golden" / "diego-careplan.tddui.json", dump(result.resource), as_json=True)


def test_tddui_plan_to_ours(registry: Registry, golden: Any) -> None:
    sent = load(TDDUI_PLAN)
    found = errors_by_resource(registry, sent)
    assert found == {k: [] for k in found}  # the example is a valid TDDUI plan
    result = convert(sent, "cm-care-plan", registry, "", episode="EpisodeOfCare/ep-lea",
                     author="PractitionerRole/samsah-referente")
    assert result.ok
    found = errors_by_resource(registry, result.resource)
    assert found == {k: [] for k in found}
    plan, goal, need = (e["resource"] for e in result.resource["entry"])
    assert need["meta"]["profile"][0] == "https://interop.cm-sante-mentale.fr/fhir/" \
        "StructureDefinition/cm-need"  # the goal's need, as ours
    assert plan["goal"] == [{"reference": "Goal/tddui-objectif-logement"}]
    assert plan["contributor"] == [{"reference": "Patient/lea"}]  # the person's accord
    assert goal["category"][0]["coding"][0]["code"] == "logement"
    golden(HERE / "golden" / "tddui-projet-perso-samsah.cm.json", dump(result.resource),
           as_json=True)
    # and back: the accords it came with are kept, nothing is derived
    again = convert(result.resource, "tddui-projet-perso", registry)
    assert again.ok and again.issues == []
    assert again.resource["entry"][0]["resource"]["supportingInfo"] == \
        sent["entry"][0]["resource"]["supportingInfo"]


def test_refusals(registry: Registry) -> None:
    sent = load(TDDUI_PLAN)
    result = convert(sent, "cm-care-plan", registry, "", author="PractitionerRole/x")
    assert result.resource is None and "episode" in result.issues[-1].diagnostics
    no_domain = copy.deepcopy(sent)
    no_domain["entry"][4]["resource"].pop("category")
    result = convert(no_domain, "cm-care-plan", registry, "", episode="EpisodeOfCare/e",
                     author="PractitionerRole/x")
    assert result.resource is None
    assert result.issues[-1].expression == ("Goal/tddui-objectif-logement.category",)
    plan = our_plan()
    plan["entry"][0]["resource"].pop("author")
    assert convert(plan, "tddui-projet-perso", registry).resource is None


@pytest.fixture
def ctx(make_context: Callable[..., Any], tmp_path: Path) -> Any:
    """The mapping tests' store, without referential integrity: the DUI's plan references
    its structure and professionals, which this server does not hold."""
    return make_context(keys_dir=keys_with_test_secret(tmp_path / "keys"), provenance=True,
                        referential_integrity=False)


def test_a_dui_plan_reaches_the_casefile_once_converted(router: Any,
                                                        service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    episode = json.loads(router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid])).body)
    patient = episode["patient"]["reference"]
    manager = episode["careManager"]["reference"]
    text = TDDUI_PLAN.read_text(encoding="utf-8").replace("Patient/lea", patient)
    sent = json.loads(text)

    def put_all(bundle: dict[str, Any]) -> None:
        tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": e["resource"], "request": {
                "method": "PUT", "url": f"{e['resource']['resourceType']}/{e['resource']['id']}"}}
            for e in bundle["entry"]]}
        resp = router.dispatch(FhirRequest("POST", [], body=json.dumps(tx).encode(), headers=H))
        assert resp.status == 200, resp.body

    put_all(sent)  # stored as the DUI sent it: not a plan of the episode
    assert service.export(eid).document["plan"]["title"] != "Projet personnalisé " \
        "d'accompagnement 2026"
    resp = router.dispatch(FhirRequest(
        "POST", ["CarePlan", "$convert"], body=text.encode(), headers=H,
        query=[("target", "cm-care-plan"), ("episode", f"EpisodeOfCare/{eid}"),
               ("author", manager)]))
    assert resp.status == 200, resp.body
    body = resp.body if isinstance(resp.body, dict) else json.loads(resp.body)
    converted = body["parameter"][0]["resource"]
    put_all(converted)
    doc = service.export(eid, plan_id="tddui-pp-lea").document
    assert doc["plan"]["title"] == "Projet personnalisé d'accompagnement 2026"
    assert [g["description"] for g in doc["plan"]["goals"]] == ["Habiter dans un logement autonome"]
    assert doc["plan"]["agreedByPerson"] is True
    # and the instance form converts the stored plan (with its goals) back to TDDUI
    resp = router.dispatch(FhirRequest("GET", ["CarePlan", "tddui-pp-lea", "$convert"],
                                       query=[("target", "tddui-projet-perso")]))
    assert resp.status == 200, resp.body
    body = resp.body if isinstance(resp.body, dict) else json.loads(resp.body)
    kinds = [e["resource"]["resourceType"] for e in body["parameter"][0]["resource"]["entry"]]
    assert kinds == ["CarePlan", "Goal", "ServiceRequest"]  # its need, based on the plan
