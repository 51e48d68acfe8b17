"""The attack suite of the trust issue: a hostile partner structure, with its own token and
the demo-shaped world of three structures and two people each, tries every way found to
learn about, or take over, another structure's people (docs/security.md).

Every comparison is "the answer about a hidden resource equals the answer about one that
does not exist", byte for byte once the two ids are swapped (and the bundle's own id and
timestamp, which differ on every answer, are set aside)."""

from __future__ import annotations

import re
from typing import Any

from fhir_service import fhir
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes
from tests.security.test_access_matrix import ORGS, build_world, call, principal, put

INS = "urn:oid:1.2.250.1.213.1.4.8"


def world(router: Router) -> None:
    """org-0 accompanies p0 and p1 (team members), org-1 accompanies p2 and p3, org-2
    nobody; each person has an INS and an IPP of their structure; a Task (a public type)
    points at p0."""
    relations = {(o, p): "none" for o in ORGS for p in range(4)}
    for p in (0, 1):
        relations[("org-0", p)] = "member"
    for p in (2, 3):
        relations[("org-1", p)] = "member"
    bundle = build_world(4, relations)
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            n = res["id"][1:]
            res["identifier"] = [{"system": INS, "value": f"18001{n}7501234"},
                                 {"system": f"urn:ipp:{'org-0' if n in '01' else 'org-1'}",
                                  "value": f"IPP-{n}"}]
            res["birthDate"] = "1990-01-0" + str(int(n) + 1)
        if res["resourceType"] == "EpisodeOfCare":
            pid = res["patient"]["reference"].split("/")[1]
            org = "org-0" if pid in ("p0", "p1") else "org-1"
            res["managingOrganization"] = {"reference": f"Organization/{org}"}
    bundle["entry"].append(put({"resourceType": "Task", "id": "task-p0", "status": "requested",
                                "intent": "order", "focus": {"reference": "Patient/p0"},
                                "basedOn": [{"reference": "CarePlan/plan-p0"}]}))
    status, body = call(router, None, "POST", "", bundle)
    assert status == 200, body


def same(a: tuple[int, Any], b: tuple[int, Any], hidden: str = "", missing: str = "") -> bool:
    """Equal answers, byte for byte, once ``missing`` is renamed ``hidden`` (a search
    bundle's own id and timestamp set aside)."""
    def norm(answer: tuple[int, Any]) -> bytes:
        status, body = answer
        if isinstance(body, dict) and body.get("resourceType") == "Bundle":
            body = {k: v for k, v in body.items() if k not in ("id", "meta")}
        raw = fhir.dumps(body) if body is not None else b""
        return str(status).encode() + b" " + raw
    left, right = norm(a), norm(b)
    if missing:
        right = right.replace(missing.encode(), hidden.encode())
    return left == right


def entries(answer: tuple[int, Any]) -> list[str]:
    status, body = answer
    assert status == 200, body
    return sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}"
                  for e in body.get("entry", []) if "resource" in e)


# --- takeover through directory data ----------------------------------------------------------


