"""What the whole-record tests ($everything, $export) share: routers on fresh databases with
audit and provenance on, called as one structure or another, and the world they hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fhir_service.router import Router
from tests.security.test_access_matrix import ORGS, build_world, call, principal, put

EXT_EPISODE = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"


def routers(make_context: Any, tmp_path: Any) -> Iterator[Callable[..., Router]]:
    """For a fixture: makes routers, and ends them (after their export threads) at the end."""
    from fhir_service.operations import install_all

    made: list[Router] = []

    def make(**settings: Any) -> Router:
        router = Router(make_context(audit=True, provenance=True,
                                     export_dir=str(tmp_path / f"export{len(made)}"),
                                     **settings))
        install_all(router)
        made.append(router)
        return router

    yield make
    from fhir_service.operations.export import exports_of

    for router in made:  # no export thread left running on a closed database
        exports = exports_of(router.ctx)
        for job_id, _ in list(exports.store.jobs()):
            exports.wait(job_id, 30)
        router.close()


def world(router: Router) -> None:
    """org-0 accompanies p0 and p1, org-1 accompanies p2 and p3 (team members), org-2
    nobody. Besides build_world's goal, plan, team and episode per person: for p0 a plan of
    its episode (extension) with its goal, a referral of the episode, a Task about p0 (a type
    outside the compartment), a Task about p0 and p2 (visible only to whoever sees both), a
    Goal org-0 writes itself (so with a Provenance) and a Location its referral names."""
    relations = {(o, p): "none" for o in ORGS for p in range(4)}
    for p in (0, 1):
        relations[("org-0", p)] = "member"
    for p in (2, 3):
        relations[("org-1", p)] = "member"
    bundle = build_world(4, relations)
    episode = [{"url": EXT_EPISODE, "valueReference": {"reference": "EpisodeOfCare/ep-p0"}}]
    bundle["entry"] += [
        put({"resourceType": "Location", "id": "loc-0", "name": "CMP",
             "managingOrganization": {"reference": "Organization/org-0"}}),
        put({"resourceType": "Goal", "id": "goal-ep-p0", "lifecycleStatus": "active",
             "description": {"text": "un logement"}, "subject": {"reference": "Patient/p0"}}),
        put({"resourceType": "CarePlan", "id": "plan-ep-p0", "status": "active",
             "intent": "plan", "extension": episode, "subject": {"reference": "Patient/p0"},
             "goal": [{"reference": "Goal/goal-ep-p0"}]}),
        put({"resourceType": "ServiceRequest", "id": "sr-p0", "status": "active",
             "intent": "order", "extension": episode, "subject": {"reference": "Patient/p0"},
             "requester": {"reference": "PractitionerRole/role-org-0"},
             "locationReference": [{"reference": "Location/loc-0"}]}),
        put({"resourceType": "Task", "id": "task-p0", "status": "requested",
             "intent": "order", "focus": {"reference": "Patient/p0"}}),
        put({"resourceType": "Task", "id": "task-p0-p2", "status": "requested",
             "intent": "order", "focus": {"reference": "Patient/p0"},
             "for": {"reference": "Patient/p2"}}),
    ]
    status, body = call(router, None, "POST", "", bundle)
    assert status == 200, body
    goal = {"resourceType": "Goal", "id": "goal-org0", "lifecycleStatus": "proposed",
            "description": {"text": "reprendre le sport"},
            "subject": {"reference": "Patient/p0"},
            "expressedBy": {"reference": "Patient/p0"}}
    status, body = call(router, principal("org-0"), "PUT", "Goal/goal-org0", goal)
    assert status == 201, body
