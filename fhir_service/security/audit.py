"""Audit trail: an AuditEvent for every access to patient data.

Shaped after IHE Basic Audit Log Patterns (BALP, https://profiles.ihe.net/ITI/BALP/):
``type`` rest, ``subtype`` the RESTful interaction, ``action`` C/R/U/D/E, ``outcome``, agents
for the client software (source), the practitioner (``fhirUser``) and the structure, the
server as destination, entities for the people concerned (``Patient``, role 1), the
resources read or written, and the query of a search (base64). Denied attempts are
audited too.

Durability: the event is committed before the response leaves the server, so no access
happens without its record, even if the process dies right after. The events are stored
resources, indexed like any other, so ``AuditEvent?patient=…`` tells who looked at a
person's plan; only operators can read them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fhir_service import fhir
from fhir_service.context import instant
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.search.extract import extract
from fhir_service.security.policy import PROTECTED_TYPES
from fhir_service.security.provenance import CLIENT_SYSTEM
from fhir_service.store.repository import Stored

if TYPE_CHECKING:
    from fhir_service.context import FhirContext

log = logging.getLogger("cm_fhir.audit")

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


@dataclass
class _Pending:
    req: FhirRequest
    status: int
    touched: list[Stored]
    message: str
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    future: asyncio.Future[None] | None = None  # for callers on the event loop


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class AuditTrail:
    """Writes AuditEvents with group commit: concurrent requests hand their record to one
    writer thread, which stores a batch in one transaction; each request returns only once
    its own record is committed (an audit failure fails the request: no unrecorded access)."""

    def __init__(self, ctx: FhirContext) -> None:
        self.ctx = ctx
        self._queue: list[_Pending] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def needed(self, req: FhirRequest, touched: list[Stored]) -> bool:
        principal = req.principal
        if principal is None or principal.system or not self.ctx.settings.audit:
            return False
        _, rtype = classify(req)
        return rtype != "AuditEvent" and (
            rtype in PROTECTED_TYPES or any(
                s.rtype in PROTECTED_TYPES or self.ctx.policy is None
                or s.rtype in self.ctx.policy.compartment for s in touched))

    def _enqueue(self, item: _Pending) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cm-fhir-audit",
                                                daemon=True)
                self._thread.start()
            self._queue.append(item)
            self._cond.notify()

    async def record_async(self, req: FhirRequest, status: int, touched: list[Stored],
                           message: str = "") -> None:
        """Same as :meth:`record` for callers on the event loop: awaits the commit."""
        if not self.needed(req, touched):
            return
        item = _Pending(req, status, [s for s in touched if s.rtype != "AuditEvent"], message,
                        future=asyncio.get_running_loop().create_future())
        self._enqueue(item)
        assert item.future is not None
        try:
            await asyncio.wait_for(item.future, timeout=60)
        except TimeoutError:
            raise FhirError("internal", "The audit record could not be written in time") \
                from None
        if item.error is not None:
            raise FhirError("internal", "The audit record could not be written") \
                from item.error

    def record(self, req: FhirRequest, status: int, touched: list[Stored],
               message: str = "") -> None:
        """Write the request's AuditEvent; returns once it is committed."""
        if not self.needed(req, touched):
            return
        item = _Pending(req, status, [s for s in touched if s.rtype != "AuditEvent"], message)
        self._enqueue(item)
        if not item.done.wait(timeout=60):
            raise FhirError("internal", "The audit record could not be written in time")
        if item.error is not None:
            raise FhirError("internal", "The audit record could not be written") \
                from item.error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            except BaseException as exc:
                log.exception("audit batch failed")
                for item in batch:
                    item.error = exc
            for item in batch:
                item.done.set()
                if item.future is not None:
                    item.future.get_loop().call_soon_threadsafe(_resolve, item.future)

    def _write(self, batch: list[_Pending]) -> None:
        with self.ctx.repository.write_session() as session:
            pks = sorted({s.pk for item in batch for s in item.touched})
            people = session.patients_by_pk(pks)
            rows = []
            for item in batch:
                patients = sorted({p for s in item.touched for p in people.get(s.pk, ())})
                interaction, rtype = classify(item.req)
                if not patients and rtype not in PROTECTED_TYPES and \
                        not any(s.rtype in PROTECTED_TYPES for s in item.touched):
                    continue  # compartment types, but nobody's data
                event = self._event(item.req, interaction, rtype, item.status, patients,
                                    [f"{s.rtype}/{s.rid}/_history/{s.version}"
                                     for s in item.touched], item.message)
                rid = self.ctx.new_id()
                updated = self.ctx.clock()
                event = {"resourceType": "AuditEvent", "id": rid,
                         "meta": {"versionId": "1", "lastUpdated": instant(updated)},
                         **{k: v for k, v in event.items() if k != "resourceType"}}
                index = extract(event, self.ctx.params.indexed("AuditEvent"))
                rows.append(("AuditEvent", rid, updated, fhir.dumps(event), index, patients))
            session.append_many(rows)

    def _event(self, req: FhirRequest, interaction: str, rtype: str | None, status: int,
               patients: list[str], resources: list[str], message: str) -> dict[str, Any]:
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
        if interaction == "search" and req.query:
            query = "&".join(f"{k}={v}" for k, v in req.query)
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
            "recorded": instant(self.ctx.clock()),
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
