"""The door to storage, bound to the caller (after Medplum's ``getRepoForLogin``).

Every interaction, operation, bundle entry, case-file import or export and audit reader
reaches the store through a :class:`Door` made per request from the authenticated
principal (``ctx.door(principal)``). The door carries the caller's access rule
(``security.policy.AccessFilter``) into every query it runs: reads by id, versions,
searches with their chains, ``_has`` and includes, counts, history, the existence checks of
references and the look-ups of conditional writes. Nothing below it has an "access=None"
default: the unrestricted rule exists only for the server's own tasks, through
:func:`system_door`, and is named so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from fhir_service.search.query import SearchQuery
from fhir_service.security.policy import (
    AccessFilter,
    AccessPolicy,
    Unrestricted,
    check_search_scopes,
)
from fhir_service.security.principal import Principal
from fhir_service.store.repository import Repository, SearchPage, Session, Stored
from fhir_service.store.sqlstore import SqlSession


class CallerSession:
    """A database session seen through the caller's access rule. Write primitives (which
    the write rules in ``interactions/write.py`` guard) pass through unchanged."""

    def __init__(self, session: Session, access: AccessFilter) -> None:
        self.raw = session
        self.access = access

    @property
    def sql(self) -> SqlSession:
        """The SQL session under this one, for what is written in SQL (the probing audit, bulk
        export, indicators, the subscriptions' outbox): a clear error on another store."""
        if not isinstance(self.raw, SqlSession):
            raise RuntimeError(f"this needs the SQL store, not {type(self.raw).__name__}")
        return self.raw

    # --- what the write rules need, named: locks, the write primitives, access and owner
    # rows (security/policy.py and interactions/write.py guard every use) -----------------

    def lock(self, rtype: str, rid: str) -> None:
        self.raw.lock(rtype, rid)

    def lock_type(self, rtype: str) -> None:
        self.raw.lock_type(rtype)

    def write(self, *args: Any, **kwargs: Any) -> Stored:
        return self.raw.write(*args, **kwargs)

    def delete(self, pk: int, rtype: str, rid: str, version: int, updated: float) -> None:
        self.raw.delete(pk, rtype, rid, version, updated)

    def set_owner(self, pk: int, org: str | None) -> None:
        self.raw.set_owner(pk, org)

    def set_access_rows(self, pk: int, patients: list[str], grants: list[Any]) -> None:
        self.raw.set_access_rows(pk, patients, grants)

    def replace_grants(self, pk: int, grants: list[Any]) -> None:
        self.raw.replace_grants(pk, grants)

    def owner_row(self, pk: int) -> tuple[bool, str | None]:
        return self.raw.owner_row(pk)

    def organization_owner(self, org_id: str) -> str:
        return self.raw.organization_owner(org_id)

    def role_organization(self, role_id: str) -> str | None:
        return self.raw.role_organization(role_id)

    def role_owner(self, role_id: str) -> str | None:
        return self.raw.role_owner(role_id)

    def current_patients(self, pk: int) -> set[str]:
        return self.raw.current_patients(pk)

    def patients_by_pk(self, pks: list[int]) -> dict[int, list[str]]:
        return self.raw.patients_by_pk(pks)

    def patients_of_keys(self, keys: list[tuple[str, str]]) -> set[str]:
        return self.raw.patients_of_keys(keys)

    def patients_of_versions(self, keys: list[tuple[str, str, int | None]]) -> set[str]:
        return self.raw.patients_of_versions(keys)

    def has_grant(self, org: str, patient: str, now: float) -> bool:
        return self.raw.has_grant(org, patient, now)

    def patient_has_grants(self, patient: str) -> bool:
        return self.raw.patient_has_grants(patient)

    def episode_managers(self, patients: set[str]) -> set[str]:
        return self.raw.episode_managers(patients)

    def referencing(self, rtype: str, rid: str, limit: int = 5) -> list[tuple[str, str]]:
        """Who references ``rtype/rid``, seen or not: for referential integrity only, whose
        answer names the visible ones alone (``write.referenced_by``)."""
        return self.raw.referencing(rtype, rid, limit)

    def referencing_sources(self, source_type: str, target_type: str,
                            target_id: str) -> list[Stored]:
        """For recomputing the grants of teams when a role changes (a server task)."""
        return self.raw.referencing_sources(source_type, target_type, target_id)

    def get_any(self, rtype: str, rid: str) -> Stored | None:
        """The current version whoever may see it: only to tell whether an id is taken, or
        to check its visibility next (never returned to the caller as it is)."""
        return self.raw.get(rtype, rid)

    def version_any(self, rtype: str, rid: str, version: int) -> Stored | None:
        """A version from history whoever may see it (checked next by the door)."""
        return self.raw.get_version(rtype, rid, version)

    # --- reads, always under the caller's rule ----------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        check_search_scopes(self.access, query)
        return self.raw.search(query, self.access)

    def count(self, query: SearchQuery) -> int:
        check_search_scopes(self.access, query)
        return self.raw.count(query, self.access)

    def lookup(self, keys: list[tuple[str, str]]) -> list[Stored]:
        return self.raw.lookup(keys, self.access)

    def include_targets(self, pks: list[int], param: str | None, source_type: str,
                        target_type: str | None) -> list[Stored]:
        """What the (visible) resources ``pks`` reference, among what the caller may see."""
        return self.lookup(self.raw.include_targets(pks, param, source_type, target_type))

    def revinclude_sources(self, keys: list[tuple[str, str]], source_type: str,
                           param: str | None) -> list[Stored]:
        """The resources referencing ``keys`` that the caller may see."""
        pks = self.filter_visible(self.raw.revinclude_sources(keys, source_type, param))
        return [s for s in self.raw.fetch(pks) if not s.deleted]

    def filter_visible(self, pks: list[int]) -> list[int]:
        return self.raw.filter_visible(pks, self.access)

    def visible(self, pk: int) -> bool:
        return self.raw.visible(pk, self.access)

    def existing(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return self.raw.existing(keys, self.access)

    def history(self, rtype: str | None, rid: str | None, since: float | None,
                before: float | None, count: int, offset: int,
                snapshot: int | None = None) -> tuple[list[Stored], int, int]:
        return self.raw.history(rtype, rid, since, before, count, offset, snapshot,
                                self.access)

    def get_visible(self, rtype: str, rid: str) -> Stored | None:
        """The current version if the caller may see it, else None (a hidden resource and a
        missing one are the same answer). A deletion is returned as it is: it holds no data
        and no people (its index rows are gone), and an update may re-create it."""
        current = self.raw.get(rtype, rid)
        if current is None or current.deleted:
            return current
        return current if self.visible(current.pk) else None

    def match_everyone(self, query: SearchQuery) -> tuple[list[Stored], list[Stored]]:
        """Identity look-ups (exact identifiers, conditional writes): every match, seen or
        not, and those the caller may not see (a person it registered and nobody accompanies
        yet counts as its own). The write rules refuse on hidden ones without describing
        them; nothing hidden is ever returned to the caller."""
        everyone = self.raw.search(query, Unrestricted()).rows
        if self.access.unrestricted:
            return everyone, []
        mine = self.access.principal.structure
        return everyone, [s for s in everyone if not self.visible(s.pk)
                          and (mine is None or self.raw.owner_row(s.pk)[1] != mine)]

    PROBE_LIMIT = 20

    def probed_people(self, rtype: str | None, filters: list[Any]) -> set[str]:
        """The people a search's filters aim at, whether the caller may see them or not (at
        most ``PROBE_LIMIT`` per hop): for the audit record only, never answered. Each level
        counts: the searched type's matches, and what every chain or ``_has`` hop reaches."""
        from sqlalchemy import and_, select

        from fhir_service.store.schema import res_patient, resources

        named = _named_patients(filters)
        if named is not None:  # e.g. CarePlan?patient=X: the person is named, no query
            return named
        people: set[str] = set()
        levels: list[tuple[str | None, list[Any]]] = [(rtype, filters)]
        while levels:
            level_type, level_filters = levels.pop()
            for filt in level_filters:
                if filt.chain is not None and filt.chain_type is not None:
                    levels.append((filt.chain_type, [filt.chain]))
                levels.extend((alt.chain_type, [alt.chain]) for alt in filt.alternatives)
                if filt.has is not None:
                    levels.append((filt.has.source_type, [filt.has.inner]))
            if level_type is None:
                continue
            query = SearchQuery(level_type, filters=level_filters)
            conds = self.sql._conditions(query, Unrestricted())
            rows = self.sql.conn.execute(
                select(res_patient.c.patient_id)
                .select_from(resources.join(res_patient, res_patient.c.res_pk == resources.c.pk))
                .where(and_(*conds)).distinct().limit(self.PROBE_LIMIT))
            people.update(r[0] for r in rows)
        return people

    def hidden(self, rtype: str, rid: str) -> bool:
        """Whether ``rtype/rid`` exists but the caller may not see it."""
        current = self.raw.get(rtype, rid)
        return current is not None and not current.deleted and \
            not self.raw.visible(current.pk, self.access)


def _named_patients(filters: list[Any]) -> set[str] | None:
    """The people a search names outright when one of its filters is a reference to given
    Patients (``patient=X``, ``subject=Patient/X``) without modifier: the matches belong to
    them, so they are the people it aims at. None when no filter names them so."""
    from fhir_service.search.extract import parse_reference

    if any(f.chain is not None or f.has is not None or f.alternatives for f in filters):
        return None  # (a hop may aim at someone else)
    for filt in filters:
        param = filt.param
        if filt.chain is not None or filt.has is not None or param is None or \
                param.type != "reference" or filt.modifier not in (None, "Patient"):
            continue
        ids: set[str] = set()
        for value in filt.values:
            rtype, rid, _ = parse_reference(value)
            if rtype is None and "/" not in value and tuple(param.targets) == ("Patient",):
                rtype, rid = "Patient", value
            if rtype is None and "/" not in value and filt.modifier == "Patient":
                rtype, rid = "Patient", value
            if rtype != "Patient" or not rid:
                ids = set()
                break
            ids.add(rid)
        if ids:
            return ids
    return None


class Door:
    """The store as one caller sees it (see module docstring)."""

    def __init__(self, repository: Repository, access: AccessFilter) -> None:
        self.repository = repository
        self.access = access

    @property
    def principal(self) -> Principal:
        return self.access.principal

    def read(self, rtype: str, rid: str) -> tuple[Stored | None, tuple[str, ...]]:
        """Read by id (the raw-SQL hot path): (the current version or deletion if the caller
        may see it, else None; the people of a hidden resource, for the audit record)."""
        stored, visible = self.repository.read_visible(rtype, rid, self.access.raw)
        if stored is None:
            return None, ()
        if stored.deleted and self.access.raw is not None:
            # a deletion has no people left: it is shown (410) to those who could see the
            # people of its last version, to nobody else (404, as for a missing id)
            visible, people = self.repository.version_visible(
                stored.pk, stored.version, stored.rtype, self.access.raw)
            stored = replace(stored, patients=people)
        if not visible:
            return None, stored.patients or ()
        return stored, ()

    def visible_version(self, stored: Stored) -> tuple[Stored | None, tuple[str, ...]]:
        """A version read from history, with its people, if the caller may see it now (by
        the people of that version, not of the resource today)."""
        raw = self.access.raw
        if raw is None:
            return stored, ()
        visible, people = self.repository.version_visible(stored.pk, stored.version,
                                                          stored.rtype, raw)
        return (replace(stored, patients=people), ()) if visible else (None, people)

    @contextmanager
    def read_session(self) -> Iterator[CallerSession]:
        with self.repository.read_session() as session:
            yield CallerSession(session, self.access)

    @contextmanager
    def write_session(self) -> Iterator[CallerSession]:
        with self.repository.write_session() as session:
            yield CallerSession(session, self.access)


def for_caller(repository: Repository, policy: AccessPolicy | None,
               principal: Principal | None) -> Door:
    """The door of one request's caller (the unrestricted one only for the server itself:
    no principal, or the system principal)."""
    if policy is None:
        return system_door(repository)
    return Door(repository, policy.filter_for(principal))


def system_door(repository: Repository) -> Door:
    """The unrestricted door: the server's own tasks only (definitions, demo, audit)."""
    from fhir_service.security.policy import system_access

    return Door(repository, system_access())


__all__ = ["CallerSession", "Door", "for_caller", "system_door"]
