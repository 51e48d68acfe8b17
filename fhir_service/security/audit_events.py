"""The AuditEvents of the audit trail: IHE Basic Audit Log Patterns (BALP,
https://profiles.ihe.net/ITI/BALP/) — ``type`` rest, ``subtype`` the RESTful interaction,
``action`` C/R/U/D/E, ``outcome``, agents for the client software (source), the practitioner
(``fhirUser``) and the structure, the server as destination, entities for the people
concerned (``Patient``, role 1), the resources read or written, and the query of a search
(base64)."""

from __future__ import annotations

import base64
from typing import Any

from fhir_service.context import instant
from fhir_service.request import FhirRequest
from fhir_service.security.provenance import CLIENT_SYSTEM

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACTIONS = {"read": "R", "vread": "R", "search": "E", "history": "R", "create": "C",
           "update": "U", "patch": "U", "delete": "D", "transaction": "E", "batch": "E",
           "operation": "E"}


def classify(req: FhirRequest) -> tuple[str, str | None]:
    """(interaction, resource type) of a request, for the audit record."""
    seg, method = req.segments, req.method
    rtype = seg[0] if seg and not seg[0].startswith(("$", "_")) and seg[0] != "metadata" \
        else None
    if any(s.startswith("$") for s in seg):
        return "operation", rtype
    if not seg:
        return ("transaction" if method == "POST" else "search"), None
    if "_history" in seg:
        return ("vread" if len(seg) == 4 else "history"), rtype
    if method == "GET":
        return ("read" if len(seg) == 2 else "search"), rtype
    if len(seg) == 2 and seg[1] == "_search":
        return "search", rtype
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, "operation"), rtype


def build_event(req: FhirRequest, interaction: str, rtype: str | None, status: int,
                patients: list[str], resources: list[str], message: str,
                recorded: float) -> dict[str, Any]:
    """The AuditEvent of one request (IHE BALP shape, see module docstring)."""
    principal = req.principal
    assert principal is not None
    outcome = "0" if status < 400 else ("4" if status < 500 else "8")
    agents: list[dict[str, Any]] = [{
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": {"system": CLIENT_SYSTEM, "value": principal.client_id}},
        "requestor": principal.practitioner is None,
    }]
    if principal.practitioner:
        agents.append({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                                 "code": "PROV"}]},
            "who": {"reference": f"Practitioner/{principal.practitioner}"},
            "requestor": True,
        })
    if principal.structure:
        agents.append({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                                 "code": "ASSIGNED"}]},
            "who": {"reference": f"Organization/{principal.structure}"},
            "requestor": False,
        })
    agents.append({
        "type": {"coding": [{"system": DCM, "code": "110152",
                             "display": "Destination Role ID"}]},
        "who": {"display": "cm-fhir"},
        "requestor": False,
    })
    entities: list[dict[str, Any]] = [
        {"what": {"reference": f"Patient/{p}"},
         "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                  "code": "1"},
         "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}}
        for p in patients
    ]
    entities.extend(
        {"what": {"reference": ref},
         "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                  "code": "2"}}
        for ref in resources[:200]
    )
    query = ("&".join(f"{k}={v}" for k, v in req.query)
             if interaction == "search" and req.query else req.audit_query)
    if query:
        entities.append({
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                     "code": "2"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role",
                     "code": "24"},
            "description": rtype or "system",
            "query": base64.b64encode(query.encode()).decode(),
        })
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction",
                     "code": interaction if interaction != "operation" else "operation"}],
        "action": ACTIONS.get(interaction, "E"),
        "recorded": instant(recorded),
        "outcome": outcome,
        "agent": agents,
        "source": {"observer": {"display": "cm-fhir"},
                   "type": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                       "security-source-type", "code": "4"}]},
    }
    if message and outcome != "0":
        event["outcomeDesc"] = message[:500]
    if entities:
        event["entity"] = entities
    return event
