"""Provenance and AuditEvent are written by the server only and are immutable through the API;
a client's X-Provenance adds detail, but the server always records the authenticated client
and its structure, and refuses an agent that claims another structure or another client."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes
from tests.security.test_access_matrix import ORGS, build_world, call, principal

NURSE = Principal("cmp-app", structure="org-0", practitioner="pr-org-0",
                  scopes=Scopes.parse("system/*.cruds"))
CLIENT = "urn:cm-fhir:client"


@pytest.fixture
def world(make_context: Any, tmp_path: Path) -> Any:
    """p0 is accompanied by org-0 (a member of the care team); org-1 accompanies nobody."""
    from fhir_service.operations import install_all

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=False,
                       provenance=True, rate_limit_per_second=0.0)
    router = Router(ctx)
    install_all(router)
    relations = {(o, 0): "none" for o in ORGS}
    relations[("org-0", 0)] = "member"
    assert call(router, None, "POST", "", build_world(1, relations))[0] == 200
    yield router
    router.close()


def goal(gid: str) -> dict[str, Any]:
    return {"resourceType": "Goal", "id": gid, "lifecycleStatus": "active",
            "description": {"text": "Reprendre le vélo"}, "subject": {"reference": "Patient/p0"}}


def send(router: Router, who: Principal | None, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    route, _, query = path.partition("?")
    from urllib.parse import parse_qsl

    req = FhirRequest(method, [s for s in route.split("/") if s],
                      query=parse_qsl(query, keep_blank_values=True),
                      headers={"content-type": "application/fhir+json", **(headers or {})},
                      body=body if isinstance(body, bytes) else
                      fhir.dumps(body) if body is not None else b"",
                      base_url="http://test/fhir", principal=who)
    try:
        resp = router.handle(req)
    except FhirError as exc:
        return exc.status, exc.outcome()
    data = resp.body
    return resp.status, fhir.loads(data) if isinstance(data, bytes) and data else data


def with_provenance(router: Router, who: Principal, gid: str,
                    header: dict[str, Any]) -> tuple[int, Any]:
    return send(router, who, "PUT", f"Goal/{gid}", goal(gid),
                {"x-provenance": fhir.dumps(header).decode()})


def history_total(router: Router) -> int:
    return int(call(router, None, "GET", "_history?_count=0")[1]["total"])


def provenances_of(router: Router, target: str) -> list[dict[str, Any]]:
    _, bundle = call(router, None, "GET", f"Provenance?target={target}")
    return [e["resource"] for e in bundle.get("entry", [])]


def expressions(outcome: dict[str, Any]) -> list[str]:
    return [e for issue in outcome["issue"] for e in issue.get("expression", [])]


def test_the_server_writes_provenance_and_clients_cannot_change_it(world: Router) -> None:
    assert call(world, NURSE, "PUT", "Goal/g1", goal("g1"))[0] == 201
    [prov] = provenances_of(world, "Goal/g1")
    path = f"Provenance/{prov['id']}"
    assert call(world, NURSE, "GET", path)[0] == 200  # readable by the structure...
    before = history_total(world)
    forged = {**prov, "agent": [{"who": {"reference": "Organization/org-1"}}]}
    patch = base64.b64encode(b'[{"op": "remove", "path": "/agent/0"}]').decode()
    attempts = [
        ("PUT", path, forged),  # update
        ("DELETE", path, None),  # delete
        ("POST", "Provenance", {k: v for k, v in forged.items() if k != "id"}),  # create
        ("PUT", "Provenance?target=Goal/g1", forged),  # conditional update
        ("DELETE", "Provenance?target=Goal/g1", None),  # conditional delete
    ]
    for method, where, body in attempts:
        status, outcome = call(world, NURSE, method, where, body)
        assert status == 403, (method, where, outcome)
        assert "written by the server only" in outcome["issue"][0]["diagnostics"]
    status, outcome = send(world, NURSE, "PATCH", path, base64.b64decode(patch),
                           {"content-type": "application/json-patch+json"})
    assert status == 403, outcome
    # ...and so is anything else that would write it: an outsider, a structure without scope
    assert call(world, principal("org-1"), "DELETE", path)[0] == 403
    assert history_total(world) == before
    assert call(world, None, "GET", path)[1] == prov  # unchanged
    # searching Provenance (POST _search) and $validate are not writes
    assert send(world, NURSE, "POST", "Provenance/_search", b"target=Goal/g1",
                {"content-type": "application/x-www-form-urlencoded"})[0] == 200


def test_audit_events_cannot_be_written_by_clients(world: Router) -> None:
    event = {"resourceType": "AuditEvent",
             "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
             "recorded": "2026-01-01T00:00:00Z",
             "agent": [{"requestor": True, "who": {"reference": "Organization/org-0"}}],
             "source": {"observer": {"display": "forged"}}}
    before = history_total(world)
    for method, where, body in [("POST", "AuditEvent", event),
                                ("PUT", "AuditEvent/forged", {**event, "id": "forged"}),
                                ("DELETE", "AuditEvent/forged", None),
                                ("DELETE", "AuditEvent?outcome=0", None)]:
        status, outcome = call(world, NURSE, method, where, body)
        assert status == 403, (method, where, outcome)
    assert history_total(world) == before


def test_bundles_cannot_write_provenance_or_audit_events(world: Router) -> None:
    assert call(world, NURSE, "PUT", "Goal/g1", goal("g1"))[0] == 201
    [prov] = provenances_of(world, "Goal/g1")
    before = history_total(world)
    forged = {k: v for k, v in prov.items() if k not in ("id", "meta")}
    forged["agent"] = [{"who": {"reference": "Organization/org-1"}}]
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": goal("g2"), "request": {"method": "PUT", "url": "Goal/g2"}},
        {"resource": forged, "request": {"method": "POST", "url": "Provenance"}},
    ]}
    status, outcome = call(world, NURSE, "POST", "", transaction)
    assert status == 403, outcome
    assert expressions(outcome) == ["Bundle.entry[1].request.url"]
    for entry in ({"request": {"method": "DELETE", "url": f"Provenance/{prov['id']}"}},
                  {"resource": {**prov, "agent": forged["agent"]},
                   "request": {"method": "PUT", "url": f"Provenance/{prov['id']}"}},
                  {"request": {"method": "DELETE", "url": "AuditEvent?outcome=0"}}):
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        assert call(world, NURSE, "POST", "", bundle)[0] == 403, entry
    assert history_total(world) == before  # nothing written, not even the Goal
    assert call(world, None, "GET", "Goal/g2")[0] == 404
    # a batch runs each entry through the router: the Provenance entry alone is refused
    batch = {**transaction, "type": "batch"}
    status, response = call(world, NURSE, "POST", "", batch)
    assert status == 200
    assert [e["response"]["status"][:3] for e in response["entry"]] == ["201", "403"]
    assert provenances_of(world, "Goal/g2")[0]["agent"][-1]["who"]["identifier"]["value"] \
        == "cmp-app"
    # a GET of Provenance inside a transaction is fine
    reads = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": f"Provenance/{prov['id']}"}}]}
    status, response = call(world, NURSE, "POST", "", reads)
    assert status == 200 and response["entry"][0]["response"]["status"].startswith("200")


def test_the_server_itself_still_writes_provenance(world: Router) -> None:
    """Writes by the server (no principal: loading, the importer from the command line) keep
    their Provenance, recorded with the server as the enterer."""
    assert call(world, None, "PUT", "Goal/g-server", goal("g-server"))[0] == 201
    [prov] = provenances_of(world, "Goal/g-server")
    assert prov["agent"] == [{"type": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
        "code": "enterer"}]}, "who": {"identifier": {"system": CLIENT, "value": "cm-fhir"},
                                      "display": "cm-fhir (server)"}}]


@pytest.mark.parametrize("agent, where", [
    ({"who": {"reference": "Practitioner/pr-org-1"},
      "onBehalfOf": {"reference": "Organization/org-1"}}, "Provenance.agent[0].onBehalfOf"),
    ({"who": {"reference": "Organization/org-1"}}, "Provenance.agent[0].who"),
    ({"who": {"reference": "http://test/fhir/Organization/org-1/_history/1"}},
     "Provenance.agent[0].who"),
    ({"who": {"type": "Organization", "identifier": {"system": "https://finess.esante.gouv.fr",
                                                     "value": "750000011"}}},
     "Provenance.agent[0].who"),
    ({"who": {"identifier": {"system": CLIENT, "value": "client-org-1"}}},
     "Provenance.agent[0].who.identifier"),
    ({"who": {"reference": "#other"}}, "Provenance.agent[0].who"),
])
def test_x_provenance_cannot_claim_another_structure_or_client(world: Router,
                                                               agent: dict[str, Any],
                                                               where: str) -> None:
    header: dict[str, Any] = {"resourceType": "Provenance",
                              "agent": [agent],
                              "reason": [{"text": "Synthèse"}]}
    if agent["who"].get("reference") == "#other":
        header["contained"] = [{"resourceType": "Organization", "id": "other",
                                "name": "Another structure"}]
    before = history_total(world)
    status, outcome = with_provenance(world, NURSE, "g-claim", header)
    assert status == 403, outcome
    assert expressions(outcome) == [where]
    assert history_total(world) == before  # nothing written
    assert call(world, None, "GET", "Goal/g-claim")[0] == 404


def test_x_provenance_entity_agents_are_checked_too(world: Router) -> None:
    header = {"resourceType": "Provenance", "entity": [{
        "role": "source", "what": {"display": "DPI"},
        "agent": [{"who": {"reference": "Practitioner/pr-org-0"},
                   "onBehalfOf": {"reference": "Organization/org-1"}}]}]}
    status, outcome = with_provenance(world, NURSE, "g-entity", header)
    assert status == 403
    assert expressions(outcome) == ["Provenance.entity[0].agent[0].onBehalfOf"]
    assert call(world, None, "GET", "Goal/g-entity")[0] == 404


def test_x_provenance_detail_is_kept_with_the_servers_agents(world: Router) -> None:
    header = {"resourceType": "Provenance", "id": "mine", "recorded": "2020-01-01T00:00:00Z",
              "reason": [{"text": "Révision du projet en synthèse"}],
              "agent": [
                  {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                  "provenance-participant-type",
                                        "code": "author"}]},
                   "who": {"reference": "Practitioner/pr-org-0"},
                   "onBehalfOf": {"reference": "Organization/org-0"}},
                  {"who": {"display": "Logiciel DPI du CMP"}},
                  {"who": {"identifier": {"system": CLIENT, "value": "cmp-app"}}}]}
    status, _ = with_provenance(world, NURSE, "g-ok", header)
    assert status == 201
    [prov] = provenances_of(world, "Goal/g-ok")
    assert prov["id"] != "mine" and prov["recorded"] != "2020-01-01T00:00:00Z"
    assert prov["target"] == [{"reference": "Goal/g-ok/_history/1"}]
    assert prov["reason"] == header["reason"]
    assert prov["agent"][:3] == header["agent"]  # the client's agents, as sent
    # and always the server's own: the client as enterer and the practitioner as author, on
    # behalf of the caller's structure
    on_behalf = {"onBehalfOf": {"reference": "Organization/org-0"}}
    type_of = {a["type"]["coding"][0]["code"]: a for a in prov["agent"][3:]}
    assert type_of["enterer"] == {
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                       "provenance-participant-type", "code": "enterer"}]},
        "who": {"identifier": {"system": CLIENT, "value": "cmp-app"}}, **on_behalf}
    # the author the client named is the server's author agent too: recorded once
    assert "author" not in type_of
    assert sum(1 for a in prov["agent"] if a["who"].get("reference") ==
               "Practitioner/pr-org-0") == 1


def test_a_client_without_a_practitioner_is_recorded_as_the_enterer(world: Router) -> None:
    header = {"resourceType": "Provenance",
              "agent": [{"who": {"reference": "Practitioner/pr-org-0"}}]}
    assert with_provenance(world, principal("org-0"), "g-app", header)[0] == 201
    [prov] = provenances_of(world, "Goal/g-app")
    assert prov["agent"][0] == header["agent"][0]
    assert prov["agent"][1]["who"]["identifier"] == {"system": CLIENT, "value": "client-org-0"}
    assert prov["agent"][1]["onBehalfOf"] == {"reference": "Organization/org-0"}
