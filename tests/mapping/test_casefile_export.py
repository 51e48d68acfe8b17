"""FHIR → case file: the reverse map (mappings/casefile/export.json), $casefile, round trips."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.mapping.paths import clean
from fhir_service.mapping.service import CasefileService
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

from .conftest import GOLDEN, NAMES, ROOT, example

KEYED = ("relatedPersons", "structures", "professionals", "consents")


def as_version_2(doc: dict[str, Any]) -> dict[str, Any]:
    """A case file as the export writes it back: contract version 2, with the status history
    that a file without one leaves implied (derived from the referral date, start, end and
    status by mappings/casefile/resources/episode-of-care.json) written out."""
    if "casefileVersion" in doc:
        doc["casefileVersion"] = "2"
    episode = doc.get("episode")
    if isinstance(episode, dict) and "statusHistory" not in episode:
        referred = (episode.get("referral") or {}).get("date")
        start, end, status = episode.get("start"), episode.get("end"), episode.get("status")
        history = []
        if referred and start:
            history.append({"status": "planned", "start": referred, "end": start})
        if start and status in ("active", "onhold", "finished"):
            history.append({"status": "active", "start": start, "end": end})
        if end and status == "finished":
            history.append({"status": "finished", "start": end})
        episode["statusHistory"] = history
    return doc


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """The mapped fields: absent values dropped, export-time fields out, collections of
    separate resources (no order in a FHIR store) sorted by their local id; a version 1 file
    as version 2 (:func:`as_version_2`)."""
    out = as_version_2(clean(json.loads(json.dumps(doc))) or {})
    out = clean(out) or {}
    out.get("source", {}).pop("exportedAt", None)
    for key in KEYED:
        if key in out:
            out[key] = sorted(out[key], key=lambda item: item["localId"])
    return out


def episode_id(service: CasefileService, doc: dict[str, Any]) -> str:
    result = service.import_json(doc)
    return next(e["response"]["location"].split("/")[1]
                for e in result.response["entry"]
                if e["response"]["location"].startswith("EpisodeOfCare/"))


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_casefile_fhir_casefile(name: str, service: CasefileService) -> None:
    doc = example(name)
    eid = episode_id(service, doc)
    exported = service.export(eid).document
    assert normalised(exported) == normalised(doc)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_fhir_casefile_fhir_is_stable(name: str, router: Any,
                                                 service: CasefileService) -> None:
    """The exported case file re-imports without changing anything (no new version, no
    Provenance), and exports again to the same case file."""
    eid = episode_id(service, example(name))
    first = service.export(eid).document
    history = _history_total(router)
    result = service.import_json(first)
    assert not result.changed, result.summary
    assert _history_total(router) == history
    assert normalised(service.export(eid).document) == normalised(first)


def test_export_is_a_valid_case_file(service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    doc = service.export(eid).document
    assert service.mset.schema.validate(doc) == []
    assert doc["casefileVersion"] == "2"
    assert doc["source"]["system"] == example(NAMES[0])["source"]["system"]
    assert doc["source"]["exportedAt"].startswith("2026-01-01T")  # the (frozen) clock


def test_changed_fhir_data_shows_in_the_export(router: Any, service: CasefileService) -> None:
    """What FHIR clients change (here a goal's achievement, through REST) is exported."""
    eid = episode_id(service, example(NAMES[0]))
    goal = next(g for g in _search(router, "Goal", [("lifecycle-status", "proposed")]))
    goal["lifecycleStatus"] = "active"
    goal["achievementStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
        "code": "improving"}]}
    router.dispatch(FhirRequest("PUT", ["Goal", goal["id"]], body=fhir.dumps(goal),
                                headers={"content-type": "application/fhir+json"}))
    goals = {g["localId"]: g for g in service.export(eid).document["plan"]["goals"]}
    assert goals["G-4"]["status"] == "active"
    assert goals["G-4"]["achievement"] == "improving"


