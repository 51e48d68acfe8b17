"""$everything (Patient, and the episode-scoped variant of our guide) returns exactly what the
caller may see: compared with what searches through the door return to the same caller, for
two structures that accompany different people; a person or an episode the caller may not
see is answered exactly as an id that does not exist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from fhir_service.interactions.common import iter_references
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes
from tests.exchange.records import routers, world
from tests.security.test_access_matrix import call, principal
from tests.security.test_trust import same


@pytest.fixture
def router_factory(make_context: Any, tmp_path: Any) -> Iterator[Callable[..., Router]]:
    yield from routers(make_context, tmp_path)


DIRECTORY = ("Organization", "Practitioner", "PractitionerRole", "Location",
             "HealthcareService", "Endpoint")


def walk(router: Router, who: Principal | None, path: str) -> tuple[list[str], list[int]]:
    """Every entry of every page (following ``next``), and each page's size."""
    keys: list[str] = []
    sizes: list[int] = []
    while path:
        status, body = call(router, who, "GET", path)
        assert status == 200, body
        assert body["type"] == "searchset"
        page = [f"{e['resource']['resourceType']}/{e['resource']['id']}"
                for e in body.get("entry", [])]
        assert all(e["search"]["mode"] == "match" for e in body.get("entry", []))
        keys += page
        sizes.append(len(page))
        nxt = [link["url"] for link in body["link"] if link["relation"] == "next"]
        path = ""
        if nxt:
            url = urlsplit(nxt[0])
            path = url.path.removeprefix("/fhir/") + "?" + url.query
    return keys, sizes


def searched(router: Router, who: Principal, pid: str) -> set[str]:
    """What searches through the door show ``who`` of ``pid``'s record: every resource that
    a reference search parameter ties to the person (with the Provenance of each, by
    _revinclude), and the directory resources those reference (two hops), each read by id."""
    ctx = router.ctx
    found: dict[str, dict[str, Any]] = {}
    for rtype in ctx.params.types():
        for code, param in ctx.params.for_type(rtype).items():
            if param.type != "reference" or "Patient" not in param.targets:
                continue
            status, body = call(router, who, "GET", f"{rtype}?{code}=Patient/{pid}"
                                "&_revinclude=Provenance:target&_count=1000")
            if status == 403:  # (scopes) the type is not readable
                continue
            assert status == 200, body
            for entry in body.get("entry", []):
                res = entry["resource"]
                found[f"{res['resourceType']}/{res['id']}"] = res
    status, body = call(router, who, "GET", f"Patient/{pid}")
    if status == 200:
        found[f"Patient/{pid}"] = body
    frontier = list(found.values())
    for _ in range(2):
        targets = {ref["reference"] for res in frontier for ref in iter_references(res)
                   if ref.get("reference", "").split("/")[0] in DIRECTORY}
        frontier = []
        for key in sorted(targets - set(found)):
            status, body = call(router, who, "GET", key)
            if status == 200:
                found[key] = body
                frontier.append(body)
    return set(found)