def test_directory_data_is_changed_only_by_its_structure(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    attacker, victim = principal("org-1"), principal("org-0")
    assert entries(call(router, attacker, "GET", "CarePlan?_id=plan-p0")) == []
    role = call(router, victim, "GET", "PractitionerRole/role-org-0")[1]
    grab = {**role, "organization": {"reference": "Organization/org-1"}}
    grab.pop("meta")
    # re-pointing the victim's role at one's own organisation: PUT, PATCH, transaction
    assert call(router, attacker, "PUT", "PractitionerRole/role-org-0", grab)[0] == 403
    patch = [{"op": "replace", "path": "/organization/reference",
              "value": "Organization/org-1"}]
    req_patch = _patch(router, attacker, "PractitionerRole/role-org-0", patch)
    assert req_patch[0] == 403
    tx = {"resourceType": "Bundle", "type": "transaction",
          "entry": [put(grab), put({"resourceType": "Basic", "id": "x",
                                    "code": {"text": "x"}})]}
    assert call(router, attacker, "POST", "", tx)[0] == 403
    assert call(router, None, "GET", "Basic/x")[0] == 404  # nothing of it was written
    # nor delete it, nor overwrite the victim's Organization (a conditional update with _has)
    assert call(router, attacker, "DELETE", "PractitionerRole/role-org-0")[0] == 403
    org = {"resourceType": "Organization", "name": "mine now"}
    status, _ = call(router, attacker, "PUT",
                     "Organization?_has:PractitionerRole:organization:_id=role-org-0", org)
    assert status == 403
    # a role of the attacker's own may name the victim's organisation (a team member of
    # another structure, as a case file records one): it is the attacker's record, which the
    # victim's teams do not use and which gives the attacker nothing
    fake = {"resourceType": "PractitionerRole", "id": "fake",
            "practitioner": {"reference": "Practitioner/pr-org-1"},
            "organization": {"reference": "Organization/org-0"}}
    assert call(router, attacker, "PUT", "PractitionerRole/fake", fake)[0] == 201
    assert call(router, victim, "PUT", "PractitionerRole/fake", {**fake, "active": False})[0] \
        == 403
    # everything is as it was: the victim sees its people, the attacker does not
    assert call(router, None, "GET", "Organization/org-0")[1]["name"] == "org-0"
    assert call(router, None, "GET", "PractitionerRole/role-org-0")[1]["organization"] == \
        {"reference": "Organization/org-0"}
    assert entries(call(router, victim, "GET", "CarePlan?_id=plan-p0")) == ["CarePlan/plan-p0"]
    assert entries(call(router, attacker, "GET", "CarePlan?_id=plan-p0")) == []
    # the structure itself changes its own directory data, and an operator may too
    own = call(router, attacker, "GET", "Organization/org-1")[1]
    assert call(router, attacker, "PUT", "Organization/org-1", {**own, "name": "CMP"})[0] == 200
    operator = Principal("op", scopes=Scopes.parse("system/*.cruds"), operator=True)
    assert call(router, operator, "PUT", "Organization/org-0",
                {**call(router, None, "GET", "Organization/org-0")[1], "alias": ["A"]})[0] == 200


def test_a_persons_data_is_changed_by_its_custodian_others_contribute(
        router_factory: Any) -> None:
    router = router_factory()
    world(router)
    # org-2 joins p0's team through a consent: it may read p0's plan…
    consent = {"resourceType": "Consent", "id": "c-org2", "status": "active",
               "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                     "consentscope", "code": "patient-privacy"}]},
               "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
               "patient": {"reference": "Patient/p0"},
               "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                          "v3-ActCode", "code": "OPTIN"}]},
               "provision": {"type": "permit", "actor": [
                   {"role": {"text": "structure"},
                    "reference": {"reference": "Organization/org-2"}}]}}
    custodian, partner = principal("org-0"), principal("org-2")
    assert call(router, custodian, "PUT", "Consent/c-org2", consent)[0] == 201
    plan = call(router, partner, "GET", "CarePlan/plan-p0")
    assert plan[0] == 200
    # … writes its own goal, which it then holds …
    goal = {"resourceType": "Goal", "id": "goal-org2", "lifecycleStatus": "active",
            "description": {"text": "retour à l'emploi"}, "subject": {"reference": "Patient/p0"}}
    assert call(router, partner, "PUT", "Goal/goal-org2", goal)[0] == 201
    assert call(router, custodian, "PUT", "Goal/goal-org2",
                {**goal, "lifecycleStatus": "cancelled"})[0] == 403
    # … and contributes a note to the custodian's plan, but never overwrites it
    mine = {k: v for k, v in plan[1].items() if k != "meta"}
    assert call(router, partner, "PUT", "CarePlan/plan-p0",
                {**mine, "note": [{"text": "vu au SAMSAH"}]})[0] == 200
    assert call(router, partner, "PUT", "CarePlan/plan-p0",
                {**mine, "status": "revoked"})[0] == 403
    assert call(router, partner, "DELETE", "CarePlan/plan-p0")[0] == 403
    assert call(router, custodian, "GET", "CarePlan/plan-p0")[1]["status"] == "active"
    # the custodian changes its consent: the partner's access ends on the next request
    assert call(router, custodian, "PUT", "Consent/c-org2",
                {**consent, "status": "inactive"})[0] == 200
    assert call(router, partner, "GET", "CarePlan/plan-p0")[0] == 404


def _send(router: Router, who: Principal, method: str, path: str, body: Any,
          **headers: str) -> tuple[int, Any]:
    """A request with headers of its own (``call`` sends JSON with the FHIR content type)."""
    from fhir_service.outcomes import FhirError
    from fhir_service.request import FhirRequest

    req = FhirRequest(method, path.split("/"), body=fhir.dumps(body),
                      headers={"content-type": "application/fhir+json",
                               **{k.replace("_", "-"): v for k, v in headers.items()}},
                      base_url="http://test/fhir", principal=who)
    try:
        resp = router.handle(req)
    except FhirError as exc:
        return exc.status, exc.outcome()
    return resp.status, resp.body


def _patch(router: Router, who: Principal, path: str, ops: list[Any]) -> tuple[int, Any]:
    return _send(router, who, "PATCH", path, ops, content_type="application/json-patch+json")


# --- oracles: _has, chains, includes ------------------------------------------------------------


HAS_PROBES = [
    "Organization?_has:EpisodeOfCare:organization:patient.family={}",
    "Organization?_has:EpisodeOfCare:organization:patient.birthdate=1990-01-01",
    "Practitioner?_has:PractitionerRole:practitioner:_has:CareTeam:participant:patient.family={}",
    "Patient?_has:CareTeam:patient:status=active&family={}",
    "Task?focus:Patient.family={}",
    "Task?based-on:CarePlan.status=active&focus:Patient.family={}",
    "Task?based-on:CarePlan.subject:Patient.family={}",
    "CareTeam?patient.identifier=" + INS + "|1800107501234&family={}",
    "PractitionerRole?_has:CareTeam:participant:subject:Patient.family={}",
    "Organization?_has:AuditEvent:agent:patient.family={}",
]


def test_has_and_chains_through_hidden_people_answer_as_for_nobody(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    attacker = principal("org-2")
    for probe in HAS_PROBES:
        hidden = call(router, attacker, "GET", probe.format("p0"))
        nobody = call(router, attacker, "GET", probe.format("zz"))
        assert hidden[0] in (200, 400), (probe, hidden)
        assert same(hidden, nobody, "p0", "zz"), probe
        # the victim, who accompanies p0, does find it through the same hops
    victim = principal("org-0")
    assert entries(call(router, victim, "GET", HAS_PROBES[0].format("p0"))) == \
        ["Organization/org-0"]
    assert entries(call(router, victim, "GET", HAS_PROBES[4].format("p0"))) == ["Task/task-p0"]
    # the prefix oracle on a name, then on a birth date, finds nothing
    for prefix in ("p", "p0"):
        assert entries(call(router, attacker, "GET",
                            f"Organization?_has:EpisodeOfCare:organization:patient.name={prefix}"
                            )) == []


def test_scopes_apply_to_every_type_a_search_reads_or_returns(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    goals_only = Principal("g", structure="org-0", scopes=Scopes.parse("system/Goal.rs"))
    full = principal("org-0")
    assert entries(call(router, full, "GET", "Goal?_id=goal-p0&_include=Goal:subject")) == \
        ["Goal/goal-p0", "Patient/p0"]
    assert entries(call(router, goals_only, "GET", "Goal?_id=goal-p0&_include=Goal:subject")) \
        == ["Goal/goal-p0"]
    assert call(router, goals_only, "GET",
                "Goal?_id=goal-p0&_include=Goal:subject:Patient")[0] == 403
    assert call(router, goals_only, "GET", "Goal?_id=goal-p0&_revinclude=CarePlan:goal")[0] \
        == 403
    for probe in (f"Goal?patient:Patient.identifier={INS}|1800107501234",
                  "Goal?subject:Patient.birthdate=1990-01-01",
                  "Goal?_has:CarePlan:goal:status=active"):
        assert call(router, goals_only, "GET", probe)[0] == 403, probe
    iterate = "CarePlan?_id=plan-p0&_include=CarePlan:goal&_include:iterate=Goal:subject"
    plans_goals = Principal("pg", structure="org-0",
                            scopes=Scopes.parse("system/CarePlan.rs system/Goal.rs"))
    assert entries(call(router, plans_goals, "GET", iterate)) == \
        ["CarePlan/plan-p0", "Goal/goal-p0"]


# --- answers about hidden resources equal answers about missing ones ---------------------------


ROUTES = [
    ("GET", "Patient/{}"),
    ("GET", "Patient/{}/_history/1"),
    ("GET", "Patient/{}/_history"),
    ("GET", "Patient/{}/CarePlan"),
    ("GET", "Patient?_id={}"),
    ("GET", "CarePlan?subject=Patient/{}"),
    ("GET", "CarePlan?patient={}&_summary=count"),
    ("GET", "Goal?patient=Patient/{}&_include=Goal:subject"),
    ("DELETE", "Patient/{}"),
    ("DELETE", "Patient?_id={}"),
    ("POST", "Patient/{}/$validate"),
    ("GET", "EpisodeOfCare/ep-{}/$casefile"),
    ("GET", "Patient/{}/$everything"),
    ("GET", "Task/task-{}"),  # (a Task about a person is that person's data)
    ("GET", "Task?focus=Patient/{}"),
]


def test_every_route_answers_for_a_hidden_person_as_for_a_missing_one(
        router_factory: Any) -> None:
    router = router_factory()
    world(router)
    attacker = principal("org-2")
    for method, route in ROUTES:
        body = None
        if route.endswith("$validate"):
            body = {"resourceType": "Parameters",
                    "parameter": [{"name": "mode", "valueCode": "delete"}]}
        hidden = call(router, attacker, method, route.format("p0"), body)
        missing = call(router, attacker, method, route.format("q9"), body)
        assert same(hidden, missing, "p0", "q9"), (method, route, hidden, missing)
    # writes with a precondition, patches and transactions on a hidden id
    hidden = _if_match(router, attacker, "p0")
    missing = _if_match(router, attacker, "q9")
    assert same(hidden, missing, "p0", "q9")
    ops = [{"op": "add", "path": "/active", "value": True}]
    assert same(_patch(router, attacker, "Patient/p0", ops),
                _patch(router, attacker, "Patient/q9", ops), "p0", "q9")
    tx = {"resourceType": "Bundle", "type": "transaction",
          "entry": [{"request": {"method": "GET", "url": "Patient/{}"}}]}
    hidden_tx = call(router, attacker, "POST", "", _fmt(tx, "p0"))
    missing_tx = call(router, attacker, "POST", "", _fmt(tx, "q9"))
    assert same(hidden_tx, missing_tx, "p0", "q9")
    # writing a reference to a hidden person: the reference does not resolve, as for nobody
    goal = {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "x"},
            "subject": {"reference": "Patient/{}"}}
    assert same(call(router, attacker, "POST", "Goal", _fmt(goal, "p0")),
                call(router, attacker, "POST", "Goal", _fmt(goal, "q9")), "p0", "q9")
    # and nothing changed for the victim
    assert call(router, principal("org-0"), "GET", "Patient/p0")[0] == 200


def _fmt(template: dict[str, Any], rid: str) -> dict[str, Any]:
    return fhir.loads(fhir.dumps(template).replace(b"{}", rid.encode()))  # type: ignore[no-any-return]


def _if_match(router: Router, who: Principal, rid: str) -> tuple[int, Any]:
    return _send(router, who, "PUT", f"Patient/{rid}", {"resourceType": "Patient", "id": rid},
                 if_match='W/"1"')


def test_error_texts_never_name_hidden_resources(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    attacker = principal("org-2")
    # deleting a practitioner role referenced by hidden care teams: refused, unnamed
    mine = {"resourceType": "PractitionerRole", "id": "role-x",
            "organization": {"reference": "Organization/org-2"}}
    assert call(router, attacker, "PUT", "PractitionerRole/role-x", mine)[0] == 201
    team = call(router, None, "GET", "CareTeam/team-p0")[1]
    team["participant"].append({"member": {"reference": "PractitionerRole/role-x"},
                                "period": {"start": "2099-01-01"}})
    assert call(router, None, "PUT", "CareTeam/team-p0", team)[0] == 200
    status, body = call(router, attacker, "DELETE", "PractitionerRole/role-x")
    assert status == 409
    assert "team-p0" not in fhir.dumps(body).decode()
    assert "other resources" in fhir.dumps(body).decode()


# --- identity: no invisible duplicate, no leak -------------------------------------------------


def _count_ins(router: Router, value: str) -> int:
    status, body = call(router, None, "GET", f"Patient?identifier={INS}|{value}&_summary=count")
    assert status == 200
    return int(body["total"])


def test_conditional_writes_on_a_hidden_persons_identifiers_create_no_duplicate(
        router_factory: Any) -> None:
    router = router_factory()
    world(router)
    attacker = principal("org-2")
    ins = "1800107501234"  # p0's, accompanied by org-0 only
    new = {"resourceType": "Patient", "identifier": [{"system": INS, "value": ins}]}
    def create(value: str) -> tuple[int, Any]:
        return _send(router, attacker, "POST", "Patient",
                     {**new, "identifier": [{"system": INS, "value": value}]},
                     if_none_exist=f"identifier={INS}|{value}")

    status, body = create(ins)
    assert status == 409, body
    text = fhir.dumps(body).decode()
    assert "p0" not in text and "org-0" not in text
    assert _count_ins(router, ins) == 1
    # conditional update and a transaction's ifNoneExist behave alike
    status, _ = call(router, attacker, "PUT", f"Patient?identifier={INS}|{ins}", new)
    assert status == 409
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": new, "request": {"method": "POST", "url": "Patient",
                                      "ifNoneExist": f"identifier={INS}|{ins}"}}]}
    assert call(router, attacker, "POST", "", tx)[0] == 409
    assert _count_ins(router, ins) == 1
    # the structure that accompanies the person finds it; a new person is created once
    victim = principal("org-0")
    status, body = call(router, victim, "PUT", f"Patient?identifier={INS}|{ins}",
                        {**new, "id": "p0", "name": [{"family": "p0"}]})
    assert status == 200, body
    assert create("2990199123456")[0] == 201
    assert create("2990199123456")[0] == 200  # (now its own: matched, not duplicated)
    assert _count_ins(router, "2990199123456") == 1


