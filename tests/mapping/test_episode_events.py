"""How an accompaniment ended (episode.outcome → the cm-episode-outcome extension) and the
ruptures of the pathway as recorded events (ruptures → Observation cm-rupture) in the case
file: where they live in FHIR, that they survive case file → FHIR → case file, that a
re-import of the export writes nothing, and that the indicators count them."""

from __future__ import annotations

from typing import Any

from fhir_service import fhir
from fhir_service.mapping.paths import clean
from fhir_service.mapping.service import CasefileService
from fhir_service.operations.validate import validator_for
from fhir_service.request import FhirRequest

from .conftest import NAMES, example

IG = "https://interop.cm-sante-mentale.fr/fhir/"
RUPTURES = [
    {"localId": "R-1", "kind": "scolarite-formation", "date": "2026-02-03",
     "end": "2026-03-20", "recordedBy": "P-CM1",
     "note": "A arrêté d'aller en cours pendant six semaines"},
    {"localId": "R-2", "kind": "soins", "date": "2026-04-10", "recordedBy": "person"},
    {"localId": "R-3", "kind": "logement", "date": "2026-05-02"},
]


def ended_with_ruptures() -> dict[str, Any]:
    """Diego's case file, ended by a hand-over (relais) on 2026-06-15, with three ruptures."""
    doc = example(NAMES[0])
    doc["episode"].update(status="finished", end="2026-06-15", outcome="relais")
    doc["ruptures"] = [dict(r) for r in RUPTURES]
    return doc


def _search(router: Any, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
    resp = router.dispatch(FhirRequest("GET", [rtype], query=[*query, ("_count", "100")]))
    body = fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
    return [e["resource"] for e in body.get("entry", [])]


def _history_total(router: Any) -> int:
    resp = router.dispatch(FhirRequest("GET", ["_history"], query=[("_count", "0")]))
    return int(fhir.loads(resp.body)["total"])


def test_outcome_and_ruptures_in_fhir(router: Any, service: CasefileService) -> None:
    doc = ended_with_ruptures()
    result = service.import_json(doc)
    assert result.changed
    (episode,) = _search(router, "EpisodeOfCare", [])
    assert episode["status"] == "finished" and episode["period"]["end"] == "2026-06-15"
    assert [x for x in episode["extension"] if x["url"].endswith("/cm-episode-outcome")] == [
        {"url": IG + "StructureDefinition/cm-episode-outcome", "valueCodeableConcept": {
            "coding": [{"system": IG + "CodeSystem/cm-episode-outcome", "code": "relais"}]}}]
    assert [e["id"] for e in _search(router, "EpisodeOfCare", [("outcome", "relais")])] == \
        [episode["id"]]
    (patient,) = _search(router, "Patient", [])
    ruptures = _search(router, "Observation",
                       [("episode-of-care", f"EpisodeOfCare/{episode['id']}")])
    assert len(ruptures) == 3
    by_code = {o["code"]["coding"][0]["code"]: o for o in ruptures}
    assert set(by_code) == {"scolarite-formation", "soins", "logement"}
    school = by_code["scolarite-formation"]
    assert school["meta"]["profile"] == [IG + "StructureDefinition/cm-rupture"]
    assert school["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert school["effectivePeriod"] == {"start": "2026-02-03", "end": "2026-03-20"}
    assert school["note"] == [{"text": RUPTURES[0]["note"]}]
    assert school["performer"][0]["reference"].startswith("PractitionerRole/")
    assert by_code["soins"]["performer"] == [{"reference": f"Patient/{patient['id']}"}]
    # the ruptures are found by kind and date too (R4 Observation code and date)
    found = _search(router, "Observation", [("code", IG + "CodeSystem/cm-rupture-kind|"),
                                             ("date", "ge2026-04-01")])
    assert {o["code"]["coding"][0]["code"] for o in found} == {"soins", "logement"}
    # each validates against its profile
    validator = validator_for(router.ctx.registry, "error")
    for resource in [episode, *ruptures]:
        errors = [i for i in validator.validate(resource, []) if i.severity in ("error", "fatal")]
        assert errors == [], errors


def test_round_trip_casefile_fhir_casefile(router: Any, service: CasefileService) -> None:
    doc = ended_with_ruptures()
    result = service.import_json(doc)
    (episode,) = _search(router, "EpisodeOfCare", [])
    exported = service.export(episode["id"]).document
    assert service.mset.schema.validate(exported) == []
    assert exported["episode"]["outcome"] == "relais"
    assert exported["episode"]["end"] == "2026-06-15"
    assert sorted(clean(exported["ruptures"]), key=lambda r: r["localId"]) == RUPTURES
    # and back: nothing changes (no new version, no Provenance)
    history = _history_total(router)
    result = service.import_json(exported)
    assert not result.changed, result.summary
    assert _history_total(router) == history


def test_a_file_without_them_exports_without_them(router: Any,
                                                  service: CasefileService) -> None:
    service.import_json(example(NAMES[0]))
    (episode,) = _search(router, "EpisodeOfCare", [])
    exported = clean(service.export(episode["id"]).document)
    assert "outcome" not in exported["episode"] and "ruptures" not in exported


def test_a_rupture_after_its_end_and_duplicates_are_refused(service: CasefileService) -> None:
    import pytest

    from fhir_service.outcomes import FhirError

    doc = ended_with_ruptures()
    doc["ruptures"][0]["end"] = "2026-01-01"
    doc["ruptures"][2]["localId"] = "R-2"
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert err.value.status == 400
    where = {i.expression[0] for i in err.value.issues}
    assert any(w.startswith("$.ruptures[0]") for w in where), where
    assert any(w.startswith("$.ruptures") and w != "$.ruptures[0].end" for w in where), where


def test_the_indicators_count_what_the_file_says(router: Any,
                                                 service: CasefileService) -> None:
    service.import_json(ended_with_ruptures())

    def groups(measure: str) -> dict[str, Any]:
        resp = router.handle(FhirRequest("GET", ["Measure", measure, "$evaluate-measure"],
                                         query=[("periodStart", "2026-01-01"),
                                                ("periodEnd", "2026-12-31")],
                                         base_url="http://test/fhir"))
        body = resp.body if isinstance(resp.body, dict) else fhir.loads(resp.body)
        return {g["code"]["coding"][0]["code"]: g for g in body["group"]}

    ended = groups("cm-episode-outcomes")["episodes-ended"]
    assert ended["population"][0]["count"] == 1
    (outcome,) = [s for s in ended["stratifier"] if s["code"][0]["coding"][0]["code"] == "outcome"]
    assert [(s["value"]["coding"][0]["code"], s["population"][0]["count"])
            for s in outcome["stratum"]] == [("relais", 1)]
    events = groups("cm-ruptures")["rupture-event"]
    assert events["population"][0]["count"] == 3  # all three during the episode
    (kinds,) = [s for s in events["stratifier"]
                if s["code"][0]["coding"][0]["code"] == "rupture-kind"]
    assert sorted(s["value"]["coding"][0]["code"] for s in kinds["stratum"]) == \
        ["logement", "scolarite-formation", "soins"]
