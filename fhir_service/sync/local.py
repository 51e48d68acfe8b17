"""Our side of a sync: this server's router, called as a locally registered client.

Every read and write of a sync goes through ``Router.handle`` with the principal of the
client named by ``--client`` (the structure on whose behalf we push or pull): the door of
that client carries the access rule into every query, the write rules apply ownership and
validation, and each request leaves its audit record attributed to that client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fhir_service import fhir
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.security.principal import Principal, Scopes

LOCAL_BASE = "http://localhost/fhir"


class UnknownClient(Exception):
    pass


@dataclass
class LocalStore:
    router: Any
    principal: Principal

    @classmethod
    def for_client(cls, application: Any, client_id: str) -> LocalStore:
        """The router of ``application`` as the registered, active client ``client_id``."""
        client = application.state.security.clients.get(client_id)
        if client is None or not client.active:
            raise UnknownClient(f"'{client_id}' is not an active registered client of this "
                                "server (cm-fhir client list)")
        principal = Principal(client_id=client.client_id, structure=client.structure,
                              practitioner=client.practitioner,
                              scopes=Scopes.parse(client.scopes),
                              operator=client.role == "operator")
        return cls(application.state.router, principal)

    def _call(self, method: str, segments: list[str], query: list[tuple[str, str]] | None = None,
              body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
              ) -> tuple[int, Any]:
        req = FhirRequest(method, segments, query=list(query or []),
                          headers={"content-type": "application/fhir+json",
                                   "accept": "application/fhir+json", **(headers or {})},
                          body=fhir.dumps(body) if body is not None else b"",
                          base_url=LOCAL_BASE, principal=self.principal)
        try:
            resp: FhirResponse = self.router.handle(req)
        except FhirError as exc:
            return exc.status, exc.outcome()
        data = resp.body
        if isinstance(data, bytes | bytearray):
            data = fhir.loads(bytes(data)) if data else None
        if data is None and resp.resource_bytes:
            data = fhir.loads(resp.resource_bytes)
        return resp.status, data

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        """The current version if this client may see it; None for a hidden or missing id
        (the same answer)."""
        status, data = self._call("GET", [rtype, rid])
        return data if status == 200 and isinstance(data, dict) else None

    def search(self, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every match this client may see (all pages)."""
        found: list[dict[str, Any]] = []
        params = [*query, ("_count", "500")]
        for _ in range(10_000):
            status, bundle = self._call("GET", [rtype], params)
            if status != 200:  # (e.g. 403: the client's scopes lack 's' on the type)
                summary = "; ".join(str(i.get("diagnostics", ""))[:200]
                                    for i in (bundle or {}).get("issue") or [])
                raise FhirError("exception", f"our search on {rtype} as this client answered "
                                f"{status}: {summary}")
            for entry in bundle.get("entry") or []:
                if (entry.get("search") or {}).get("mode", "match") == "match":
                    found.append(entry["resource"])
            nxt = next((link["url"] for link in bundle.get("link") or []
                        if link.get("relation") == "next"), None)
            if not nxt:
                break
            params = parse_qsl(urlsplit(nxt).query, keep_blank_values=True)
        return found

    def by_identifier(self, rtype: str, system: str, value: str) -> list[dict[str, Any]]:
        return self.search(rtype, [("identifier", f"{system}|{value}")])

    def update(self, rtype: str, rid: str, resource: dict[str, Any]) -> tuple[int, Any]:
        return self._call("PUT", [rtype, rid], body={**resource, "id": rid})

    def conditional_update(self, rtype: str, system: str, value: str,
                           resource: dict[str, Any]) -> tuple[int, Any]:
        return self._call("PUT", [rtype], query=[("identifier", f"{system}|{value}")],
                          body=resource)
