"""Access matrix: structures × people × team memberships with periods × consents (active,
revoked) × managed episodes, over read, vread, search with _include/_revinclude, paging,
history, counts, the case-file export ($casefile) and $validate of stored resources. A
structure must see exactly the people it accompanies: 0 leaks, and everything it is entitled
to is returned."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_service import fhir
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes

ORGS = ("org-0", "org-1", "org-2")
RELATIONS = ("none", "member", "member-ended", "member-future", "consent", "consent-revoked",
             "episode")
ENTITLED = {"member", "consent", "episode"}
DELETE_MODE = {"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "delete"}]}


def put(resource: dict[str, Any]) -> dict[str, Any]:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}


def build_world(n_people: int, relations: dict[tuple[str, int], str]) -> dict[str, Any]:
    entries = []
    for org in ORGS:
        entries.append(put({"resourceType": "Organization", "id": org, "name": org}))
        entries.append(put({"resourceType": "Practitioner", "id": f"pr-{org}",
                            "name": [{"family": org}]}))
        entries.append(put({"resourceType": "PractitionerRole", "id": f"role-{org}",
                            "practitioner": {"reference": f"Practitioner/pr-{org}"},
                            "organization": {"reference": f"Organization/{org}"}}))
    for p in range(n_people):
        pid = f"p{p}"
        subject = {"reference": f"Patient/{pid}"}
        entries.append(put({"resourceType": "Patient", "id": pid, "name": [{"family": pid}]}))
        entries.append(put({"resourceType": "Goal", "id": f"goal-{pid}",
                            "lifecycleStatus": "active", "description": {"text": "g"},
                            "subject": subject}))
        entries.append(put({"resourceType": "CarePlan", "id": f"plan-{pid}", "status": "active",
                            "intent": "plan", "subject": subject,
                            "goal": [{"reference": f"Goal/goal-{pid}"}]}))
        participants = [{"member": subject, "period": {"start": "2020-01-01"}}]
        for org in ORGS:
            rel = relations[(org, p)]
            member = {"member": {"reference": f"PractitionerRole/role-{org}"}}
            if rel == "member":
                participants.append({**member, "period": {"start": "2020-01-01"}})
            elif rel == "member-ended":
                participants.append({**member, "period": {"start": "2020-01-01",
                                                          "end": "2021-01-01"}})
            elif rel == "member-future":
                participants.append({**member, "period": {"start": "2099-01-01"}})
            elif rel in ("consent", "consent-revoked"):
                entries.append(put({
                    "resourceType": "Consent", "id": f"consent-{pid}-{org}",
                    "status": "active" if rel == "consent" else "inactive",
                    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                    "consentscope", "code": "patient-privacy"}]},
                    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
                    "patient": subject,
                    "policyRule": {"coding": [{"system": "http://terminology.hl7.org/"
                                                         "CodeSystem/v3-ActCode",
                                               "code": "OPTIN"}]},
                    "provision": {"type": "permit",
                                  "actor": [{"role": {"text": "structure"},
                                             "reference": {"reference": f"Organization/{org}"}}]},
                }))
            elif rel == "episode":
                entries.append(put({"resourceType": "EpisodeOfCare", "id": f"ep-{pid}-{org}",
                                    "status": "active", "patient": subject,
                                    "managingOrganization": {"reference": f"Organization/{org}"}}))
        entries.append(put({"resourceType": "CareTeam", "id": f"team-{pid}", "status": "active",
                            "subject": subject, "participant": participants}))
        entries.append(put({"resourceType": "EpisodeOfCare", "id": f"ep-{pid}", "status": "active",
                            "patient": subject, "team": [{"reference": f"CareTeam/team-{pid}"}]}))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def principal(org: str) -> Principal:
    return Principal(client_id=f"client-{org}", structure=org,
                     scopes=Scopes.parse("system/*.cruds"))


def call(router: Router, who: Principal | None, method: str, path: str,
         body: Any = None) -> tuple[int, Any]:
    route, _, query = path.partition("?")
    from urllib.parse import parse_qsl

    req = FhirRequest(method, [s for s in route.split("/") if s],
                      query=parse_qsl(query, keep_blank_values=True),
                      headers={"content-type": "application/fhir+json"},
                      body=fhir.dumps(body) if body is not None else b"",
                      base_url="http://test/fhir", principal=who)
    try:
        resp = router.handle(req)
    except FhirError as exc:
        return exc.status, exc.outcome()
    data = resp.body
    return resp.status, fhir.loads(data) if isinstance(data, bytes) and data else data


def ids_of(bundle: dict[str, Any], rtype: str, mode: str | None = None) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", [])
            if e.get("resource", {}).get("resourceType") == rtype
            and (mode is None or e.get("search", {}).get("mode") == mode)}



world_strategy = st.integers(min_value=1, max_value=3).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.fixed_dictionaries({(o, p): st.sampled_from(RELATIONS)
                               for o in ORGS for p in range(n)}),
    )
)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(world=world_strategy)
def test_access_matrix(router_factory: Any, world: tuple[int, dict[tuple[str, int], str]]) -> None:
    n, relations = world
    router = router_factory()
    status, body = call(router, None, "POST", "", build_world(n, relations))
    assert status == 200, body
    people = [f"p{p}" for p in range(n)]
    assert ("instance", "EpisodeOfCare", "casefile") in router.operations
    for org in ORGS:
        who = principal(org)
        entitled = {f"p{p}" for p in range(n) if relations[(org, p)] in ENTITLED}
        for pid in people:
            expect = 200 if pid in entitled else 404
            for path in (f"Patient/{pid}", f"CarePlan/plan-{pid}", f"Goal/goal-{pid}",
                         f"CareTeam/team-{pid}", f"CarePlan/plan-{pid}/_history/1",
                         f"CarePlan/plan-{pid}/_history"):
                got, _ = call(router, who, "GET", path)
                assert got == expect, (org, pid, relations, path, got)
            # the case-file export of the person's episode
            got, body = call(router, who, "GET", f"EpisodeOfCare/ep-{pid}/$casefile")
            assert got == expect, (org, pid, relations, "$casefile", got, body)
            # $validate of a stored resource (mode delete checks what refers to it): what a
            # structure is not entitled to answers exactly as a resource that does not exist
            got, outcome = call(router, who, "POST", f"CarePlan/plan-{pid}/$validate",
                                DELETE_MODE)
            _, absent = call(router, who, "POST", "CarePlan/nobody/$validate", DELETE_MODE)
            same = fhir.dumps(outcome).replace(f"plan-{pid}".encode(), b"nobody") == \
                fhir.dumps(absent)
            assert got == 200 and same == (expect == 404), (org, pid, outcome)
        # search with includes: exactly the entitled people, counts included
        _, plans = call(router, who, "GET", "CarePlan?_include=CarePlan:subject"
                                            "&_include=CarePlan:goal")
        assert ids_of(plans, "CarePlan", "match") == {f"plan-{p}" for p in entitled}
        assert plans["total"] == len(entitled)
        assert ids_of(plans, "Patient", "include") == entitled
        assert ids_of(plans, "Goal", "include") == {f"goal-{p}" for p in entitled}
        _, pats = call(router, who, "GET", "Patient?_revinclude=CarePlan:subject"
                                           "&_revinclude=Consent:patient")
        assert ids_of(pats, "Patient") == entitled and pats["total"] == len(entitled)
        assert ids_of(pats, "CarePlan") == {f"plan-{p}" for p in entitled}
        assert all(c.split("-")[1] in entitled for c in ids_of(pats, "Consent"))
        # paging one by one returns everything entitled, nothing else
        seen: set[str] = set()
        _, page = call(router, who, "GET", "Goal?_count=1")
        while True:
            seen |= ids_of(page, "Goal")
            nxt = [lk["url"] for lk in page["link"] if lk["relation"] == "next"]
            if not nxt:
                break
            _, page = call(router, who, "GET", nxt[0].replace("http://test/fhir/", ""))
        assert seen == {f"goal-{p}" for p in entitled}
        # history: type and system level
        _, hist = call(router, who, "GET", "CarePlan/_history")
        assert ids_of(hist, "CarePlan") == {f"plan-{p}" for p in entitled}
        _, system = call(router, who, "GET", "_history?_count=1000")
        visible_patients = ids_of(system, "Patient")
        assert visible_patients == entitled
        # non-clinical data stays visible to every structure
        _, orgs = call(router, who, "GET", "Organization")
        assert orgs["total"] == len(ORGS)
        # chaining cannot reveal anyone either
        _, chained = call(router, who, "GET", "Goal?subject:Patient.name=p")
        assert ids_of(chained, "Goal") == {f"goal-{p}" for p in entitled}
        _, has = call(router, who, "GET", "Patient?_has:CarePlan:subject:status=active")
        assert ids_of(has, "Patient") == entitled


def test_revoked_consent_and_ended_membership_take_effect_at_once(router_factory: Any) -> None:
    router = router_factory()
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "consent"
    relations[("org-1", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    org0, org1 = principal("org-0"), principal("org-1")
    assert call(router, org0, "GET", "CarePlan/plan-p0")[0] == 200
    _, consent = call(router, None, "GET", "Consent/consent-p0-org-0")
    consent["status"] = "inactive"
    assert call(router, None, "PUT", "Consent/consent-p0-org-0", consent)[0] == 200
    assert call(router, org0, "GET", "CarePlan/plan-p0")[0] == 404
    assert call(router, org1, "GET", "CarePlan/plan-p0")[0] == 200
    _, team = call(router, None, "GET", "CareTeam/team-p0")
    for part in team["participant"]:
        if part["member"]["reference"] == "PractitionerRole/role-org-1":
            part["period"]["end"] = "2021-06-01"
    assert call(router, None, "PUT", "CareTeam/team-p0", team)[0] == 200
    assert call(router, org1, "GET", "CarePlan/plan-p0")[0] == 404
    _, page = call(router, org1, "GET", "CarePlan")
    assert page["total"] == 0


def test_writes_need_scope_and_membership(router_factory: Any) -> None:
    router = router_factory()
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    member, outsider = principal("org-0"), principal("org-1")
    goal = {"resourceType": "Goal", "id": "new-goal", "lifecycleStatus": "proposed",
            "description": {"text": "x"}, "subject": {"reference": "Patient/p0"}}
    # a person the outsider does not accompany is, for it, a person that does not exist
    hidden = call(router, outsider, "PUT", "Goal/new-goal", goal)
    missing = call(router, outsider, "PUT", "Goal/new-goal",
                   {**goal, "subject": {"reference": "Patient/p9"}})
    assert hidden[0] == 400
    assert fhir.dumps(hidden[1]) == fhir.dumps(missing[1]).replace(b"p9", b"p0")
    assert call(router, member, "PUT", "Goal/new-goal", goal)[0] == 201
    # an outsider cannot see, update or delete what exists, nor grant itself access
    assert call(router, outsider, "PUT", "Goal/new-goal", goal)[0] == 409  # (id in use)
    gone = call(router, outsider, "DELETE", "Goal/never-was")
    assert call(router, outsider, "DELETE", "Goal/new-goal") == gone
    assert call(router, member, "GET", "Goal/new-goal")[0] == 200
    grab = {"resourceType": "EpisodeOfCare", "id": "grab", "status": "active",
            "patient": {"reference": "Patient/p0"},
            "managingOrganization": {"reference": "Organization/org-1"}}
    assert call(router, outsider, "PUT", "EpisodeOfCare/grab", grab)[0] == 400
    read_only = Principal("ro", structure="org-0", scopes=Scopes.parse("system/*.rs"))
    assert call(router, read_only, "DELETE", "Goal/new-goal")[0] == 403
    # a person nobody accompanies yet can be registered, and its first structure set
    new = {"resourceType": "Patient", "id": "p-new"}
    assert call(router, outsider, "PUT", "Patient/p-new", new)[0] == 201
    episode = {"resourceType": "EpisodeOfCare", "id": "ep-new", "status": "active",
               "patient": {"reference": "Patient/p-new"},
               "managingOrganization": {"reference": "Organization/org-1"}}
    assert call(router, outsider, "PUT", "EpisodeOfCare/ep-new", episode)[0] == 201
    assert call(router, outsider, "GET", "Patient/p-new")[0] == 200
    assert call(router, member, "GET", "Patient/p-new")[0] == 404


def test_audit_events_are_for_operators_only(router_factory: Any) -> None:
    router = router_factory()
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    who = principal("org-0")
    assert call(router, who, "GET", "CarePlan/plan-p0")[0] == 200
    _, mine = call(router, who, "GET", "AuditEvent")
    assert mine["total"] == 0
    operator = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)
    _, events = call(router, operator, "GET", "AuditEvent?patient=p0")
    assert events["total"] >= 1
    assert call(router, operator, "GET", "CarePlan/plan-p0")[0] in (403, 404)


def test_operations_respect_access(router_factory: Any) -> None:
    """$validate (mode=delete) reveals nothing about resources the caller cannot see, and the
    case-file import writes as the caller (it cannot bypass the write rules)."""
    router = router_factory()
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    params = {"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "delete"}]}
    if ("instance", "*", "validate") not in router.operations and \
            ("instance", "Patient", "validate") not in router.operations:
        pytest.skip("the $validate operation is not installed")
    _, mine = call(router, principal("org-0"), "POST", "Patient/p0/$validate", params)
    _, theirs = call(router, principal("org-1"), "POST", "Patient/p0/$validate", params)
    assert "CarePlan/plan-p0" in str(mine)  # the member is told what refers to the person
    assert "plan-p0" not in str(theirs) and "referenced" not in str(theirs)
    if ("system", "*", "import-casefile") not in router.operations:
        return
    from tests.conftest import SHARED

    diego = SHARED / "casefile" / "examples" / "diego-intervention-precoce.json"
    if not diego.exists():
        return
    outsider = Principal("x", structure="org-2", scopes=Scopes.parse("system/*.rs"))
    status, _ = call(router, outsider, "POST", "$import-casefile", fhir.loads(diego.read_bytes()))
    assert status == 403  # read-only scopes: the import cannot write
    assert call(router, None, "GET", "Patient?family=Martin")[1]["total"] == 0
