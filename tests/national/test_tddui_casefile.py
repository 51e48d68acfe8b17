"""A DUI's plan (ANS TDDUI, stored as the DUI sent it) appears in ``$casefile`` without a
manual conversion: the export offers the TDDUI plans of the episode's person as plans of the
episode, converted to ours (goals, needs, actions), read as the caller."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fhir_service.mapping.service import CasefileService
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from tests.mapping.conftest import NAMES, example, keys_with_test_secret, router, service
from tests.mapping.test_casefile_export import episode_id

__all__ = ["router", "service"]  # the mapping tests' fixtures, used here

HERE = Path(__file__).resolve().parent
H = {"content-type": "application/fhir+json"}


@pytest.fixture
def ctx(make_context: Callable[..., Any], tmp_path: Path) -> Any:
    """The mapping tests' store, without referential integrity: the DUI's plan references
    its structure and professionals, which this server does not hold."""
    return make_context(keys_dir=keys_with_test_secret(tmp_path / "keys"), provenance=True,
                        referential_integrity=False)


def put_all(router: Any, resources: list[dict[str, Any]]) -> None:
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources]}
    resp = router.dispatch(FhirRequest("POST", [], body=json.dumps(tx).encode(), headers=H))
    assert resp.status == 200, resp.body


def casefile(router: Any, eid: str, plan: str | None = None) -> dict[str, Any]:
    resp = router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid, "$casefile"],
                                       query=[("plan", plan)] if plan else []))
    assert resp.status == 200, resp.body
    return json.loads(resp.body) if isinstance(resp.body, bytes | str) else resp.body


def test_a_dui_plan_is_in_the_casefile_as_sent(router: Any, service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    episode = json.loads(router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid])).body)
    patient = episode["patient"]["reference"]
    manager = episode["careManager"]["reference"]
    ours = casefile(router, eid)["plan"]
    for name in ("tddui-projet-perso-besoins.json", "tddui-projet-perso-actions.json"):
        text = (HERE / "examples" / name).read_text(encoding="utf-8")
        text = text.replace("Patient/malik", patient).replace("Patient/ines", patient)
        text = text.replace("PractitionerRole/esat-referente", manager)
        put_all(router, [e["resource"] for e in json.loads(text)["entry"]])
    # the episode's own active plan stays the current one
    assert casefile(router, eid)["plan"]["localId"] == ours["localId"]
    # the DUI's plan, named: its goals, needs and actions, in our case file's shape
    plan = casefile(router, eid, "tddui-pp-malik")["plan"]
    assert plan["title"] == "Projet personnalisé de Malik 2026-2027"
    assert plan["agreedByPerson"] is True
    goals = {g["localId"]: g for g in plan["goals"]}
    assert goals["tddui-objectif-appartement"]["domain"] == "logement"  # from its need
    assert goals["tddui-objectif-appartement"]["needs"] == ["tddui-besoin-logement-malik"]
    assert goals["tddui-objectif-bus"]["domain"] == "organisation-quotidien"
    assert sorted(n["description"] for n in plan["needs"]) == [
        "Apprendre le trajet en bus entre le futur logement et l'ESAT",
        "Être accompagné pour chercher, visiter et choisir un appartement"]
    other = casefile(router, eid, "tddui-pp-ines")["plan"]
    [action] = other["actions"]
    assert action["description"] == "Visiter trois appartements avec l'éducatrice"
    assert action["goals"] == ["tddui-objectif-logement-ines"]
    # stored as the DUI sent them: nothing was written by the export
    stored = json.loads(router.dispatch(FhirRequest("GET", ["CarePlan", "tddui-pp-malik"])).body)
    assert stored["meta"]["profile"] == [
        "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/tddui-careplan-projet-perso"]


def test_another_persons_dui_plan_is_not_offered(router: Any, service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    text = (HERE / "examples" / "tddui-projet-perso-besoins.json").read_text(encoding="utf-8")
    put_all(router, [e["resource"] for e in json.loads(text)["entry"]])  # Patient/malik's
    with pytest.raises(FhirError) as answer:
        router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid, "$casefile"],
                                    query=[("plan", "tddui-pp-malik")]))
    assert answer.value.status == 404


def test_cli_export_offers_the_dui_plan_too(router: Any, service: CasefileService,
                                            ctx: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cm-fhir export`` builds its case-file service as ``$casefile`` does: the DUI's plan
    of the episode's person can be exported from the command line too."""
    from fhir_service.mapping.cli import _local_service

    eid = episode_id(service, example(NAMES[0]))
    episode = json.loads(router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid])).body)
    text = (HERE / "examples" / "tddui-projet-perso-besoins.json").read_text(encoding="utf-8")
    text = text.replace("Patient/malik", episode["patient"]["reference"])
    put_all(router, [e["resource"] for e in json.loads(text)["entry"]])
    monkeypatch.setenv("CM_FHIR_KEYS_DIR", str(ctx.settings.keys_dir))
    local, cli_service = _local_service(ctx.settings.database_url)
    try:
        exported = cli_service.export(eid, "tddui-pp-malik").document
    finally:
        local.close()
    assert exported["plan"]["title"] == "Projet personnalisé de Malik 2026-2027"
    assert len(exported["plan"]["needs"]) == 2
