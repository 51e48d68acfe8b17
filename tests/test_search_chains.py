"""Chained search without a type (https://hl7.org/fhir/R4/search.html#chaining:
``DiagnosticReport?subject.name=peter``), on SQLite and PostgreSQL and in the in-memory store.

A chain without a type searches every target type of the reference that defines the chained
parameter, and answers the union: ``Goal?subject.name=`` goes through Patient and Organization
(Group has no ``name``). It is refused, with an OperationOutcome naming the types to choose and
the parameter in ``expression``, only when no target defines the parameter, when the targets
define it with different types (``Observation?part-of.series``: a string on Immunization, a
token on ImagingStudy), or when it would expand to too many typed hops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_service.context import FhirContext
from fhir_service.outcomes import FhirError
from fhir_service.search.query import Filter
from tests.pg import postgres_contexts

H = {"Content-Type": "application/fhir+json"}



@pytest.fixture(params=["sqlite", "postgres"])
def db_client(request: pytest.FixtureRequest, make_context: Any,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    if request.param == "postgres":
        make = postgres_contexts(make_context, request.getfixturevalue("pg_server"),
                                 tmp_path_factory, "chains")
        ctx = make()
        assert ctx.repository.engine.dialect.name == "postgresql"
    else:
        ctx = make_context()
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as client:
        yield client


def _put(client: Any, resource: dict[str, Any]) -> None:
    r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource,
                   headers=H)
    assert r.status_code in (200, 201), r.text


NIR = "urn:oid:1.2.250.1.213.1.4.8"
WORLD: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "peter", "name": [{"family": "Peter", "given": ["Anne"]}],
     "identifier": [{"system": NIR, "value": "123"}]},
    {"resourceType": "Patient", "id": "other", "name": [{"family": "Durand"}]},
    {"resourceType": "Organization", "id": "peter-org", "name": "Peter et associés",
     "identifier": [{"system": NIR, "value": "123"}]},
    # a Group of the same name: Group has no `name` parameter, so it is not searched
    {"resourceType": "Group", "id": "peter-group", "type": "person", "actual": True,
     "name": "Peter"},
    *[{"resourceType": "Goal", "id": gid, "lifecycleStatus": "active",
       "description": {"text": gid}, "subject": {"reference": subject}}
      for gid, subject in [("g-patient", "Patient/peter"), ("g-org", "Organization/peter-org"),
                           ("g-group", "Group/peter-group"), ("g-other", "Patient/other")]],
]


def _ids(client: Any, url: str) -> list[str]:
    r = client.get(f"/fhir/{url}")
    assert r.status_code == 200, r.text
    return sorted(e["resource"]["id"] for e in r.json().get("entry", [])
                  if e["search"]["mode"] == "match")


def _refused(client: Any, url: str) -> dict[str, Any]:
    r = client.get(f"/fhir/{url}")
    assert r.status_code == 400, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome", outcome
    return dict(outcome["issue"][0])


def test_a_chain_without_a_type_searches_every_type_that_defines_it(db_client: Any) -> None:
    for resource in WORLD:
        _put(db_client, resource)
    # subject: Patient | Group | Organization; `name` on Patient and Organization only
    assert _ids(db_client, "Goal?subject.name=peter") == ["g-org", "g-patient"]
    assert _ids(db_client, "Goal?subject.name=durand,peter") == ["g-org", "g-other", "g-patient"]
    assert _ids(db_client, "Goal?subject.name=nobody") == []
    assert _ids(db_client, f"Goal?subject.identifier={NIR}|123") == ["g-org", "g-patient"]
    # the typed forms are unchanged: one type each
    assert _ids(db_client, "Goal?subject:Patient.name=peter") == ["g-patient"]
    assert _ids(db_client, "Goal?subject:Organization.name=peter") == ["g-org"]
    # defined by one target only (Patient's birthdate, Organization's partof): that type
    assert _ids(db_client, "Goal?subject.gender=unknown") == []
    # a type the reference narrows to (Goal.patient: Patient only), as before
    assert _ids(db_client, "Goal?patient.name=peter") == ["g-patient"]
    # AND with another filter, and a typeless chain within a _has
    assert _ids(db_client, "Goal?subject.name=peter&subject.identifier=123") == [
        "g-org", "g-patient"]
    assert _ids(db_client, "Goal?subject.name=peter&_id=g-org,g-group") == ["g-org"]
    assert _ids(db_client, "Patient?_has:Goal:subject:subject.name=peter") == ["peter"]
    assert _ids(db_client, "Organization?_has:Goal:subject:subject.identifier=123") == [
        "peter-org"]


def test_what_stays_ambiguous_or_impossible_is_refused_naming_the_types(db_client: Any) -> None:
    # no target of subject defines the parameter
    issue = _refused(db_client, "Goal?subject.nothing=x")
    assert issue["expression"] == ["subject.nothing"]
    assert "Group, Organization, Patient" in issue["diagnostics"], issue
    # Observation.part-of: `series` is a string on Immunization and a token on ImagingStudy
    issue = _refused(db_client, "Observation?part-of.series=x")
    assert issue["expression"] == ["part-of.series"]
    assert "ImagingStudy" in issue["diagnostics"] and "Immunization" in issue["diagnostics"]
    assert "part-of:[type].series" in issue["diagnostics"], issue
    # a type named that is no target, and a named type without the parameter
    assert _refused(db_client, "Goal?subject:Practitioner.name=x")["expression"] == [
        "subject:Practitioner.name"]
    assert "Group" in _refused(db_client, "Goal?subject:Group.name=x")["diagnostics"]
    # a chain fanning out to every type with a `subject`, then to their subjects' `name`
    issue = _refused(db_client, "List?item.subject.name=x")
    assert issue["code"] == "too-costly" and issue["expression"] == ["item.subject.name"]
    # a bad value for the chained parameter's type: refused as for a typed chain
    assert _refused(db_client, "Goal?subject.birthdate=notadate")["expression"] == [
        "subject.birthdate"]


def test_the_parser_builds_one_typed_hop_per_defining_type(base_context: FhirContext) -> None:
    parse = base_context.parser.parse
    (filt,) = parse("Goal", [("subject.name", "peter")], strict=True).filters
    assert filt.chain is None and [(a.chain_type, a.code) for a in filt.alternatives] == [
        ("Organization", "subject"), ("Patient", "subject")]
    assert all(isinstance(a.chain, Filter) and a.chain.code == "name" for a in filt.alternatives)
    # one candidate: a plain typed chain, as `subject:Patient.birthdate`
    (one,) = parse("Goal", [("subject.birthdate", "2000")], strict=True).filters
    assert one.chain_type == "Patient" and not one.alternatives
    # the scope check reads every candidate type
    from fhir_service.security.policy import filter_types

    assert filter_types([filt]) == {"Organization", "Patient"}
    with pytest.raises(FhirError) as info:
        parse("Goal", [("subject.nothing", "x")], strict=False)
    assert info.value.status == 400


def test_the_in_memory_store_answers_alike(base_context: FhirContext, tmp_path: Path) -> None:
    from fhir_service.store.memory import MemoryRepository
    from fhir_service.store.sqlstore import SqlRepository
    from tests.store.test_repository_contract import BASE, Store

    searches = [("Goal", [("subject.name", "peter")]),
                ("Goal", [("subject.identifier", "123")]),
                ("Goal", [("subject.name", "durand,peter"), ("_sort", "-_id")]),
                ("Patient", [("_has:Goal:subject:subject.name", "peter")])]
    answers = []
    for repo in (SqlRepository(f"sqlite:///{tmp_path / 'side.db'}", (BASE,)),
                 MemoryRepository((BASE,))):
        store = Store(repo, base_context)
        try:
            store.write(*WORLD)
            answers.append([store.ids(rtype, *items) for rtype, items in searches])
        finally:
            repo.close()
    assert answers[0] == answers[1]
    assert sorted(answers[0][0]) == ["g-org", "g-patient"] and answers[0][3] == ["peter"]
