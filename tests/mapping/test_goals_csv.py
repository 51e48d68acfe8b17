"""Goals sheet (text/csv) → updates of an existing plan's goals (mappings/goals-csv)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.mapping.service import CasefileService
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

from .conftest import EXAMPLES, NAMES, example
from .test_casefile_export import episode_id

SHEET = (EXAMPLES / "goals.csv").read_bytes()
HEADER = SHEET.splitlines()[0]


def _goals(service: CasefileService, eid: str) -> dict[str, dict[str, Any]]:
    return {g["localId"]: g for g in service.export(eid).document["plan"]["goals"]}


def _versions(router: Any, rtype: str) -> int:
    resp = router.dispatch(FhirRequest("GET", [rtype, "_history"], query=[("_count", "0")]))
    return int(fhir.loads(resp.body)["total"])


def test_the_example_sheet_updates_the_plan(router: Any, service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    before = _goals(service, eid)
    plans, goals = _versions(router, "CarePlan"), _versions(router, "Goal")
    [result] = service.import_csv(SHEET)
    assert dict(result.summary["created"]) == {"Goal": 1}  # (the Provenance is the server's)
    assert result.provenance is not None
    assert dict(result.summary["updated"]) == {"Goal": 2, "CarePlan": 1}
    after = _goals(service, eid)
    assert after["G-2"]["status"] == "completed" and after["G-2"]["achievement"] == "achieved"
    assert after["G-4"]["status"] == "active" and after["G-4"]["achievement"] == "in-progress"
    assert after["G-4"]["note"] == before["G-4"]["note"]  # not a column: kept
    assert after["G-5"] == {"localId": "G-5", "domain": "loisirs",
                            "description": "Reprendre le club de vélo, le samedi",
                            "expressedBy": "person", "priority": "medium-priority",
                            "status": "proposed", "start": "2026-03-02", "due": "2026-05-31"}
    assert after["G-1"] == before["G-1"] and after["G-3"] == before["G-3"]  # not listed: kept
    assert _versions(router, "CarePlan") == plans + 1  # the new goal: a new plan version
    assert _versions(router, "Goal") == goals + 3
    # idempotent: the same sheet again changes nothing
    [again] = service.import_csv(SHEET)
    assert not again.changed
    assert (_versions(router, "CarePlan"), _versions(router, "Goal")) == (plans + 1, goals + 3)


def test_an_empty_cell_removes_the_value(service: CasefileService) -> None:
    eid = episode_id(service, example(NAMES[0]))
    row = (b"https://ids.exemple-ghu-psy.fr/cjaad,IPP-204511,PP-2026-0042,G-1,"
           b"scolarite-formation,Reprendre mes etudes,person,high-priority,active,,2026-01-26,")
    service.import_csv(HEADER + b"\n" + row + b"\n")
    goal = _goals(service, eid)["G-1"]
    assert "achievement" not in goal and "due" not in goal
    assert goal["description"] == "Reprendre mes etudes"


def test_a_bad_sheet_is_rejected_whole_by_row_and_column(router: Any,
                                                         service: CasefileService) -> None:
    episode_id(service, example(NAMES[0]))
    episode_id(service, example(NAMES[1]))
    total = _versions(router, "Goal")
    lines = SHEET.decode().splitlines()
    lines[1] = lines[1].replace("2026-04-30", "2026-04-31")  # impossible date
    lines[2] = lines[2].replace("vie-sociale", "vie-sociales")  # unknown code
    lines.append("https://ids.exemple-dac-rhone.fr/parcours,DAC-88213,PPCS-5521,O-9,emploi,"
                 ",person,,active,,2026-05-01,2026-04-01")  # description missing, due < start
    lines.append("https://ids.exemple-dac-rhone.fr/parcours,DAC-00000,PPCS-5521,O-1,sante,"
                 "x,person,,active,,,")  # another person than the plan's
    lines.append("https://ids.exemple-dac-rhone.fr/parcours,DAC-88213,NO-PLAN,O-1,sante,"
                 "x,person,,active,,,")
    lines.append("a,b,c")
    with pytest.raises(FhirError) as err:
        service.import_csv("\n".join(lines).encode())
    problems = {i.expression[0]: i.diagnostics for i in err.value.issues}
    assert "row 2, column due" in problems and "2026-04-31" in problems["row 2, column due"]
    assert "row 3, column domain" in problems and "vie-sociales" in problems["row 3, column domain"]
    assert "row 5, column description" in problems
    assert "row 5, column due" in problems  # before its start
    assert "row 6, column person_local_id" in problems
    assert "row 7, column plan_local_id" in problems
    assert "row 8" in problems
    assert _versions(router, "Goal") == total  # nothing written, not even the valid groups


def test_header_problems(service: CasefileService) -> None:
    with pytest.raises(FhirError) as err:
        service.import_csv(b"source_system,person_local_id,goal_local_id,colour\n")
    problems = {i.expression[0]: i.diagnostics for i in err.value.issues}
    assert "row 1, column 4" in problems  # colour: not a column
    assert any("plan_local_id is required" in d for d in problems.values())
    with pytest.raises(FhirError):
        service.import_csv(b"\xff\xfe")


def test_another_source_cannot_update_the_plan(service: CasefileService) -> None:
    """Only the source that owns the plan can update its goals: a sheet naming another source
    finds no plan of that source."""
    episode_id(service, example(NAMES[0]))
    sheet = SHEET.replace(b"https://ids.exemple-ghu-psy.fr/cjaad", b"https://other.example/x")
    with pytest.raises(FhirError) as err:
        service.import_csv(sheet)
    assert "row 2, column plan_local_id" in {i.expression[0] for i in err.value.issues}


def test_csv_over_http(client: Any) -> None:
    raw = (EXAMPLES / f"{NAMES[0]}.json").read_bytes()
    assert client.post("/fhir/$import-casefile", content=raw,
                       headers={"content-type": "application/json"}).status_code == 200
    resp = client.post("/fhir/$import-casefile", content=SHEET,
                       headers={"content-type": "text/csv; charset=utf-8"})
    assert resp.status_code == 200, resp.text
    names = [p["name"] for p in resp.json()["parameter"]]
    assert names == ["outcome", "response"]
    bad = client.post("/fhir/$import-casefile", content=SHEET.replace(b"2026-04-30", b"x"),
                      headers={"content-type": "text/csv"})
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["row 2, column due"]


def test_sheet_in_a_parameters_binary(client: Any) -> None:
    import base64

    raw = (EXAMPLES / f"{NAMES[0]}.json").read_bytes()
    assert client.post("/fhir/$import-casefile", content=raw,
                       headers={"content-type": "application/json"}).status_code == 200
    params = {"resourceType": "Parameters", "parameter": [{"name": "casefile", "resource": {
        "resourceType": "Binary", "contentType": "text/csv",
        "data": base64.b64encode(SHEET).decode()}}]}
    resp = client.post("/fhir/$import-casefile", json=params,
                       headers={"content-type": "application/fhir+json"})
    assert resp.status_code == 200, resp.text
    outcome = resp.json()["parameter"][0]["resource"]
    assert "created: 1 Goal" in outcome["issue"][0]["diagnostics"]


NADIA_ROW = (b"https://ids.exemple-dac-rhone.fr/parcours,DAC-88213,PPCS-5521,O-1,sante,"
             b"Reprendre le sport deux fois par semaine,person,,active,,,\n")


def test_a_sheet_of_two_plans_is_one_transaction(router: Any, service: CasefileService,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two plans (two people, two sources) in one sheet: one result per plan, both written
    together; when the write of one fails (here: another client changed that plan between
    the check and the write), neither is."""
    diego = episode_id(service, example(NAMES[0]))
    nadia = episode_id(service, example(NAMES[1]))
    sheet = SHEET.rstrip(b"\n") + b"\n" + NADIA_ROW
    before = (_goals(service, diego), _goals(service, nadia))
    goals = _versions(router, "Goal")
    commit = service.importer.commit

    def meanwhile(prepared: Any, what: str = "The file") -> Any:
        plan = next(u for u in prepared[1].mapped.units if u.rtype == "CarePlan")
        current = fhir.loads(router.dispatch(FhirRequest("GET", ["CarePlan", plan.rid])).body)
        current.pop("meta")
        current["title"] = "Changed by another client meanwhile"
        assert router.dispatch(FhirRequest("PUT", ["CarePlan", plan.rid],
                                           body=fhir.dumps(current),
                                           headers={"content-type": "application/fhir+json"})
                               ).status == 200
        return commit(prepared, what)

    monkeypatch.setattr(service.importer, "commit", meanwhile)
    with pytest.raises(FhirError) as err:
        service.import_csv(sheet)
    assert err.value.status in (409, 412)
    assert (_goals(service, diego), _goals(service, nadia)) == before  # neither plan written
    assert _versions(router, "Goal") == goals
    monkeypatch.undo()
    results = service.import_csv(sheet)
    assert len(results) == 2 and all(r.changed for r in results)
    assert _goals(service, nadia)["O-1"]["description"] == \
        "Reprendre le sport deux fois par semaine"
    assert _goals(service, diego)["G-2"]["status"] == "completed"
    assert _versions(router, "Goal") == goals + 4  # 3 of Diego's, 1 of Nadia's