def test_everything_is_what_searches_show_the_caller(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    for org, people in (("org-0", ("p0", "p1")), ("org-1", ("p2", "p3"))):
        who = principal(org)
        for pid in people:
            keys, sizes = walk(router, who, f"Patient/{pid}/$everything?_count=4")
            assert len(keys) == len(set(keys))  # no page repeats another's entries
            assert all(size <= 4 for size in sizes) and len(sizes) > 1
            assert set(keys) == searched(router, who, pid), (org, pid)
    # what it holds, spelled out for p0 as org-0 sees it: p0's data, the Provenance of what
    # org-0 wrote, the directory; never the Task that is also p2's, nothing of p1
    keys = set(walk(router, principal("org-0"), "Patient/p0/$everything")[0])
    assert {"Patient/p0", "Goal/goal-p0", "CarePlan/plan-p0", "CareTeam/team-p0",
            "EpisodeOfCare/ep-p0", "CarePlan/plan-ep-p0", "Goal/goal-ep-p0",
            "ServiceRequest/sr-p0", "Task/task-p0", "Goal/goal-org0", "Location/loc-0",
            "PractitionerRole/role-org-0", "Practitioner/pr-org-0",
            "Organization/org-0"} <= keys
    assert any(k.startswith("Provenance/") for k in keys)
    assert "Task/task-p0-p2" not in keys
    assert not any(k.endswith(("p1", "p2", "p3")) for k in keys)
    # the server itself sees the Task of p0 and p2 in p0's record
    assert "Task/task-p0-p2" in set(walk(router, None, "Patient/p0/$everything")[0])


def test_a_person_the_caller_does_not_accompany_is_not_known(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    for org, hidden in (("org-0", "p2"), ("org-1", "p0"), ("org-2", "p1")):
        who = principal(org)
        for query in ("", "?_count=2", "?_type=Goal", "?_since=2020-01-01T00:00:00Z"):
            assert same(call(router, who, "GET", f"Patient/{hidden}/$everything{query}"),
                        call(router, who, "GET", f"Patient/nobody/$everything{query}"),
                        hidden=hidden, missing="nobody")
        answer = call(router, who, "GET", f"Patient/{hidden}/$everything")
        assert answer[0] == 404 and answer[1]["resourceType"] == "OperationOutcome"
        episode = f"ep-{hidden}"
        assert same(call(router, who, "GET", f"EpisodeOfCare/{episode}/$everything"),
                    call(router, who, "GET", "EpisodeOfCare/nothing/$everything"),
                    hidden=episode, missing="nothing")


def test_episode_everything_is_the_episode_and_what_is_linked_to_it(
        router_factory: Any) -> None:
    router = router_factory()
    world(router)
    keys, _ = walk(router, principal("org-0"), "EpisodeOfCare/ep-p0/$everything?_count=3")
    assert sorted(keys) == sorted([
        "EpisodeOfCare/ep-p0", "Patient/p0", "CareTeam/team-p0", "CarePlan/plan-ep-p0",
        "Goal/goal-ep-p0", "ServiceRequest/sr-p0", "PractitionerRole/role-org-0",
        "Practitioner/pr-org-0", "Organization/org-0", "Location/loc-0"])
    # every one of them is readable by the caller, by id
    for key in keys:
        assert call(router, principal("org-0"), "GET", key)[0] == 200
    # the episode of another person holds nothing of p0
    other = set(walk(router, principal("org-0"), "EpisodeOfCare/ep-p1/$everything")[0])
    assert other == {"EpisodeOfCare/ep-p1", "Patient/p1", "CareTeam/team-p1",
                     "PractitionerRole/role-org-0", "Practitioner/pr-org-0",
                     "Organization/org-0"}


def test_scopes_type_and_since(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    narrow = Principal("client-org-0", structure="org-0",
                       scopes=Scopes.parse("system/Patient.rs system/Goal.rs"))
    keys = set(walk(router, narrow, "Patient/p0/$everything")[0])
    assert keys == {"Patient/p0", "Goal/goal-p0", "Goal/goal-ep-p0", "Goal/goal-org0"}
    status, body = call(router, narrow, "GET", "Patient/p0/$everything?_type=Goal,CarePlan")
    assert status == 403 and body["issue"][0]["expression"] == ["_type"]
    who = principal("org-0")
    keys = set(walk(router, who, "Patient/p0/$everything?_type=Goal,CarePlan")[0])
    assert keys == {"Goal/goal-p0", "Goal/goal-ep-p0", "Goal/goal-org0", "CarePlan/plan-p0",
                    "CarePlan/plan-ep-p0"}
    # _since: only what changed after the instant
    goal = call(router, who, "GET", "Goal/goal-org0")[1]
    since = goal["meta"]["lastUpdated"]
    goal["lifecycleStatus"] = "active"
    assert call(router, who, "PUT", "Goal/goal-org0", goal)[0] == 200
    keys = set(walk(router, who, f"Patient/p0/$everything?_since={since}")[0])
    assert "Goal/goal-org0" in keys and "Goal/goal-p0" not in keys
    assert all(k.startswith(("Goal/goal-org0", "Provenance/")) for k in keys)


def test_bad_parameters_are_refused_with_their_expression(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    who = principal("org-0")
    for query, expression in (("_count=0", "_count"), ("_count=x", "_count"),
                              ("_type=Nope", "_type"), ("_since=2020-01-01", "_since"),
                              ("start=2020-01-01", "start"), ("_cursor=x", "_cursor")):
        status, body = call(router, who, "GET", f"Patient/p0/$everything?{query}")
        assert status == 400, (query, body)
        assert body["issue"][0]["expression"] == [expression]
    assert call(router, who, "POST", "Patient/p0/$everything", {})[0] == 405
    # handling=lenient ignores what is not supported
    from fhir_service.request import FhirRequest

    req = FhirRequest("GET", ["Patient", "p0", "$everything"], query=[("start", "2020")],
                      headers={"prefer": "handling=lenient"}, base_url="http://test/fhir",
                      principal=who)
    assert router.handle(req).status == 200


def test_declared_in_the_capability_statement(router_factory: Any) -> None:
    router = router_factory()
    caps = call(router, None, "GET", "metadata")[1]
    by_type = {r["type"]: r.get("operation", []) for r in caps["rest"][0]["resource"]}
    assert {"name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"} \
        in by_type["Patient"]
    assert {"name": "everything",
            "definition": "https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/"
                          "episode-everything"} in by_type["EpisodeOfCare"]
    bulk = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
    assert {"name": "export", "definition": bulk + "export"} in caps["rest"][0]["operation"]
    assert {"name": "export", "definition": bulk + "patient-export"} in by_type["Patient"]
    assert {"name": "export", "definition": bulk + "group-export"} in by_type["Group"]
