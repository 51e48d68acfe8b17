"""$everything: a person's whole record, or an episode's, as the caller may see it.

- http://hl7.org/fhir/OperationDefinition/Patient-everything —
  ``GET [base]/Patient/[id]/$everything``: the Patient, every resource that is data of that
  person (the Patient compartment as the access policy derives it: also the resources of
  types outside the compartment that reference the person, and the Provenance of their
  data), and the directory resources they reference (Practitioner, PractitionerRole,
  Organization, Location…; two hops: a role, then its practitioner and organisation).
- https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/episode-everything —
  ``GET [base]/EpisodeOfCare/[id]/$everything``: the episode, what it references (the
  person, its team, referral, care manager), what references it (plans, service requests,
  consents, questionnaire responses of the episode), what those reference (a plan's goals, a
  team's members), the Provenance of all of these, and the directory resources they
  reference. Only data of the episode's person is followed.

Both: only what the caller may see (every query carries its access rule, see
``fhir_service/export/selection.py``) and only types its token may read (``r``; a
``_type`` naming another type is refused, 403); a resource the caller may not see is
answered as one that does not exist (404, byte for byte). Parameters: ``_since`` (an
instant: changed after it), ``_type`` (comma-separated types), ``_count`` (page size;
``next`` links carry a key cursor and a snapshot bound, as searches do). The answer is a
``searchset`` Bundle whose entries are ``match``es, in creation order, with the ``total``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from fhir_service import fhir
from fhir_service.context import FhirContext, instant
from fhir_service.export import selection
from fhir_service.export.selection import Row
from fhir_service.interactions.common import check_id
from fhir_service.operations import declare
from fhir_service.outcomes import FhirError, Issue
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.door import CallerSession

if TYPE_CHECKING:
    from fhir_service.router import Router

PATIENT_DEFINITION = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
EPISODE_DEFINITION = ("https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/"
                      "episode-everything")
PARAMETERS = ("_since", "_type", "_count", "_cursor", "_snapshot")
# answered by the HTTP layer, not by the operation
FORMAT_PARAMETERS = ("_format", "_pretty")


def install(router: Router) -> None:
    router.add_operation("instance", "Patient", "everything", patient_everything)
    router.add_operation("instance", "EpisodeOfCare", "everything", episode_everything)
    declare(router, "everything", PATIENT_DEFINITION, types=("Patient", "EpisodeOfCare"),
            per_type={"EpisodeOfCare": EPISODE_DEFINITION})


# --- parameters --------------------------------------------------------------------------------


class Options:
    def __init__(self, ctx: FhirContext, req: FhirRequest) -> None:
        self.since: float | None = None
        self.types: set[str] | None = None
        self.count = ctx.settings.default_count
        self.cursor = 0
        self.snapshot: int | None = None
        self.used: list[tuple[str, str]] = []
        problems: list[Issue] = []
        for name, value in req.query:
            if name in FORMAT_PARAMETERS:
                continue
            if name not in PARAMETERS:
                if req.prefer.get("handling") != "lenient":
                    problems.append(Issue("error", "not-supported",
                                          f"Parameter '{name[:64]}' is not supported by "
                                          "$everything", (name[:64],)))
                continue
            problem = self._take(ctx, name, value)
            if problem:
                problems.append(Issue("error", "value", problem, (name,)))
            elif name not in ("_cursor", "_snapshot"):
                self.used.append((name, value))
        if problems:
            raise FhirError("invalid", problems[0].diagnostics, issues=problems)

    def _take(self, ctx: FhirContext, name: str, value: str) -> str | None:
        if name == "_since":
            since = parse_instant(value)
            if since is None:
                return "_since must be an instant (e.g. 2026-01-31T12:00:00Z)"
            self.since = since
        elif name == "_type":
            names = [t.strip() for t in value.split(",") if t.strip()]
            unknown = [t for t in names if t not in ctx.params.types()]
            if unknown or not names:
                return f"_type names no resource type of FHIR R4: {', '.join(unknown)[:120]}"
            self.types = set(names) | (self.types or set())
        elif name == "_count":
            if not value.isdigit() or not 0 < int(value) <= ctx.settings.max_count:
                return f"_count must be a whole number from 1 to {ctx.settings.max_count}"
            self.count = int(value)
        elif name == "_cursor":
            if not value.isdigit():
                return "_cursor is not one this server gave"
            self.cursor = int(value)
        elif name == "_snapshot":
            if not value.isdigit():
                return "_snapshot is not one this server gave"
            self.snapshot = int(value)
        return None


def parse_instant(value: str) -> float | None:
    """A FHIR instant (time zone required) as a timestamp, or None."""
    import re
    from datetime import datetime

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})",
                        value):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:  # fromisoformat takes at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


# --- the operations ------------------------------------------------------------------------------


def patient_everything(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    return _everything(ctx, req, "Patient", _patient_record)


def episode_everything(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    return _everything(ctx, req, "EpisodeOfCare", _episode_record)


def _everything(ctx: FhirContext, req: FhirRequest, rtype: str, record: Any) -> FhirResponse:
    if req.method != "GET":  # (its parameters are in the URL; a POSTed body is not read)
        raise FhirError("method-not-allowed", f"$everything takes a GET (not {req.method})")
    rid = req.segments[1]
    check_id(rid)
    door = ctx.door(req.principal)
    focus, hidden_people = door.read(rtype, rid)
    if focus is None:
        req.probed.update(hidden_people)  # a refused look is recorded under the person
        raise FhirError("not-found", f"{rtype}/{rid} is not known", rtype)
    if focus.deleted:
        raise FhirError("deleted", f"{rtype}/{rid} was deleted", rtype)
    options = Options(ctx, req)
    access = door.access
    refused = sorted(t for t in options.types or () if not access.can(t, "r"))
    if refused:  # (as an _include of such a type is refused)
        raise FhirError("forbidden", "The token's scopes do not allow reading "
                        f"{', '.join(refused)[:200]}, which _type asks for", "_type")
    with door.read_session() as session:
        rows = {r.pk: r for r in record(session, focus)}
        snapshot = options.snapshot if options.snapshot is not None else selection.max_pk(
            session)
        chosen = sorted(
            (r for r in rows.values()
             if r.pk <= snapshot and access.can(r.rtype, "r")
             and (options.types is None or r.rtype in options.types)
             and (options.since is None or r.updated > options.since)),
            key=lambda r: r.pk)
        after = [r for r in chosen if r.pk > options.cursor]
        page = after[:options.count]
        stored = selection.fetch(session, [r.pk for r in page])
    has_more = len(after) > options.count
    path = f"{req.base_url}/{rtype}/{rid}/$everything"
    links = [{"relation": "self", "url": _url(path, options.used)}]
    if has_more and page:
        links.append({"relation": "next", "url": _url(path, [
            *options.used, ("_cursor", str(page[-1].pk)), ("_snapshot", str(snapshot))])})
    if options.cursor:
        links.append({"relation": "first", "url": _url(path, [
            *options.used, ("_snapshot", str(snapshot))])})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle", "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(ctx.clock())}, "type": "searchset",
        "total": len(chosen), "link": links,
    }
    if stored:
        bundle["entry"] = [{"fullUrl": f"{req.base_url}/{s.rtype}/{s.rid}",
                            "resource": orjson.Fragment(s.content), "search": {"mode": "match"}}
                           for s in stored if s.content is not None]
    return FhirResponse(200, orjson.dumps(bundle, default=fhir._default), touched=stored)


def _url(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def _patient_record(session: CallerSession, patient: Any) -> list[Row]:
    people = selection.compartment(session, [patient.rid])
    return people + selection.directory_of(session, [r.pk for r in people])


def _episode_record(session: CallerSession, episode: Any) -> list[Row]:
    """The episode and what is linked to it (module docstring), data of its person only."""
    owners = selection.people_of(session, [episode.pk]).get(episode.pk, set())
    found: dict[int, Row] = {}

    def keep(rows: list[Row]) -> list[Row]:
        people = selection.people_of(session, [r.pk for r in rows])
        fresh = [r for r in rows if r.pk not in found and people.get(r.pk)
                 and people[r.pk] <= owners]
        found.update((r.pk, r) for r in fresh)
        return fresh

    keep(selection.rows_of_pks(session, [episode.pk]))
    level1 = keep(selection.rows_of_keys(session, selection.referenced(session, [episode.pk])))
    level1 += keep(selection.rows_of_pks(
        session, selection.referencing(session, [("EpisodeOfCare", episode.rid)])))
    keep(selection.rows_of_keys(session, selection.referenced(
        session, [r.pk for r in level1 if r.rtype != "Patient"])))
    provenance = selection.referencing(session, [(r.rtype, r.rid) for r in found.values()])
    keep([r for r in selection.rows_of_pks(session, provenance) if r.rtype == "Provenance"])
    return list(found.values()) + selection.directory_of(session, list(found))
