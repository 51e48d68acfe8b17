"""Access policy: a structure sees the people it accompanies, and nothing else.

A structure (Organization) may see a person's data while one of its people is an active
participant of the person's CareTeam, or an active Consent names it, or it manages one of
the person's EpisodeOfCare. Otherwise that data does not exist for it: 404 on read, absent
from search, includes, history and counts.

Enforced in the query: at write time each resource's patients (Patient compartment, from the
official ``CompartmentDefinition/patient``) go to ``res_patient`` and each CareTeam, Consent
and EpisodeOfCare yields rows in ``access_grants`` (structure, patient, validity period);
every read and search then carries an ``EXISTS`` condition joining the two for the caller's
structure at the current time. A revoked consent or an ended membership takes effect on the
next request, since grants are rewritten in the same transaction as the resource.

Writes need the scope letter and, for data in a person's compartment, a grant for every
person involved — or, for a person nobody has a grant on yet (a new person), none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select

from fhir_service.conformance.registry import Registry
from fhir_service.outcomes import FhirError
from fhir_service.search.extract import IndexRows, date_range, parse_reference
from fhir_service.security.principal import SYSTEM, Principal
from fhir_service.store.schema import access_grants, hist_patient, res_owner, res_patient

# Case-management data: never visible without a grant, even when not linked to a person.
PROTECTED_TYPES = frozenset({
    "Patient", "RelatedPerson", "EpisodeOfCare", "CarePlan", "Goal", "CareTeam",
    "ServiceRequest", "QuestionnaireResponse", "Consent", "Provenance", "AuditEvent",
})
GRANT_SOURCES = ("CareTeam", "Consent", "EpisodeOfCare")
# Directory data: visible to every client, changed only by the structure that manages it.
DIRECTORY_TYPES = frozenset({
    "Organization", "Practitioner", "PractitionerRole", "Location", "HealthcareService",
    "Endpoint",
})
# A client's own configuration (a Subscription names an endpoint and criteria that may name a
# person): visible only to the structure that owns it (its res_owner row), never public.
OWNER_ONLY = frozenset({"Subscription"})
# Written by the server only, immutable through the API.
SERVER_WRITTEN = frozenset({"Provenance", "AuditEvent"})
# The element naming the structure that manages a resource (directory) or holds it as its
# custodian (a person's data written by the server itself, e.g. an import or the demo).
MANAGING = {
    "PractitionerRole": "organization", "Location": "managingOrganization",
    "HealthcareService": "providedBy", "Endpoint": "managingOrganization",
    "EpisodeOfCare": "managingOrganization", "CareTeam": "managingOrganization",
    "CarePlan": "author", "ServiceRequest": "requester", "Goal": "expressedBy",
    "Consent": "organization",
}
# Custody moves with the managing organisation for these (a hand-over of the coordination).
HANDED_OVER = frozenset({"EpisodeOfCare", "CareTeam"})
# What a structure that is not the custodian may add to a person's shared resource.
CONTRIBUTABLE = frozenset({"identifier", "note"})


@dataclass(frozen=True)
class Grant:
    patient_id: str
    org_id: str
    kind: str
    start: float
    end: float | None


def _start(period: Any) -> float:
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        rng = date_range(period["start"])
        if rng:
            return rng[0]
    return float("-inf")


def _end(period: Any) -> float | None:
    if isinstance(period, dict) and isinstance(period.get("end"), str):
        rng = date_range(period["end"])
        if rng:
            return rng[1]
    return None


def _ref_id(ref: Any, rtype: str) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        t, i, _ = parse_reference(ref["reference"])
        if t == rtype:
            return i
    return None


class AccessFilter:
    """The access rule for one principal at one instant, in its SQL form: a condition added
    to every query on the resources table (see module docstring). Its raw-SQL form for
    reads by id is :class:`RawRule`; ``tests/security/test_door_property.py`` proves they
    agree."""

    unrestricted = False

    def __init__(self, principal: Principal, now: float) -> None:
        self.principal = principal
        self.now = now

    def can(self, rtype: str, letter: str) -> bool:
        """The token's scopes allow ``letter`` on ``rtype``."""
        return self.principal.can(rtype, letter)

    def granted(self, key_col: Any, people: Any = None) -> Any:
        """The caller's structure may see every person the row belongs to (``people``: the
        link table, res_patient by resource or hist_patient by version)."""
        org = self.principal.structure
        if org is None:
            return None
        people = res_patient if people is None else people
        key = people.c.res_pk if people is res_patient else people.c.hpk
        g = access_grants
        person = people.alias()
        person_key = person.c.res_pk if people is res_patient else person.c.hpk
        with_grant = exists(select(1).where(
            g.c.patient_id == person.c.patient_id, g.c.org_id == org, g.c.start <= self.now,
            or_(g.c.end.is_(None), g.c.end > self.now)))
        return and_(exists(select(1).where(key == key_col)),
                    not_(exists(select(1).where(person_key == key_col, not_(with_grant)))))

    def condition_for(self, pk_col: Any, rtype_col: Any, people: Any = None,
                      res_pk_col: Any = None) -> Any:
        """Visible: an AuditEvent to operators only; a resource in people's compartments when
        the caller's structure may see every one of them; an owner-only type (OWNER_ONLY) to
        its owner structure; otherwise a public type. ``res_pk_col``: the resource's key when
        ``pk_col`` is a version's (owner rows are by resource)."""
        table = res_patient if people is None else people
        key = table.c.res_pk if table is res_patient else table.c.hpk
        in_compartment = exists(select(1).where(key == pk_col))
        public = and_(not_(in_compartment), rtype_col.notin_(PROTECTED_TYPES | OWNER_ONLY))
        granted = self.granted(pk_col, table)
        visible = or_(public, granted) if granted is not None else public
        org = self.principal.structure
        if org is not None:
            owner_key = pk_col if res_pk_col is None else res_pk_col
            visible = or_(visible, and_(rtype_col.in_(OWNER_ONLY), exists(select(1).where(
                res_owner.c.res_pk == owner_key, res_owner.c.org_id == org))))
        if self.principal.operator:
            return or_(rtype_col == "AuditEvent", and_(rtype_col != "AuditEvent", visible))
        return and_(rtype_col != "AuditEvent", visible)

    def condition(self, res: Any) -> Any:
        return self.condition_for(res.c.pk, res.c.rtype)

    def referenceable(self, res: Any) -> Any:
        """What the caller's writes may reference: what it sees, and a person nobody
        accompanies yet (whom a structure references while setting itself up)."""
        unaccompanied = and_(res.c.rtype == "Patient", not_(exists(
            select(1).where(access_grants.c.patient_id == res.c.rid))))
        return or_(self.condition(res), unaccompanied)

    def version_condition(self, hist: Any) -> Any:
        """The rule for a row of history: by the people of that version."""
        return self.condition_for(hist.c.hpk, hist.c.rtype, hist_patient, hist.c.res_pk)

    @property
    def raw(self) -> tuple[str | None, float, bool] | None:
        """The parameters of the raw-SQL form (structure, instant, operator)."""
        return self.principal.structure, self.now, self.principal.operator


