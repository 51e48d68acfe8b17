"""Helpers shared by the interactions: body parsing, validation on write, headers, Prefer."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fhir_service import fhir
from fhir_service.context import FhirContext, http_date, instant
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest, FhirResponse
from fhir_service.search.extract import IndexRows, extract, parse_reference
from fhir_service.search.params import SearchParamError
from fhir_service.store.repository import Stored

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def check_id(rid: str, where: str = "id") -> None:
    if not ID_RE.match(rid):
        raise FhirError("invalid", f"'{rid[:80]}' is not a valid FHIR id "
                        "([A-Za-z0-9-.]{1,64})", where)


def check_type(ctx: FhirContext, rtype: str) -> None:
    if rtype not in ctx.params.types():
        raise FhirError("not-found", f"Unknown resource type '{rtype[:64]}'", rtype[:64])


def parse_body(req: FhirRequest) -> Any:
    if not req.body.strip():
        raise FhirError("invalid", "The request has no body")
    return fhir.loads(req.body)


def parse_resource(ctx: FhirContext, req: FhirRequest, rtype: str | None) -> dict[str, Any]:
    data = parse_body(req)
    if not isinstance(data, dict):
        raise FhirError("structure", "The body must be a JSON object (a FHIR resource)")
    actual = data.get("resourceType")
    if not isinstance(actual, str):
        raise FhirError("structure", "The resource has no resourceType", "resourceType")
    if rtype is not None and actual != rtype:
        raise FhirError("invalid", f"The body is a {actual}, the URL names {rtype}",
                        "resourceType")
    return data


def validate_resource(ctx: FhirContext, resource: dict[str, Any], where: str = "") -> None:
    """Reject what R4 forbids: structure from the R4 definitions (conformance/structure.py),
    then base R4 and claimed profiles (ctx.profile_validator). The R4B model runs only when
    ``validate_with_model`` is set: the differential test
    (tests/validator/test_model_differential.py) shows it catches nothing these miss."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in ctx.params.types():
        raise FhirError("not-supported", f"Unknown resource type '{str(rtype)[:64]}'",
                        f"{where}resourceType" if where else "resourceType")
    issues = ctx.checker.check_resource(resource)
    if not issues and ctx.settings.validate_with_model:
        issues = fhir.validate_with_model(resource)
    if not issues and ctx.profile_validator is not None:
        issues = ctx.profile_validator(resource)
    if "id" in resource and isinstance(resource["id"], str) and not ID_RE.match(resource["id"]):
        issues.append(Issue("error", "value", f"'{resource['id'][:80]}' is not a valid id",
                            (f"{rtype}.id",)))
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    if errors:
        if where:
            errors = [Issue(i.severity, i.code, f"{where}: {i.diagnostics}", i.expression)
                      for i in errors]
        raise FhirError("invalid", errors[0].diagnostics, issues=errors)


def iter_references(value: Any) -> Iterator[dict[str, Any]]:
    """Every object with a string ``reference`` (Reference datatypes), depth first."""
    found: list[dict[str, Any]] = []
    _collect_references(value, found)
    return iter(found)


def _collect_references(value: Any, found: list[dict[str, Any]]) -> None:
    # (a list rather than nested generators: a third of the time on ingest's resources)
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.append(value)
        for key, item in value.items():
            if key != "contained" and isinstance(item, (dict, list)):
                _collect_references(item, found)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                _collect_references(item, found)


@functools.lru_cache(maxsize=8)
def _known_types(params: Any) -> frozenset[str]:
    return frozenset(params.types())  # (a set: this runs for every reference written)


def local_reference(ctx: FhirContext, ref: str, base_url: str) -> tuple[str, str] | None:
    """(type, id) for a reference to this server (relative or our absolute base)."""
    for base in (base_url, ctx.settings.public_base_url):
        if base and ref.startswith(base.rstrip("/") + "/"):
            ref = ref[len(base.rstrip("/")) + 1 :]
    if "://" in ref or ref.startswith(("urn:", "#")):
        return None
    rtype, rid, _ = parse_reference(ref)
    if rtype is None or rid is None or rtype not in _known_types(ctx.params):
        return None
    if ref.count("/") not in (1, 3):
        return None
    return rtype, rid


