"""Provenance on every write — https://hl7.org/fhir/R4/provenance.html.

One Provenance per request that changed something, written in the same transaction as the
change: targets are the new versions (``Type/id/_history/n``), ``recorded`` the server time,
agents the practitioner (author) and the client software (enterer), each on behalf of the
caller's structure. A client-supplied ``X-Provenance`` header (a Provenance resource without
target, https://hl7.org/fhir/R4/provenance.html#header) is honoured: the server keeps its
content and sets ``target`` and ``recorded``. Unchanged re-imports write no Provenance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fhir_service import fhir
from fhir_service.context import instant
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

if TYPE_CHECKING:
    from fhir_service.interactions.write import Writer

CLIENT_SYSTEM = "urn:cm-fhir:client"
NOT_TRACED = frozenset({"Provenance", "AuditEvent"})
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"


def _agents(req: FhirRequest) -> list[dict[str, Any]]:
    principal = req.principal
    if principal is None:
        return [{"type": {"coding": [{"system": PARTICIPANT, "code": "enterer"}]},
                 "who": {"identifier": {"system": CLIENT_SYSTEM, "value": "cm-fhir"},
                         "display": "cm-fhir (server)"}}]
    on_behalf = ({"onBehalfOf": {"reference": f"Organization/{principal.structure}"}}
                 if principal.structure else {})
    agents = []
    if principal.practitioner:
        agents.append({"type": {"coding": [{"system": PARTICIPANT, "code": "author"}]},
                       "who": {"reference": f"Practitioner/{principal.practitioner}"},
                       **on_behalf})
    agents.append({"type": {"coding": [{"system": PARTICIPANT, "code": "enterer"}]},
                   "who": {"identifier": {"system": CLIENT_SYSTEM,
                                          "value": principal.client_id}},
                   **on_behalf})
    return agents


def _from_header(req: FhirRequest) -> dict[str, Any] | None:
    raw = req.header("x-provenance")
    if not raw:
        return None
    try:
        data = fhir.loads(raw)
    except FhirError:
        raise FhirError("invalid", "X-Provenance is not a JSON Provenance resource",
                        "X-Provenance") from None
    if not isinstance(data, dict) or data.get("resourceType") != "Provenance":
        raise FhirError("invalid", "X-Provenance must hold a Provenance resource",
                        "X-Provenance")
    if data.get("target"):
        raise FhirError("invalid", "X-Provenance must not name targets: the server sets them",
                        "Provenance.target")
    return data


def record_changes(writer: Writer, req: FhirRequest) -> None:
    """Write the request's Provenance (if enabled and something changed) in the session."""
    changes = [(a, s) for a, s in writer.changes if s.rtype not in NOT_TRACED]
    header = _from_header(req)
    if not changes or not writer.ctx.settings.provenance:
        return
    targets = [{"reference": f"{s.rtype}/{s.rid}/_history/{s.version}"} for _, s in changes]
    activities = {a for a, _ in changes}
    provenance: dict[str, Any] = dict(header) if header else {"resourceType": "Provenance"}
    provenance.pop("id", None)
    provenance.pop("meta", None)
    provenance["target"] = targets
    provenance["recorded"] = instant(writer.ctx.clock())
    if len(activities) == 1 and "activity" not in provenance:
        provenance["activity"] = {"coding": [{"system": DATA_OPERATION,
                                              "code": activities.pop()}]}
    if not header:
        provenance["agent"] = _agents(req)
    from fhir_service.interactions.common import validate_resource
    from fhir_service.interactions.write import Writer

    validate_resource(writer.ctx, provenance, "X-Provenance" if header else "")
    internal = Writer(writer.ctx, writer.session, writer.base_url, None,
                      pending=frozenset((s.rtype, s.rid) for _, s in changes) | writer.pending)
    internal.create(provenance)
    writer.changes.extend(internal.changes)