# --- audit of what leaked before ---------------------------------------------------------------


def test_probing_is_recorded_under_the_person_probed(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    attacker = principal("org-2")
    operator = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)

    def events() -> list[dict[str, Any]]:
        status, body = call(router, operator, "GET", "AuditEvent?patient=p0&_count=200")
        assert status == 200
        return [e["resource"] for e in body.get("entry", [])]

    def by_attacker(evs: list[dict[str, Any]]) -> int:
        return sum(1 for ev in evs if any(
            a.get("who", {}).get("reference") == "Organization/org-2" for a in ev["agent"]))

    before = by_attacker(events())
    probes = ["Patient?family=p0", "Organization?_has:EpisodeOfCare:organization:patient.family=p0",
              "Task?focus:Patient.family=p0", f"Patient?identifier={INS}|1800107501234",
              "CarePlan?patient=p0", "Goal?subject=Patient/p0&_include=Goal:subject"]
    for probe in probes:
        assert entries(call(router, attacker, "GET", probe)) == []
    assert call(router, attacker, "GET", "Patient/p0")[0] == 404
    assert call(router, attacker, "GET", "CarePlan/plan-p0")[0] == 404
    after = events()
    assert by_attacker(after) - before == len(probes) + 2
    queries = [e for ev in after for e in ev.get("entity", []) if "query" in e]
    assert queries  # the searches are kept, as BALP asks, to be read by the person's side
    assert not any(re.search(r"p1\b", str(ev.get("entity"))) for ev in after
                   if by_attacker([ev]) and "family=p0" in str(ev))


