"""Notification Bundles (Subscriptions R5 Backport IG STU 1.1, R4 representation).

A notification is a ``history`` Bundle whose first entry is the SubscriptionStatus, in R4 a
``Parameters`` (profile ``backport-subscription-status-r4``), then one entry per event focus
as the payload level allows: none for ``empty`` (and no focus in the status), the URL and
request for ``id-only``, the resource for ``full-resource``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fhir_service.context import instant

STATUS_PROFILE = ("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                  "backport-subscription-status-r4")
NOTIFICATION_PROFILE = ("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                        "backport-subscription-notification-r4")


@dataclass
class Event:
    number: int
    rtype: str
    rid: str
    version: int
    method: str
    created: float
    content: bytes | None = None  # the version's JSON when the owner may see it now
    visible: bool = True  # the owner may still see it (else: number and time only)
    stored: Any = None  # that version with its people, as the owner's door saw it (audit)
    hpk: int = 0  # the version's history row


def status_parameters(sub_id: str, base: str, topic: str | None, status: str, kind: str,
                      events_total: int, events: list[Event], content: str,
                      errors: list[str] | None = None) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{sub_id}"}},
    ]
    if topic and content != "empty":
        params.append({"name": "topic", "valueCanonical": topic})
    params += [{"name": "status", "valueCode": status}, {"name": "type", "valueCode": kind},
               {"name": "events-since-subscription-start", "valueString": str(events_total)}]
    for event in events:
        parts: list[dict[str, Any]] = [
            {"name": "event-number", "valueString": str(event.number)},
            {"name": "timestamp", "valueInstant": instant(event.created)}]
        if content != "empty" and event.visible:
            parts.append({"name": "focus", "valueReference": {
                "reference": f"{base}/{event.rtype}/{event.rid}/_history/{event.version}"}})
        params.append({"name": "notification-event", "part": parts})
    for text in errors or []:
        params.append({"name": "error", "valueCodeableConcept": {"text": text}})
    return {"resourceType": "Parameters", "id": str(uuid.uuid4()),
            "meta": {"profile": [STATUS_PROFILE]}, "parameter": params}


def bundle(sub_id: str, base: str, topic: str | None, status: str, kind: str,
           events_total: int, events: list[Event], content: str, now: float,
           errors: list[str] | None = None, request_kind: str = "$status") -> dict[str, Any]:
    """A notification (handshake, heartbeat, event-notification) or a $events answer."""
    from fhir_service import fhir

    status_resource = status_parameters(sub_id, base, topic, status, kind, events_total,
                                        events, content, errors)
    entries: list[dict[str, Any]] = [{
        "fullUrl": f"urn:uuid:{status_resource['id']}",
        "resource": status_resource,
        "request": {"method": "GET", "url": f"Subscription/{sub_id}/{request_kind}"},
        "response": {"status": "200"},
    }]
    if content != "empty":
        for event in events:
            if not event.visible:
                continue
            url = f"{base}/{event.rtype}/{event.rid}"
            method = {"DELETE": "DELETE", "POST": "POST"}.get(event.method, "PUT")
            entry: dict[str, Any] = {
                "fullUrl": url,
                "request": {"method": method,
                            "url": f"{event.rtype}" if method == "POST"
                            else f"{event.rtype}/{event.rid}"},
                "response": {"status": "201" if event.version == 1 else
                             ("204" if method == "DELETE" else "200"),
                             "etag": f'W/"{event.version}"'},
            }
            if content == "full-resource" and event.content is not None:
                entry["resource"] = fhir.loads(event.content)
            entries.append(entry)
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()),
            "meta": {"profile": [NOTIFICATION_PROFILE]}, "type": "history",
            "timestamp": instant(now), "entry": entries}
