"""What a person's record, an episode's record and a bulk export are, as the caller sees them.

Every function takes a session of the caller's door (``ctx.door(principal).read_session()``,
security/door.py) and every query it runs on the resources table carries the caller's access
rule (``session.access.condition``) in its ``WHERE`` clause, like the door's own searches: a
resource the caller may not see is never selected, counted or returned. The only reads
without the rule are of the link tables (``refs``: who references whom; ``res_patient``:
whose data a resource is), whose answers are keys that are then looked up under the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, false, func, select

from fhir_service.security.door import CallerSession
from fhir_service.store.repository import Stored
from fhir_service.store.schema import refs, res_patient, resources
from fhir_service.store.sqlaccess import by_type

CHUNK = 500
# references followed from a person's data to the directory (a PractitionerRole, then its
# Practitioner and Organization)
DIRECTORY_HOPS = 2


@dataclass(frozen=True)
class Row:
    """A visible current resource, without its content."""

    pk: int
    rtype: str
    rid: str
    updated: float


_META = (resources.c.pk, resources.c.rtype, resources.c.rid, resources.c.updated)
_FULL = (resources.c.pk, resources.c.rtype, resources.c.rid, resources.c.version,
         resources.c.updated, resources.c.deleted, resources.c.content)


def _visible(session: CallerSession, *conds: Any) -> list[Any]:
    out = [resources.c.deleted == false(), *conds]
    rule = session.access.condition(resources)
    if rule is not None:
        out.append(rule)
    return out


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _rows(session: CallerSession, *conds: Any) -> list[Row]:
    result = session.sql.conn.execute(select(*_META).where(and_(*_visible(session, *conds))))
    return [Row(r[0], r[1], r[2], r[3]) for r in result]


def compartment(session: CallerSession, people: list[str]) -> list[Row]:
    """The visible resources that are data of these people (the Patients themselves, their
    Patient compartment, the other resources that reference them, the Provenance of their
    data: ``res_patient``, as the access policy derives it at write time)."""
    out: list[Row] = []
    for part in _chunks(sorted(set(people))):
        out.extend(_rows(session, exists(select(1).where(
            res_patient.c.res_pk == resources.c.pk, res_patient.c.patient_id.in_(part)))))
    return out


def rows_of_keys(session: CallerSession, keys: Iterable[tuple[str, str]]) -> list[Row]:
    keys = sorted(set(keys))
    out: list[Row] = []
    for part in _chunks(keys):
        out.extend(_rows(session, by_type(resources.c.rtype, resources.c.rid, part)))
    return out


def rows_of_pks(session: CallerSession, pks: Iterable[int]) -> list[Row]:
    pks = sorted(set(pks))
    out: list[Row] = []
    for part in _chunks(pks):
        out.extend(_rows(session, resources.c.pk.in_(part)))
    return out


def referenced(session: CallerSession, pks: Iterable[int]) -> set[tuple[str, str]]:
    """(type, id) of every literal reference of the resources ``pks`` (to be looked up under
    the rule)."""
    out: set[tuple[str, str]] = set()
    for part in _chunks(sorted(set(pks))):
        result = session.sql.conn.execute(
            select(refs.c.target_type, refs.c.target_id).where(refs.c.res_pk.in_(part)))
        out.update((r[0], r[1]) for r in result)
    return out


def referencing(session: CallerSession, keys: Iterable[tuple[str, str]]) -> set[int]:
    """Keys of the resources that reference ``keys`` (to be looked up under the rule)."""
    out: set[int] = set()
    for part in _chunks(sorted(set(keys))):
        result = session.sql.conn.execute(
            select(refs.c.res_pk).where(by_type(refs.c.target_type, refs.c.target_id, part)))
        out.update(r[0] for r in result)
    return out


def people_of(session: CallerSession, pks: Iterable[int]) -> dict[int, set[str]]:
    return {pk: set(p) for pk, p in session.patients_by_pk(sorted(set(pks))).items()}


def directory_of(session: CallerSession, seeds: Iterable[int]) -> list[Row]:
    """The visible resources that are nobody's data (Practitioner, PractitionerRole,
    Organization, Location…) reached from ``seeds`` by references, within
    ``DIRECTORY_HOPS``."""
    found: dict[int, Row] = {}
    frontier = set(seeds)
    for _ in range(DIRECTORY_HOPS):
        rows = [r for r in rows_of_keys(session, referenced(session, frontier))
                if r.pk not in found]
        people = people_of(session, [r.pk for r in rows])
        fresh = [r for r in rows if not people.get(r.pk)]
        if not fresh:
            break
        found.update((r.pk, r) for r in fresh)
        frontier = {r.pk for r in fresh}
    return list(found.values())


def fetch(session: CallerSession, pks: list[int]) -> list[Stored]:
    """The current versions of ``pks`` that the caller may see, in the order given."""
    by_pk: dict[int, Stored] = {}
    for part in _chunks(pks):
        result = session.sql.conn.execute(
            select(*_FULL).where(and_(*_visible(session, resources.c.pk.in_(part)))))
        for r in result:
            by_pk[r[0]] = Stored(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6])
    return [by_pk[pk] for pk in pks if pk in by_pk]


def max_pk(session: CallerSession) -> int:
    return session.raw.max_pk()


def max_updated(session: CallerSession) -> float:
    """The latest change stored (whoever may see it: an instant only)."""
    value = session.sql.conn.execute(select(func.max(resources.c.updated))).scalar()
    return float(value or 0.0)


def present_types(session: CallerSession) -> set[str]:
    """The types that have at least one current resource (whoever may see it: types only)."""
    result = session.sql.conn.execute(
        select(resources.c.rtype).where(resources.c.deleted == false()).distinct())
    return {r[0] for r in result}


def export_page(session: CallerSession, rtype: str, after: int, limit: int, snapshot: int,
                until: float, since: float | None, people: list[str] | None,
                persons_only: bool) -> list[Stored]:
    """One page (by key, after ``after``) of a type's visible resources for a bulk export,
    each with its people (``Stored.patients``): created at the latest with key ``snapshot``
    and last changed at ``until`` at the latest (the export's transaction time), changed
    after ``since`` if given; with ``persons_only``, only the data of a person (of
    ``people`` when given)."""
    conds = [resources.c.rtype == rtype, resources.c.pk > after, resources.c.pk <= snapshot,
             resources.c.updated <= until]
    if since is not None:
        conds.append(resources.c.updated > since)
    if persons_only:
        link = [res_patient.c.res_pk == resources.c.pk]
        if people is not None:
            link.append(res_patient.c.patient_id.in_(people))
        conds.append(exists(select(1).where(*link)))
    # the people of each resource (for the audit of downloads), in the same statement: a
    # correlated aggregate costs next to nothing, a second query per page doubled the time
    joined = (func.string_agg if session.sql.postgres else func.group_concat)(
        res_patient.c.patient_id, " ")
    whose = select(joined).where(res_patient.c.res_pk == resources.c.pk).scalar_subquery()
    result = session.sql.conn.execute(
        select(*_FULL, whose).where(and_(*_visible(session, *conds)))
        .order_by(resources.c.pk.asc()).limit(limit))
    return [Stored(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6],
                   patients=tuple(r[7].split(" ")) if r[7] else ()) for r in result]