def test_concurrent_transactions_with_one_if_none_exist_store_one_person(
        router_factory: Any) -> None:
    """Transactions take the same lock as plain conditional creates (PostgreSQL: the type's
    advisory lock), so concurrent ones with the same ifNoneExist store one person."""
    from concurrent.futures import ThreadPoolExecutor

    router = router_factory()
    world(router)
    who = principal("org-0")
    ins = "1770575012345"
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:2f1a8c1e-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient", "identifier": [{"system": INS, "value": ins}]},
         "request": {"method": "POST", "url": "Patient",
                     "ifNoneExist": f"identifier={INS}|{ins}"}}]}
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: call(router, who, "POST", "", tx)[0], range(16)))
    assert statuses == [200] * 16
    assert _count_ins(router, ins) == 1


def test_a_national_identifier_names_one_person(router_factory: Any) -> None:
    """Even without a condition, a second Patient carrying an INS already registered is
    refused: visible, the answer names it; hidden, it says nothing of it."""
    router = router_factory()
    world(router)
    dup = {"resourceType": "Patient", "identifier": [{"system": INS, "value": "1800107501234"}]}
    status, body = call(router, principal("org-2"), "POST", "Patient", dup)
    assert status == 409 and "p0" not in fhir.dumps(body).decode()
    status, body = call(router, principal("org-0"), "POST", "Patient", dup)
    assert status == 409 and "Patient/p0" in fhir.dumps(body).decode()
    assert _count_ins(router, "1800107501234") == 1
    # its own record keeps it through updates
    p0 = call(router, principal("org-0"), "GET", "Patient/p0")[1]
    assert call(router, principal("org-0"), "PUT", "Patient/p0",
                {**p0, "gender": "male"})[0] == 200


