"""Every seed concept has a home in the guide and in the case file, and survives the round trip
case file → FHIR → case file (issue 13). One test per concept: where it lives in FHIR (the
element and the code the import writes), and that the export gives the same case-file field
back. docs/mapping.md, "Seed concepts: where each lives", is the table of these homes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.mapping.service import CasefileService
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

from .conftest import GOLDEN, NAMES, ROOT, example
from .test_casefile_export import episode_id, normalised
from .test_casefile_import import check_invariants

BASE = "https://interop.cm-sante-mentale.fr/fhir"
AGREEMENT = f"{BASE}/StructureDefinition/cm-person-agreement"


def seeded() -> dict[str, Any]:
    """Diego's case file (contract v1) with every concept of contract v2 filled in."""
    doc = example(NAMES[0])
    doc["casefileVersion"] = "2"
    doc["structures"] += [
        {"localId": "S-C360", "name": "Communauté 360 Paris (exemple)",
         "category": "communaute-360"},
        {"localId": "S-CLSM", "name": "CLSM Paris 14 (exemple)", "category": "clsm"},
        {"localId": "S-PTSM", "name": "PTSM de Paris (exemple)", "category": "ptsm"}]
    episode = doc["episode"]
    episode["referralModel"] = "interne"
    # referral 01-08, first contact 01-10 (end of the waitlist), start 01-12
    episode["statusHistory"] = [
        {"status": "waitlist", "start": "2026-01-08", "end": "2026-01-10"},
        {"status": "planned", "start": "2026-01-10", "end": "2026-01-12"},
        {"status": "active", "start": "2026-01-12"}]
    plan = doc["plan"]
    plan["agreedOn"] = "2026-01-28"
    plan["contributors"] = ["RP-1", "P-PSY1"]
    actions = plan["actions"]
    actions[0]["place"] = "lieu-de-formation"
    actions[1]["place"] = "domicile"
    del actions[1]["scheduled"]
    actions[1]["scheduleText"] = "tous les mardis soir"
    actions[3]["place"] = "lieu-public"
    return doc


def _all(router: Any, rtype: str) -> list[dict[str, Any]]:
    resp = router.dispatch(FhirRequest("GET", [rtype], query=[("_count", "200")]))
    body = fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
    return [e["resource"] for e in body.get("entry", [])]


def _one(router: Any, rtype: str) -> dict[str, Any]:
    (found,) = _all(router, rtype)
    return found


def _round_trip(service: CasefileService, doc: dict[str, Any]) -> dict[str, Any]:
    exported = service.export(episode_id(service, doc)).document
    assert service.mset.schema.validate(exported) == []
    return exported


@pytest.fixture
def imported(service: CasefileService) -> dict[str, Any]:
    """The seeded case file imported, and its export."""
    return _round_trip(service, seeded())


def test_the_whole_seeded_case_file_survives_the_round_trip(service: CasefileService,
                                                             router: Any) -> None:
    doc = seeded()
    exported = _round_trip(service, doc)
    assert normalised(exported) == normalised(doc)
    # and FHIR → case file → FHIR writes nothing
    result = service.import_json(exported)
    assert not result.changed, result.summary


def test_referral_model_interne_externe(router: Any, imported: dict[str, Any],
                                        service: CasefileService) -> None:
    """Seed 004 « Questionner la notion de référence » : modèle interne / modèle externe →
    CareTeam.category (cm-referral-model)."""
    team = _one(router, "CareTeam")
    assert team["category"] == [{"coding": [{"system": f"{BASE}/CodeSystem/cm-referral-model",
                                              "code": "interne"}]}]
    assert imported["episode"]["referralModel"] == "interne"
    doc = seeded()
    doc["episode"]["referralModel"] = "externe"
    assert _round_trip(service, doc)["episode"]["referralModel"] == "externe"


def test_referral_model_needs_the_team(service: CasefileService) -> None:
    doc = seeded()
    del doc["team"]
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert "$.episode.referralModel" in {i.expression[0] for i in err.value.issues}


