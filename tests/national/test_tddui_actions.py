"""Actions, expectations (attentes) and the projet de vie with ANS TDDUI.

- our actions (CarePlan.activity) ⇄ TDDUI actions (TDDUITaskAction: a Task per action, based
  on the plan): words, status, pillar (Task.code), goals served, referent, planned period;
- a TDDUI attente with a life domain of ours becomes a goal of ours that still claims the
  attente profile (and goes back as one); one without a life domain, the projet de vie and the
  action's inputs we have no home for are warnings, never dropped silently;
- every converted resource validates with 0 errors (golden file for the DUI's plan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fhir_service.cli import app
from fhir_service.conformance.registry import Registry
from fhir_service.national import convert
from fhir_service.national.tddui import CM_GOAL, TDDUI_ATTENTE, TDDUI_TASK
from tests.national.test_tddui_conversion import assert_valid, dui_to_ours, dump, load, our_plan

HERE = Path(__file__).resolve().parent
ACTIONS = HERE / "examples" / "tddui-projet-perso-actions.json"


@pytest.fixture(scope="module")
def registry(base_context: Any) -> Registry:
    return base_context.registry


def by_id(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


def said(result: Any) -> set[tuple[str, str]]:
    return {(i.expression[0], i.diagnostics) for i in result.issues}


def test_our_actions_to_tddui_and_back(registry: Registry) -> None:
    sent = our_plan()
    plan = sent["entry"][0]["resource"]
    tddui = convert(sent, "tddui-projet-perso", registry, "https://fhir.example.org/fhir")
    assert tddui.ok
    assert_valid(registry, tddui.resource)
    tasks = [r for r in by_id(tddui.resource).values() if r["resourceType"] == "Task"]
    assert [t["id"] for t in tasks] == [f"diego-careplan-action-A-{i}" for i in range(1, 5)]
    assert all(t["meta"]["profile"] == [TDDUI_TASK] for t in tasks)
    assert [t["status"] for t in tasks] == ["ready", "in-progress", "completed", "draft"]
    assert tasks[0]["owner"] == {"reference": "PractitionerRole/role-morel"}
    assert tasks[0]["input"][1]["valueReference"] == {"reference": "Goal/diego-goal-1"}
    assert not any("CarePlan.activity" in e for e, _ in said(tddui))  # carried, no warning
    back = convert(tddui.resource, "cm-care-plan", registry, "",
                   episode="EpisodeOfCare/diego-episode")
    assert back.ok, back.issues
    assert_valid(registry, back.resource)
    assert back.resource["entry"][0]["resource"]["activity"] == plan["activity"]
    assert not [i for i in back.issues if i.diagnostics.startswith("Not converted")
                and "Task" in i.diagnostics]  # every Task converted


def test_tddui_actions_and_attentes_to_ours(registry: Registry, golden: Any) -> None:
    sent, result = dui_to_ours(registry, ACTIONS, "EpisodeOfCare/ep-ines")
    out = by_id(result.resource)
    plan = out["tddui-pp-ines"]
    [action] = plan["activity"]
    assert action["id"] == "tddui-action-visites-ines"
    assert action["detail"]["description"] == "Visiter trois appartements avec l'éducatrice"
    assert action["detail"]["status"] == "in-progress"
    assert action["detail"]["goal"] == [{"reference": "Goal/tddui-objectif-logement-ines"}]
    assert action["detail"]["performer"] == [{"reference": "PractitionerRole/savs-referent"}]
    assert action["detail"]["scheduledPeriod"] == {"start": "2026-03-15", "end": "2026-06-30"}
    # the attente with a life domain is a goal of the plan, still an attente
    attente = out["tddui-attente-travail-ines"]
    assert attente["meta"]["profile"] == [CM_GOAL, TDDUI_ATTENTE]
    assert {"reference": "Goal/tddui-attente-travail-ines"} in plan["goal"]
    # what has no home is said, never dropped silently
    issues = said(result)
    assert ("Task/tddui-action-visites-ines.code",
            "Our action belongs to a pillar of care: 'soutien' given") in issues
    assert ("Task/tddui-action-visites-ines.input",
            "Our action has no home for titre, avisUsager: not carried") in issues
    assert ("Goal/tddui-attente-famille-ines", "An expectation (attente) becomes a goal of "
            "ours with a life domain: this one has none and is not carried (kept as sent)") \
        in issues
    assert ("Goal/tddui-projet-vie-ines", "The person's projet de vie has no home in our "
            "plan: not carried (kept as sent)") in issues
    assert "tddui-attente-famille-ines" not in out and "tddui-projet-vie-ines" not in out
    golden(HERE / "golden" / "tddui-projet-perso-actions.cm.json", dump(result.resource),
           as_json=True)
    # and back to TDDUI: the action is a Task again, the attente an attente
    again = convert(result.resource, "tddui-projet-perso", registry)
    assert again.ok, again.issues
    assert_valid(registry, again.resource)
    back = by_id(again.resource)
    task = back["tddui-pp-ines-action-tddui-action-visites-ines"]
    original = by_id(sent)["tddui-action-visites-ines"]
    for key in ("status", "description", "owner", "executionPeriod", "basedOn", "for"):
        assert task[key] == original[key], key
    assert back["tddui-attente-travail-ines"]["meta"]["profile"] == [TDDUI_ATTENTE]


def test_an_attente_without_words_is_said_not_refused(registry: Registry) -> None:
    sent = load(ACTIONS)
    attente = next(e["resource"] for e in sent["entry"]
                   if e["resource"]["id"] == "tddui-attente-travail-ines")
    attente.pop("description")
    result = convert(sent, "cm-care-plan", registry, "", episode="EpisodeOfCare/ep-ines")
    assert result.ok, result.issues
    assert "tddui-attente-travail-ines" not in by_id(result.resource)
    assert ("Goal/tddui-attente-travail-ines.description", "Our goal is described in words: "
            "no description nor title: this attente is not carried (kept as sent)") in said(result)


def test_a_tddui_task_other_than_an_action_is_said(registry: Registry) -> None:
    sent = load(ACTIONS)
    task = next(e["resource"] for e in sent["entry"]
                if e["resource"]["id"] == "tddui-action-visites-ines")
    task["meta"]["profile"] = [
        "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition/tddui-task-transport"]
    result = convert(sent, "cm-care-plan", registry, "", episode="EpisodeOfCare/ep-ines")
    assert result.ok, result.issues
    assert "activity" not in result.resource["entry"][0]["resource"]
    assert ("Task/tddui-action-visites-ines", "A TDDUI Task other than an action "
            "(tddui-task-transport) has no home in our plan: not carried (kept as sent)") \
        in said(result)


def test_an_unknown_action_status_is_said(registry: Registry) -> None:
    sent = our_plan()
    sent["entry"][0]["resource"]["activity"][0]["detail"]["status"] = "unknown"
    result = convert(sent, "tddui-projet-perso", registry)
    assert result.ok
    assert ("CarePlan.activity[0].detail.status", "The action's status 'unknown' has no "
            "TDDUI equivalent: 'draft' given") in said(result)


def test_cli_converts_a_dui_plan_and_says_what_is_not_carried(tmp_path: Path) -> None:
    out = tmp_path / "ours.json"
    result = CliRunner().invoke(app, ["convert", str(ACTIONS), "--to", "cm-care-plan",
                                      "--episode", "EpisodeOfCare/ep-ines", "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = load(out)["entry"][0]["resource"]
    assert [a["id"] for a in plan["activity"]] == ["tddui-action-visites-ines"]
    assert "Goal/tddui-projet-vie-ines: The person's projet de vie has no home" in result.output
