"""Every rewrite we apply to the FHIRPath expressions published in FHIR R4, in one place.

R4 (4.0.1) writes its SearchParameter expressions and its invariants
(``ElementDefinition.constraint.expression``) in FHIRPath N1 with the FHIR additions of
https://hl7.org/fhir/R4/fhirpath.html. Some of them cannot be evaluated as published — by the
engine we use (fhirpathpy 2.2.4), by index extraction (which cannot ``resolve()``), or at all
(a few invariants contradict their own rule). Each rewrite below says why, with its reference,
and keeps the published meaning. The search and validator forms are kept apart on purpose:
each is the exact form its compiled fast path (:mod:`.paths`, the validator's invariant
compiler) and its equivalence tests were proven on.

Search parameters (:func:`search_expression_for_type`, :func:`search_component`):

* ``resolve() is X`` → a check on the Reference's ``type`` or on the ``X/id`` form of its
  ``reference``: index extraction reads one resource and cannot resolve (R4 search,
  https://hl7.org/fhir/R4/search.html#reference, indexes the reference as written);
* ``Resource.`` / ``DomainResource.`` roots → the concrete type (the expression is compiled
  once per resource type; https://hl7.org/fhir/R4/searchparameter.html, ``base``);
* ``(expr as T)`` and ``expr.as(T)`` → ``expr.ofType(T)``: R4 applies ``as`` to collections
  (``Observation.component.value as Quantity``) where FHIRPath's ``as`` wants a singleton
  (https://hl7.org/fhirpath/N1/#as-type-specifier; R5 made the same change to ``ofType``);
* ``hasExtension('url')`` → ``extension('url').exists()``: used by R4 expressions, not a
  function of https://hl7.org/fhir/R4/fhirpath.html#functions nor of fhirpathpy.

Invariants (:func:`invariant_expression`, :func:`invariant_errata`):

* ``hasExtension('url')`` → ``extension.where(url = 'url').exists()`` and
  ``extension('url')`` → ``extension.where(url = 'url')``: fhirpathpy's ``extension(url)``
  returns only the first match (https://hl7.org/fhir/R4/fhirpath.html#functions: every
  extension with that url);
* ``as`` on collections → ``ofType`` (as above);
* ``is``/``as``/``ofType`` with a System type name (``Boolean``, ``String``…) → the FHIR
  primitive (``boolean``, ``string``…): FHIR elements are typed ``FHIR.boolean``
  (https://hl7.org/fhir/R4/fhirpath.html#types); the HL7 validator accepts both;
* :data:`INVARIANT_ERRATA`: invariants published with an expression that contradicts their
  own ``human`` rule, replaced by the correction of the later official publication.
"""

from __future__ import annotations

import re

# --- syntax ---------------------------------------------------------------------------------


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


# --- search parameters ----------------------------------------------------------------------

_SEARCH_RESOLVE_IS = re.compile(r"resolve\(\)\s+is\s+([A-Za-z]+)")
_SEARCH_ROOT = re.compile(r"^\(?\s*([A-Z][A-Za-z]+)\b")
_SEARCH_AS_PAREN = re.compile(r"^\((.+?)\s+as\s+([A-Za-z]+)\)$")
_SEARCH_AS_CALL = re.compile(r"\.as\(([A-Za-z]+)\)")
_SEARCH_HAS_EXTENSION = re.compile(r"hasExtension\(('[^']*')\)")


def search_part(part: str) -> str:
    """One union part of a search expression: ``as`` → ``ofType``, ``hasExtension`` →
    ``extension(url).exists()`` (the form :mod:`.paths` walks)."""
    match = _SEARCH_AS_PAREN.match(part)
    if match and "(" not in match.group(1):
        part = f"{match.group(1)}.ofType({match.group(2)})"
    part = _SEARCH_AS_CALL.sub(r".ofType(\1)", part)
    return _SEARCH_HAS_EXTENSION.sub(r"extension(\1).exists()", part)


def search_component(expression: str) -> str:
    """A composite parameter's component expression (relative to an element), rewritten part
    by part as :func:`search_part`."""
    return " | ".join(search_part(p) for p in split_union(expression))