def test_plan_parameter(router: Any, service: CasefileService) -> None:
    """By default the episode's current plan; ``plan`` names another plan of the episode;
    a plan of another episode, or no plan at all, is not found."""
    diego, nadia = example(NAMES[0]), example(NAMES[1])
    eid = episode_id(service, diego)
    nadia_eid = episode_id(service, nadia)
    old = {**diego, "plan": {**diego["plan"], "localId": "PP-2025-0001", "status": "completed",
                             "goals": [], "actions": []}}
    old.pop("consents")
    service.import_json(old)
    assert service.export(eid).document["plan"]["localId"] == "PP-2026-0042"  # the active one
    plans = {p["identifier"][0]["value"]: p["id"] for p in _search(router, "CarePlan", [])}
    named = service.export(eid, plans["PP-2025-0001"]).document
    assert named["plan"]["localId"] == "PP-2025-0001"
    assert named["plan"]["status"] == "completed"
    with pytest.raises(FhirError) as err:
        service.export(eid, plans["PPCS-5521"])  # Nadia's plan is not one of Diego's episode
    assert err.value.status == 404
    with pytest.raises(FhirError) as err:
        service.export(nadia_eid + "x")
    assert err.value.status == 404


def _history_total(router: Any) -> int:
    resp = router.dispatch(FhirRequest("GET", ["_history"], query=[("_count", "0")]))
    return int(fhir.loads(resp.body)["total"])


def _search(router: Any, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
    resp = router.dispatch(FhirRequest("GET", [rtype], query=[*query, ("_count", "100")]))
    body = fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
    return [e["resource"] for e in body.get("entry", [])]


def test_operation_over_http(client: Any) -> None:
    raw = json.dumps(example(NAMES[1])).encode()
    imported = client.post("/fhir/$import-casefile", content=raw,
                           headers={"content-type": "application/json"})
    assert imported.status_code == 200, imported.text
    eid = next(e["response"]["location"].split("/")[1]
               for p in imported.json()["parameter"] if p["name"] == "response"
               for e in p["resource"]["entry"]
               if e["response"]["location"].startswith("EpisodeOfCare/"))
    resp = client.get(f"/fhir/EpisodeOfCare/{eid}/$casefile")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert normalised(resp.json()) == normalised(example(NAMES[1]))
    binary = client.get(f"/fhir/EpisodeOfCare/{eid}/$casefile",
                        headers={"accept": "application/fhir+json"})
    assert binary.json()["resourceType"] == "Binary"
    missing = client.get("/fhir/EpisodeOfCare/nope/$casefile")
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"
    unknown_plan = client.get(f"/fhir/EpisodeOfCare/{eid}/$casefile?plan=nope")
    assert unknown_plan.status_code == 404
    assert unknown_plan.json()["issue"][0]["expression"] == ["plan"]


def test_export_reads_as_the_caller_and_is_audited(make_context: Any) -> None:
    """A structure that does not accompany the person gets 404; one that does gets the case
    file; both accesses leave an AuditEvent naming the person."""
    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from fhir_service.security.principal import Principal, Scopes

    ctx = make_context(audit=True, provenance=True)
    router = Router(ctx)
    install_all(router)
    server = CasefileService.for_context(ctx, router.dispatch)
    eid = episode_id(server, example(NAMES[0]))
    orgs = {o["identifier"][0]["value"]: o["id"] for o in _search(router, "Organization", [])}
    patient_id = _search(router, "Patient", [])[0]["id"]

    def export_as(structure: str) -> tuple[int, Any]:
        who = Principal(f"client-{structure}", structure=structure,
                        scopes=Scopes.parse("system/*.rs"))
        req = FhirRequest("GET", ["EpisodeOfCare", eid, "$casefile"], principal=who,
                          base_url="http://test/fhir")
        try:
            resp = router.handle(req)
        except FhirError as exc:
            return exc.status, exc.outcome()
        return resp.status, fhir.loads(resp.body)

    status, doc = export_as(orgs["S-CJAAD"])
    assert status == 200
    assert normalised(doc) == normalised(example(NAMES[0]))
    status, outcome = export_as("someone-else")
    assert status == 404
    assert "Martin" not in json.dumps(outcome)
    auditor = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)
    resp = router.handle(FhirRequest("GET", ["AuditEvent"], principal=auditor,
                                     query=[("patient", f"Patient/{patient_id}")]))
    events = [e["resource"] for e in fhir.loads(resp.body).get("entry", [])]
    reads = [e for e in events if e["outcome"] == "0" and e["subtype"][0]["code"] == "operation"
             and any(x.get("what", {}).get("reference", "").startswith(f"EpisodeOfCare/{eid}/")
                     for x in e["entity"])]
    assert reads, "the export is audited with the person as entity"


