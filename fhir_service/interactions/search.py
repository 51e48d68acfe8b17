"""search — https://hl7.org/fhir/R4/search.html (GET and POST ``_search``, type and system).

The page is computed by the database; entries embed the stored bytes unchanged (no model
re-serialisation) unless ``_summary`` / ``_elements`` ask for a subset. Paging links carry a
snapshot bound (``_snapshot``, the highest resource key when the search started) and a cursor,
so a client walking the pages sees neither duplicates nor gaps while others write.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson

from fhir_service import fhir
from fhir_service.context import FhirContext, instant
from fhir_service.interactions.common import check_type
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.search.query import Include, SearchQuery
from fhir_service.security.door import CallerSession
from fhir_service.store.repository import Stored

MAX_INCLUDE_ITERATIONS = 4
MAX_INCLUDED = 1000


def search_type(ctx: FhirContext, req: FhirRequest, rtype: str | None,
                items: list[tuple[str, str]] | None = None) -> FhirResponse:
    if rtype is not None:
        check_type(ctx, rtype)
    items = req.query if items is None else items
    if len(items) > ctx.settings.max_search_params:
        raise FhirError("too-large", f"Too many search parameters ({len(items)}; the limit is "
                        f"{ctx.settings.max_search_params})")
    query = ctx.parser.parse(rtype, items, strict=req.strict, base_url=req.base_url)
    if query.summary == "count":
        query.count = 0
    door = ctx.door(req.principal)
    with door.read_session() as session:
        if not door.access.unrestricted and names_someone(query.filters):
            # who the search aimed at, seen or not: its audit record is indexed by them
            req.probed.update(session.probed_people(rtype, query.filters))
        page = session.search(query)
        matches = page.rows
        included = _includes(session, query, matches)
    bundle = _bundle(ctx, req, rtype, query, page.total, page.has_more, page.snapshot, matches,
                     included)
    return FhirResponse(200, bundle, touched=matches + included)


# parameters that single a person out (identity, contact, a reference to someone)
_IDENTIFYING_TOKENS = frozenset({"identifier", "telecom", "phone", "email", "_id"})
_IDENTIFYING_DATES = frozenset({"birthdate", "death-date"})


def names_someone(filters: list[Any]) -> bool:
    """Whether a search's filters (at any depth of chains and ``_has``) name someone: a
    string, a reference, an identifier or contact, a birth date."""
    for filt in filters:
        if filt.has is not None and names_someone([filt.has.inner]):
            return True
        if filt.chain is not None:
            return True  # a hop through a reference names what it reaches
        if filt.code in _IDENTIFYING_TOKENS or filt.code in _IDENTIFYING_DATES:
            return True
        if filt.param is not None and filt.param.type in ("string", "reference"):
            return True
    return False


def _includes(session: CallerSession, query: SearchQuery, matches: list[Stored]) -> list[Stored]:
    if not query.includes or not matches:
        return []
    seen = {(s.rtype, s.rid) for s in matches}
    included: list[Stored] = []
    frontier = matches
    for iteration in range(MAX_INCLUDE_ITERATIONS):
        found: list[Stored] = []
        for inc in query.includes:
            if iteration > 0 and not inc.iterate:
                continue
            found.extend(_one_include(session, inc, frontier))
        fresh = []
        for s in found:
            # the token's scopes bound what a search returns, includes too
            if (s.rtype, s.rid) not in seen and session.access.can(s.rtype, "r"):
                seen.add((s.rtype, s.rid))
                fresh.append(s)
        included.extend(fresh)
        if not fresh or len(included) >= MAX_INCLUDED:
            break
        frontier = fresh
    return included[:MAX_INCLUDED]


def _one_include(session: CallerSession, inc: Include, frontier: list[Stored]) -> list[Stored]:
    if inc.reverse:
        keys = [(s.rtype, s.rid) for s in frontier]
        return session.revinclude_sources(keys, inc.source_type, inc.param_code)
    pks = [s.pk for s in frontier if s.rtype == inc.source_type]
    return session.include_targets(pks, inc.param_code, inc.source_type, inc.target_type)


def _link_url(req: FhirRequest, rtype: str | None, params: list[tuple[str, str]]) -> str:
    path = f"{req.base_url}/{rtype}" if rtype else req.base_url
    return f"{path}?{urlencode(params)}" if params else path


def _bundle(
    ctx: FhirContext,
    req: FhirRequest,
    rtype: str | None,
    query: SearchQuery,
    total: int | None,
    has_more: bool,
    snapshot: int,
    matches: list[Stored],
    included: list[Stored],
) -> bytes:
    links = [{"relation": "self", "url": _link_url(req, rtype, query.used)}]
    if has_more and matches:
        if query.sort:
            paging = [("_offset", str(query.offset + query.count))]
        else:
            paging = [("_cursor", str(matches[-1].pk))]
        links.append({"relation": "next",
                      "url": _link_url(req, rtype, query.used + paging +
                                       [("_snapshot", str(snapshot))])})
    if query.offset > 0 or query.cursor is not None:
        links.append({"relation": "first",
                      "url": _link_url(req, rtype, [*query.used, ("_snapshot", str(snapshot))])})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": instant(ctx.clock())},
        "type": "searchset",
    }
    if (total is not None and query.total != "none") or query.summary == "count":
        bundle["total"] = total
    bundle["link"] = links
    entries = []
    if query.summary != "count":
        for stored in matches:
            entries.append(_entry(ctx, req, stored, "match", query))
        for stored in included:
            entries.append(_entry(ctx, req, stored, "include", query))
    if query.ignored:
        outcome = operation_outcome([
            Issue("warning", "not-supported",
                  f"Search parameter '{name}' is not supported and was ignored", (name,))
            for name in query.ignored
        ])
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return orjson.dumps(bundle, default=_fragment_default)


def _fragment_default(obj: Any) -> Any:
    return fhir._default(obj)


def _entry(
    ctx: FhirContext, req: FhirRequest, stored: Stored, mode: str, query: SearchQuery
) -> dict[str, Any]:
    assert stored.content is not None
    if query.summary or query.elements:
        resource: Any = subset(ctx, fhir.loads(stored.content), query.summary, query.elements)
    else:
        resource = orjson.Fragment(stored.content)
    return {
        "fullUrl": f"{req.base_url}/{stored.rtype}/{stored.rid}",
        "resource": resource,
        "search": {"mode": mode},
    }


_SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
              "code": "SUBSETTED"}


def summary_elements(ctx: FhirContext, rtype: str) -> set[str]:
    sd = ctx.registry.type_definition(rtype)
    names: set[str] = set()
    if sd is None:
        return names
    for el in sd.get("snapshot", {}).get("element", []):
        path = el["path"]
        if path.count(".") == 1 and el.get("isSummary"):
            names.add(path.split(".", 1)[1].replace("[x]", ""))
    return names


def mandatory_elements(ctx: FhirContext, rtype: str) -> set[str]:
    sd = ctx.registry.type_definition(rtype)
    if sd is None:
        return set()
    return {
        el["path"].split(".", 1)[1].replace("[x]", "")
        for el in sd.get("snapshot", {}).get("element", [])
        if el["path"].count(".") == 1 and int(el.get("min", 0)) > 0
    }


def _keep(resource: dict[str, Any], names: set[str]) -> dict[str, Any]:
    out = {}
    for key, value in resource.items():
        base = key.lstrip("_")
        if key in ("resourceType", "id", "meta") or any(
            base == n or (base.startswith(n) and base[len(n):][:1].isupper()) for n in names
        ):
            out[key] = value
    return out


def subset(
    ctx: FhirContext, resource: dict[str, Any], summary: str | None, elements: list[str]
) -> dict[str, Any]:
    rtype = resource["resourceType"]
    if summary == "data":
        out = {k: v for k, v in resource.items() if k != "text"}
    elif summary == "text":
        out = _keep(resource, {"text"} | mandatory_elements(ctx, rtype))
    elif summary == "true":
        out = _keep(resource, summary_elements(ctx, rtype))
    elif elements:
        out = _keep(resource, {e.split(".", 1)[0] for e in elements} |
                    mandatory_elements(ctx, rtype))
    else:
        return resource
    meta = dict(out.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), _SUBSETTED]
    out["meta"] = meta
    return out


def check_search_body(req: FhirRequest) -> list[tuple[str, str]]:
    """POST _search: form-encoded parameters in the body, plus those in the URL."""
    from urllib.parse import parse_qsl

    ctype = (req.header("content-type") or "").split(";", 1)[0].strip().lower()
    if req.body and ctype not in ("application/x-www-form-urlencoded", ""):
        raise FhirError("unsupported-media-type",
                        "POST _search takes application/x-www-form-urlencoded parameters")
    try:
        body_items = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise FhirError("invalid", "The search body is not valid UTF-8") from None
    return list(req.query) + body_items
