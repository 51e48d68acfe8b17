"""Foreign FHIR in a person's record: a TDDUI-shaped Consent (an agreement to the projet
personnalisé: no structures, no sharing scope, no identifier of ours) written by another
client must not break the hospital's goals sheet or the case-file export for that person."""

from __future__ import annotations

from typing import Any

from fhir_service.mapping.service import CasefileService
from fhir_service.request import FhirRequest
from tests.mapping.conftest import EXAMPLES, NAMES, ctx, example, router, service
from tests.mapping.test_casefile_export import episode_id

__all__ = ["ctx", "router", "service"]  # the mapping tests' fixtures, used here

SHEET = (EXAMPLES / "goals.csv").read_bytes()


def tddui_consent(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "meta": {"profile": ["https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/"
                             "tddui-consent-accord"]},
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "treatment"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient}"},
        "dateTime": "2026-02-01T10:00:00+01:00",
        "performer": [{"reference": f"Patient/{patient}"}],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN"}]},
    }


def test_a_tddui_consent_does_not_break_the_goals_sheet(router: Any,
                                                        service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    before = service.export(eid).document
    patient = router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid])).body
    import json

    pid = json.loads(patient)["patient"]["reference"].split("/")[1]
    r = router.dispatch(FhirRequest("POST", ["Consent"], body=json.dumps(tddui_consent(pid))
                                    .encode(), headers={"content-type": "application/fhir+json"}))
    assert r.status == 201, r.body
    exported = service.export(eid).document
    assert exported["consents"] == before["consents"]  # the foreign one is not ours to export
    [result] = service.import_csv(SHEET)
    assert result.changed