class Unrestricted(AccessFilter):
    """No access rule: the server's own system tasks (loading definitions, the demo, the
    audit indexer, authentication off). Only :func:`system_access` makes one."""

    unrestricted = True

    def __init__(self, now: float = 0.0) -> None:
        super().__init__(SYSTEM, now)

    def can(self, rtype: str, letter: str) -> bool:
        return True

    def condition_for(self, pk_col: Any, rtype_col: Any, people: Any = None,
                      res_pk_col: Any = None) -> Any:
        return None

    def condition(self, res: Any) -> Any:
        return None

    def version_condition(self, hist: Any) -> Any:
        return None

    def referenceable(self, res: Any) -> Any:
        return None

    @property
    def raw(self) -> None:
        return None


def system_access() -> Unrestricted:
    """The unrestricted rule, for the server's own tasks (never for a client's request)."""
    return Unrestricted(time.time())


# --- the raw-SQL form of the rule (reads by id: measured hot path) ------------------------


def _mark(paramstyle: str) -> str:
    return "?" if paramstyle == "qmark" else "%s"


class RawRule:
    """The access rule as prepared statements on a DBAPI cursor (no SQLAlchemy), for reads
    by id: the same decision as :class:`AccessFilter` (tested for agreement)."""

    def __init__(self, paramstyle: str) -> None:
        self.mark = _mark(paramstyle)
        self.patients_sql = f"SELECT patient_id FROM res_patient WHERE res_pk = {self.mark}"
        self.version_patients_sql = (
            "SELECT hp.patient_id FROM hist_patient hp JOIN history h ON h.hpk = hp.hpk "
            f"WHERE h.res_pk = {self.mark} AND h.version = {self.mark}")
        self._grant_sql: dict[int, str] = {}  # by number of people
        self.owner_sql = f"SELECT org_id FROM res_owner WHERE res_pk = {self.mark}"

    def grant_statement(self, people: int) -> str:
        sql = self._grant_sql.get(people)
        if sql is None:
            mark = self.mark
            sql = self._grant_sql[people] = (
                f"SELECT COUNT(DISTINCT patient_id) FROM access_grants WHERE org_id = {mark} "
                f"AND patient_id IN ({', '.join([mark] * people)}) AND start <= {mark} "
                f"AND (\"end\" IS NULL OR \"end\" > {mark})")
        return sql

    def visible(self, cur: Any, pk: int, rtype: str,
                access: tuple[str | None, float, bool]) -> tuple[bool, tuple[str, ...]]:
        """(whether the caller may see the stored resource, the people it belongs to)."""
        return self._decide(cur, self.patients_sql, (pk,), rtype, access)

    def version_visible(self, cur: Any, pk: int, version: int, rtype: str,
                        access: tuple[str | None, float, bool]) -> tuple[bool, tuple[str, ...]]:
        """The same rule for one version from history, by that version's people."""
        return self._decide(cur, self.version_patients_sql, (pk, version), rtype, access)

    def _decide(self, cur: Any, people_sql: str, key: tuple[Any, ...], rtype: str,
                access: tuple[str | None, float, bool]) -> tuple[bool, tuple[str, ...]]:
        if rtype == "AuditEvent":
            return access[2], ()
        cur.execute(people_sql, key)
        people = tuple(sorted({r[0] for r in cur.fetchall()}))

        def granted(org: str, people: tuple[str, ...], now: float) -> int:
            cur.execute(self.grant_statement(len(people)), (org, *people, now, now))
            return int(cur.fetchone()[0])

        def owner() -> str | None:
            cur.execute(self.owner_sql, (key[0],))
            row = cur.fetchone()
            return None if row is None else row[0]

        return decide(rtype, people, access, granted, owner), people


