"""Framework-free request and response objects (the FastAPI adapter builds and renders them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fhir_service.security.principal import Principal
    from fhir_service.store.repository import Stored


@dataclass
class FhirRequest:
    method: str
    # path segments after the FHIR base, e.g. ["CarePlan", "123", "_history", "2"]
    segments: list[str]
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    base_url: str = "http://localhost/fhir"
    request_id: str = ""
    # the authenticated caller; None means the server itself (internal loading, auth off)
    principal: Principal | None = None
    # the people (Patient ids) the request aimed at, seen or not: what a search filtered on,
    # what a refused write or a conditional match concerned. The audit record is indexed by
    # them too, so a structure's people show who probed for them (AuditEvent?patient=).
    probed: set[str] = field(default_factory=set)
    # an aggregate read that concerns no one person (an indicator: $evaluate-measure): it is
    # audited all the same, as a query event with this query string and no Patient entity
    audit_query: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def prefer(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in (self.header("prefer") or "").split(","):
            key, _, value = part.strip().partition("=")
            if key:
                out[key.strip().lower()] = value.strip().strip('"')
        return out

    @property
    def strict(self) -> bool:
        return self.prefer.get("handling") == "strict"


@dataclass
class FhirResponse:
    status: int
    body: dict[str, Any] | bytes | None = None  # dict: serialised by the adapter; bytes: as is
    headers: dict[str, str] = field(default_factory=dict)
    # for bundle entries: the stored resource behind the response, if any
    resource_bytes: bytes | None = None
    # the stored resources (versions) read or written, for the audit trail
    touched: list[Stored] = field(default_factory=list)
