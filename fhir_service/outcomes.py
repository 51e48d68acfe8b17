"""Errors as values: a category maps to an HTTP status and an OperationOutcome, in one table.

https://hl7.org/fhir/R4/operationoutcome.html — every failure a client sees is an
OperationOutcome whose issues carry the FHIRPath of the element at fault (``expression``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# category -> (HTTP status, OperationOutcome issue code)
CATEGORIES: dict[str, tuple[int, str]] = {
    "invalid": (400, "invalid"),
    "structure": (400, "structure"),
    "required": (400, "required"),
    "value": (400, "value"),
    "invariant": (400, "invariant"),
    "not-supported": (400, "not-supported"),
    "unauthorized": (401, "login"),
    "forbidden": (403, "forbidden"),
    "not-found": (404, "not-found"),
    "deleted": (410, "deleted"),
    "method-not-allowed": (405, "not-supported"),
    "not-acceptable": (406, "not-supported"),
    "conflict": (409, "conflict"),
    "duplicate": (409, "duplicate"),
    "precondition-failed": (412, "conflict"),
    "multiple-matches": (412, "multiple-matches"),
    "too-large": (413, "too-costly"),
    "unsupported-media-type": (415, "not-supported"),
    "unprocessable": (422, "processing"),
    "too-many-requests": (429, "throttled"),
    "internal": (500, "exception"),
}


@dataclass(frozen=True)
class Issue:
    severity: str  # fatal | error | warning | information
    code: str
    diagnostics: str
    expression: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "code": self.code}
        if self.diagnostics:
            out["diagnostics"] = self.diagnostics
        if self.expression:
            out["expression"] = list(self.expression)
        return out


@dataclass
class FhirError(Exception):
    """An error with a category; ``issues`` lists every problem found (at least one)."""

    category: str
    message: str
    expression: str | None = None
    issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.issues:
            code = CATEGORIES.get(self.category, (400, "processing"))[1]
            expr = (self.expression,) if self.expression else ()
            self.issues = [Issue("error", code, self.message, expr)]

    @property
    def status(self) -> int:
        return CATEGORIES.get(self.category, (400, "processing"))[0]

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def operation_outcome(issues: list[Issue] | tuple[Issue, ...]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


def info_outcome(message: str, code: str = "informational") -> dict[str, Any]:
    return operation_outcome([Issue("information", code, message)])


def invalid(message: str, expression: str | None = None) -> FhirError:
    return FhirError("invalid", message, expression)


def not_found(rtype: str, rid: str) -> FhirError:
    return FhirError("not-found", f"Resource {rtype}/{rid} is not known", f"{rtype}")
