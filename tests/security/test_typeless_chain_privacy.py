"""A chain without a type searches several target types at once (``List?item.name=``: every
type with a ``name``); each hop goes through the caller's door, as a typed chain's does. Through
a person the caller may not see, it answers byte for byte as through a value that matches
nobody (but for the value echoed in the links), on SQLite and PostgreSQL; inside a ``_has``
too. The scopes must allow searching every type it may go through, and the audit record of
such a search names the person it aimed at, seen or not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest

from fhir_service import fhir
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.security.principal import Principal, Scopes
from tests.pg import postgres_contexts
from tests.security.test_access_matrix import ORGS, build_world, call, put

AUDITOR = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)


def caller(org: str, scopes: str = "system/*.cruds") -> Principal:
    return Principal(client_id=f"client-{org}", structure=org, scopes=Scopes.parse(scopes))



@pytest.fixture(params=["sqlite", "postgres"])
def router(request: pytest.FixtureRequest, make_context: Any,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """p0 accompanied by org-0 only, p1 by org-1 only; a List (public: no subject) naming
    both and org-2; each person's Goal and CarePlan (build_world)."""
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    make = make_context
    if request.param == "postgres":
        make = postgres_contexts(make_context, request.getfixturevalue("pg_server"),
                                 tmp_path_factory, "typeless")
    ctx = make(audit=True, provenance=True)
    router = Router(ctx)
    install_all(router)
    relations = {(o, p): "none" for o in ORGS for p in range(2)}
    relations[("org-0", 0)] = relations[("org-1", 1)] = "member"
    world = build_world(2, relations)
    world["entry"].append(put({
        "resourceType": "List", "id": "watch", "status": "current", "mode": "working",
        "entry": [{"item": {"reference": ref}}
                  for ref in ("Patient/p0", "Patient/p1", "Organization/org-2")]}))
    assert call(router, None, "POST", "", world)[0] == 200
    yield router
    router.close()  # before make_context closes the repository


def raw_call(router: Any, who: Principal, path: str) -> tuple[int, bytes]:
    """The answer's status and bytes, as the HTTP layer would send them."""
    route, _, query = path.partition("?")
    req = FhirRequest("GET", [s for s in route.split("/") if s],
                      query=parse_qsl(query, keep_blank_values=True),
                      headers={"accept": "application/fhir+json"}, body=b"",
                      base_url="http://test/fhir", principal=who)
    try:
        resp = router.handle(req)
    except FhirError as exc:
        return exc.status, fhir.dumps(exc.outcome())
    body = resp.body if isinstance(resp.body, bytes) else fhir.dumps(resp.body)
    return resp.status, body


_VARYING = re.compile(rb'"id":"[0-9a-f-]{36}"|"lastUpdated":"[^"]+"')


def _same_as_nobody(router: Any, who: Principal, template: str, value: str) -> bytes:
    """The answer to ``template`` with ``value`` equals the answer with a value that matches
    nobody, byte for byte once the value (echoed in the links) and the bundle's own id and
    instant are set aside."""
    status, body = raw_call(router, who, template.format(value))
    null_status, null_body = raw_call(router, who, template.format("nobody"))
    assert status == null_status == 200, (template, body, null_body)

    def neutral(data: bytes, shown: str) -> bytes:
        return _VARYING.sub(b"", data.replace(quote(shown, safe="").encode(), b"VALUE")
                            .replace(shown.encode(), b"VALUE"))

    assert neutral(body, value) == neutral(null_body, "nobody"), (template, body, null_body)
    return body


def _ids(router: Any, who: Principal, path: str) -> list[str]:
    status, body = call(router, who, "GET", path)
    assert status == 200, body
    return sorted(e["resource"]["id"] for e in body.get("entry", [])
                  if e["search"]["mode"] == "match")


def test_a_typeless_chain_through_someone_hidden_answers_as_through_no_one(router: Any) -> None:
    org1 = caller("org-1")
    # positive controls: the same searches find what org-1 may see, through Patient and
    # through Organization (the union of the candidate types)
    assert _ids(router, org1, "List?item.name=p1") == ["watch"]
    assert _ids(router, org1, "List?item.name=org-2") == ["watch"]
    assert _ids(router, caller("org-0"), "List?item.name=p0") == ["watch"]
    assert _ids(router, org1, "Organization?_has:List:item:item.name=p1") == ["org-2"]
    # p0 exists, org-1 does not accompany p0: as a name nobody has
    _same_as_nobody(router, org1, "List?item.name={}", "p0")
    _same_as_nobody(router, org1, "List?item.name={}&_summary=count", "p0")
    _same_as_nobody(router, org1, "List?item.name={}&_include=List:item", "p0")
    _same_as_nobody(router, org1, "Goal?subject.name={}", "p0")
    _same_as_nobody(router, org1, "Organization?_has:List:item:item.name={}", "p0")
    _same_as_nobody(router, org1, "Patient?_has:Goal:subject:subject.name={}", "p0")
    # and a value found through a visible type still finds it alongside the hidden one
    assert _ids(router, org1, "List?item.name=p0,org-2") == ["watch"]


def test_every_candidate_type_needs_the_search_scope(router: Any) -> None:
    # Goal?subject.name= goes through Patient and Organization: both must be searchable
    narrow = caller("org-0", "system/Goal.rs system/Patient.rs")
    status, outcome = call(router, narrow, "GET", "Goal?subject.name=p0")
    assert status == 403 and "Organization" in outcome["issue"][0]["diagnostics"], outcome
    wide = caller("org-0", "system/Goal.rs system/Patient.rs system/Organization.rs")
    assert _ids(router, wide, "Goal?subject.name=p0") == ["goal-p0"]
    assert _ids(router, narrow, "Goal?subject:Patient.name=p0") == ["goal-p0"]


def test_the_audit_names_the_person_a_hidden_hop_aimed_at(router: Any) -> None:
    def aimed_at_p0() -> int:
        _, found = call(router, AUDITOR, "GET", "AuditEvent?patient=p0&_summary=count")
        return int(found["total"])

    before = aimed_at_p0()
    assert _ids(router, caller("org-1"), "List?item.name=p0") == []
    assert aimed_at_p0() == before + 1
