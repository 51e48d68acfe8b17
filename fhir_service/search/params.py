"""Search parameters as data: compiled from SearchParameter resources of the loaded packages.

https://hl7.org/fhir/R4/searchparameter.html — each parameter's FHIRPath ``expression`` is
split at its top-level unions, and the parts rooted at a resource type are compiled once per
type. Two rewrites make R4 expressions evaluable by fhirpathpy:

* ``resolve() is X`` becomes a check on the reference's type (``Reference.type`` or the
  ``X/id`` form of ``Reference.reference``), since index extraction cannot resolve;
* ``Resource.`` / ``DomainResource.`` roots become the concrete type;
* ``(expr as T)`` and ``expr.as(T)`` become ``expr.ofType(T)`` (R4 applies ``as`` to
  collections, e.g. ``Observation.component.value``; strict FHIRPath wants a singleton);
* ``hasExtension('url')`` (not in fhirpathpy) becomes ``extension('url').exists()``.

An expression that does not compile fails loudly at start-up (:class:`SearchParamError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models as fhirpath_models

from fhir_service.conformance.registry import Registry

FHIRPATH_MODEL = fhirpath_models["r4"]
INDEXED_TYPES = ("token", "string", "date", "reference", "uri", "number", "quantity")

# Result and control parameters handled by the search engine itself, not by the index.
CONTROL_PARAMS = frozenset(
    {
        "_count",
        "_sort",
        "_total",
        "_summary",
        "_elements",
        "_include",
        "_revinclude",
        "_format",
        "_pretty",
        "_contained",
        "_containedType",
        "_cursor",
        "_offset",
        "_snapshot",
    }
)


class SearchParamError(RuntimeError):
    """A SearchParameter whose expression cannot be compiled or evaluated."""


@dataclass
class SearchParam:
    code: str
    type: str
    url: str
    resource_type: str
    expression: str
    targets: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    evaluate: Callable[[dict[str, Any]], list[Any]] | None = field(default=None, repr=False)
    definition: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def indexed(self) -> bool:
        return self.evaluate is not None


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath expression at top-level ``|`` (outside parentheses and quotes)."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    for i, ch in enumerate(expression):
        if quote:
            if ch == quote and expression[i - 1] != "\\":
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


_RESOLVE_IS = re.compile(r"resolve\(\)\s+is\s+([A-Za-z]+)")
_ROOT = re.compile(r"^\(?\s*([A-Z][A-Za-z]+)\b")
_AS_PAREN = re.compile(r"^\((.+?)\s+as\s+([A-Za-z]+)\)$")
_AS_CALL = re.compile(r"\.as\(([A-Za-z]+)\)")
_HAS_EXTENSION = re.compile(r"hasExtension\(('[^']*')\)")


def _rewrite_part(part: str) -> str:
    match = _AS_PAREN.match(part)
    if match and "(" not in match.group(1):
        part = f"{match.group(1)}.ofType({match.group(2)})"
    part = _AS_CALL.sub(r".ofType(\1)", part)
    return _HAS_EXTENSION.sub(r"extension(\1).exists()", part)


def _reference_type_check(match: re.Match[str]) -> str:
    target = match.group(1)
    return (
        f"(type = '{target}' or reference.matches('^(.*/)?{target}/[A-Za-z0-9\\\\-\\\\.]{{1,64}}"
        f"(/_history/.*)?$'))"
    )


def expression_for_type(expression: str, rtype: str) -> str | None:
    """The part of a multi-type expression that applies to ``rtype`` (None if none does)."""
    kept = []
    for raw in split_union(expression):
        part = _rewrite_part(raw)
        match = _ROOT.match(part)
        root = match.group(1) if match else None
        if root in ("Resource", "DomainResource"):
            kept.append(re.sub(r"\b(Resource|DomainResource)\.", f"{rtype}.", part, count=1))
        elif root == rtype or root is None:
            kept.append(part)
    if not kept:
        return None
    return _RESOLVE_IS.sub(_reference_type_check, " | ".join(kept))


def compile_expression(expression: str) -> Callable[[dict[str, Any]], list[Any]]:
    try:
        fn = fhirpath_compile(expression, FHIRPATH_MODEL)
    except Exception as exc:
        raise SearchParamError(f"cannot compile '{expression}': {exc}") from exc
    return fn  # type: ignore[no-any-return]


def compile_native(expression: str) -> Callable[[dict[str, Any]], list[Any]] | None:
    from fhir_service.search.native import compile_native as native

    return native(expression)


class SearchParamRegistry:
    """Search parameters per resource type, from every SearchParameter in the registry."""

    def __init__(self, registry: Registry, resource_types: list[str]) -> None:
        self._by_type: dict[str, dict[str, SearchParam]] = {t: {} for t in resource_types}
        for sp in registry.all_of("SearchParameter"):
            self.add(sp)

    @classmethod
    def from_definitions(cls, definitions: list[dict[str, Any]],
                         resource_types: list[str]) -> SearchParamRegistry:
        """A registry of just these SearchParameters (no definitions loaded): for a process
        that indexes a few types only."""
        self = cls.__new__(cls)
        self._by_type = {t: {} for t in resource_types}
        for sp in definitions:
            self.add(sp)
        return self

    def add(self, sp: dict[str, Any]) -> None:
        ptype = sp.get("type")
        expression = sp.get("expression")
        bases = sp.get("base", [])
        code = sp.get("code")
        if not code or not ptype:
            return
        for base in bases:
            types = list(self._by_type) if base in ("Resource", "DomainResource") else [base]
            for rtype in types:
                if rtype not in self._by_type:
                    continue
                if rtype == "Resource":
                    continue
                evaluate = None
                expr_for = ""
                if expression and ptype in INDEXED_TYPES:
                    expr_for = expression_for_type(expression, rtype) or ""
                    if expr_for:
                        # always compiled by fhirpathpy (a bad expression fails here, at
                        # start-up); evaluated natively when the expression is a simple path
                        evaluate = compile_expression(expr_for)
                        evaluate = compile_native(expr_for) or evaluate
                if code in ("_id", "_lastUpdated"):
                    evaluate = None  # columns of the resource table
                self._by_type[rtype][code] = SearchParam(
                    code=code,
                    type=ptype,
                    url=sp.get("url", ""),
                    resource_type=rtype,
                    expression=expr_for,
                    targets=tuple(sp.get("target", [])),
                    modifiers=tuple(sp.get("modifier", [])),
                    evaluate=evaluate,
                    definition=sp,
                )

    def for_type(self, rtype: str) -> dict[str, SearchParam]:
        return self._by_type.get(rtype, {})

    def get(self, rtype: str, code: str) -> SearchParam | None:
        return self._by_type.get(rtype, {}).get(code)

    def indexed(self, rtype: str) -> list[SearchParam]:
        return [p for p in self._by_type.get(rtype, {}).values() if p.indexed]

    def types(self) -> list[str]:
        return list(self._by_type)
