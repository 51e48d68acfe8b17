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
from fhir_service.outcomes import FhirError
from fhir_service.security.principal import Principal
from fhir_service.store.repository import Stored
from fhir_service.store.sqlstore import SqlSession


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
    session: SqlSession
    base_url: str
    principal: Principal | None = None
    pending: frozenset[tuple[str, str]] = frozenset()  # written by the same transaction
    deleting: frozenset[tuple[str, str]] = frozenset()  # deleted by the same transaction
    changes: list[tuple[str, Stored]] = field(default_factory=list)  # (activity, version)

    @property
    def access(self) -> Any:
        return self.ctx.policy.filter_for(self.principal) if self.ctx.policy else None

    # --- conditional look-ups ------------------------------------------------------------

    def matches(self, rtype: str, criteria: Criteria, limit: int = 2) -> list[Stored]:
        """Resources matching a conditional query that the caller may see (at most limit)."""
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
        return self.session.search(query, self.access).rows

    # --- interactions ----------------------------------------------------------------------

    def create(self, resource: dict[str, Any], if_none_exist: str | None = None,
               rid: str | None = None) -> WriteResult:
        rtype = resource["resourceType"]
        if if_none_exist:
            self.session.lock_type(rtype)
            found = self.matches(rtype, if_none_exist)
            if len(found) > 1:
                raise FhirError("multiple-matches",
                                f"If-None-Exist '{if_none_exist}' matches several {rtype} resources")
            if found:
                return WriteResult(200, found[0], "Resource already exists")
        rid = rid or self.ctx.new_id()
        existing = self.session.get(rtype, rid)
        if existing is not None:
            if not existing.deleted:
                raise FhirError("duplicate", f"{rtype}/{rid} already exists")
            return self._replace(existing, resource, 201)
        return self._first_version(rtype, rid, resource, "POST")

    def update(self, rtype: str, rid: str, resource: dict[str, Any],
               if_match: int | None = None) -> WriteResult:
        check_id(rid)
        body_id = resource.get("id")
        if body_id is None:
            raise FhirError("invalid", "An update must carry the resource id in the body", "id")
        if body_id != rid:
            raise FhirError("invalid", f"The body id '{body_id}' differs from the URL id '{rid}'",
                            f"{rtype}.id")
        self.session.lock(rtype, rid)
        current = self.visible_current(rtype, rid)
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
        found = self.matches(rtype, criteria)
        if len(found) > 1:
            raise FhirError("multiple-matches",
                            f"Conditional update on {rtype} matches several resources")
        if not found:
            rid = resource.get("id")
            if rid is not None:
                check_id(rid)
                existing = self.session.get(rtype, rid)
                if existing is not None and not existing.deleted:
                    raise FhirError("conflict", f"{rtype}/{rid} exists but does not match the "
                                    "conditional update's criteria")
            return self.create(resource, rid=rid)
        match = found[0]
        if resource.get("id") not in (None, match.rid):
            raise FhirError("invalid", f"The body id '{resource.get('id')}' differs from the "
                            f"matching resource {rtype}/{match.rid}", f"{rtype}.id")
        return self.update(rtype, match.rid, {**resource, "id": match.rid}, if_match)

    def delete(self, rtype: str, rid: str) -> WriteResult:
        check_id(rid)
        self.session.lock(rtype, rid)
        current = self.visible_current(rtype, rid)
        if current is None or current.deleted:
            return WriteResult(204, None, "Nothing to delete")
        if self.ctx.policy is not None:
            self.ctx.policy.check_write(self.session, self.principal, rtype, "d",
                                        self.session.current_patients(current.pk))
        if self.ctx.settings.referential_integrity:
            users = [k for k in self.session.referencing(rtype, rid) if k not in self.deleting]
            if users:
                names = ", ".join(f"{t}/{i}" for t, i in users)
                raise FhirError("conflict", f"{rtype}/{rid} is referenced by {names}: delete "
                                "or update those first", rtype)
        version = current.version + 1
        updated = self.ctx.clock()
        self.session.delete(current.pk, rtype, rid, version, updated)
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

    def visible_current(self, rtype: str, rid: str) -> Stored | None:
        """The current version, or None when the caller may not see it (it does not exist
        for them: updating it is creating, which the id's owner then blocks)."""
        current = self.session.get(rtype, rid)
        access = self.access
        if current is not None and access is not None and not current.deleted and \
                not self.session.visible(current.pk, access):
            raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
        return current

    def _first_version(self, rtype: str, rid: str, resource: dict[str, Any],
                       method: str) -> WriteResult:
        updated = self.ctx.clock()
        prepared = prepare(self.ctx, resource, rid, 1, updated, self.base_url)
        self._check(rtype, "c", prepared, set())
        stored = self.session.write(rtype, rid, 1, updated, prepared.content, method,
                                    prepared.rows, prepared.refs)
        self._after(stored, prepared, "CREATE")
        return WriteResult(201, stored, "Created")

    def _replace(self, current: Stored, resource: dict[str, Any], status: int) -> WriteResult:
        version = current.version + 1
        updated = self.ctx.clock()
        prepared = prepare(self.ctx, resource, current.rid, version, updated, self.base_url)
        before = self.session.current_patients(current.pk) if not current.deleted else set()
        self._check(current.rtype, "u" if status == 200 else "c", prepared, before)
        stored = self.session.write(current.rtype, current.rid, version, updated,
                                    prepared.content, "PUT", prepared.rows, prepared.refs,
                                    existing_pk=current.pk)
        self._after(stored, prepared, "UPDATE" if status == 200 else "CREATE")
        return WriteResult(status, stored, "Updated" if status == 200 else "Created")

    def _check(self, rtype: str, letter: str, prepared: Prepared, before: set[str]) -> None:
        if self.ctx.policy is not None:
            after = set(self.ctx.policy.patients_of(self.session, prepared.resource,
                                                    prepared.rows))
            prepared.patients = sorted(after)
            self.ctx.policy.check_write(self.session, self.principal, rtype, letter,
                                        before | after)
        check_references(self.ctx, self.session, prepared, self.pending)

    def _after(self, stored: Stored, prepared: Prepared, activity: str) -> None:
        policy = self.ctx.policy
        if policy is not None:
            self.session.set_access_rows(stored.pk, prepared.patients,
                                         policy.grants_of(self.session, prepared.resource))
            if stored.rtype == "PractitionerRole":  # the structure a member acts for changed
                for team in self.session.referencing_sources("CareTeam", "PractitionerRole",
                                                             stored.rid):
                    assert team.content is not None
                    self.session.replace_grants(
                        team.pk, policy.grants_of(self.session, fhir.loads(team.content)))
        self.changes.append((activity, stored))
