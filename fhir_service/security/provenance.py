"""Provenance on every write — https://hl7.org/fhir/R4/provenance.html.

One Provenance per request that changed something, written in the same transaction as the
change: targets are the new versions (``Type/id/_history/n``), ``recorded`` the server time,
agents the practitioner (author) and the client software (enterer), each on behalf of the
caller's structure. A client-supplied ``X-Provenance`` header (a Provenance resource without
target, https://hl7.org/fhir/R4/provenance.html#header) adds detail: the server keeps its
content, sets ``target`` and ``recorded`` and always adds its own agents (the authenticated
client and its structure, the practitioner). A header agent that claims another structure
(an ``Organization`` other than the caller's as ``who`` or ``onBehalfOf``, by reference,
contained or by identifier) or another client (``urn:cm-fhir:client``) is refused (403).
Unchanged re-imports write no Provenance.

Provenance and AuditEvent are written by the server only: clients may not create, update,
patch or delete them (:func:`refuse_client_write`, checked by the router and for the
entries of transactions).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fhir_service import fhir
from fhir_service.context import instant
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

if TYPE_CHECKING:
    from fhir_service.interactions.write import Writer
    from fhir_service.security.principal import Principal

CLIENT_SYSTEM = "urn:cm-fhir:client"
NOT_TRACED = frozenset({"Provenance", "AuditEvent"})
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
SERVER_WRITTEN = frozenset({"Provenance", "AuditEvent"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ORG_REF = re.compile(r"(?:^|/)Organization/([^/]*)(?:/_history/[^/]*)?$")


def refuse_client_write(principal: Principal | None, rtype: str | None, method: str,
                        where: str | None = None) -> None:
    """403 when a client (not the server itself) would create, update, patch or delete a
    Provenance or an AuditEvent: those records are the server's, immutable through the API."""
    if principal is None or principal.system or rtype not in SERVER_WRITTEN or \
            method.upper() not in WRITE_METHODS:
        return
    hint = (" (to add detail to the Provenance of a write, send it as the write's "
            "X-Provenance header)" if rtype == "Provenance" else "")
    raise FhirError("forbidden", f"{rtype} resources are written by the server only: they "
                    f"cannot be created, updated, patched or deleted through the API{hint}",
                    where or rtype)


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


def _check_claims(header: dict[str, Any], principal: Principal | None) -> None:
    """A client speaks for itself and its own structure only."""
    if principal is None or principal.system:
        return
    contained = {f"#{c.get('id')}": c for c in header.get("contained") or []
                 if isinstance(c, dict)}
    agents = [(f"Provenance.agent[{i}]", a) for i, a in enumerate(_list(header.get("agent")))]
    for j, entity in enumerate(_list(header.get("entity"))):
        if isinstance(entity, dict):
            agents.extend((f"Provenance.entity[{j}].agent[{k}]", a)
                          for k, a in enumerate(_list(entity.get("agent"))))
    for where, agent in agents:
        if not isinstance(agent, dict):
            continue
        for key in ("who", "onBehalfOf"):
            ref = agent.get(key)
            if isinstance(ref, dict):
                _check_reference(ref, principal, contained, f"{where}.{key}")


def _check_reference(ref: dict[str, Any], principal: Principal,
                     contained: dict[str, Any], where: str) -> None:
    own = principal.structure
    reference = ref.get("reference")
    if isinstance(reference, str):
        match = _ORG_REF.search(reference.split("?")[0])
        if match and match.group(1) != own:
            raise FhirError("forbidden", f"X-Provenance: {where} names an Organization that is "
                            "not your structure; a client writes on behalf of its own "
                            "structure only", where)
        target = contained.get(reference)
        if isinstance(target, dict) and target.get("resourceType") == "Organization":
            raise FhirError("forbidden", f"X-Provenance: {where} names a contained "
                            "Organization; name your structure by reference "
                            f"(Organization/{own or '<id>'})", where)
    elif ref.get("type") == "Organization":
        raise FhirError("forbidden", f"X-Provenance: {where} names an Organization by "
                        "identifier; name your structure by reference "
                        f"(Organization/{own or '<id>'})", where)
    ident = ref.get("identifier")
    if isinstance(ident, dict) and ident.get("system") == CLIENT_SYSTEM and \
            ident.get("value") != principal.client_id:
        raise FhirError("forbidden", f"X-Provenance: {where} names another client; the "
                        "server records the client that writes", f"{where}.identifier")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def record_changes(writer: Writer, req: FhirRequest) -> None:
    """Write the request's Provenance (if enabled and something changed) in the session."""
    changes = [(a, s) for a, s in writer.changes if s.rtype not in NOT_TRACED]
    header = _from_header(req)
    if header is not None:
        if "agent" in header and not isinstance(header["agent"], list):
            raise FhirError("structure", "X-Provenance: Provenance.agent must be an array",
                            "Provenance.agent")
        _check_claims(header, req.principal)
    if not changes or not writer.ctx.settings.provenance:
        return
    targets = [{"reference": f"{s.rtype}/{s.rid}/_history/{s.version}"} for _, s in changes]
    activities = {a for a, _ in changes}
    provenance: dict[str, Any] = dict(header) if header else {"resourceType": "Provenance"}
    provenance.pop("id", None)
    meta = provenance.pop("meta", None)
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    if profiles:  # the profiles the header claims (validated below); the rest of meta is ours
        provenance["meta"] = {"profile": profiles}
    provenance["target"] = targets
    provenance["recorded"] = instant(writer.ctx.clock())
    if len(activities) == 1 and "activity" not in provenance:
        provenance["activity"] = {"coding": [{"system": DATA_OPERATION,
                                              "code": activities.pop()}]}
    claimed = list(header.get("agent") or []) if header else []
    provenance["agent"] = claimed + [a for a in _agents(req) if a not in claimed]
    from fhir_service.interactions.common import validate_resource
    from fhir_service.interactions.write import Writer

    validate_resource(writer.ctx, provenance, "X-Provenance" if header else "")
    internal = Writer(writer.ctx, writer.session, writer.base_url, None,
                      pending=frozenset((s.rtype, s.rid) for _, s in changes) | writer.pending)
    internal.create(provenance)
    writer.changes.extend(internal.changes)
