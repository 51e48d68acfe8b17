"""Create, update and delete inside a write session (shared by the REST interactions and by
batch/transaction processing).

https://hl7.org/fhir/R4/http.html#create, #update, #delete, #cond-update, #cond-delete.
Conditional rules: 0 matches → create (or nothing to delete), 1 → act on it, more → 412.
An update whose content equals the current version (ignoring ``meta``) creates no version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.interactions.common import check_id, check_references, prepare
from fhir_service.outcomes import FhirError
from fhir_service.store.repository import Stored
from fhir_service.store.sqlstore import SqlSession


@dataclass
class WriteResult:
    status: int  # 200 or 201 (204 for deletes)
    stored: Stored | None
    message: str = ""


Criteria = str | list[tuple[str, str]]


def conditional_matches(
    ctx: FhirContext, session: SqlSession, rtype: str, criteria: Criteria, limit: int = 2
) -> list[int]:
    """Primary keys of the resources matching a conditional query (at most ``limit``)."""
    items = (
        parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if isinstance(criteria, str)
        else [(k, v) for k, v in criteria if k not in ("_format", "_pretty")]
    )
    if not items:
        raise FhirError("invalid", "A conditional request needs search parameters")
    query = ctx.parser.parse(rtype, items, strict=True)
    query.count = limit
    query.total = "none"
    return session.search(query).pks


def create(
    ctx: FhirContext,
    session: SqlSession,
    resource: dict[str, Any],
    base_url: str,
    if_none_exist: str | None = None,
    rid: str | None = None,
    pending: frozenset[tuple[str, str]] = frozenset(),
) -> WriteResult:
    rtype = resource["resourceType"]
    if if_none_exist:
        session.lock_type(rtype)
        matches = conditional_matches(ctx, session, rtype, if_none_exist)
        if len(matches) > 1:
            raise FhirError("multiple-matches",
                            f"If-None-Exist '{if_none_exist}' matches several {rtype} resources")
        if len(matches) == 1:
            return WriteResult(200, session.fetch(matches)[0], "Resource already exists")
    rid = rid or ctx.new_id()
    updated = ctx.clock()
    prepared = prepare(ctx, resource, rid, 1, updated, base_url)
    check_references(ctx, session, prepared, pending)
    existing = session.get(rtype, rid)
    if existing is not None:
        if not existing.deleted:
            raise FhirError("duplicate", f"{rtype}/{rid} already exists")
        return _replace(ctx, session, existing, resource, base_url, 201, pending)
    stored = session.write(rtype, rid, 1, updated, prepared.content, "POST", prepared.rows,
                           prepared.refs)
    return WriteResult(201, stored, "Created")


def update(
    ctx: FhirContext,
    session: SqlSession,
    rtype: str,
    rid: str,
    resource: dict[str, Any],
    base_url: str,
    if_match: int | None = None,
    pending: frozenset[tuple[str, str]] = frozenset(),
) -> WriteResult:
    check_id(rid)
    body_id = resource.get("id")
    if body_id is None:
        raise FhirError("invalid", "An update must carry the resource id in the body", "id")
    if body_id != rid:
        raise FhirError("invalid", f"The body id '{body_id}' differs from the URL id '{rid}'",
                        f"{rtype}.id")
    session.lock(rtype, rid)
    current = session.get(rtype, rid)
    if if_match is not None:
        if current is None or current.deleted:
            raise FhirError("precondition-failed",
                            f"If-Match: {rtype}/{rid} does not exist (version {if_match} asked)")
        if current.version != if_match:
            raise FhirError("precondition-failed",
                            f"If-Match: {rtype}/{rid} is at version {current.version}, "
                            f"not {if_match}")
    if current is None:
        updated = ctx.clock()
        prepared = prepare(ctx, resource, rid, 1, updated, base_url)
        check_references(ctx, session, prepared, pending)
        stored = session.write(rtype, rid, 1, updated, prepared.content, "PUT", prepared.rows,
                               prepared.refs)
        return WriteResult(201, stored, "Created")
    if (
        not current.deleted
        and current.content is not None
        and fhir.same_content(fhir.loads(current.content), resource)
    ):
        return WriteResult(200, current, "No change: the content equals the current version")
    return _replace(ctx, session, current, resource, base_url, 201 if current.deleted else 200,
                    pending)


def _replace(
    ctx: FhirContext,
    session: SqlSession,
    current: Stored,
    resource: dict[str, Any],
    base_url: str,
    status: int,
    pending: frozenset[tuple[str, str]],
) -> WriteResult:
    version = current.version + 1
    updated = ctx.clock()
    prepared = prepare(ctx, resource, current.rid, version, updated, base_url)
    check_references(ctx, session, prepared, pending)
    stored = session.write(current.rtype, current.rid, version, updated, prepared.content, "PUT",
                           prepared.rows, prepared.refs, existing_pk=current.pk)
    return WriteResult(status, stored, "Updated" if status == 200 else "Created")


def conditional_update(
    ctx: FhirContext,
    session: SqlSession,
    rtype: str,
    criteria: Criteria,
    resource: dict[str, Any],
    base_url: str,
    if_match: int | None = None,
    pending: frozenset[tuple[str, str]] = frozenset(),
) -> WriteResult:
    session.lock_type(rtype)
    matches = conditional_matches(ctx, session, rtype, criteria)
    if len(matches) > 1:
        raise FhirError("multiple-matches",
                        f"Conditional update on {rtype} matches several resources")
    if not matches:
        rid = resource.get("id")
        if rid is not None:
            check_id(rid)
            existing = session.get(rtype, rid)
            if existing is not None and not existing.deleted:
                raise FhirError("conflict", f"{rtype}/{rid} exists but does not match the "
                                "conditional update's criteria")
        return create(ctx, session, resource, base_url, rid=rid, pending=pending)
    match = session.fetch(matches)[0]
    if resource.get("id") not in (None, match.rid):
        raise FhirError("invalid", f"The body id '{resource.get('id')}' differs from the "
                        f"matching resource {rtype}/{match.rid}", f"{rtype}.id")
    return update(ctx, session, rtype, match.rid, {**resource, "id": match.rid}, base_url,
                  if_match, pending)


def delete(
    ctx: FhirContext,
    session: SqlSession,
    rtype: str,
    rid: str,
    deleting: frozenset[tuple[str, str]] = frozenset(),
) -> WriteResult:
    check_id(rid)
    session.lock(rtype, rid)
    current = session.get(rtype, rid)
    if current is None or current.deleted:
        return WriteResult(204, None, "Nothing to delete")
    if ctx.settings.referential_integrity:
        users = [k for k in session.referencing(rtype, rid) if k not in deleting]
        if users:
            names = ", ".join(f"{t}/{i}" for t, i in users)
            raise FhirError("conflict", f"{rtype}/{rid} is referenced by {names}: delete or "
                            "update those first", rtype)
    session.delete(current.pk, rtype, rid, current.version + 1, ctx.clock())
    return WriteResult(204, None, "Deleted")


def conditional_delete(
    ctx: FhirContext, session: SqlSession, rtype: str, criteria: Criteria
) -> WriteResult:
    session.lock_type(rtype)
    matches = conditional_matches(ctx, session, rtype, criteria)
    if len(matches) > 1:
        raise FhirError("multiple-matches",
                        f"Conditional delete on {rtype} matches several resources")
    if not matches:
        return WriteResult(204, None, "No resource matched")
    match = session.fetch(matches)[0]
    return delete(ctx, session, rtype, match.rid)