def test_place_of_an_intervention(router: Any, imported: dict[str, Any]) -> None:
    """Home visit, school, café… → a contained Location (mode kind) whose type has the
    cm-intervention-place code and its HL7 v3 equivalent, referenced by detail.location."""
    plan = _one(router, "CarePlan")
    places = {c["id"]: c for c in plan["contained"]}
    by_action = {a["id"]: a["detail"].get("location", {}).get("reference")
                 for a in plan["activity"]}
    assert by_action == {"A-1": "#place-A-1", "A-2": "#place-A-2", "A-3": None,
                         "A-4": "#place-A-4"}
    home = places["place-A-2"]
    assert home["resourceType"] == "Location" and home["mode"] == "kind"
    assert [(c["system"], c["code"]) for c in home["type"][0]["coding"]] == [
        (f"{BASE}/CodeSystem/cm-intervention-place", "domicile"),
        ("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "PTRES")]
    assert places["place-A-1"]["type"][0]["coding"][1]["code"] == "SCHOOL"
    assert places["place-A-4"]["type"][0]["coding"][1]["code"] == "COMM"
    exported = {a["localId"]: a.get("place") for a in imported["plan"]["actions"]}
    assert exported == {"A-1": "lieu-de-formation", "A-2": "domicile", "A-3": None,
                        "A-4": "lieu-public"}


def test_delays_referral_first_contact_start(router: Any, imported: dict[str, Any]) -> None:
    """Délais: referral date (ServiceRequest.authoredOn), first contact (end of the waitlist
    period of EpisodeOfCare.statusHistory), start (EpisodeOfCare.period.start)."""
    from datetime import date

    episode, referral = _one(router, "EpisodeOfCare"), _one(router, "ServiceRequest")
    waitlist = [h for h in episode["statusHistory"] if h["status"] == "waitlist"]
    referred = date.fromisoformat(referral["authoredOn"])
    first_contact = date.fromisoformat(waitlist[0]["period"]["end"])
    start = date.fromisoformat(episode["period"]["start"])
    assert ((first_contact - referred).days, (start - first_contact).days) == (2, 2)
    assert imported["episode"]["referral"]["date"] == "2026-01-08"
    assert imported["episode"]["statusHistory"][0] == {"status": "waitlist",
                                                       "start": "2026-01-08",
                                                       "end": "2026-01-10"}
    assert imported["episode"]["start"] == "2026-01-12"


def test_territory_structures_as_organisation_categories(router: Any,
                                                         imported: dict[str, Any]) -> None:
    """Communauté 360, CLSM, PTSM → Organization.type from cm-organization-category (no
    FINESS category TRE_R66 exists for them)."""
    types = {o["name"]: o["type"][0]["coding"][0] for o in _all(router, "Organization")
             if "type" in o}
    system = f"{BASE}/CodeSystem/cm-organization-category"
    assert {(c["system"], c["code"]) for n, c in types.items() if "exemple" in n
            and c["system"] == system} == {(system, "communaute-360"), (system, "clsm"),
                                           (system, "ptsm")}
    exported = {s["localId"]: s.get("category") for s in imported["structures"]}
    assert (exported["S-C360"], exported["S-CLSM"], exported["S-PTSM"]) == (
        "communaute-360", "clsm", "ptsm")


def test_the_category_codes_are_in_the_guide() -> None:
    """The codes the case file accepts are the guide's: its CodeSystems define them and the
    profile's value set includes them."""
    resources = ROOT / "profiles" / "fsh-generated" / "resources"
    for cs, table in (("cm-organization-category", "organization-category"),
                      ("cm-referral-model", "referral-model"),
                      ("cm-intervention-place", "intervention-place")):
        codes = {c["code"] for c in json.loads(
            (resources / f"CodeSystem-{cs}.json").read_text(encoding="utf-8"))["concept"]}
        mapped = json.loads((ROOT / "mappings/casefile/codes" / f"{table}.json").read_text(
            encoding="utf-8"))
        targets = {e["target"][0]["code"] for g in mapped["group"]
                   if g["target"] == f"{BASE}/CodeSystem/{cs}" for e in g["element"]}
        assert targets == codes, cs
    vs = json.loads((resources / "ValueSet-cm-organization-category.json").read_text(
        encoding="utf-8"))
    assert f"{BASE}/CodeSystem/cm-organization-category" in {
        i["system"] for i in vs["compose"]["include"]}


def test_plan_contributors(router: Any, imported: dict[str, Any]) -> None:
    """CarePlan.contributor: the author, the person when they agree, and the co-authors the
    file lists (plan.contributors)."""
    plan = _one(router, "CarePlan")
    roles = {r["id"]: r for r in _all(router, "PractitionerRole")}
    related = _one(router, "RelatedPerson")
    refs = [c["reference"] for c in plan["contributor"]]
    assert refs[0] == plan["subject"]["reference"]  # the person agreed (cm-cp-1)
    assert plan["author"]["reference"] in refs
    assert f"RelatedPerson/{related['id']}" in refs
    psy = [rid for rid, r in roles.items()
           if "10000000002" in json.dumps(_practitioner(router, r))]
    assert f"PractitionerRole/{psy[0]}" in refs and len(refs) == 4
    assert imported["plan"]["contributors"] == ["RP-1", "P-PSY1"]


def _practitioner(router: Any, role: dict[str, Any]) -> dict[str, Any]:
    rtype, rid = role["practitioner"]["reference"].split("/")
    body = router.dispatch(FhirRequest("GET", [rtype, rid])).body
    return fhir.loads(body) if isinstance(body, bytes) else body


def test_the_person_as_only_co_author_without_agreement(service: CasefileService,
                                                       router: Any) -> None:
    doc = seeded()
    doc["plan"]["agreedByPerson"] = False
    doc["plan"]["contributors"] = ["person"]
    exported = _round_trip(service, doc)
    assert exported["plan"]["contributors"] == ["person"]
    plan = _one(router, "CarePlan")
    assert plan["subject"] in plan["contributor"]


def test_agreement_date(router: Any, imported: dict[str, Any], service: CasefileService) -> None:
    """The date the person agreed → cm-person-agreement extension, date (defaults to the
    plan's created date, as in contract v1)."""
    plan = _one(router, "CarePlan")
    (agreement,) = [e for e in plan["extension"] if e["url"] == AGREEMENT]
    assert {e["url"]: e.get("valueDateTime", e.get("valueCode")) for e in
            agreement["extension"]} == {"status": "agree", "date": "2026-01-28"}
    assert imported["plan"]["agreedOn"] == "2026-01-28"
    doc = seeded()
    del doc["plan"]["agreedOn"]
    exported = _round_trip(service, doc)
    assert "agreedOn" not in exported["plan"]  # the created date, implied
    plan = _one(router, "CarePlan")
    (agreement,) = [e for e in plan["extension"] if e["url"] == AGREEMENT]
    assert {"url": "date", "valueDateTime": doc["plan"]["created"]} in agreement["extension"]


def test_episode_status_history(router: Any, imported: dict[str, Any],
                                service: CasefileService) -> None:
    """EpisodeOfCare.statusHistory: the file's own (v2), or derived from the dates (v1)."""
    episode = _one(router, "EpisodeOfCare")
    assert [(h["status"], h["period"]) for h in episode["statusHistory"]] == [
        ("waitlist", {"start": "2026-01-08", "end": "2026-01-10"}),
        ("planned", {"start": "2026-01-10", "end": "2026-01-12"}),
        ("active", {"start": "2026-01-12"})]
    assert imported["episode"]["statusHistory"] == seeded()["episode"]["statusHistory"]


def test_a_version_1_file_gets_the_derived_status_history(service: CasefileService,
                                                         router: Any) -> None:
    exported = _round_trip(service, example(NAMES[0]))
    assert exported["episode"]["statusHistory"] == [
        {"status": "planned", "start": "2026-01-08", "end": "2026-01-12"},
        {"status": "active", "start": "2026-01-12"}]
    again = service.import_json(exported)  # explicit now: the same FHIR
    assert not again.changed, again.summary


def test_an_impossible_status_period_is_refused(service: CasefileService) -> None:
    doc = seeded()
    doc["episode"]["statusHistory"][0]["end"] = "2026-01-01"
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert "$.episode.statusHistory[0].end" in {i.expression[0] for i in err.value.issues}


def test_free_text_schedule(router: Any, imported: dict[str, Any],
                            service: CasefileService) -> None:
    """« tous les mardis » → activity.detail.scheduledString; a date stays scheduledPeriod."""
    plan = _one(router, "CarePlan")
    details = {a["id"]: a["detail"] for a in plan["activity"]}
    assert details["A-2"]["scheduledString"] == "tous les mardis soir"
    assert "scheduledPeriod" not in details["A-2"]
    assert details["A-1"]["scheduledPeriod"] == {"start": "2026-03-10"}
    actions = {a["localId"]: a for a in imported["plan"]["actions"]}
    assert actions["A-2"].get("scheduleText") == "tous les mardis soir"
    assert "scheduled" not in actions["A-2"] and "scheduleText" not in actions["A-1"]
    doc = seeded()
    doc["plan"]["actions"][1]["scheduled"] = "2026-02-03"
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert "$.plan.actions[1].scheduleText" in {i.expression[0] for i in err.value.issues}


def test_the_bilan_fonctionnel_questionnaire_is_served(router: Any) -> None:
    """The Questionnaire every functional review (QuestionnaireResponse.questionnaire) names
    is served, by id and by its canonical URL, once the server has installed its guide's
    conformance resources (as `cm-fhir serve` does)."""
    mapped = json.loads((ROOT / "mappings/casefile/resources/functional-review.json")
                        .read_text(encoding="utf-8"))
    canonical = mapped["template"]["questionnaire"]
    rid = canonical.rsplit("/", 1)[1]
    resp = router.dispatch(FhirRequest("GET", ["Questionnaire", rid]))
    assert resp.status == 200
    body = fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
    assert body["url"] == canonical
    found = router.dispatch(FhirRequest("GET", ["Questionnaire"], query=[("url", canonical)]))
    bundle = fhir.loads(found.body) if isinstance(found.body, bytes) else found.body
    assert [e["resource"]["id"] for e in bundle.get("entry", [])] == [rid]
    ig_example = json.loads((ROOT / "profiles/fsh-generated/resources"
                             / "QuestionnaireResponse-diego-bilan.json").read_text("utf-8"))
    assert ig_example["questionnaire"] == canonical


def finished(doc: dict[str, Any]) -> dict[str, Any]:
    """The episode ended on 2026-06-30: every membership ended, the case manager's included."""
    doc["episode"]["status"] = "finished"
    doc["episode"]["end"] = "2026-06-30"
    for member in doc["team"]:
        member["end"] = "2026-06-30"
    doc["plan"]["status"] = "completed"
    return doc


def test_a_case_file_that_ends_an_episode_imports(service: CasefileService,
                                                  router: Any) -> None:
    """« The case manager is an active member » holds until the episode has ended."""
    doc = finished(example(NAMES[0]))
    exported = _round_trip(service, doc)
    episode, team = _one(router, "EpisodeOfCare"), _one(router, "CareTeam")
    assert (episode["status"], episode["period"]["end"]) == ("finished", "2026-06-30")
    assert team["status"] == "inactive"
    assert all(p["period"]["end"] == "2026-06-30" for p in team["participant"])
    assert exported["episode"]["caseManager"] == "P-CM1"
    assert {m["end"] for m in exported["team"]} == {"2026-06-30"}


def test_a_finished_episode_still_names_a_case_manager_of_its_team(
        service: CasefileService) -> None:
    doc = finished(example(NAMES[0]))
    doc["episode"]["caseManager"] = "P-PSY1"  # a member, but not the case manager
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert "$.episode.caseManager" in {i.expression[0] for i in err.value.issues}


@pytest.mark.parametrize("status", ["active", "onhold"])
def test_an_episode_not_ended_still_needs_an_active_case_manager(
        status: str, service: CasefileService) -> None:
    doc = example(NAMES[0])
    doc["episode"]["status"] = status
    doc["team"][0]["end"] = "2026-03-01"
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert "$.episode.caseManager" in {i.expression[0] for i in err.value.issues}


@pytest.mark.parametrize("name", NAMES)
def test_contract_version_2_and_unmodified_version_1_files(name: str,
                                                           service: CasefileService) -> None:
    """The contract is version 2; the example files, unmodified version 1, still import;
    the export is a version 2 file; a version that does not exist is refused."""
    assert service.mset.schema.version == "2.0.0"
    raw = (ROOT / "mappings/examples" / f"{name}.json").read_bytes()
    assert json.loads(raw)["casefileVersion"] == "1"
    result = service.import_json(raw)
    assert result.changed
    eid = next(e["response"]["location"].split("/")[1] for e in result.response["entry"]
               if e["response"]["location"].startswith("EpisodeOfCare/"))
    assert service.export(eid).document["casefileVersion"] == "2"
    doc = example(name)
    doc["casefileVersion"] = "3"
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    assert "$.casefileVersion" in {i.expression[0] for i in err.value.issues}


@pytest.mark.parametrize("which", ["seeded", "finished"])
def test_the_fhir_of_the_new_fields_is_valid(which: str, router: Any,
                                             service: CasefileService) -> None:
    """What the v2 fields and a finished episode produce conforms to the profiles and their
    invariants (cm-team-1, cm-ep-2…): 0 errors for our validator."""
    service.import_json(seeded() if which == "seeded" else finished(example(NAMES[0])))
    for rtype in ("CarePlan", "CareTeam", "EpisodeOfCare", "Organization"):
        for resource in _all(router, rtype):
            resp = router.dispatch(FhirRequest(
                "POST", [rtype, "$validate"], body=fhir.dumps(resource),
                headers={"content-type": "application/fhir+json"}))
            outcome = fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
            errors = [i for i in outcome.get("issue", [])
                      if i["severity"] in ("error", "fatal")]
            assert errors == [], (rtype, errors)


@pytest.mark.parametrize("which", ["seed-concepts", "seed-concepts-finished"])
def test_golden_transaction_of_the_new_fields(which: str, ctx: Any, router: Any,
                                              service: CasefileService, golden: Any) -> None:
    """The transactions of the v2 fields and of a finished episode, kept as goldens: the HL7
    validator and HAPI oracles (tests/oracle) check every golden transaction too."""
    doc = seeded() if which == "seed-concepts" else finished(example(NAMES[0]))
    result = service.import_json(doc)
    produced = fhir.dumps(result.bundle, pretty=True).decode() + "\n"
    golden(GOLDEN / f"{which}.transaction.json", produced, as_json=True)
    check_invariants(ctx, router, result.bundle)