IG_BUNDLES = {"diego-intervention-precoce": "Bundle-diego-transaction.json",
              "nadia-coordination-dac": "Bundle-nadia-transaction.json"}


@pytest.mark.parametrize("name", NAMES)
def test_golden_export_of_the_ig_examples(name: str, ctx: Any, router: Any,
                                          service: CasefileService, golden: Any) -> None:
    """FHIR that our maps did not write (the IG's hand-written example transactions, fixed
    ids, no meta.source) exports to the golden case file; Diego's is the shared example."""
    # exactly the IG's resources: the server's own Provenance of the transaction would target
    # (and so bring into the export) every structure it writes, the mission locale included
    ctx.settings.provenance = False
    bundle = (ROOT / "profiles/fsh-generated/resources" / IG_BUNDLES[name]).read_bytes()
    resp = router.dispatch(FhirRequest("POST", [], body=bundle,
                                       headers={"content-type": "application/fhir+json"}))
    assert resp.status == 200
    eid = next(e["resource"]["id"] for e in json.loads(bundle)["entry"]
               if e["resource"]["resourceType"] == "EpisodeOfCare")
    exported = service.export(eid).document
    assert service.mset.schema.validate(exported) == []
    exported["source"].pop("exportedAt")
    produced = json.dumps(exported, ensure_ascii=False, indent=2) + "\n"
    golden(GOLDEN / f"{name}.export.json", produced, as_json=True)
    if name == NAMES[0]:
        assert normalised(exported) == normalised(example(name))
    else:  # the IG's Nadia lists no link to the mission locale: nothing in FHIR names it
        expected = normalised(example(name))
        expected["structures"] = [s for s in expected["structures"] if s["localId"] != "S-ML"]
        assert normalised(exported) == expected


@pytest.mark.parametrize(("change", "error"), [
    (lambda m: m["document"]["plan"].__setitem__("remark", "note.text"),
     "target path '$.plan.remark' does not exist in the source model"),
    (lambda m: m["document"]["plan"]["goals"].__setitem__("due", "target.due where ("),
     "does not compile"),
    (lambda m: m["document"]["plan"]["goals"]["status"].__setitem__("$code", "goal-state"),
     "no code table named goal-state"),
    (lambda m: m["document"]["episode"].__setitem__("status", {"$each": "status"}),
     "$each on a property that is not an array"),
    (lambda m: m["gather"].insert(1, {"name": "x", "search": "CarePlans", "params": []}),
     "unknown resource type CarePlans"),
])
def test_a_bad_reverse_map_fails_at_load(ctx: Any, tmp_path: Path, change: Any,
                                         error: str) -> None:
    import shutil

    from fhir_service.mapping.loader import MapLoadError, load

    folder = tmp_path / "casefile"
    shutil.copytree(ROOT / "mappings" / "casefile", folder)
    shutil.copy(ROOT / "mappings" / "casefile.schema.json", tmp_path / "casefile.schema.json")
    reverse = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    change(reverse)
    (folder / "export.json").write_text(json.dumps(reverse), encoding="utf-8")
    with pytest.raises(MapLoadError, match=re.escape(error)):
        load(folder, ctx.registry, ctx.checker)


def test_fhir_that_makes_no_valid_case_file(router: Any, service: CasefileService) -> None:
    """An episode written by another FHIR client without what the case file requires exports
    as it maps (lenient), or answers 422 naming every problem with Prefer: handling=strict."""
    for resource in ({"resourceType": "Patient", "id": "p1", "name": [{"family": "X"}]},
                     {"resourceType": "Organization", "id": "o1", "name": "O"},
                     {"resourceType": "EpisodeOfCare", "id": "e1", "status": "active",
                      "patient": {"reference": "Patient/p1"},
                      "managingOrganization": {"reference": "Organization/o1"}}):
        router.dispatch(FhirRequest("PUT", [resource["resourceType"], resource["id"]],
                                    body=fhir.dumps(resource),
                                    headers={"content-type": "application/fhir+json"}))
    result = service.export("e1")
    assert result.document["source"]["system"] == "http://localhost/fhir"  # ids are local keys
    assert result.document["person"] == {"localId": "p1", "family": "X"}
    assert {p.path for p in result.problems} == {"$.episode.programme"}
    lenient = router.dispatch(FhirRequest("GET", ["EpisodeOfCare", "e1", "$casefile"]))
    assert lenient.status == 200
    with pytest.raises(FhirError) as err:
        router.dispatch(FhirRequest("GET", ["EpisodeOfCare", "e1", "$casefile"],
                                    headers={"prefer": "handling=strict"}))
    assert err.value.status == 422
    assert "$.episode.programme" in {i.expression[0] for i in err.value.issues}