def decide(rtype: str, people: tuple[str, ...], access: tuple[str | None, float, bool],
           granted: Callable[[str, tuple[str, ...], float], int],
           owner: Callable[[], str | None]) -> bool:
    """The access rule on its inputs as data, shared by :class:`RawRule` (reads by id) and
    the in-memory store (store/memory.py): a resource of type ``rtype`` belonging to
    ``people``, for ``access`` = (structure, instant, operator); ``granted(org, people,
    now)`` counts those of ``people`` the structure holds a grant on at ``now``; ``owner()``
    the structure that owns the resource (asked for owner-only types)."""
    org, now, operator = access
    if rtype == "AuditEvent":
        return operator
    if rtype in OWNER_ONLY:
        return org is not None and owner() == org
    if not people:  # not in a person's compartment: public unless protected
        return rtype not in PROTECTED_TYPES
    if org is None:
        return False
    return granted(org, people, now) == len(people)  # (every one of them)


# --- scopes over everything a search filters on or returns ---------------------------------


def filter_types(filters: Any) -> set[str]:
    """Every resource type a list of search filters reads (chain targets, _has sources),
    besides the searched type itself."""
    out: set[str] = set()
    for filt in filters:
        if filt.has is not None:
            out.add(filt.has.source_type)
            out |= filter_types([filt.has.inner])
        if filt.chain is not None and filt.chain_type is not None:
            out.add(filt.chain_type)
            out |= filter_types([filt.chain])
        out |= filter_types(filt.alternatives)  # a chain without a type, over several types
    return out


