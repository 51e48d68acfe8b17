"""$evaluate-measure — https://hl7.org/fhir/R4/measure-operation-evaluate-measure.html.

``GET|POST [base]/Measure/[id]/$evaluate-measure?periodStart=…&periodEnd=…[&subject=…]``
and ``[base]/Measure/$evaluate-measure?measure=<canonical>&…``: a ``summary`` MeasureReport
of one of the guide's case-management Measures (fhir_service/measures/, docs/indicators.md),
computed in SQL over what the caller may see (its door).

Parameters: ``periodStart`` and ``periodEnd`` (dates, required, inclusive); ``subject``
(``Practitioner/[id]``: a case manager's episodes; ``Organization/[id]``: the episodes the
structure manages, or those of a territory — the Organization and every Organization that is
``partOf`` it); ``practitioner`` (as ``subject=Practitioner/…``); ``reportType``
(``population``, R4's name for a summary; ``subject`` and ``subject-list`` are refused:
indicators are aggregates); ``contactGapDays`` (cm-ruptures: the number of days without
contact that counts as a rupture; default the ``contact_gap_days`` setting).
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fhir_service import fhir
from fhir_service.context import FhirContext, instant
from fhir_service.measures import INDICATORS, READS, Period, evaluate, load_measures
from fhir_service.measures.sql import Queries, Scope
from fhir_service.operations import declare
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.search.extract import date_range
from fhir_service.security.policy import require_scope

if TYPE_CHECKING:
    from fhir_service.router import Router

DEFINITION = "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"
KNOWN = {"periodStart", "periodEnd", "measure", "subject", "practitioner", "reportType",
         "lastReceivedOn", "contactGapDays", "_format", "_pretty"}
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_REF = re.compile(r"^(Practitioner|Organization)/([A-Za-z0-9\-.]{1,64})$")
# the Measures evaluated with each registry, by canonical URL (the guide's, loaded at install)
_MEASURES: weakref.WeakKeyDictionary[Any, dict[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary())


def install(router: Router) -> None:
    ctx = router.ctx
    measures = {m["url"]: m for m in load_measures(tuple(ctx.settings.ig_packages))
                if m.get("url") in INDICATORS}
    _MEASURES[ctx.registry] = measures
    for measure in measures.values():  # resolvable by canonical (MeasureReport validation)
        if ctx.registry.by_url(measure["url"]) is None:
            ctx.registry.add_resource(measure)
    router.add_operation("instance", "Measure", "evaluate-measure", evaluate_instance)
    router.add_operation("type", "Measure", "evaluate-measure", evaluate_type)
    declare(router, "evaluate-measure", DEFINITION, types=("Measure",))


def _measures(ctx: FhirContext) -> dict[str, dict[str, Any]]:
    return _MEASURES.get(ctx.registry, {})


def _params(req: FhirRequest, measure: str | None = None) -> dict[str, list[str]]:
    """Query parameters, and those of a Parameters body (POST). Recorded first as the
    request's audit query (an indicator is audited as a query event: see _audited)."""
    _audited(req, measure, [(k, v) for k, v in req.query if k not in ("_format", "_pretty")])
    out: dict[str, list[str]] = {}
    for key, value in req.query:
        out.setdefault(key, []).append(value)
    if req.method == "POST" and req.body.strip():
        body = fhir.loads(req.body)
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise FhirError("invalid", "The body of $evaluate-measure must be a Parameters "
                            "resource", "Parameters")
        for i, param in enumerate(body.get("parameter") or []):
            if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                raise FhirError("invalid", "A parameter needs a name",
                                f"Parameters.parameter[{i}]")
            given = next((v for k, v in param.items() if k.startswith("value")), None)
            if not isinstance(given, (str, int)) or isinstance(given, bool):
                raise FhirError("invalid", f"Parameter '{param['name']}' needs a value",
                                f"Parameters.parameter[{i}]")
            out.setdefault(param["name"], []).append(str(given))
    for name, values in out.items():
        if name not in KNOWN:
            raise FhirError("not-supported", f"Unknown parameter '{name}' for $evaluate-measure",
                            name)
        if len(values) > 1:
            raise FhirError("invalid", f"Parameter '{name}' is given more than once", name)
    _audited(req, measure, [(k, v) for k, values in out.items() for v in values
                            if k not in ("_format", "_pretty")])
    return out


