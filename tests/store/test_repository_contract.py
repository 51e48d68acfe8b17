"""The storage contract: every behaviour of the repository protocol (store/repository.py),
asserted identically for the SQL implementation (a temporary SQLite file) and the in-memory
one (store/memory.py). Resources are prepared as the write path prepares them (index rows
from the search parameters, outgoing references, people and grants from the access
policy), then written through the protocol's sessions; searches are parsed by the server's
own query parser. The last tests run the same searches on both stores and compare the
answers whole, so a semantic drift of either shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.interactions.common import prepare
from fhir_service.outcomes import FhirError
from fhir_service.search.query import SearchQuery
from fhir_service.security.policy import AccessFilter, system_access
from fhir_service.security.principal import Principal, Scopes
from fhir_service.store.memory import MemoryRepository
from fhir_service.store.repository import Repository, Session, Stored
from fhir_service.store.sqlstore import SqlRepository

BASE = "http://cm.test/fhir"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Store:
    """A repository with the write path's preparation (what interactions/write.py does
    around ``Session.write``), the clock stepping one second per write."""

    def __init__(self, repo: Repository, ctx: FhirContext) -> None:
        self.repo = repo
        self.ctx = ctx
        self.t = T0

    def tick(self) -> float:
        self.t += 1.0
        return self.t

    def put(self, session: Session, resource: dict[str, Any]) -> Stored:
        rtype, rid = resource["resourceType"], resource["id"]
        current = session.get(rtype, rid)
        version = 1 if current is None else current.version + 1
        updated = self.tick()
        prepared = prepare(self.ctx, resource, rid, version, updated, BASE)
        stored = session.write(rtype, rid, version, updated, prepared.content,
                               "POST" if current is None else "PUT", prepared.rows,
                               prepared.refs, existing_pk=None if current is None else current.pk)
        policy = self.ctx.policy
        assert policy is not None
        patients = policy.patients_of(session, prepared.resource, prepared.rows)
        session.set_access_rows(stored.pk, patients, policy.grants_of(session, prepared.resource))
        return stored

    def write(self, *resources: dict[str, Any]) -> list[Stored]:
        with self.repo.write_session() as session:
            return [self.put(session, r) for r in resources]

    def delete(self, rtype: str, rid: str) -> None:
        with self.repo.write_session() as session:
            current = session.get(rtype, rid)
            assert current is not None
            session.delete(current.pk, rtype, rid, current.version + 1, self.tick())

    def query(self, rtype: str | None, *items: tuple[str, str]) -> SearchQuery:
        return self.ctx.parser.parse(rtype, list(items), strict=True)

    def ids(self, rtype: str | None, *items: tuple[str, str],
            access: AccessFilter | None = None) -> list[str]:
        """Every match's id, in the order of the answer (pages of the query's _count)."""
        query = self.query(rtype, *items)
        out: list[str] = []
        with self.repo.read_session() as session:
            while True:
                page = session.search(query, access or system_access())
                out.extend(s.rid for s in page.rows)
                if not page.has_more:
                    return out
                query.snapshot = page.snapshot
                if query.sort:
                    query.offset += query.count
                else:
                    query.cursor = page.pks[-1]


@pytest.fixture(params=["sql", "memory"])
def store(request: pytest.FixtureRequest, base_context: FhirContext,
          tmp_path: Path) -> Iterator[Store]:
    repo: Repository
    if request.param == "sql":
        repo = SqlRepository(f"sqlite:///{tmp_path / 'contract.db'}", (BASE,))
    else:
        repo = MemoryRepository((BASE,))
    yield Store(repo, base_context)
    repo.close()


def patient(rid: str, family: str, birth: str = "1980-05-17", **more: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": rid, "name": [{"family": family}],
            "birthDate": birth, **more}


def observation(rid: str, code: str, subject: str | None = None, value: float | None = None,
                when: str = "2025-03-01", unit: str = "kg", **more: Any) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation", "id": rid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": f"Code {code}"},
        "effectiveDateTime": when, **more}
    if subject:
        obs["subject"] = {"reference": subject}
    if value is not None:
        obs["valueQuantity"] = {"value": value, "unit": unit,
                                "system": "http://unitsofmeasure.org", "code": unit}
    return obs


def content(stored: Stored | None) -> dict[str, Any]:
    assert stored is not None and stored.content is not None
    return fhir.loads(stored.content)  # type: ignore[no-any-return]


# --- reads and versions --------------------------------------------------------------------


def test_write_then_read(store: Store) -> None:
    [created] = store.write(patient("p1", "Durand"))
    assert (created.rtype, created.rid, created.version, created.deleted) == ("Patient", "p1", 1,
                                                                             False)
    with store.repo.read_session() as session:
        got = session.get("Patient", "p1")
        assert got is not None and got.pk == created.pk and got.version == 1
        assert content(got)["name"] == [{"family": "Durand"}]
        assert session.get("Patient", "nobody") is None
        assert [s.rid for s in session.fetch([created.pk, 999_999])] == ["p1"]


def test_update_makes_a_new_version_on_the_same_key(store: Store) -> None:
    [first] = store.write(patient("p1", "Durand"))
    [second] = store.write(patient("p1", "Martin"))
    assert second.pk == first.pk and second.version == 2 and second.updated > first.updated
    with store.repo.read_session() as session:
        assert content(session.get("Patient", "p1"))["name"] == [{"family": "Martin"}]


def test_vread_returns_each_version_as_it_was(store: Store) -> None:
    store.write(patient("p1", "Durand"))
    store.write(patient("p1", "Martin"))
    with store.repo.read_session() as session:
        v1 = session.get_version("Patient", "p1", 1)
        v2 = session.get_version("Patient", "p1", 2)
        assert content(v1)["name"] == [{"family": "Durand"}] and v1 is not None
        assert v1.method == "POST"
        assert content(v2)["name"] == [{"family": "Martin"}] and v2 is not None
        assert v2.method == "PUT"
        assert session.get_version("Patient", "p1", 3) is None
        assert session.get_version("Patient", "p2", 1) is None


def test_delete_leaves_a_deletion_version_and_hides_from_search(store: Store) -> None:
    store.write(patient("p1", "Durand"))
    store.delete("Patient", "p1")
    with store.repo.read_session() as session:
        gone = session.get("Patient", "p1")
        assert gone is not None and gone.deleted and gone.version == 2 and gone.content is None
        deletion = session.get_version("Patient", "p1", 2)
        assert deletion is not None and deletion.deleted and deletion.method == "DELETE"
        assert content(session.get_version("Patient", "p1", 1))["id"] == "p1"
        assert session.lookup([("Patient", "p1")], system_access()) == []
        assert session.existing([("Patient", "p1")], system_access()) == set()
    assert store.ids("Patient") == []
    assert store.ids("Patient", ("family", "Durand")) == []


def test_a_deleted_resource_can_be_written_again(store: Store) -> None:
    [first] = store.write(patient("p1", "Durand"))
    store.delete("Patient", "p1")
    [again] = store.write(patient("p1", "Petit"))
    assert again.pk == first.pk and again.version == 3 and not again.deleted
    assert store.ids("Patient", ("family", "Petit")) == ["p1"]


def test_read_visible_without_rule(store: Store) -> None:
    store.write(patient("p1", "Durand"))
    stored, visible = store.repo.read_visible("Patient", "p1", None)
    assert stored is not None and stored.rid == "p1" and visible
    assert store.repo.read_visible("Patient", "p2", None) == (None, True)


# --- history -------------------------------------------------------------------------------


def test_history_newest_first_with_total_and_paging(store: Store) -> None:
    store.write(patient("p1", "A"))
    store.write(patient("p2", "B"))
    store.write(patient("p1", "C"))
    store.delete("Patient", "p2")
    with store.repo.read_session() as session:
        rows, total, snapshot = session.history("Patient", None, None, None, 2, 0, None,
                                                system_access())
        assert total == 4 and snapshot > 0
        assert [(s.rid, s.version, s.deleted) for s in rows] == [("p2", 2, True), ("p1", 2, False)]
        rows2, total2, _ = session.history("Patient", None, None, None, 2, 2, snapshot,
                                           system_access())
        assert total2 == 4 and [(s.rid, s.version) for s in rows2] == [("p2", 1), ("p1", 1)]


def test_instance_history_and_since_before(store: Store) -> None:
    store.write(patient("p1", "A"))  # at T0 + 1
    store.write(patient("p2", "B"))  # + 2
    store.write(patient("p1", "C"))  # + 3
    store.write(patient("p1", "D"))  # + 4
    with store.repo.read_session() as session:
        rows, total, _ = session.history("Patient", "p1", None, None, 10, 0, None,
                                         system_access())
        assert total == 3 and [s.version for s in rows] == [3, 2, 1]
        rows, total, _ = session.history(None, None, T0 + 2, T0 + 4, 10, 0, None,
                                         system_access())
        assert total == 2 and [(s.rid, s.version) for s in rows] == [("p1", 2), ("p2", 1)]


def test_history_snapshot_hides_later_writes(store: Store) -> None:
    store.write(patient("p1", "A"))
    with store.repo.read_session() as session:
        _, total, snapshot = session.history(None, None, None, None, 10, 0, None,
                                             system_access())
    store.write(patient("p2", "B"))
    with store.repo.read_session() as session:
        rows, again, _ = session.history(None, None, None, None, 10, 0, snapshot,
                                         system_access())
        assert total == again == 1 and [s.rid for s in rows] == ["p1"]


# --- transactions --------------------------------------------------------------------------


def test_a_failed_write_session_changes_nothing(store: Store) -> None:
    store.write(patient("p1", "Durand"))
    with pytest.raises(RuntimeError, match="boom"), store.repo.write_session() as session:
        store.put(session, patient("p1", "Martin"))
        store.put(session, patient("p2", "Petit"))
        assert session.get("Patient", "p2") is not None  # (seen inside the transaction)
        raise RuntimeError("boom")
    with store.repo.read_session() as session:
        current = session.get("Patient", "p1")
        assert current is not None and current.version == 1
        assert session.get("Patient", "p2") is None
        _, total, _ = session.history(None, None, None, None, 10, 0, None, system_access())
        assert total == 1
    assert store.ids("Patient", ("family", "Martin")) == []
    assert store.ids("Patient") == ["p1"]


def test_a_read_session_sees_its_start(store: Store) -> None:
    store.write(patient("p1", "A"))
    with store.repo.read_session() as session:
        assert session.get("Patient", "p1") is not None
    with store.repo.write_session() as writer:
        store.put(writer, patient("p2", "B"))
        assert writer.get("Patient", "p2") is not None
    assert store.ids("Patient") == ["p1", "p2"]


# --- search per parameter type -------------------------------------------------------------


@pytest.fixture
def people(store: Store) -> Store:
    return write_people(store)


def write_people(store: Store) -> Store:
    store.write(
        patient("p1", "Durand", "1980-05-17", gender="female",
                identifier=[{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "180"}]),
        patient("p2", "Dupont", "1975-01-02", gender="male",
                identifier=[{"system": "urn:other", "value": "180"}]),
        patient("p3", "Élodie Martin", "1990-12-31", gender="female"),
        observation("o1", "29463-7", "Patient/p1", 70.0, "2025-03-01"),
        observation("o2", "29463-7", "Patient/p2", 82.5, "2025-04-15"),
        observation("o3", "8302-2", "Patient/p1", 170, "2024-12-31", unit="cm"),
        observation("o4", "8302-2", f"{BASE}/Patient/p3", 180, "2025-03-02", unit="cm"),
        {"resourceType": "Questionnaire", "id": "q1", "status": "active",
         "url": "http://cm.test/Questionnaire/intake"},
        {"resourceType": "Questionnaire", "id": "q2", "status": "active",
         "url": "http://cm.test/Questionnaire/intake/v2"},
        {"resourceType": "RiskAssessment", "id": "r1", "status": "final",
         "subject": {"reference": "Patient/p1"}, "prediction": [{"probabilityDecimal": 0.25}]},
        {"resourceType": "RiskAssessment", "id": "r2", "status": "final",
         "subject": {"reference": "Patient/p2"}, "prediction": [{"probabilityDecimal": 0.8}]},
    )
    return store


def test_search_token(people: Store) -> None:
    assert people.ids("Patient", ("gender", "female")) == ["p1", "p3"]
    assert people.ids("Patient", ("identifier", "urn:oid:1.2.250.1.213.1.4.8|180")) == ["p1"]
    assert people.ids("Patient", ("identifier", "180")) == ["p1", "p2"]
    assert people.ids("Observation", ("code", "http://loinc.org|8302-2")) == ["o3", "o4"]
    assert people.ids("Observation", ("code", "http://other|8302-2")) == []
    assert people.ids("Observation", ("code", "|8302-2")) == []  # (it has a system)
    assert people.ids("Observation", ("code", "29463-7,8302-2")) == ["o1", "o2", "o3", "o4"]


def test_search_token_modifiers(people: Store) -> None:
    assert people.ids("Patient", ("gender:not", "female")) == ["p2"]
    assert people.ids("Observation", ("code:text", "code 83")) == ["o3", "o4"]
    assert people.ids("Patient", ("gender:missing", "true")) == []
    assert people.ids("Patient", ("identifier:missing", "true")) == ["p3"]


def test_search_string_prefix_contains_exact(people: Store) -> None:
    assert people.ids("Patient", ("family", "dur")) == ["p1"]
    assert people.ids("Patient", ("family", "du")) == ["p1", "p2"]
    assert people.ids("Patient", ("family", "elodie")) == ["p3"]  # (accents, case)
    assert people.ids("Patient", ("family:contains", "mart")) == ["p3"]
    assert people.ids("Patient", ("family:exact", "Durand")) == ["p1"]
    assert people.ids("Patient", ("family:exact", "durand")) == []


def test_search_reference(people: Store) -> None:
    assert people.ids("Observation", ("subject", "Patient/p1")) == ["o1", "o3"]
    assert people.ids("Observation", ("subject", "p3")) == ["o4"]  # (our own base removed)
    assert people.ids("Observation", ("patient", f"{BASE}/Patient/p2")) == ["o2"]
    assert people.ids("Observation", ("subject:Patient", "p1")) == ["o1", "o3"]
    assert people.ids("Observation", ("subject:Group", "Patient/p1")) == []


def test_search_date_prefixes(people: Store) -> None:
    assert people.ids("Patient", ("birthdate", "1980")) == ["p1"]
    assert people.ids("Patient", ("birthdate", "1980-05")) == ["p1"]
    assert people.ids("Patient", ("birthdate", "gt1980-05-17")) == ["p3"]
    assert people.ids("Patient", ("birthdate", "ge1980-05-17")) == ["p1", "p3"]
    assert people.ids("Patient", ("birthdate", "lt1980")) == ["p2"]
    assert people.ids("Patient", ("birthdate", "ne1980")) == ["p2", "p3"]
    assert people.ids("Patient", ("birthdate", "sa1980-05-17")) == ["p3"]
    assert people.ids("Patient", ("birthdate", "eb1980-05-17")) == ["p2"]
    assert people.ids("Observation", ("date", "ge2025-03-01"), ("date", "lt2025-04")) == [
        "o1", "o4"]


def test_search_number_and_quantity(people: Store) -> None:
    assert people.ids("RiskAssessment", ("probability", "0.25")) == ["r1"]
    assert people.ids("RiskAssessment", ("probability", "gt0.5")) == ["r2"]
    assert people.ids("RiskAssessment", ("probability", "le0.25")) == ["r1"]
    assert people.ids("Observation", ("value-quantity", "70")) == ["o1"]
    assert people.ids("Observation", ("value-quantity", "ge80")) == ["o2", "o3", "o4"]
    assert people.ids("Observation", ("value-quantity", "lt100|http://unitsofmeasure.org|kg")) \
        == ["o1", "o2"]
    assert people.ids("Observation", ("value-quantity", "180||cm")) == ["o4"]
    assert people.ids("Observation", ("value-quantity", "ap72")) == ["o1"]


def test_search_uri_below_above(people: Store) -> None:
    assert people.ids("Questionnaire", ("url", "http://cm.test/Questionnaire/intake")) == ["q1"]
    assert people.ids("Questionnaire", ("url:below", "http://cm.test/Questionnaire")) == [
        "q1", "q2"]
    # R4 search.html#uri: .../intake (a prefix ending a path segment) is above .../intake/v2
    assert people.ids("Questionnaire", ("url:above", "http://cm.test/Questionnaire/intake/v2")
                      ) == ["q1", "q2"]


def test_search_id_and_last_updated(people: Store) -> None:
    assert people.ids("Patient", ("_id", "p2,p3,nobody")) == ["p2", "p3"]
    # the first resource was written at T0 + 1 s (2026-01-01T00:00:01Z), one per second
    assert people.ids("Patient", ("_lastUpdated", "le2026-01-01T00:00:02Z")) == ["p1", "p2"]
    assert people.ids("Patient", ("_lastUpdated", "gt2026-01-01T00:00:02Z")) == ["p3"]
    assert people.ids(None, ("_lastUpdated", "2026-01-01T00:00:04Z")) == ["o1"]


def test_search_combines_filters_with_and(people: Store) -> None:
    assert people.ids("Observation", ("code", "8302-2"), ("subject", "Patient/p1")) == ["o3"]
    assert people.ids("Observation", ("code", "8302-2"), ("subject", "Patient/p2")) == []


def test_search_chains_and_has(people: Store) -> None:
    assert people.ids("Observation", ("subject:Patient.family", "Du")) == ["o1", "o2", "o3"]
    assert people.ids("Observation", ("patient.birthdate", "gt1985")) == ["o4"]
    assert people.ids("Observation", ("subject:Patient.gender", "male"),
                      ("code", "29463-7")) == ["o2"]
    assert people.ids("Patient", ("_has:Observation:subject:code", "8302-2")) == ["p1", "p3"]
    assert people.ids("Patient", ("_has:RiskAssessment:subject:probability", "gt0.5")) == ["p2"]
    assert people.ids("Patient", ("_has:Observation:patient:code", "nothing")) == []


# --- count, total, paging and sort ---------------------------------------------------------


def test_count_and_total(people: Store) -> None:
    with people.repo.read_session() as session:
        assert session.count(people.query("Observation"), system_access()) == 4
        assert session.count(people.query("Observation", ("code", "8302-2")),
                             system_access()) == 2
        page = session.search(people.query("Observation", ("_count", "0")), system_access())
        assert page.rows == [] and page.total == 4
        page = session.search(people.query("Observation", ("_count", "3"),
                                           ("_total", "accurate")), system_access())
        assert page.total == 4 and page.has_more and len(page.rows) == 3
        page = session.search(people.query("Observation", ("_count", "3")), system_access())
        assert page.total is None  # (counted only when asked)


def test_paging_by_cursor_keeps_its_snapshot(people: Store) -> None:
    query = people.query("Observation", ("_count", "2"))
    with people.repo.read_session() as session:
        first = session.search(query, system_access())
    assert [s.rid for s in first.rows] == ["o1", "o2"] and first.has_more and first.snapshot
    people.write(observation("o5", "29463-7", "Patient/p1", 60.0))  # after the first page
    query.cursor, query.snapshot = first.pks[-1], first.snapshot
    with people.repo.read_session() as session:
        second = session.search(query, system_access())
    assert [s.rid for s in second.rows] == ["o3", "o4"] and not second.has_more
    assert people.ids("Observation", ("_count", "2")) == ["o1", "o2", "o3", "o4", "o5"]


def test_sort_by_id_last_updated_and_a_parameter(people: Store) -> None:
    assert people.ids("Patient", ("_sort", "-_id")) == ["p3", "p2", "p1"]
    assert people.ids("Patient", ("_sort", "-_lastUpdated")) == ["p3", "p2", "p1"]
    assert people.ids("Patient", ("_sort", "birthdate")) == ["p2", "p1", "p3"]
    assert people.ids("Patient", ("_sort", "family")) == ["p2", "p1", "p3"]
    assert people.ids("Observation", ("_sort", "-value-quantity"), ("_count", "3")) == [
        "o4", "o3", "o2", "o1"]
    # a resource without the value comes last whichever the direction, then by key
    people.write({"resourceType": "Patient", "id": "p4", "name": [{"family": "Zola"}]})
    assert people.ids("Patient", ("_sort", "birthdate")) == ["p2", "p1", "p3", "p4"]
    assert people.ids("Patient", ("_sort", "-birthdate")) == ["p3", "p1", "p2", "p4"]
    assert people.ids("Observation", ("_sort", "code,-date")) == ["o2", "o1", "o4", "o3"]


# --- look-ups, references ------------------------------------------------------------------


def test_lookup_and_existing(people: Store) -> None:
    keys = [("Patient", "p2"), ("Patient", "p1"), ("Patient", "nobody"), ("Observation", "o4")]
    with people.repo.read_session() as session:
        assert [(s.rtype, s.rid) for s in session.lookup(keys, system_access())] == [
            ("Patient", "p1"), ("Patient", "p2"), ("Observation", "o4")]
        assert session.existing(keys, system_access()) == {
            ("Patient", "p1"), ("Patient", "p2"), ("Observation", "o4")}


def test_referencing_includes_and_revincludes(people: Store) -> None:
    with people.repo.read_session() as session:
        assert sorted(session.referencing("Patient", "p1")) == [
            ("Observation", "o1"), ("Observation", "o3"), ("RiskAssessment", "r1")]
        assert session.referencing("Patient", "nobody") == []
        o1, o3 = session.lookup([("Observation", "o1"), ("Observation", "o3")], system_access())
        assert session.include_targets([o1.pk, o3.pk], "subject", "Observation", None) == [
            ("Patient", "p1")]
        assert session.include_targets([o1.pk], "subject", "Observation", "Group") == []
        sources = session.revinclude_sources([("Patient", "p1"), ("Patient", "p3")],
                                             "Observation", "subject")
        assert sorted(s.rid for s in session.fetch(sources)) == ["o1", "o3", "o4"]
        assert [s.rid for s in session.referencing_sources("RiskAssessment", "Patient", "p2")
                ] == ["r2"]
    people.delete("Observation", "o1")
    with people.repo.read_session() as session:
        assert sorted(session.referencing("Patient", "p1")) == [
            ("Observation", "o3"), ("RiskAssessment", "r1")]


def test_owner_rows(store: Store) -> None:
    [org, role] = store.write(
        {"resourceType": "Organization", "id": "org1", "name": "CMP"},
        {"resourceType": "PractitionerRole", "id": "role1",
         "organization": {"reference": "Organization/org1"}})
    with store.repo.write_session() as session:
        assert session.owner_row(org.pk) == (False, None)
        assert session.organization_owner("org1") == "org1"
        assert session.role_organization("role1") == "org1"
        assert session.role_owner("role1") == "org1"
        session.set_owner(org.pk, "parent")
        session.set_owner(role.pk, None)
    with store.repo.read_session() as session:
        assert session.owner_row(org.pk) == (True, "parent")
        assert session.organization_owner("org1") == "parent"
        assert session.role_owner("role1") is None  # (its row says: nobody)


# --- access ---------------------------------------------------------------------------------


def _caller(org: str | None, operator: bool = False) -> AccessFilter:
    who = Principal(client_id=f"client-{org}", structure=org,
                    scopes=Scopes.parse("system/*.cruds"), operator=operator)
    return AccessFilter(who, T0 + 10_000)


@pytest.fixture
def accompanied(store: Store) -> Store:
    """org1 accompanies p1 (a care team), org2 p2 (an episode); o12 belongs to both."""
    store.write(
        {"resourceType": "Organization", "id": "org1", "name": "One"},
        {"resourceType": "Organization", "id": "org2", "name": "Two"},
        patient("p1", "Durand"), patient("p2", "Dupont"), patient("p3", "Nobody"),
        {"resourceType": "CareTeam", "id": "t1", "status": "active",
         "subject": {"reference": "Patient/p1"},
         "participant": [{"member": {"reference": "Organization/org1"}}]},
        {"resourceType": "EpisodeOfCare", "id": "e2", "status": "active",
         "patient": {"reference": "Patient/p2"},
         "managingOrganization": {"reference": "Organization/org2"}},
        observation("o1", "29463-7", "Patient/p1", 70.0),
        observation("o2", "29463-7", "Patient/p2", 80.0),
        observation("o12", "29463-7", "Patient/p1", 75.0,
                    performer=[{"reference": "Patient/p2"}]),
        observation("o0", "29463-7", None, 1.0),
    )
    return store


def test_access_filtered_search_count_and_lookup(accompanied: Store) -> None:
    one, two, none = _caller("org1"), _caller("org2"), _caller(None)
    assert accompanied.ids("Observation", access=one) == ["o1", "o0"]
    assert accompanied.ids("Observation", access=two) == ["o2", "o0"]
    assert accompanied.ids("Observation", access=none) == ["o0"]
    assert accompanied.ids("Patient", access=one) == ["p1"]
    assert accompanied.ids("Organization", access=none) == ["org1", "org2"]
    with accompanied.repo.read_session() as session:
        assert session.count(accompanied.query("Observation"), one) == 2
        keys = [("Patient", "p1"), ("Patient", "p2"), ("Observation", "o12")]
        assert [s.rid for s in session.lookup(keys, one)] == ["p1"]
        # what org1 may reference: what it sees, and p3 whom nobody accompanies yet
        assert session.existing([*keys, ("Patient", "p3")], one) == {("Patient", "p1"),
                                                                     ("Patient", "p3")}
        assert session.has_grant("org1", "p1", T0 + 10_000)
        assert not session.has_grant("org1", "p2", T0 + 10_000)
        assert session.patient_has_grants("p2") and not session.patient_has_grants("p3")
        assert session.episode_managers({"p1", "p2"}) == {"org2"}
        assert session.current_patients(
            session.lookup([("Observation", "o12")], system_access())[0].pk) == {"p1", "p2"}


def test_a_chain_or_has_through_a_hidden_person_matches_nothing(accompanied: Store) -> None:
    one = _caller("org1")
    assert accompanied.ids("Observation", ("subject:Patient.family", "Durand"), access=one) == [
        "o1"]
    assert accompanied.ids("Observation", ("subject:Patient.family", "Dupont"), access=one) == []
    assert accompanied.ids("Patient", ("_has:Observation:subject:code", "29463-7"),
                           access=one) == ["p1"]
    assert accompanied.ids("Organization", ("_has:CareTeam:participant:status", "active"),
                           access=_caller("org2")) == []
    assert accompanied.ids("Organization", ("_has:CareTeam:participant:status", "active"),
                           access=one) == ["org1"]


def test_access_on_reads_by_id_history_and_versions(accompanied: Store) -> None:
    one = _caller("org1")
    assert one.raw is not None
    stored, visible = accompanied.repo.read_visible("Observation", "o1", one.raw)
    assert stored is not None and visible and stored.patients == ("p1",)
    stored, visible = accompanied.repo.read_visible("Observation", "o12", one.raw)
    assert stored is not None and not visible and stored.patients == ("p1", "p2")
    assert accompanied.repo.version_visible(stored.pk, 1, "Observation", one.raw) == (
        False, ("p1", "p2"))
    accompanied.delete("Observation", "o1")
    with accompanied.repo.read_session() as session:
        gone = session.get("Observation", "o1")
        assert gone is not None
        # a deletion keeps the people of its last version
        assert accompanied.repo.version_visible(gone.pk, 2, "Observation", one.raw) == (
            True, ("p1",))
        rows, total, _ = session.history("Observation", None, None, None, 10, 0, None, one)
        assert total == 3 and [(s.rid, s.version) for s in rows] == [
            ("o1", 2), ("o0", 1), ("o1", 1)]


def test_append_many_writes_first_versions_with_their_people(store: Store) -> None:
    events = []
    for n, who in enumerate(("p1", "p2")):
        event = {"resourceType": "AuditEvent", "id": f"a{n}", "recorded": "2026-01-01T00:00:00Z",
                 "type": {"code": "rest"}, "agent": [{"requestor": True}],
                 "source": {"observer": {"display": "cm"}},
                 "entity": [{"what": {"reference": f"Patient/{who}"}}]}
        prepared = prepare(store.ctx, event, f"a{n}", 1, T0 + n, BASE)
        events.append(("AuditEvent", f"a{n}", T0 + n, prepared.content, prepared.rows, [who]))
    with store.repo.write_session() as session:
        session.append_many(events)
    with store.repo.read_session() as session:
        a1 = session.get("AuditEvent", "a1")
        assert a1 is not None and a1.version == 1 and session.current_patients(a1.pk) == {"p2"}
        rows, total, _ = session.history("AuditEvent", None, None, None, 10, 0, None,
                                         system_access())
        assert total == 2 and [(s.rid, s.method) for s in rows] == [("a1", "POST"),
                                                                   ("a0", "POST")]
    assert store.ids("AuditEvent", ("entity", "Patient/p1")) == ["a0"]


def test_the_door_over_either_store(accompanied: Store) -> None:
    """The caller-bound door (security/door.py) answers alike over both stores."""
    from fhir_service.security.door import Door

    one, two = Door(accompanied.repo, _caller("org1")), Door(accompanied.repo, _caller("org2"))
    stored, people = one.read("Observation", "o12")
    assert stored is None and people == ("p1", "p2")  # (hidden: its people, for the audit)
    assert one.read("Observation", "nobody") == (None, ())
    with one.read_session() as session:
        assert [s.rid for s in session.search(accompanied.query("Observation")).rows] == [
            "o1", "o0"]
        assert session.hidden("Observation", "o12") and not session.hidden("Observation", "o1")
        assert session.get_visible("Patient", "p2") is None
        assert [s.rid for s in session.revinclude_sources([("Patient", "p1")], "Observation",
                                                          "subject")] == ["o1"]
        pks = [s.pk for s in session.match_everyone(accompanied.query("Observation"))[0]]
        assert [s.rid for s in session.include_targets(pks, "subject", "Observation", None)
                ] == ["p1"]
    accompanied.delete("Observation", "o1")
    gone, _ = one.read("Observation", "o1")
    assert gone is not None and gone.deleted  # (410 for who saw its people)
    assert two.read("Observation", "o1") == (None, ("p1",))  # (404 for the others)


def test_audit_events_only_for_operators(store: Store) -> None:
    store.write({"resourceType": "AuditEvent", "id": "a1", "recorded": "2026-01-01T00:00:00Z",
                 "type": {"code": "rest"}, "agent": [{"requestor": True}],
                 "source": {"observer": {"display": "cm"}}})
    assert store.ids("AuditEvent", access=_caller("org1")) == []
    assert store.ids("AuditEvent", access=_caller("org1", operator=True)) == ["a1"]
    assert store.repo.read_visible("AuditEvent", "a1", ("org1", T0, False))[1] is False
    assert store.repo.read_visible("AuditEvent", "a1", ("org1", T0, True))[1] is True


# --- composites, and the two stores side by side -------------------------------------------


def test_search_composites(store: Store) -> None:
    store.write(
        patient("pat", "Durand"),
        observation("w", "29463-7", "Patient/pat", 70.0),
        {"resourceType": "Observation", "id": "panel", "status": "final",
         "code": {"coding": [{"code": "panel"}]}, "component": [
             {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
              "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org",
                                "code": "mm[Hg]"}},
             {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
              "valueQuantity": {"value": 80, "system": "http://unitsofmeasure.org",
                                "code": "mm[Hg]"}}]},
        {"resourceType": "Observation", "id": "s", "status": "final",
         "code": {"coding": [{"code": "8251-1"}]}, "valueString": "Cost $5, paid by ÉMILE"},
        {"resourceType": "Questionnaire", "id": "adults", "status": "active", "useContext": [
            {"code": {"code": "age"}, "valueRange": {"low": {"value": 18}, "high": {"value": 65}}}]},
        {"resourceType": "Questionnaire", "id": "ten", "status": "active", "useContext": [
            {"code": {"code": "age"}, "valueQuantity": {"value": 10}}]},
    )
    o = "Observation"
    assert store.ids(o, ("code-value-quantity", "http://loinc.org|29463-7$70")) == ["w"]
    assert store.ids(o, ("code-value-quantity", "29463-7$gt70")) == []
    assert store.ids(o, ("component-code-value-quantity", "8480-6$ge100")) == ["panel"]
    assert store.ids(o, ("component-code-value-quantity", "8462-4$ge100")) == []  # (one element)
    assert store.ids(o, ("code-value-string", "8251-1$cost \\$5")) == ["s"]
    assert store.ids(o, ("code-value-string", "8251-1$paid")) == []
    assert store.ids("Patient", ("_has:Observation:subject:code-value-quantity",
                                 "29463-7$70")) == ["pat"]
    q = "Questionnaire"
    assert store.ids(q, ("context-type-quantity", "age$10")) == ["ten"]
    assert store.ids(q, ("context-type-quantity", "age$gt50")) == ["adults"]
    assert store.ids(q, ("context-type-quantity", "age$ap40")) == ["adults"]
    with pytest.raises(FhirError) as info:
        store.ids(o, ("_sort", "code-value-quantity"))
    assert info.value.status == 400


DIFFERENTIAL = [
    ("Observation", [("value-quantity", "ne70")]),
    ("Observation", [("date", "ap2025-03-01")]),
    ("Observation", [("_sort", "-date,_id"), ("_count", "2")]),
    ("Observation", [("subject:missing", "false"), ("_sort", "subject")]),
    ("Patient", [("birthdate", "le1980-05-17"), ("_sort", "-family")]),
    ("Patient", [("identifier", "|180")]),
    ("Patient", [("name", "e")]),
    ("Patient", [("_has:Observation:subject:value-quantity", "ge100"), ("_sort", "birthdate")]),
    ("Observation", [("subject:Patient.birthdate", "le1980"), ("_sort", "-_lastUpdated")]),
    ("RiskAssessment", [("probability", "ap0.8")]),
    ("Questionnaire", [("url:above", "http://cm.test/Questionnaire/intake/v2/x")]),
    ("Questionnaire", [("url:below", "http://cm.test/Questionnaire/intake/")]),
    (None, [("_id", "p1,o1,q2"), ("_sort", "_lastUpdated")]),
]


def test_both_stores_answer_alike(base_context: FhirContext, tmp_path: Path) -> None:
    stores = [Store(SqlRepository(f"sqlite:///{tmp_path / 'side.db'}", (BASE,)), base_context),
              Store(MemoryRepository((BASE,)), base_context)]
    try:
        answers = []
        for store in stores:
            write_people(store)
            answers.append([store.ids(rtype, *items) for rtype, items in DIFFERENTIAL])
        assert answers[0] == answers[1]
        assert all(answers[0][:2]) and answers[0][-1] == ["p1", "o1", "q2"]
    finally:
        for store in stores:
            store.repo.close()
