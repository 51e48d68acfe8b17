"""The guide's SearchParameters can be indexed by evaluating their expression with
fhirpathpy (R4 model), without resolve(), and find what partners expect on the examples.

SearchParameter: https://hl7.org/fhir/R4/searchparameter.html
"""

from __future__ import annotations

import pytest
from fhirpathpy import evaluate
from fhirpathpy.models import models
from ig_artifacts import definitions, examples, require_compiled

require_compiled()

R4 = models["r4"]


def _parameter(code: str, base: str) -> dict:
    (sp,) = [s for s in definitions("SearchParameter") if s["code"] == code and base in s["base"]]
    return sp


def _example(resource_type: str, resource_id: str) -> dict:
    # Diego's resources are standalone examples and Bundle entries: the same content twice.
    return next(
        r for r in examples() if r["resourceType"] == resource_type and r["id"] == resource_id
    )


def _values(sp: dict, resource: dict) -> list:
    env = {"resource": resource, "rootResource": resource}
    return evaluate(resource, sp["expression"], env, R4)


def test_no_search_parameter_needs_resolve() -> None:
    for sp in definitions("SearchParameter"):
        assert "resolve()" not in sp["expression"], sp["id"]
        assert all(b in sp["expression"] for b in sp["base"]), sp["id"]


@pytest.mark.parametrize(
    ("resource_type", "resource_id"),
    [
        ("CarePlan", "diego-careplan"),
        ("ServiceRequest", "diego-referral"),
        ("QuestionnaireResponse", "diego-bilan"),
        ("CarePlan", "nadia-careplan"),
    ],
)
def test_episode_of_care_finds_the_episode(resource_type: str, resource_id: str) -> None:
    sp = _parameter("episode-of-care", resource_type)
    resource = _example(resource_type, resource_id)
    episode = resource["id"].split("-")[0] + "-episode"
    assert _values(sp, resource) == [{"reference": f"EpisodeOfCare/{episode}"}]


def test_a_care_team_is_linked_by_the_episode_not_by_an_extension() -> None:
    # hl7.fhir.uv.extensions.r4 5.x no longer allows workflow-episodeOfCare on CareTeam.
    (sp,) = [s for s in definitions("SearchParameter") if s["code"] == "episode-of-care"]
    assert "CareTeam" not in sp["base"] and "CareTeam" not in sp["expression"]
    for team in (r for r in examples() if r["resourceType"] == "CareTeam"):
        assert "extension" not in team, team["id"]
    episode = _example("EpisodeOfCare", "diego-episode")
    assert _values(_parameter("team", "EpisodeOfCare"), episode) == [
        {"reference": "CareTeam/diego-careteam"}
    ]


def test_episode_of_care_finds_nothing_on_an_unlinked_resource() -> None:
    sp = _parameter("episode-of-care", "CarePlan")
    assert _values(sp, {"resourceType": "CarePlan", "status": "active"}) == []


def test_team_model_pillar_and_managing_organization() -> None:
    episode = _example("EpisodeOfCare", "diego-episode")
    assert _values(_parameter("team", "EpisodeOfCare"), episode) == [
        {"reference": "CareTeam/diego-careteam"}
    ]
    models_found = _values(_parameter("model", "EpisodeOfCare"), episode)
    assert [c["coding"][0]["code"] for c in models_found] == ["clinique", "forces"]
    plan = _example("CarePlan", "diego-careplan")
    pillars = _values(_parameter("activity-pillar", "CarePlan"), plan)
    assert {c["coding"][0]["code"] for c in pillars} == {
        "soutien",
        "hygiene-de-vie",
        "medicaments",
        "strategies-psychologiques",
    }
    team = _example("CareTeam", "nadia-careteam")
    assert _values(_parameter("managing-organization", "CareTeam"), team) == [
        {"reference": "Organization/org-dac"}
    ]
    goal = _example("Goal", "nadia-goal-3")
    assert _values(_parameter("expressed-by", "Goal"), goal) == [
        {"reference": "PractitionerRole/role-roux"}
    ]