# --- over HTTP, with real tokens: headers included -------------------------------------------


HTTP_ROUTES = [
    ("GET", "/fhir/Patient/{}"),
    ("GET", "/fhir/Patient/{}/_history/1"),
    ("GET", "/fhir/Patient/{}/_history"),
    ("GET", "/fhir/Patient/{}/Goal"),
    ("GET", "/fhir/Goal?patient={}&_include=Goal:subject"),
    ("GET", "/fhir/Organization?_has:EpisodeOfCare:organization:patient._id={}"),
    ("HEAD", "/fhir/Patient/{}"),
    ("DELETE", "/fhir/Patient/{}"),
    ("PATCH", "/fhir/Patient/{}"),
    ("GET", "/fhir/EpisodeOfCare/ep-{}/$casefile"),
]
VARYING = {"x-request-id", "date", "content-length"}


def test_over_http_a_hidden_person_and_a_missing_one_get_the_same_answer(
        make_context: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from tests.security.conftest import bearer, mint

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    world(app.state.router)
    app.state.security.clients.add("dac", "DAC", "org-2", None, "system/*.cruds")
    headers = bearer(mint(app, "dac", "system/*.cruds"))

    def answer(client: Any, method: str, url: str) -> tuple[int, dict[str, str], bytes]:
        body = None
        extra = {}
        if method == "PATCH":
            body = b'[{"op": "add", "path": "/active", "value": true}]'
            extra = {"Content-Type": "application/json-patch+json"}
        resp = client.request(method, url, headers={**headers, **extra}, content=body)
        kept = {k: v for k, v in resp.headers.items() if k.lower() not in VARYING}
        content = resp.content
        if resp.headers.get("content-type", "").startswith("application/fhir+json") and \
                content and b'"Bundle"' in content[:40]:
            data = resp.json()
            content = fhir.dumps({k: v for k, v in data.items() if k not in ("id", "meta")})
        return resp.status_code, kept, content

    with TestClient(app, base_url="http://test") as client:
        for method, route in HTTP_ROUTES:
            hidden = answer(client, method, route.format("p0"))
            missing = answer(client, method, route.format("q9"))
            swap = (missing[0], {k: v.replace("q9", "p0") for k, v in missing[1].items()},
                    missing[2].replace(b"q9", b"p0"))
            assert hidden == swap, (method, route, hidden, missing)
        # an If-Match update, and a conditional create on the hidden person's INS, answer as
        # such requests always do, without a word of what exists
        for rid in ("p0", "q9"):
            resp = client.put(f"/fhir/Patient/{rid}", headers={**headers, "If-Match": 'W/"1"'},
                              json={"resourceType": "Patient", "id": rid})
            assert resp.status_code == 412
        resp = client.post("/fhir/Patient", json={"resourceType": "Patient"},
                           headers={**headers, "If-None-Exist":
                                    f"identifier={INS}|1800107501234"})
        assert resp.status_code == 409 and b"p0" not in resp.content


def test_every_answer_with_a_persons_data_is_audited_under_that_person(
        router_factory: Any) -> None:
    """Audit completeness: for each request that returned a person's data, an AuditEvent
    names every person whose data it returned."""
    router = router_factory()
    world(router)
    who = principal("org-0")
    operator = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)
    requests = [
        ("GET", "Patient/p0"), ("GET", "CarePlan/plan-p1/_history/1"),
        ("GET", "CarePlan?_include=CarePlan:goal&_include:iterate=Goal:subject"),
        ("GET", "Goal?_revinclude=CarePlan:goal"), ("GET", "_history?_count=50"),
        ("GET", "Patient/p1/CarePlan"), ("GET", "Task?focus:Patient.family=p0"),
        ("GET", "EpisodeOfCare/ep-p0/$casefile"),
    ]
    for method, path in requests:
        status, body = call(router, who, method, path)
        assert status == 200, (path, body)
        # (a case file is not FHIR: its person is the episode's)
        people = {"p0"} if "$casefile" in path else _people_in(body)
        assert people, path  # each of these returns someone's data
        _, events = call(router, operator, "GET", "AuditEvent?_count=1&_sort=-_lastUpdated"
                         "&agent=Organization/org-0")
        last = events["entry"][0]["resource"]
        named = {e["what"]["reference"].split("/")[1] for e in last.get("entity", [])
                 if e.get("what", {}).get("reference", "").startswith("Patient/")}
        assert people <= named, (path, people, named)