def require_scope(principal: Principal | None, rtype: str, letters: str) -> None:
    """The token must carry one of ``letters`` on ``rtype`` (SMART scopes; '*': every type)."""
    if principal is None or principal.system:
        return
    if not any(principal.can(rtype, c) for c in letters):
        raise FhirError("forbidden", f"The token's scopes do not allow this on {rtype} "
                        f"(needs {' or '.join(letters)})", rtype)


def check_search_scopes(access: AccessFilter, query: Any) -> None:
    """A search may filter on, and include, only the types the token may search and read."""
    if access.unrestricted:
        return
    for rtype in sorted(filter_types(query.filters)):
        if not access.can(rtype, "s"):
            raise FhirError("forbidden", f"The token's scopes do not allow searching {rtype}, "
                            "which this search filters on (chain or _has)", rtype)
    for inc in query.includes:
        named = inc.source_type if inc.reverse else inc.target_type
        if named is not None and not access.can(named, "r"):
            raise FhirError("forbidden", f"The token's scopes do not allow reading {named}, "
                            "which this search includes", named)


class AccessPolicy:
    def __init__(self, registry: Registry, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.compartment: dict[str, tuple[str, ...]] = {}
        definition = registry.get("CompartmentDefinition", "patient")
        if definition is None:
            raise RuntimeError("CompartmentDefinition/patient is missing from the definitions")
        for entry in definition.get("resource", []):
            if entry.get("param"):
                self.compartment[entry["code"]] = tuple(entry["param"])

    # --- filters ---------------------------------------------------------------------------

    def filter_for(self, principal: Principal | None) -> AccessFilter:
        """The caller's rule; the unrestricted one for the server itself (no principal:
        internal loading, authentication off)."""
        if principal is None or principal.system:
            return Unrestricted(self.now())
        return AccessFilter(principal, self.now())

    # --- derived rows at write time ----------------------------------------------------------

    def patients_of(self, session: Any, resource: dict[str, Any], rows: IndexRows) -> list[str]:
        rtype = resource["resourceType"]
        if rtype == "Patient":
            return [resource["id"]]
        params = self.compartment.get(rtype)
        # a type the patient compartment leaves out (Task, Contract, Linkage…) still belongs
        # to the people it references: a Task for a person is that person's data
        found = {r[2] for r in rows.reference
                 if (params is None or r[0] in params) and r[1] == "Patient" and r[2]}
        if rtype == "Provenance":  # the people of the versions it targets
            targets = []
            for target in resource.get("target", []):
                ref = target.get("reference") if isinstance(target, dict) else None
                t, i, v = parse_reference(ref) if isinstance(ref, str) else (None, None, None)
                if t and i:
                    targets.append((t, i, int(v) if v and v.isdigit() else None))
            found.update(session.patients_of_versions(targets))
        return sorted(found)

    def grants_of(self, session: Any, resource: dict[str, Any],
                  owner: str | None = None) -> list[Grant]:
        """The grants a resource carries; ``owner``: its owner (a CareTeam's custodian)."""
        rtype = resource["resourceType"]
        if rtype == "CareTeam":
            return self._careteam(session, resource, owner)
        if rtype == "Consent":
            return self._consent(resource)
        if rtype == "EpisodeOfCare":
            return self._episode(resource)
        return []

    def _careteam(self, session: Any, team: dict[str, Any],
                  custodian: str | None = None) -> list[Grant]:
        """A member's structure may see the person while the membership lasts. A member
        given by a PractitionerRole counts only when that role is vouched for: managed by
        its organisation's structure, or recorded by the team's custodian (so that nobody
        exposes someone else's patients by re-pointing a role of their own)."""
        patient = _ref_id(team.get("subject"), "Patient")
        if patient is None or team.get("status") != "active":
            return []
        team_start, team_end = _start(team.get("period")), _end(team.get("period"))
        grants: list[Any] = []
        for part in team.get("participant", []):
            orgs = set()
            member = part.get("member")
            if (org := _ref_id(member, "Organization")) is not None:
                orgs.add(org)
            if (role := _ref_id(member, "PractitionerRole")) is not None:
                org = session.role_organization(role)
                if org and session.role_owner(role) in (
                        None, session.organization_owner(org), custodian):
                    orgs.add(org)
            if (org := _ref_id(part.get("onBehalfOf"), "Organization")) is not None:
                orgs.add(org)
            start = max(team_start, _start(part.get("period")))
            ends = [e for e in (team_end, _end(part.get("period"))) if e is not None]
            end = min(ends) if ends else None
            grants.extend(Grant(patient, o, "careteam", start, end) for o in orgs)
        return grants

    def _consent(self, consent: dict[str, Any]) -> list[Grant]:
        patient = _ref_id(consent.get("patient"), "Patient")
        provision = consent.get("provision") or {}
        if patient is None or consent.get("status") != "active" or \
                provision.get("type", "permit") != "permit":
            return []
        start, end = _start(provision.get("period")), _end(provision.get("period"))
        return [Grant(patient, org, "consent", start, end)
                for actor in provision.get("actor", [])
                if (org := _ref_id(actor.get("reference"), "Organization")) is not None]

    def _episode(self, episode: dict[str, Any]) -> list[Grant]:
        patient = _ref_id(episode.get("patient"), "Patient")
        org = _ref_id(episode.get("managingOrganization"), "Organization")
        if patient is None or org is None or \
                episode.get("status") in ("entered-in-error", "cancelled"):
            return []
        return [Grant(patient, org, "episode", float("-inf"), None)]

    # --- write checks --------------------------------------------------------------------------

    def check_write(self, session: Any, principal: Principal | None, rtype: str, letter: str,
                    patients: set[str]) -> None:
        if principal is None or principal.system:
            return
        if not principal.can(rtype, letter):
            raise FhirError("forbidden", f"The token's scopes do not allow '{letter}' on {rtype}")
        if rtype == "AuditEvent":
            raise FhirError("forbidden", "AuditEvents are written by the server only")
        if not patients:
            return
        org = principal.structure
        now = self.now()
        for patient in sorted(patients):
            if org is not None and session.has_grant(org, patient, now):
                continue
            if not session.patient_has_grants(patient):
                continue  # a person nobody accompanies yet
            raise FhirError("forbidden", f"Your structure does not accompany the person of this "
                            f"{rtype}: writing it needs a care-team membership, a consent or "
                            "the management of the episode")

    # --- ownership: who may change what (docs/security.md, "Who may change what") ----------

    def managed_by(self, session: Any, resource: dict[str, Any]) -> str | None:
        """The structure the resource's managing element names (Organization: the owner of
        that Organization, or itself; PractitionerRole: its organisation's), or None."""
        path = MANAGING.get(resource.get("resourceType", ""))
        if path is None:
            return None
        value = resource.get(path)
        for ref in value if isinstance(value, list) else [value]:
            if (org := _ref_id(ref, "Organization")) is not None:
                return session.organization_owner(org)
            if (role := _ref_id(ref, "PractitionerRole")) is not None:
                org = session.role_organization(role)
                if org:
                    return session.organization_owner(org)
        return None

    def owner_of(self, session: Any, principal: Principal | None, pk: int, rtype: str,
                 rid: str, content: dict[str, Any]) -> str | None:
        """Who owns the current version: its owner row, else (data written before owners
        were recorded) an Organization itself, or what its managing element names; the
        server's own data of a person (an import, the demo) is held by the structures that
        manage the person's episodes, when there are any."""
        has_row, owner = session.owner_row(pk)
        if not has_row:
            owner = rid if rtype == "Organization" else self.managed_by(session, content)
        if owner is None and rtype in self.person_types:
            managers = session.episode_managers(session.current_patients(pk))
            mine = principal.structure if principal is not None else None
            if managers:
                return mine if mine in managers else sorted(managers)[0]
        return owner

    def owner_after(self, session: Any, principal: Principal | None, resource: dict[str, Any],
                    current_owner: str | None, exists: bool) -> str | None:
        """Who owns the version about to be written."""
        rtype = resource["resourceType"]
        writer = None if principal is None or principal.system else principal.structure
        managed = self.managed_by(session, resource)
        if rtype == "Organization":
            if exists:
                return current_owner
            rid = resource.get("id")
            return writer if writer is not None and rid != writer else rid
        if rtype in HANDED_OVER and managed is not None:
            return managed  # (the custodian hands the coordination over)
        if writer is not None:  # a structure's record is its own, whatever it names
            return current_owner if exists else writer
        # the server's own data (an import, the demo): its managing element names the owner
        return managed if managed is not None or not exists else current_owner

    def check_ownership(self, principal: Principal | None, rtype: str, letter: str,
                        current_owner: str | None, new_owner: str | None,
                        current: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """A structure changes only what is its own: a directory resource it manages, a
        person's resource it is the custodian of (others may add identifiers and notes), any
        other resource it created. The server itself, and operators for the directory, may
        change everything (see docs/security.md)."""
        if principal is None or principal.system:
            return
        if rtype in SERVER_WRITTEN:
            raise FhirError("forbidden", f"{rtype} resources are written by the server only "
                            "and cannot be changed through the API", rtype)
        if rtype in DIRECTORY_TYPES and principal.operator:
            return
        org = principal.structure
        directory = rtype in DIRECTORY_TYPES
        if current is not None and current_owner != org:
            if current_owner is None and not directory:
                pass  # the server's own data: any entitled structure (person) or anyone
            elif letter == "u" and new is not None and not directory and \
                    rtype in self.person_types and _only_adds(current, new):
                return  # a contribution: identifiers, notes
            else:
                what = "is managed by another structure" if directory else \
                    "is held by another structure (its custodian)"
                raise FhirError("forbidden", f"This {rtype} {what}: your structure may not "
                                f"{'delete' if letter == 'd' else 'change'} it"
                                + ("" if directory else "; contribute your own resources "
                                   "(goals, tasks, notes) or ask its custodian"), rtype)
        if directory and new is not None and new_owner != org:
            raise FhirError("forbidden", f"This {rtype} would be managed by another structure "
                            "(its managing organisation is not yours): a structure writes only "
                            "its own directory data", rtype)

    @property
    def person_types(self) -> frozenset[str]:
        return PROTECTED_TYPES | frozenset(self.compartment)


def _only_adds(current: dict[str, Any], new: dict[str, Any]) -> bool:
    """``new`` equals ``current`` but for entries appended to the contributable lists."""
    skip = {"meta", "text"}
    for key in set(current) | set(new):
        if key in skip:
            continue
        old, value = current.get(key), new.get(key)
        if old == value:
            continue
        if key not in CONTRIBUTABLE:
            return False
        old_list = old if isinstance(old, list) else ([] if old is None else None)
        if old_list is None or not isinstance(value, list) or value[:len(old_list)] != old_list:
            return False
    return True
