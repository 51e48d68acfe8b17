"""Case file → FHIR: golden transactions, invariants on every output, idempotence, updates
with history and one Provenance (the mapped detail, sent as the transaction's X-Provenance,
recorded by the server), atomic rejection, identity and ownership."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhirpathpy import evaluate
from fhirpathpy.models import models

from fhir_service import fhir
from fhir_service.interactions.common import validate_resource
from fhir_service.mapping.loader import MapLoadError, load
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

from .conftest import EXAMPLES, GOLDEN, NAMES, ROOT, example

SHARED_EXAMPLES = ROOT.parent / "shared" / "casefile" / "examples"


def test_examples_copy_is_the_shared_contract() -> None:
    if not SHARED_EXAMPLES.exists():
        pytest.skip(f"{SHARED_EXAMPLES} is absent: the shared case files sit beside the project "
                    "in the team's checkout")
    for path in SHARED_EXAMPLES.iterdir():
        assert (EXAMPLES / path.name).read_bytes() == path.read_bytes(), path.name


def _provenances(router: Any) -> list[dict[str, Any]]:
    """The Provenances of imports (not the one of the conformance resources' loading)."""
    bundle = fhir.loads(router.dispatch(FhirRequest("GET", ["Provenance"],
                                                    query=[("_count", "1000")])).body)
    return [e["resource"] for e in bundle.get("entry", [])
            if not any(t["reference"].startswith(("StructureDefinition/", "ValueSet/",
                                                  "CodeSystem/", "SearchParameter/",
                                                  "OperationDefinition/", "ConceptMap/",
                                                  "ImplementationGuide/",
                                                  "CapabilityStatement/"))
                       for t in e["resource"]["target"])]


def _history_total(router: Any) -> int:
    resp = router.dispatch(FhirRequest("GET", ["_history"], query=[("_count", "0")]))
    return int(fhir.loads(resp.body)["total"])


def _profile_constraints(ctx: Any, profile: str) -> list[tuple[str, str]]:
    sd = ctx.registry.by_url(profile)
    assert sd is not None, profile
    return [(c["key"], c["expression"]) for el in sd["differential"]["element"]
            for c in el.get("constraint", [])]


def check_invariants(ctx: Any, router: Any, bundle: dict[str, Any]) -> None:
    """Every output parses and validates (R4 structure, model, profile validator when set),
    obeys its profile's invariants, and each reference resolves in the bundle or the store."""
    local = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    for entry in bundle["entry"]:
        resource = fhir.loads(fhir.dumps(entry["resource"]))
        validate_resource(ctx, resource)
        for profile in resource["meta"]["profile"]:
            for key, expression in _profile_constraints(ctx, profile):
                env = {"resource": resource, "rootResource": resource}
                assert evaluate(resource, expression, env, models["r4"]) == [True], (key, resource["id"])
        for ref in _refs(resource):
            if ref.startswith("#"):  # a contained resource
                assert ref[1:] in {c.get("id") for c in resource.get("contained", [])}, ref
                continue
            if ref in local:
                continue
            rtype, rid = ref.split("/")[:2]
            assert router.dispatch(FhirRequest("GET", [rtype, rid])).status == 200, ref


def _refs(value: Any) -> list[str]:
    out = []
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            out.append(value["reference"])
        for v in value.values():
            out.extend(_refs(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_refs(v))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_golden_transaction_and_invariants(name: str, ctx: Any, router: Any, service: Any,
                                           golden: Any) -> None:
    result = service.import_json(example(name))
    produced = fhir.dumps(result.bundle, pretty=True).decode() + "\n"
    golden(GOLDEN / f"{name}.transaction.json", produced, as_json=True)
    check_invariants(ctx, router, result.bundle)
    assert result.changed and sum(result.summary["created"].values()) == len(result.bundle["entry"])
    # Provenance is the server's: not an entry of the transaction, but its X-Provenance
    assert "Provenance" not in {e["resource"]["resourceType"] for e in result.bundle["entry"]}
    provs = _provenances(router)
    assert len(provs) == 1
    prov = provs[0]
    validate_resource(ctx, prov)
    assert {t["reference"] for t in prov["target"]} == \
        {f"{e['request']['url']}/_history/1" for e in result.bundle["entry"]}
    assert prov["entity"] == result.provenance["entity"]
    assert prov["meta"]["profile"] == result.provenance["meta"]["profile"]


def test_diego_has_the_shape_of_the_ig_example(service: Any) -> None:
    """Same resources, same content as the IG's Diego transaction, ids and refs aside."""
    ig = json.loads((ROOT / "profiles/fsh-generated/resources/Bundle-diego-transaction.json")
                    .read_text(encoding="utf-8"))
    mine = service.import_json(example(NAMES[0])).bundle
    # the IG's transaction carries its Provenance as an entry; ours sends it as X-Provenance
    ig["entry"] = [e for e in ig["entry"] if e["resource"]["resourceType"] != "Provenance"]
    assert [e["resource"]["resourceType"] for e in mine["entry"]] == \
        [e["resource"]["resourceType"] for e in ig["entry"]]
    ids = {f"{m['resource']['resourceType']}/{m['resource']['id']}":
           f"{t['resource']['resourceType']}/{t['resource']['id']}"
           for m, t in zip(mine["entry"], ig["entry"], strict=True)}
    for m, t in zip(mine["entry"], ig["entry"], strict=True):
        raw = fhir.dumps(m["resource"]).decode()
        for a, b in ids.items():
            raw = raw.replace(f'"{a}"', f'"{b}"')
        res = json.loads(raw)
        res["id"] = t["resource"]["id"]
        res["meta"].pop("source")
        assert res == t["resource"], t["resource"]["id"]


def test_reimport_changes_nothing(router: Any, service: Any) -> None:
    service.import_json(example(NAMES[0]))
    before = _history_total(router)
    again = service.import_json(example(NAMES[0]))
    assert not again.changed and again.provenance is None
    assert _history_total(router) == before
    assert len(_provenances(router)) == 1


def test_changed_file_updates_in_place_with_history_and_one_provenance(router: Any,
                                                                      service: Any) -> None:
    first = service.import_json(example(NAMES[0]))
    doc = example(NAMES[0])
    doc["plan"]["goals"][1]["achievement"] = "achieved"
    doc["plan"]["goals"][1]["status"] = "completed"
    doc["source"]["exportedAt"] = "2026-04-01T10:00:00+02:00"
    second = service.import_json(doc)
    assert dict(second.summary["updated"]) == {"Goal": 1}
    assert not second.summary["created"]  # the Provenance is the server's, not an entry
    goal_id = next(e["resource"]["id"] for e in second.bundle["entry"]
                   if e["resource"].get("identifier", [{}])[0].get("value") == "G-2")
    hist = fhir.loads(router.dispatch(FhirRequest("GET", ["Goal", goal_id, "_history"])).body)
    assert hist["total"] == 2
    provs = _provenances(router)
    assert len(provs) == 2
    newest = next(p for p in provs
                  if p["target"] == [{"reference": f"Goal/{goal_id}/_history/2"}])
    assert newest["activity"]["coding"][0]["code"] == "UPDATE"
    # the mapping's detail (the file as source entity, the plan's author on behalf of the
    # structure) is kept, and the server adds itself as the enterer
    assert newest["entity"][0]["what"]["identifier"] == {
        "system": doc["source"]["system"], "value": "casefile-2026-04-01T10:00:00+02:00"}
    assert second.provenance is not None and first.provenance is not None
    assert newest["entity"] == second.provenance["entity"] != first.provenance["entity"]
    assert sorted(a["type"]["coding"][0]["code"] for a in newest["agent"]) == \
        ["author", "enterer"]
    author = next(a for a in newest["agent"] if a["type"]["coding"][0]["code"] == "author")
    assert author["who"]["reference"].startswith("PractitionerRole/")
    assert author["onBehalfOf"]["reference"].startswith("Organization/")
    enterer = next(a for a in newest["agent"] if a["type"]["coding"][0]["code"] == "enterer")
    assert enterer["who"]["identifier"] == {"system": "urn:cm-fhir:client", "value": "cm-fhir"}


def test_a_broken_file_is_rejected_whole_with_every_problem(router: Any, service: Any) -> None:
    before = _history_total(router)
    doc = example(NAMES[0])
    del doc["plan"]["goals"][0]["localId"]
    doc["plan"]["actions"][1]["performer"] = "P-NOBODY"
    doc["plan"]["goals"][2]["due"] = "2026-02-30"
    doc["plan"]["goals"][3]["domain"] = "astrologie"
    doc["team"][2]["end"] = "2025-01-01"
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    paths = {i.expression[0] for i in err.value.issues}
    assert {"$.plan.goals[0].localId", "$.plan.actions[1].performer", "$.plan.goals[2].due",
            "$.plan.goals[3].domain", "$.team[2].end"} <= paths
    assert err.value.status == 400
    assert _history_total(router) == before


def test_unqualified_ins_stays_out_of_patient_identifier(service: Any) -> None:
    doc = example(NAMES[0])
    doc["person"]["ins"]["status"] = "PROV"
    result = service.import_json(doc)
    patient = next(e["resource"] for e in result.bundle["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    assert [i["value"] for i in patient["identifier"]] == ["IPP-204511"]
    assert any("INS is not kept" in i.diagnostics for i in result.warnings)


def _other_source(doc: dict[str, Any], system: str, ipp: str) -> dict[str, Any]:
    raw = json.dumps(doc).replace(doc["source"]["system"], system)
    out = json.loads(raw)
    out["person"]["localId"] = ipp
    out["person"]["telecom"] = [{"system": "phone", "value": "+33699999999"}]
    return out


def _patients(router: Any) -> list[dict[str, Any]]:
    bundle = fhir.loads(router.dispatch(FhirRequest("GET", ["Patient"])).body)
    return [e["resource"] for e in bundle.get("entry", [])]


def test_two_structures_same_qualified_person_one_patient(router: Any, service: Any) -> None:
    service.import_json(example(NAMES[0]))
    other = _other_source(example(NAMES[0]), "https://ids.exemple-cmp.fr/dpi", "CMP-77")
    result = service.import_json(other)
    patients = _patients(router)
    assert len(patients) == 1
    values = {(i["system"], i["value"]) for i in patients[0]["identifier"]}
    assert {("https://ids.exemple-ghu-psy.fr/cjaad", "IPP-204511"),
            ("https://ids.exemple-cmp.fr/dpi", "CMP-77")} <= values
    # the first source's data is kept; the difference comes back as a warning
    assert patients[0]["telecom"][0]["value"] == "+33600000001"
    assert any("telecom" in w.diagnostics for w in result.warnings)
    # practitioners with an RPPS and FINESS structures are shared too
    orgs = fhir.loads(router.dispatch(FhirRequest("GET", ["Organization"])).body)["total"]
    assert orgs == 4  # 2 FINESS shared + 2 "Service handicap" (no national id): one per source
    # the owner's re-import keeps the other source's local identifier, changes nothing
    again = service.import_json(example(NAMES[0]))
    assert not again.changed


def test_a_provisional_ins_never_merges_two_people(router: Any, service: Any) -> None:
    doc = example(NAMES[0])
    doc["person"]["ins"]["status"] = "PROV"
    service.import_json(doc)
    other = _other_source(doc, "https://ids.exemple-cmp.fr/dpi", "CMP-77")
    service.import_json(other)
    assert len(_patients(router)) == 2


def test_a_map_naming_a_missing_path_fails_at_load(ctx: Any, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "casefile"
    shutil.copytree(ROOT / "mappings" / "casefile", folder)
    shutil.copy(ROOT / "mappings" / "casefile.schema.json", tmp_path / "casefile.schema.json")
    goal = folder / "resources" / "goal.json"
    data = json.loads(goal.read_text(encoding="utf-8"))
    data["template"]["note"] = [{"$from": "remark", "text": {"$from": "@"}}]
    goal.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MapLoadError, match="source path 'remark' does not exist"):
        load(folder, ctx.registry, ctx.checker)
    data["template"].pop("note")
    data["template"]["notes"] = [{"$from": "note"}]
    goal.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MapLoadError, match=r"target path 'Goal.notes' does not exist"):
        load(folder, ctx.registry, ctx.checker)


def test_operation_over_http(client: Any) -> None:
    raw = (EXAMPLES / f"{NAMES[1]}.json").read_bytes()
    resp = client.post("/fhir/$import-casefile", content=raw,
                       headers={"content-type": "application/json"})
    assert resp.status_code == 200, resp.text
    params = {p["name"]: p["resource"] for p in resp.json()["parameter"]}
    assert params["outcome"]["issue"][0]["severity"] == "information"
    assert params["response"]["type"] == "transaction-response"
    bad = client.post("/fhir/$import-casefile", content=b'{"casefileVersion": "3"}',
                      headers={"content-type": "application/json"})
    assert bad.status_code == 400
    exprs = {i["expression"][0] for i in bad.json()["issue"]}
    assert {"$.casefileVersion", "$.source", "$.person"} <= exprs
    cs = client.get("/fhir/metadata").json()
    ops = {o["name"]: o["definition"] for o in cs["rest"][0].get("operation", [])}
    assert ops.get("import-casefile", "").endswith("/OperationDefinition/import-casefile")


def test_team_rules_of_the_contract(service: Any) -> None:
    """The case manager is the team's active case-manager member; the plan's author is a
    member of the team (now or formerly: a plan outlives its author's membership)."""
    doc = example(NAMES[0])
    doc["plan"]["author"] = "P-PSY1"  # a team member, not the case manager: fine
    assert service.import_json(doc).changed
    doc["plan"]["author"] = "P-NOT-IN-TEAM"
    doc["professionals"].append({**doc["professionals"][0], "localId": "P-NOT-IN-TEAM",
                                 "rpps": "10000000000"})
    doc["episode"]["caseManager"] = "P-PSY1"  # in the team, but not as case manager
    with pytest.raises(FhirError) as err:
        service.import_json(doc)
    problems = {i.expression[0]: i.diagnostics for i in err.value.issues}
    assert "member of the care team" in problems.get("$.plan.author", "")
    assert "case-manager" in problems.get("$.episode.caseManager", "")
    formerly = example(NAMES[0])
    member = next(t for t in formerly["team"] if t["member"] == "P-PSY1")
    member["end"] = formerly["plan"]["created"]
    formerly["plan"]["author"] = "P-PSY1"
    assert service.import_json(formerly).summary
