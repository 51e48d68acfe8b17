"""Create, update and delete inside a write session (shared by the REST interactions and by
batch/transaction processing).

https://hl7.org/fhir/R4/http.html#create, #update, #delete, #cond-update, #cond-delete.
Conditional rules: 0 matches → create (or nothing to delete), 1 → act on it, more → 412.
An update whose content equals the current version (ignoring ``meta``) creates no version.

Every write also checks the caller's scopes and access (see ``security/policy.py``), keeps
the access rows (the resource's patients, the grants it carries) and, when something
changed, reports it in :attr:`Writer.changes` for the Provenance of the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.interactions.common import Prepared, check_id, check_references, prepare
from fhir_service.narrative import narrate
from fhir_service.outcomes import FhirError
from fhir_service.search.query import split_token, split_values
from fhir_service.security.door import CallerSession
from fhir_service.security.principal import Principal
from fhir_service.store.repository import Stored


@dataclass
class WriteResult:
    status: int  # 200 or 201 (204 for deletes)
    stored: Stored | None
    message: str = ""


Criteria = str | list[tuple[str, str]]


@dataclass
class Writer:
    """One write session of one caller: the context every write rule needs."""

    ctx: FhirContext
    session: CallerSession  # the caller's door (security/door.py)
    base_url: str
    principal: Principal | None = None
    pending: frozenset[tuple[str, str]] = frozenset()  # written by the same transaction
    deleting: frozenset[tuple[str, str]] = frozenset()  # deleted by the same transaction
    changes: list[tuple[str, Stored]] = field(default_factory=list)  # (activity, version)

    probed: set[str] = field(default_factory=set)  # people aimed at (audit)

    # --- conditional look-ups ------------------------------------------------------------

    def matches(self, rtype: str, criteria: Criteria, limit: int = 2,
                identity: bool = False) -> list[Stored]:
        """Resources matching a conditional query that the caller may see (at most limit).

        With ``identity`` (conditional create and update), criteria made only of exact
        identifiers (``identifier=system|value``) are matched over every resource, seen or
        not, so that no invisible duplicate of a person is ever created: a match the caller
        may not see answers 409 without naming or describing it (docs/security.md,
        "Identity")."""
        items = (
            parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
            if isinstance(criteria, str)
            else [(k, v) for k, v in criteria if k not in ("_format", "_pretty")]
        )
        if not items:
            raise FhirError("invalid", "A conditional request needs search parameters")
        query = self.ctx.parser.parse(rtype, items, strict=True, base_url=self.base_url)
        query.count = limit
        query.total = "none"
        if identity and not self.session.access.unrestricted and _exact_identifiers(items):
            everyone, hidden = self.session.match_everyone(query)
            self._refuse_hidden(rtype, hidden)
            return everyone
        return self.session.search(query).rows

    # --- interactions ----------------------------------------------------------------------

    def create(self, resource: dict[str, Any], if_none_exist: str | None = None,
               rid: str | None = None) -> WriteResult:
        resource = narrate(self.ctx, resource)  # (docs/narratives.md)
        rtype = resource["resourceType"]
        if if_none_exist:
            self.session.lock_type(rtype)
            found = self.matches(rtype, if_none_exist, identity=True)
            if len(found) > 1:
                raise FhirError("multiple-matches",
                                f"If-None-Exist '{if_none_exist}' matches several {rtype} resources")
            if found:
                return WriteResult(200, found[0], "Resource already exists")
        rid = rid or self.ctx.new_id()
        existing = self.session.get_any(rtype, rid)  # (is the id taken?)
        if existing is not None:
            if not existing.deleted:
                raise id_taken(rtype, rid)
            return self._replace(existing, resource, 201)
        return self._first_version(rtype, rid, resource, "POST")

    def update(self, rtype: str, rid: str, resource: dict[str, Any],
               if_match: int | None = None) -> WriteResult:
        check_id(rid)
        resource = narrate(self.ctx, resource)  # before the "no change" comparison
        body_id = resource.get("id")
        if body_id is None:
            raise FhirError("invalid", "An update must carry the resource id in the body", "id")
        if body_id != rid:
            raise FhirError("invalid", f"The body id '{body_id}' differs from the URL id '{rid}'",
                            f"{rtype}.id")
        self.session.lock(rtype, rid)
        current = self.visible_current(rtype, rid, hidden_as_missing=True)
        if current is None and if_match is None and self.session.hidden(rtype, rid):
            raise id_taken(rtype, rid)
        # (with If-Match, a hidden id gets below the answer for an id that does not exist)
        if if_match is not None:
            if current is None or current.deleted:
                raise FhirError("precondition-failed",
                                f"If-Match: {rtype}/{rid} does not exist (version {if_match} asked)")
            if current.version != if_match:
                raise FhirError("precondition-failed",
                                f"If-Match: {rtype}/{rid} is at version {current.version}, "
                                f"not {if_match}")
        if current is None:
            return self._first_version(rtype, rid, resource, "PUT")
        if (
            not current.deleted
            and current.content is not None
            and fhir.same_content(fhir.loads(current.content), resource)
        ):
            if self.principal is not None and not self.principal.can(rtype, "u"):
                raise FhirError("forbidden", f"The token's scopes do not allow 'u' on {rtype}")
            return WriteResult(200, current, "No change: the content equals the current version")
        return self._replace(current, resource, 201 if current.deleted else 200)

    def conditional_update(self, rtype: str, criteria: Criteria, resource: dict[str, Any],
                           if_match: int | None = None) -> WriteResult:
        self.session.lock_type(rtype)
        found = self.matches(rtype, criteria, identity=True)
        if len(found) > 1:
            raise FhirError("multiple-matches",
                            f"Conditional update on {rtype} matches several resources")
        if not found:
            rid = resource.get("id")
            if rid is not None:
                check_id(rid)
                existing = self.session.get_any(rtype, rid)  # (is the id taken?)
                if existing is not None and not existing.deleted:
                    raise id_taken(rtype, rid)
            return self.create(resource, rid=rid)
        match = found[0]
        if resource.get("id") not in (None, match.rid):
            raise FhirError("invalid", f"The body id '{resource.get('id')}' differs from the "
                            f"matching resource {rtype}/{match.rid}", f"{rtype}.id")
        return self.update(rtype, match.rid, {**resource, "id": match.rid}, if_match)

    def delete(self, rtype: str, rid: str) -> WriteResult:
        check_id(rid)
        self.session.lock(rtype, rid)
        current = self.visible_current(rtype, rid, hidden_as_missing=True)
        if current is None or current.deleted:
            return WriteResult(204, None, "Nothing to delete")  # (hidden: the same answer)
        if self.ctx.policy is not None:
            self.ctx.policy.check_write(self.session, self.principal, rtype, "d",
                                        self.session.current_patients(current.pk))
            assert current.content is not None
            self.ctx.policy.check_ownership(self.principal, rtype, "d", self._owner(current),
                                            None, fhir.loads(current.content), None)
        if self.ctx.settings.referential_integrity:
            users = referenced_by(self.session, rtype, rid, self.deleting)
            if users:
                raise FhirError("conflict", users, rtype)
        version = current.version + 1
        updated = self.ctx.clock()
        self.session.delete(current.pk, rtype, rid, version, updated)
        if rtype == "Subscription" and (service := getattr(self.ctx, "subscriptions", None)):
            service.removed(self.session, rid)
        self.changes.append(("DELETE", Stored(current.pk, rtype, rid, version, updated, True,
                                              None, "DELETE")))
        return WriteResult(204, None, "Deleted")

    def conditional_delete(self, rtype: str, criteria: Criteria) -> WriteResult:
        self.session.lock_type(rtype)
        found = self.matches(rtype, criteria)
        if len(found) > 1:
            raise FhirError("multiple-matches",
                            f"Conditional delete on {rtype} matches several resources")
        if not found:
            return WriteResult(204, None, "No resource matched")
        return self.delete(rtype, found[0].rid)

    # --- rules -----------------------------------------------------------------------------

    def visible_current(self, rtype: str, rid: str,
                        hidden_as_missing: bool = False) -> Stored | None:
        """The current version if the caller may see it. A hidden one does not exist for
        the caller: None with ``hidden_as_missing``, else the answer for a missing id (404);
        the people it belongs to go to the audit record (who probed for them)."""
        current = self.session.get_visible(rtype, rid)
        if current is None and self.session.hidden(rtype, rid):
            stored = self.session.get_any(rtype, rid)
            assert stored is not None
            self.probed.update(self.session.current_patients(stored.pk))
            if not hidden_as_missing:
                raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
        return current

    def _owner(self, current: Stored) -> str | None:
        if self.ctx.policy is None or current.content is None:
            return self.session.owner_row(current.pk)[1]
        return self.ctx.policy.owner_of(self.session, self.principal, current.pk, current.rtype,
                                        current.rid, fhir.loads(current.content))

    def _first_version(self, rtype: str, rid: str, resource: dict[str, Any],
                       method: str) -> WriteResult:
        resource, subscribed = self._subscription(resource, rid)
        updated = self.ctx.clock()
        prepared = prepare(self.ctx, resource, rid, 1, updated, self.base_url)
        self._check(rtype, "c", prepared, set())
        owner = self._check_owner(rtype, "c", None, None, prepared)
        stored = self.session.write(rtype, rid, 1, updated, prepared.content, method,
                                    prepared.rows, prepared.refs)
        if subscribed is not None:
            subscribed(stored)
        self._after(stored, prepared, "CREATE", owner)
        return WriteResult(201, stored, "Created")

    def _replace(self, current: Stored, resource: dict[str, Any], status: int) -> WriteResult:
        version = current.version + 1
        resource, subscribed = self._subscription(resource, current.rid)
        updated = self.ctx.clock()
        prepared = prepare(self.ctx, resource, current.rid, version, updated, self.base_url)
        before = self.session.current_patients(current.pk) if not current.deleted else set()
        letter = "u" if status == 200 else "c"
        self._check(current.rtype, letter, prepared, before)
        owner = self._check_owner(current.rtype, letter, None if current.deleted else current,
                                  None if current.deleted else self._owner(current), prepared)
        stored = self.session.write(current.rtype, current.rid, version, updated,
                                    prepared.content, "PUT", prepared.rows, prepared.refs,
                                    existing_pk=current.pk)
        if subscribed is not None:
            subscribed(stored)
        self._after(stored, prepared, "UPDATE" if status == 200 else "CREATE", owner)
        return WriteResult(status, stored, "Updated" if status == 200 else "Created")

    def _subscription(self, resource: dict[str, Any], rid: str) -> tuple[dict[str, Any], Any]:
        """A Subscription the server cannot honour is refused; one it can is stored as it
        will be served, and recorded for the delivery worker (fhir_service/subscriptions)."""
        service = getattr(self.ctx, "subscriptions", None)
        if service is None or resource.get("resourceType") != "Subscription":
            return resource, None
        return service.accept(self, resource, rid)

    def _check(self, rtype: str, letter: str, prepared: Prepared, before: set[str]) -> None:
        # references first: one the caller may not see does not resolve, the same answer as
        # for one that does not exist (never "forbidden", which would tell it exists)
        check_references(self.ctx, self.session, prepared, self.pending)
        self._check_unique_person(prepared)
        if self.ctx.policy is not None:
            after = set(self.ctx.policy.patients_of(self.session, prepared.resource,
                                                    prepared.rows))
            prepared.patients = sorted(after)
            self.probed.update(after - before)
            self.ctx.policy.check_write(self.session, self.principal, rtype, letter,
                                        before | after)

    def _check_unique_person(self, prepared: Prepared) -> None:
        """A national identifier (INS) names one person: a Patient carrying one that another
        Patient carries already is refused, whoever may see that one (no duplicate person,
        visible or not; a hidden one is not described)."""
        resource = prepared.resource
        if resource["resourceType"] != "Patient":
            return
        for ident in resource.get("identifier") or []:
            system, value = ident.get("system"), ident.get("value")
            if system not in NATIONAL_PERSON_IDS or not isinstance(value, str) or not value:
                continue
            query = self.ctx.parser.parse("Patient", [("identifier", f"{system}|{value}")],
                                          strict=True)
            query.count, query.total = 2, "none"
            everyone, hidden = self.session.match_everyone(query)
            self._refuse_hidden("Patient", [s for s in hidden if s.rid != resource["id"]])
            others = [s for s in everyone if s.rid != resource["id"]]
            if others:
                raise FhirError("duplicate", f"Patient/{others[0].rid} already carries the "
                                f"identifier {system}|{value}: update that Patient (or use a "
                                "conditional create or update on the identifier)",
                                "Patient.identifier")

    def _refuse_hidden(self, rtype: str, hidden: list[Stored]) -> None:
        """An identity match the caller may not see: refused, recorded under its people."""
        if hidden:
            people = self.session.patients_by_pk([s.pk for s in hidden])
            self.probed.update(p for s in hidden for p in people.get(s.pk, []))
            raise identity_conflict(rtype)

    def _check_owner(self, rtype: str, letter: str, current: Stored | None,
                     current_owner: str | None, prepared: Prepared) -> str | None:
        """Who may change what (security/policy.py): checks the write, returns the owner of
        the version about to be written."""
        policy = self.ctx.policy
        if policy is None:
            return None
        new_owner = policy.owner_after(self.session, self.principal, prepared.resource,
                                       current_owner, current is not None)
        old = fhir.loads(current.content) if current is not None and current.content else None
        policy.check_ownership(self.principal, rtype, letter, current_owner, new_owner, old,
                               prepared.resource)
        return new_owner

    def _after(self, stored: Stored, prepared: Prepared, activity: str,
               owner: str | None = None) -> None:
        policy = self.ctx.policy
        if policy is not None:
            self.session.set_owner(stored.pk, owner)
            self.session.set_access_rows(stored.pk, prepared.patients,
                                         policy.grants_of(self.session, prepared.resource,
                                                          owner))
            if stored.rtype == "PractitionerRole":  # the structure a member acts for changed
                for team in self.session.referencing_sources("CareTeam", "PractitionerRole",
                                                             stored.rid):
                    assert team.content is not None
                    self.session.replace_grants(
                        team.pk, policy.grants_of(self.session, fhir.loads(team.content),
                                                  self.session.owner_row(team.pk)[1]))
        self.changes.append((activity, stored))


# Identifiers that name one person nationally (INS: NIR and NIA, and their test systems)
NATIONAL_PERSON_IDS = frozenset({f"urn:oid:1.2.250.1.213.1.4.{n}" for n in (8, 9, 10, 11)})


def identity_conflict(rtype: str) -> FhirError:
    """A conditional create or update whose identifiers belong to a resource the caller may
    not see: no duplicate is created, and nothing about that resource is said."""
    return FhirError("conflict", f"These identifiers are already registered for a {rtype} "
                     "your structure may not see: nothing was written. To work with this "
                     "person, a structure that accompanies them adds yours to the care team, "
                     "or the person's consent names it", rtype)


def id_taken(rtype: str, rid: str) -> FhirError:
    """An id in use, whether the caller may see the resource or not (one answer)."""
    return FhirError("conflict", f"The id {rtype}/{rid} is not available for this write: "
                     "use POST (the server assigns the id) or another id", rtype)


def referenced_by(session: CallerSession, rtype: str, rid: str,
                  deleting: frozenset[tuple[str, str]] = frozenset()) -> str | None:
    """Why ``rtype/rid`` cannot be deleted (referential integrity), naming only the
    referencing resources the caller may see; None when nothing references it."""
    users = [k for k in session.referencing(rtype, rid, limit=50) if k not in deleting]
    if not users:
        return None
    visible = [(t, i) for t, i in users if session.get_visible(t, i) is not None]
    hidden = len(users) - len(visible)
    names = ", ".join(f"{t}/{i}" for t, i in visible[:20])
    if hidden:
        names = f"{names} and other resources" if names else "other resources"
    return f"{rtype}/{rid} is referenced by {names}: delete or update those first"


def _exact_identifiers(items: list[tuple[str, str]]) -> bool:
    """Criteria made only of ``identifier=system|value`` (one value each, no modifier)."""
    for name, value in items:
        if name != "identifier":
            return False
        values = split_values(value)
        if len(values) != 1:
            return False
        system, code, has_bar = split_token(values[0])
        if not (has_bar and system and code):
            return False
    return True