def _reference_type_check(match: re.Match[str]) -> str:
    target = match.group(1)
    return (
        f"(type = '{target}' or reference.matches('^(.*/)?{target}/[A-Za-z0-9\\\\-\\\\.]{{1,64}}"
        f"(/_history/.*)?$'))"
    )


def search_expression_for_type(expression: str, rtype: str) -> str | None:
    """The part of a multi-type search expression that applies to ``rtype`` (None if none
    does), with every search rewrite applied."""
    kept = []
    for raw in split_union(expression):
        part = search_part(raw)
        match = _SEARCH_ROOT.match(part)
        root = match.group(1) if match else None
        if root in ("Resource", "DomainResource"):
            kept.append(re.sub(r"\b(Resource|DomainResource)\.", f"{rtype}.", part, count=1))
        elif root == rtype or root is None:
            kept.append(part)
    if not kept:
        return None
    return _SEARCH_RESOLVE_IS.sub(_reference_type_check, " | ".join(kept))


# --- invariants -----------------------------------------------------------------------------

_INV_EXT_FN = re.compile(r"\bextension\(\s*('[^']*')\s*\)")
_INV_HAS_EXTENSION = re.compile(r"\bhasExtension\(\s*('[^']*')\s*\)")
_INV_AS_PAREN = re.compile(r"\(([\w.]+) as (\w+)\)")
_INV_AS_CALL = re.compile(r"\.as\((\w+)\)")
_SYSTEM_TYPES = {"Boolean": "boolean", "String": "string", "Integer": "integer",
                 "Decimal": "decimal", "Date": "date", "DateTime": "dateTime", "Time": "time"}
_INV_IS_SYSTEM = re.compile(
    r"\b(is|as|ofType\(|is\()\s*(Boolean|String|Integer|Decimal|Date|DateTime|Time)\b")


def invariant_expression(expression: str) -> str:
    """Make an R4 invariant evaluable by fhirpathpy 2.2.4 with the same meaning (the form the
    validator's compiled invariants and fhirpathpy both evaluate)."""
    expr = _INV_HAS_EXTENSION.sub(r"extension.where(url = \1).exists()", expression)
    expr = _INV_EXT_FN.sub(r"extension.where(url = \1)", expr)
    expr = _INV_AS_PAREN.sub(r"\1.ofType(\2)", expr)
    expr = _INV_AS_CALL.sub(r".ofType(\1)", expr)
    return _INV_IS_SYSTEM.sub(lambda m: f"{m.group(1)} {_SYSTEM_TYPES[m.group(2)]}"
                              if not m.group(1).endswith("(") else
                              f"{m.group(1)}{_SYSTEM_TYPES[m.group(2)]}", expr)


# R4 invariants published with an expression that contradicts their own rule (``human``), as
# corrected by the later official publication named with each; applied only where the published
# expression is exactly the defective one. The HL7 validator evaluates the corrected rules too.
INVARIANT_ERRATA: dict[tuple[str, str], str] = {
    # hl7.fhir.r4b.core#4.3.0 Questionnaire que-12: "more than one enableWhen" counts from two
    ("que-12", "enableWhen.count() > 2 implies enableBehavior.exists()"):
        "enableWhen.count() > 1 implies enableBehavior.exists()",
    # hl7.fhir.r4b.core#4.3.0 Questionnaire que-7: a FHIR boolean is not a System.Boolean
    ("que-7", "operator = 'exists' implies (answer is Boolean)"):
        "operator = 'exists' implies (answer is boolean)",
    # hl7.fhir.r4b.core#4.3.0 Bundle bdl-8: applies only to an entry with a fullUrl
    ("bdl-8", "fullUrl.contains('/_history/').not()"):
        "fullUrl.exists() implies fullUrl.contains('/_history/').not()",
    # hl7.fhir.r4b.core#4.3.0 RiskAssessment ras-2: applies only to a decimal probability
    ("ras-2", "probability is decimal implies (probability as decimal) <= 100"):
        "probability.exists($this is decimal) implies (probability as decimal) <= 100",
}


def invariant_errata(key: str, expression: str) -> str:
    """The corrected expression of a defective R4 invariant (:data:`INVARIANT_ERRATA`), else
    the expression as published."""
    return INVARIANT_ERRATA.get((key, expression), expression)