@dataclass
class Prepared:
    resource: dict[str, Any]
    content: bytes
    rows: IndexRows
    refs: list[tuple[str, str]]
    patients: list[str] = field(default_factory=list)  # filled by the access policy


def prepare(
    ctx: FhirContext, resource: dict[str, Any], rid: str, version: int, updated: float,
    base_url: str,
) -> Prepared:
    """Set id and meta, compute canonical bytes, index rows and outgoing references."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = instant(updated)
    resource = {**resource, "id": rid, "meta": meta}
    rtype = resource["resourceType"]
    try:
        rows = extract(resource, ctx.params.indexed(rtype))
    except SearchParamError as exc:
        raise FhirError("unprocessable", str(exc), rtype) from None
    refs = []
    for ref in iter_references(resource):
        key = local_reference(ctx, ref["reference"], base_url)
        if key is not None:
            refs.append(key)
    return Prepared(resource, fhir.canonical(resource), rows, refs)


def check_references(
    ctx: FhirContext,
    session: Any,
    prepared: Prepared,
    pending: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> None:
    """Referential integrity: every local reference resolves (or is written in the same
    transaction)."""
    if not ctx.settings.referential_integrity:
        return
    own = (prepared.resource["resourceType"], prepared.resource["id"])
    wanted = sorted({k for k in prepared.refs if k != own and k not in pending})
    if not wanted:
        return
    found = session.existing(wanted)
    missing = [k for k in wanted if k not in found]
    if missing:
        issues = [
            Issue("error", "not-found",
                  f"Reference to {t}/{i} does not resolve to a resource on this server",
                  (_reference_path(prepared.resource, t, i),))
            for t, i in missing
        ]
        raise FhirError("invalid", issues[0].diagnostics, issues=issues)


def _reference_path(resource: dict[str, Any], rtype: str, rid: str) -> str:
    """FHIRPath of the first element holding a reference to rtype/rid."""

    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and (ref == f"{rtype}/{rid}" or ref.endswith(f"/{rtype}/{rid}")
                                         or f"{rtype}/{rid}/_history/" in ref):
                return f"{path}.reference"
            for key, item in value.items():
                found = walk(item, f"{path}.{key}")
                if found:
                    return found
        elif isinstance(value, list):
            for i, item in enumerate(value):
                found = walk(item, f"{path}[{i}]")
                if found:
                    return found
        return None

    return walk(resource, resource["resourceType"]) or resource["resourceType"]


# --- responses -----------------------------------------------------------------------------


def resource_headers(stored: Stored, base_url: str, location: bool = False) -> dict[str, str]:
    headers = {"ETag": f'W/"{stored.version}"', "Last-Modified": http_date(stored.updated)}
    if location:
        headers["Location"] = (
            f"{base_url}/{stored.rtype}/{stored.rid}/_history/{stored.version}"
        )
    return headers


def write_response(
    req: FhirRequest, stored: Stored, status: int, message: str | None = None
) -> FhirResponse:
    """Honour ``Prefer: return=minimal|representation|OperationOutcome``."""
    headers = resource_headers(stored, req.base_url, location=status == 201 or status == 200)
    if status == 200 and req.method == "GET":
        headers.pop("Location", None)
    mode = req.prefer.get("return", "representation")
    if mode == "minimal":
        return FhirResponse(status, None, headers, resource_bytes=stored.content)
    if mode.lower() == "operationoutcome":
        text = message or ("Created" if status == 201 else "OK")
        outcome = operation_outcome([Issue("information", "informational", text)])
        return FhirResponse(status, outcome, headers, resource_bytes=stored.content)
    return FhirResponse(status, stored.content, headers, resource_bytes=stored.content)


def parse_etag(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.match(r'^\s*(?:W/)?"?([0-9]+)"?\s*$', value)
    if match is None:
        raise FhirError("invalid", f"Malformed ETag '{value[:40]}': expected W/\"<version>\"")
    return int(match.group(1))