def _people_in(body: Any) -> set[str]:
    text = fhir.dumps(body).decode()
    return set(re.findall(r'"Patient/(p[0-9])"', text)) | set(
        re.findall(r'"resourceType":"Patient","id":"(p[0-9])"', text.replace(" ", "")))


def test_re_pointing_ones_own_role_exposes_nobody(router_factory: Any) -> None:
    """A team grants through a PractitionerRole only when the role is vouched for (managed by
    its organisation's structure, or recorded by the team's custodian): a member re-pointing
    its own role at a third structure does not open the person's data to that structure."""
    router = router_factory()
    world(router)
    custodian, member, third = principal("org-0"), principal("org-2"), principal("org-1")
    role = {"resourceType": "PractitionerRole", "id": "role-dac",
            "practitioner": {"reference": "Practitioner/pr-org-2"},
            "organization": {"reference": "Organization/org-2"}}
    assert call(router, member, "PUT", "PractitionerRole/role-dac", role)[0] == 201
    team = {"resourceType": "CareTeam", "id": "team-x", "status": "active",
            "subject": {"reference": "Patient/p0"},
            "managingOrganization": [{"reference": "Organization/org-0"}],
            "participant": [{"member": {"reference": "PractitionerRole/role-org-0"}},
                            {"member": {"reference": "PractitionerRole/role-dac"}}]}
    assert call(router, custodian, "PUT", "CareTeam/team-x", team)[0] == 201
    assert call(router, member, "GET", "Patient/p0")[0] == 200
    assert call(router, third, "GET", "Patient/p0")[0] == 404
    moved = {**role, "organization": {"reference": "Organization/org-1"}}
    assert call(router, member, "PUT", "PractitionerRole/role-dac", moved)[0] == 200
    assert call(router, third, "GET", "Patient/p0")[0] == 404  # not through org-2's record
    assert call(router, member, "GET", "Patient/p0")[0] == 404  # (it left the team itself)
    # the custodian's own record of a member of another structure does open it
    theirs = {"resourceType": "PractitionerRole", "id": "role-cmp-by-org0",
              "practitioner": {"reference": "Practitioner/pr-org-1"},
              "organization": {"reference": "Organization/org-1"}}
    assert call(router, custodian, "PUT", "PractitionerRole/role-cmp-by-org0", theirs)[0] == 201
    team["participant"].append({"member": {"reference": "PractitionerRole/role-cmp-by-org0"}})
    assert call(router, custodian, "PUT", "CareTeam/team-x", team)[0] == 200
    assert call(router, third, "GET", "Patient/p0")[0] == 200
