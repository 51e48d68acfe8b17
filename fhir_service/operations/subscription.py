"""Subscriptions: the service (fhir_service/subscriptions/) and its operations.

* ``Subscription/$status`` (type: ``id`` and ``status``, each repeatable, ORed) and
  ``Subscription/[id]/$status``: a ``searchset`` Bundle of SubscriptionStatus (R4:
  Parameters, type ``query-status``), for the subscriptions of the caller's structure.
* ``Subscription/[id]/$events`` (``eventsSinceNumber``, ``eventsUntilNumber``, ``content``):
  a ``history`` Bundle, the status first (type ``query-event``), then the events still
  stored, each as its owner may see it now.

https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/OperationDefinition-backport-subscription-status.html
and -backport-subscription-events.html. A subscription of another structure answers as one
that does not exist.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fhir_service.context import instant
from fhir_service.operations import declare
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.policy import require_scope
from fhir_service.subscriptions.notify import bundle, status_parameters
from fhir_service.subscriptions.rules import CONTENTS
from fhir_service.subscriptions.service import SubscriptionService

if TYPE_CHECKING:
    from fhir_service.context import FhirContext
    from fhir_service.router import Router

STATUS = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"
EVENTS = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events"


def install(router: Router) -> None:
    SubscriptionService(router.ctx, router.audit).install()
    for level in ("type", "instance"):
        router.add_operation(level, "Subscription", "status", status)
    router.add_operation("instance", "Subscription", "events", events)
    declare(router, "status", STATUS, types=("Subscription",))
    declare(router, "events", EVENTS, types=("Subscription",))


def _service(ctx: FhirContext) -> SubscriptionService:
    service = getattr(ctx, "subscriptions", None)
    if service is None:
        raise FhirError("not-supported", "Subscriptions are not available on this server")
    return service


def _params(req: FhirRequest) -> list[tuple[str, str]]:
    items = list(req.query)
    if req.method.upper() == "POST" and req.body:
        from fhir_service import fhir

        try:
            body = fhir.loads(req.body)
        except ValueError:
            raise FhirError("invalid", "The body is not a Parameters resource") from None
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise FhirError("invalid", "The body must be a Parameters resource", "Parameters")
        for i, p in enumerate(body.get("parameter") or []):
            value = next((v for k, v in p.items() if k.startswith("value")), None)
            if not isinstance(value, (str, int)):
                raise FhirError("invalid", "Each parameter needs a value",
                                f"Parameters.parameter[{i}]")
            items.append((str(p.get("name")), str(value)))
    return items


def _visible(ctx: FhirContext, req: FhirRequest) -> Callable[[list[str]], set[str]]:
    """Which of these Subscription ids the caller may see: its door decides (the policy's
    owner-only rule), as for a read of each."""
    def visible(ids: list[str]) -> set[str]:
        with ctx.door(req.principal).read_session() as session:
            return {rid for _, rid in session.existing([("Subscription", i) for i in ids])}
    return visible


def _one(ctx: FhirContext, req: FhirRequest) -> Any:
    rid = req.segments[1]
    found = _service(ctx).owned(_visible(ctx, req), [rid])
    if not found:
        raise FhirError("not-found", f"Subscription/{rid[:64]} is not known", "Subscription")
    return found[0]


def status(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    require_scope(req.principal, "Subscription", "r" if len(req.segments) > 2 else "rs")
    items = _params(req)
    if len(req.segments) > 2:
        subs = [_one(ctx, req)]
    else:
        ids = [v for k, value in items if k == "id" for v in value.split(",") if v]
        statuses = [v for k, value in items if k == "status" for v in value.split(",") if v]
        subs = _service(ctx).owned(_visible(ctx, req), ids or None, statuses or None)
    now = time.time()
    entries = []
    for sub in subs:
        plan = sub.plan
        reason = getattr(sub, "reason", None)
        params = status_parameters(sub.sub_id, plan.base, plan.topic, sub.status,
                                   "query-status", sub.events, [], plan.content,
                                   [reason] if reason else None)
        entries.append({"fullUrl": f"urn:uuid:{params['id']}", "resource": params,
                        "search": {"mode": "match"}})
    return FhirResponse(200, {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                              "type": "searchset", "timestamp": instant(now),
                              "total": len(entries), "entry": entries})


def events(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    items = dict(_params(req))

    def number(name: str) -> int | None:
        if name not in items:
            return None
        try:
            value = int(items[name])
        except ValueError:
            value = -1
        if value < 0:
            raise FhirError("invalid", f"{name} must be a non-negative integer", name)
        return value

    since, until = number("eventsSinceNumber"), number("eventsUntilNumber")
    sub = _one(ctx, req)
    plan = sub.plan
    content = items.get("content", plan.content)
    if content not in CONTENTS:
        raise FhirError("invalid", "content must be empty, id-only or full-resource", "content")
    if plan.content == "empty":
        content = "empty"
    elif plan.content == "id-only" and content == "full-resource":
        content = "id-only"  # (no more than the subscription was granted)
    found = _service(ctx).events(sub, since, until)
    body = bundle(sub.sub_id, plan.base, plan.topic, sub.status, "query-event", sub.events,
                  found, content, time.time(), request_kind="$events")
    return FhirResponse(200, body)