def test_the_reverse_map_fills_every_field_of_the_contract(service: CasefileService) -> None:
    """A field added to the schema (and the forward maps) without its reverse would silently
    drop out of every export: each schema path has a place in export.json's document."""
    def paths(node: Any, prefix: str = "") -> set[str]:
        out: set[str] = set()
        if isinstance(node, dict):
            for key, sub in node.items():
                if not key.startswith("$"):
                    out.add(prefix + key)
                    out |= paths(sub, prefix + key + ".")
        return out

    document = service.mset.reverse["document"]
    filled = paths(document)
    # a code table may fill a whole object ({system, code}) at once
    whole = {p for p in filled if isinstance(_at(document, p), dict) and "$code" in _at(document, p)}
    expected = {p for p in service.mset.schema.paths()
                if not any(p.startswith(w + ".") for w in whole)}
    assert expected == filled


def _at(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[part]
    return node


def test_each_source_exports_its_own_local_ids_of_a_shared_person(
        service: CasefileService) -> None:
    """One Patient for two structures (qualified INS): each one's export names the person, the
    shared professionals and structures by its own local ids; the shared data is the first
    writer's (the second file's different phone is not exported back as its own)."""
    first = example(NAMES[0])
    other = json.loads(json.dumps(first).replace(first["source"]["system"],
                                                 "https://ids.exemple-cmp.fr/dpi"))
    other["person"]["localId"] = "CMP-77"
    other["person"]["telecom"] = [{"system": "phone", "value": "+33699999999"}]
    for p in other["professionals"]:
        p["localId"] = "X" + p["localId"]
    other = json.loads(json.dumps(other).replace('"P-', '"XP-'))
    episode_id(service, first)
    eid = episode_id(service, other)
    exported = service.export(eid).document
    assert exported["source"]["system"] == "https://ids.exemple-cmp.fr/dpi"
    assert exported["person"]["localId"] == "CMP-77"
    assert exported["person"]["telecom"] == first["person"]["telecom"]  # the owner's
    assert {p["localId"] for p in exported["professionals"]} == \
        {"XP-CM1", "XP-PSY1", "XP-PSYCHO1", "XP-UNIV1"}
    assert exported["episode"]["caseManager"] == "XP-CM1"
    assert normalised(service.export(episode_id(service, first)).document) == normalised(first)


def test_a_reference_the_export_cannot_follow(make_context: Any) -> None:
    """A reference whose target the caller cannot read (here: it does not exist) is left out
    of a lenient export and named in the export's notes; a strict export is refused with it
    among the problems."""
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    ctx = make_context(referential_integrity=False)
    router = Router(ctx)
    install_all(router)
    service = CasefileService.for_context(ctx, router.dispatch)
    eid = episode_id(service, example(NAMES[0]))
    episode = fhir.loads(router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid])).body)
    episode["careManager"] = {"reference": "Practitioner/ghost"}
    assert router.dispatch(FhirRequest("PUT", ["EpisodeOfCare", eid], body=fhir.dumps(episode),
                                       headers={"content-type": "application/fhir+json"})
                           ).status == 200
    result = service.export(eid)
    assert [n for n in result.notes if "Practitioner/ghost" in n]
    assert "caseManager" not in result.document["episode"]
    assert router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid, "$casefile"])).status == 200
    with pytest.raises(FhirError) as err:
        router.dispatch(FhirRequest("GET", ["EpisodeOfCare", eid, "$casefile"],
                                    headers={"prefer": "handling=strict"}))
    assert err.value.status == 422
    assert [i for i in err.value.issues
            if i.code == "not-found" and "Practitioner/ghost" in i.diagnostics]
