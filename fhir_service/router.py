"""Framework-free dispatch: (method, path) → interaction. No web framework in here.

https://hl7.org/fhir/R4/http.html — the RESTful API's URL patterns.
"""

from __future__ import annotations

from collections.abc import Callable

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.interactions import (
    bundle,
    create,
    delete,
    history,
    patch,
    read,
    search,
    update,
)
from fhir_service.interactions.capabilities import capability_statement
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.audit import AuditTrail
from fhir_service.security.policy import require_scope
from fhir_service.security.provenance import refuse_client_write

Operation = Callable[[FhirContext, FhirRequest, "Router"], FhirResponse]


class Router:
    def __init__(self, ctx: FhirContext) -> None:
        self.ctx = ctx
        self._capabilities: dict[str, bytes] = {}
        # operations: (level, type or "*", name) -> handler; level in system/type/instance
        self.operations: dict[tuple[str, str, str], Operation] = {}
        self.audit = AuditTrail(ctx)

    def close(self) -> None:
        """Clean shutdown of the background work (the audit trail's writer and indexer), to
        be called before the repository is closed."""
        self.audit.close()

    def add_operation(self, level: str, rtype: str, name: str, handler: Operation) -> None:
        self.operations[(level, rtype, name)] = handler

    def capabilities(self, base_url: str) -> bytes:
        if base_url not in self._capabilities:
            self._capabilities[base_url] = fhir.dumps(capability_statement(self.ctx, base_url))
        return self._capabilities[base_url]

    def handle(self, req: FhirRequest) -> FhirResponse:
        """A request from outside: dispatch it, then leave its audit record (committed before
        the response is returned, whatever the outcome)."""
        principal = req.principal
        if principal is None or principal.operator or principal.system:
            self.audit.flush()  # those who may read AuditEvents see every recorded one
        try:
            resp = self.dispatch(req)
        except FhirError as exc:
            self.audit.record(req, exc.status, [], exc.message)
            raise
        self.audit.record(req, resp.status, resp.touched)
        return resp

    def _require(self, req: FhirRequest, rtype: str, letters: str) -> None:
        require_scope(req.principal, rtype, letters)  # (the rule: security/policy.py)

    async def handle_read(self, req: FhirRequest) -> FhirResponse:
        """A read or vread by id from outside, on the event loop (a key look-up is cheaper
        than a thread hop): the same dispatch as :meth:`handle`, its audit record awaited
        without blocking the loop."""
        try:
            resp = self.dispatch(req)
        except FhirError as exc:
            await self.audit.record_async(req, exc.status, [], exc.message)
            raise
        await self.audit.record_async(req, resp.status, resp.touched)
        return resp

    def dispatch(self, req: FhirRequest) -> FhirResponse:
        ctx = self.ctx
        seg = req.segments
        method = req.method.upper()
        n = len(seg)
        if method == "HEAD":
            req.method = "GET"
            method = "GET"
        if n == 0:
            if method == "POST":
                return bundle.process(ctx, req, self.dispatch)
            if method == "GET":
                self._require(req, "*", "s")
                return search.search_type(ctx, req, None)
            raise self._not_allowed(method, "the base URL")
        if seg[0] == "metadata" and n == 1:
            if method != "GET":
                raise self._not_allowed(method, "/metadata")
            return FhirResponse(200, self.capabilities(req.base_url))
        if seg[0] == "_history" and n == 1:
            if method != "GET":
                raise self._not_allowed(method, "/_history")
            self._require(req, "*", "s")
            return history.history(ctx, req, None, None)
        if seg[0].startswith("$"):
            return self._operation(req, "system", "*", seg[0][1:])
        rtype = seg[0]
        if n == 1 or (n == 2 and not seg[1].startswith(("_", "$"))):
            # Provenance and AuditEvent are written by the server only (not _search, $op)
            refuse_client_write(req.principal, rtype, method)
        if n == 1:
            if method == "GET":
                self._require(req, rtype, "s")
                return search.search_type(ctx, req, rtype)
            if method == "POST":
                self._require(req, rtype, "c")
                return create.create(ctx, req, rtype)
            if method == "PUT":
                self._require(req, rtype, "cu")
                return update.conditional_update(ctx, req, rtype)
            if method == "DELETE":
                self._require(req, rtype, "d")
                return delete.conditional_delete(ctx, req, rtype)
            raise self._not_allowed(method, rtype)
        second = seg[1]
        if n == 2 and second == "_search":
            if method != "POST":
                raise self._not_allowed(method, f"{rtype}/_search")
            self._require(req, rtype, "s")
            return search.search_type(ctx, req, rtype, search.check_search_body(req))
        if n == 2 and second == "_history":
            if method != "GET":
                raise self._not_allowed(method, f"{rtype}/_history")
            self._require(req, rtype, "s")
            return history.history(ctx, req, rtype, None)
        if second.startswith("$"):
            if n != 2:
                raise FhirError("not-found", "Unknown URL")
            return self._operation(req, "type", rtype, second[1:])
        rid = second
        if n == 2:
            if method == "GET":
                self._require(req, rtype, "r")
                return read.read(ctx, req, rtype, rid)
            if method == "PUT":
                self._require(req, rtype, "cu")
                return update.update(ctx, req, rtype, rid)
            if method == "DELETE":
                self._require(req, rtype, "d")
                return delete.delete(ctx, req, rtype, rid)
            if method == "PATCH":
                self._require(req, rtype, "u")
                return patch.patch(ctx, req, rtype, rid)
            raise self._not_allowed(method, f"{rtype}/{rid}")
        third = seg[2]
        if third.startswith("$") and n == 3:
            self._require(req, rtype, "r")
            return self._operation(req, "instance", rtype, third[1:])
        if third == "_history" and n == 3 and method == "GET":
            self._require(req, rtype, "r")
            return history.history(ctx, req, rtype, rid)
        if third == "_history" and n == 4 and method == "GET":
            self._require(req, rtype, "r")
            return read.vread(ctx, req, rtype, rid, seg[3])
        if n == 3 and method == "GET" and third in ctx.params.types():
            self._require(req, third, "s")
            return self._compartment(req, rtype, rid, third)
        raise FhirError("not-found", f"Unknown URL /{'/'.join(seg)[:200]}")

    def _operation(self, req: FhirRequest, level: str, rtype: str, name: str) -> FhirResponse:
        handler = self.operations.get((level, rtype, name)) or self.operations.get(
            (level, "*", name))
        if handler is None:
            raise FhirError("not-supported", f"Operation ${name} is not supported at "
                            f"{level} level{'' if rtype == '*' else ' for ' + rtype}",
                            f"${name}")
        return handler(self.ctx, req, self)

    def _compartment(self, req: FhirRequest, ctype: str, cid: str, rtype: str) -> FhirResponse:
        """Patient/123/CarePlan: search the type for resources referencing the owner."""
        from fhir_service.interactions.common import check_id, check_type

        check_type(self.ctx, ctype)
        check_id(cid)
        params = self.ctx.params.for_type(rtype)
        code = ctype.lower() if ctype.lower() in params else None
        if code is None or params[code].type != "reference":
            raise FhirError("not-supported", f"Compartment search {ctype}/{{id}}/{rtype} is not "
                            "supported")
        items = [(code, f"{ctype}/{cid}"), *req.query]
        return search.search_type(self.ctx, req, rtype, items)

    @staticmethod
    def _not_allowed(method: str, where: str) -> FhirError:
        return FhirError("method-not-allowed", f"{method} is not allowed on {where}")
