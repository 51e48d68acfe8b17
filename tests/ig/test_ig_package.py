"""The compiled guide is complete and coherent: canonical URLs, examples per profile,
terminology as documented, transaction Bundles whose references all resolve.

FHIR packages: https://confluence.hl7.org/display/FHIR/NPM+Package+Specification ;
transactions: https://hl7.org/fhir/R4/http.html#transaction
"""

from __future__ import annotations

import re

import pytest
from ig_artifacts import (
    CANONICAL,
    DEFINITION_TYPES,
    all_resources,
    definitions,
    examples,
    profiles,
    require_compiled,
)

require_compiled()

FR_CORE = "https://hl7.fr/ig/fhir/core/"
REFERENCE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")

# The code lists of the case file (shared/casefile/README.md) must all be in the guide.
CASEFILE_CODES = {
    "cm-life-domain": {
        "sante",
        "loisirs",
        "scolarite-formation",
        "emploi",
        "vie-affective-sexualite",
        "organisation-quotidien",
        "hygiene-de-vie",
        "vie-sociale",
        "logement",
        "droits-demarches",
    },
    "cm-care-pillar": {"medicaments", "strategies-psychologiques", "hygiene-de-vie", "soutien"},
    "cm-programme": {
        "intervention-precoce",
        "rehabilitation-psychosociale",
        "coordination-parcours-complexe",
        "transition-sortie-hospitalisation",
    },
    "cm-case-management-model": {"courtage", "clinique", "readaptation", "intensif", "forces"},
    "cm-team-function": {
        "case-manager",
        "psychiatre",
        "psychologue",
        "infirmier",
        "assistant-social",
        "educateur",
        "ergotherapeute",
        "pair-aidant",
        "medecin-generaliste",
        "aidant",
        "personne-accompagnee",
        "other",
    },
}
# NOS codes deprecated by ANS: never offered by the guide's ValueSets.
DEPRECATED_NOS = {
    ("https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante", "93"),
    ("https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante", "35"),
    ("https://mos.esante.gouv.fr/NOS/TRE_R94-ProfessionSocial/FHIR/TRE-R94-ProfessionSocial", "51"),
    ("https://mos.esante.gouv.fr/NOS/TRE_R94-ProfessionSocial/FHIR/TRE-R94-ProfessionSocial", "48"),
    ("https://mos.esante.gouv.fr/NOS/TRE_R94-ProfessionSocial/FHIR/TRE-R94-ProfessionSocial", "53"),
    ("https://mos.esante.gouv.fr/NOS/TRE_R94-ProfessionSocial/FHIR/TRE-R94-ProfessionSocial", "44"),
    ("https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass", "QUAL"),
}
EXPECTED_PROFILES = {
    "cm-patient",
    "cm-related-person",
    "cm-practitioner",
    "cm-practitioner-role",
    "cm-organization",
    "cm-episode-of-care",
    "cm-care-team",
    "cm-care-plan",
    "cm-goal",
    "cm-referral",
    "cm-consent",
    "cm-provenance",
    "cm-functional-review",
    "cm-rupture",
    "cm-need",
}


def test_conformance_resources_live_under_the_canonical_base() -> None:
    for res in all_resources():
        if res["resourceType"] not in DEFINITION_TYPES:
            continue
        url = res["url"]
        expected = f"{CANONICAL}/{res['resourceType']}/{res['id']}"
        if url.startswith(FR_CORE):  # FR Core stand-ins keep FR Core's URL
            assert res["resourceType"] == "StructureDefinition"
            continue
        assert url == expected
        assert res.get("version") == "0.1.0", url


def test_every_profile_is_r4_and_has_a_standalone_example() -> None:
    ids = {sd["id"] for sd in profiles()}
    assert ids == EXPECTED_PROFILES
    standalone = [r for r in all_resources() if r["resourceType"] not in DEFINITION_TYPES]
    for sd in profiles():
        assert sd["fhirVersion"] == "4.0.1"
        assert any(sd["url"] in r.get("meta", {}).get("profile", []) for r in standalone), sd["id"]


def test_examples_claim_only_profiles_of_the_guide() -> None:
    urls = {sd["url"] for sd in profiles()}
    for res in examples():
        for profile in res.get("meta", {}).get("profile", []):
            assert profile in urls, f"{res['resourceType']}/{res['id']}: unknown profile {profile}"


@pytest.mark.parametrize("code_system", sorted(CASEFILE_CODES))
def test_code_systems_cover_the_case_file_and_are_bilingual(code_system: str) -> None:
    (cs,) = [c for c in definitions("CodeSystem") if c["id"] == code_system]
    codes = {c["code"] for c in cs["concept"]}
    assert CASEFILE_CODES[code_system] <= codes
    assert cs["content"] == "complete" and cs["count"] == len(codes)
    for concept in cs["concept"]:
        english = [d for d in concept.get("designation", []) if d.get("language") == "en"]
        assert english and english[0]["value"], f"{code_system}#{concept['code']} has no English"
        assert concept["display"] and concept.get("definition")


def test_nos_value_sets_offer_no_deprecated_code() -> None:
    offered = {
        (include["system"], concept["code"])
        for vs in definitions("ValueSet")
        for include in vs.get("compose", {}).get("include", [])
        for concept in include.get("concept", [])
    }
    assert not offered & DEPRECATED_NOS


def _references(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_references(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_references(item))
    return found


@pytest.mark.parametrize("bundle_id", ["diego-transaction", "nadia-transaction"])
def test_scenario_bundles_are_complete_idempotent_transactions(bundle_id: str) -> None:
    (bundle,) = [r for r in definitions("Bundle") if r["id"] == bundle_id]
    assert bundle["type"] == "transaction"
    entries = bundle["entry"]
    full_urls = [e["fullUrl"] for e in entries]
    assert len(set(full_urls)) == len(full_urls)
    assert all(u.startswith("urn:uuid:") for u in full_urls)
    present = set()
    for entry in entries:
        res = entry["resource"]
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{res['resourceType']}/{res['id']}",
        }
        present.add(f"{res['resourceType']}/{res['id']}")
    types = {p.split("/")[0] for p in present}
    assert {"Patient", "EpisodeOfCare", "CareTeam", "CarePlan", "Goal", "Consent"} <= types
    for entry in entries:
        for ref in _references(entry["resource"]):
            assert REFERENCE.match(ref), ref
            assert ref in present, f"{bundle_id}: {ref} is not in the Bundle"


def test_functional_review_answers_the_published_questionnaire() -> None:
    (questionnaire,) = definitions("Questionnaire")
    for res in examples():
        if res["resourceType"] == "QuestionnaireResponse":
            assert res["questionnaire"] == questionnaire["url"]