def _audited(req: FhirRequest, measure: str | None, params: list[tuple[str, str]]) -> None:
    """Every evaluation, answered or refused, leaves an AuditEvent attributable to the caller
    (client, practitioner, structure). A MeasureReport is aggregate data: the event is a query
    event — the Measure and the parameters, base64 in an entity of role query — and names no
    person (docs/indicators.md, "Audit")."""
    head = [("measure", measure)] if measure is not None else []
    req.audit_query = urlencode([*head, *params])[:2048]


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _period(params: dict[str, list[str]]) -> Period:
    bounds = []
    for name in ("periodStart", "periodEnd"):
        value = _one(params, name)
        if value is None:
            raise FhirError("required", f"Parameter '{name}' is required (a date)", name)
        rng = date_range(value) if _DATE.match(value) else None
        if rng is None:
            raise FhirError("invalid", f"Parameter '{name}' must be a date (YYYY, YYYY-MM or "
                            "YYYY-MM-DD)", name)
        bounds.append((value, rng))
    (start_text, (low, _)), (end_text, (_, high)) = bounds
    if high <= low:
        raise FhirError("invalid", "periodEnd is before periodStart", "periodEnd")
    return Period(start_text, end_text, low, high)


def evaluate_instance(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    mid = req.segments[1]
    _audited(req, f"Measure/{mid}", [])
    measure = next((m for m in _measures(ctx).values() if m.get("id") == mid), None)
    if measure is None:
        raise FhirError("not-found", f"Measure/{mid} is not a Measure this server evaluates "
                        f"({', '.join(sorted(m['id'] for m in _measures(ctx).values()))})",
                        "Measure")
    params = _params(req, f"Measure/{mid}")
    if _one(params, "measure") is not None:
        raise FhirError("invalid", "Parameter 'measure' is for Measure/$evaluate-measure; "
                        "the instance is the measure here", "measure")
    return _evaluate(ctx, req, measure, params)


def evaluate_type(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    params = _params(req)
    url = _one(params, "measure")
    if url is None:
        raise FhirError("required", "Parameter 'measure' (the canonical URL of a Measure) is "
                        "required", "measure")
    base, _, version = url.partition("|")
    measure = _measures(ctx).get(base)
    if measure is None or (version and version != measure.get("version")):
        raise FhirError("not-found", f"No Measure this server evaluates has the canonical "
                        f"URL {url}", "measure")
    return _evaluate(ctx, req, measure, params)


def _evaluate(ctx: FhirContext, req: FhirRequest, measure: dict[str, Any],
              params: dict[str, list[str]]) -> FhirResponse:
    if req.method not in ("GET", "POST"):
        raise FhirError("method-not-allowed", "$evaluate-measure takes a GET or a POST")
    period = _period(params)
    report_type = _one(params, "reportType") or "population"
    if report_type != "population":
        raise FhirError("not-supported", "Only population (summary) reports are produced: "
                        "indicators are aggregates, never individual reports", "reportType")
    extra: dict[str, Any] = {}
    gap = _one(params, "contactGapDays")
    if gap is not None and not re.fullmatch(r"[0-9]{1,5}", gap):
        raise FhirError("invalid", "contactGapDays must be a whole number of days",
                        "contactGapDays")
    extra["contactGapDays"] = int(gap) if gap is not None else ctx.settings.contact_gap_days
    subject = _subject(params)
    for rtype in READS[measure["url"]]:
        require_scope(req.principal, rtype, "s")
    with ctx.door(req.principal).read_session() as session:
        scope = Scope()
        if subject is not None:
            kind, rid = subject.split("/", 1)
            if session.get_visible(kind, rid) is None:
                raise FhirError("not-found", f"{subject} is not known", "subject")
            scope = (Scope(practitioner=rid) if kind == "Practitioner"
                     else Scope(organizations=Queries(session).territory(rid)))
        principal = req.principal
        reporter = principal.structure if principal is not None else None
        report = evaluate(session, measure, period, scope, subject, reporter, extra,
                          instant(ctx.clock.wall()))
    return FhirResponse(200, report)


def _subject(params: dict[str, list[str]]) -> str | None:
    subject, practitioner = _one(params, "subject"), _one(params, "practitioner")
    if practitioner is not None:
        if subject is not None:
            raise FhirError("invalid", "Give 'subject' or 'practitioner', not both",
                            "practitioner")
        subject = practitioner if "/" in practitioner else f"Practitioner/{practitioner}"
    if subject is None:
        return None
    if _REF.match(subject) is None:
        raise FhirError("not-supported", "subject must be Practitioner/[id] (a case manager) "
                        "or Organization/[id] (a structure or a territory): indicators are "
                        "never computed for one person", "subject")
    return subject
