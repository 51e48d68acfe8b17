"""Native evaluation of the simple FHIRPath expressions most SearchParameters use.

Evaluating SearchParameter expressions with a general FHIRPath engine costs ~20 µs each,
and a resource has 20–30 parameters: it dominated ingest and audit writes. Most expressions
(95 % of the R4 ones) are plain paths with a few filters, which this module evaluates by
walking the JSON directly:

* ``Type.a.b.c`` (choice elements such as ``value`` match ``valueQuantity`` …),
* ``.ofType(T)`` after a choice element,
* ``.where(field = 'literal')`` and ``.extension('url')``,
* the reference-type check that ``resolve() is X`` is rewritten to (see :mod:`.rewrites`),
* unions of those with ``|``.

Anything else returns ``None`` from :func:`compile_native` and stays with the general engine
(:mod:`.engine`, fhirpathpy).
``tests/test_native_paths.py`` checks, on every official R4 resource, that both give the same
values for every parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fhir_service.fhirpath.engine import MODEL
from fhir_service.fhirpath.rewrites import split_union

# the type names that may end a choice element's JSON name (valueQuantity…), from the R4 model
CHOICE_SUFFIXES = frozenset(t for types in MODEL["choiceTypePaths"].values()
                            for t in types)

Evaluator = Callable[[dict[str, Any]], list[Any]]

_ROOT = re.compile(r"^([A-Z][A-Za-z]+)")
_STEP = re.compile(
    r"^\.(?:"
    r"(?P<field>[a-z][A-Za-z0-9]*)(?![A-Za-z0-9(])"
    r"|ofType\((?P<oftype>[A-Za-z]+)\)"
    r"|where\((?P<wfield>[a-z][A-Za-z0-9]*)\s*=\s*'(?P<wvalue>[^']*)'\)"
    r"|extension\('(?P<exturl>[^']*)'\)"
    r"|where\(\(type = '(?P<rtype>[A-Za-z]+)' or reference\.matches\('(?P<rregex>[^']*)'\)\)\)"
    r")"
)

# a step: (kind, argument, extra)
Step = tuple[str, str, Any]


def _parse(part: str) -> tuple[str, list[Step]] | None:
    match = _ROOT.match(part)
    if match is None:
        return None
    root = match.group(1)
    rest = part[match.end():]
    steps: list[Step] = []
    while rest:
        m = _STEP.match(rest)
        if m is None:
            return None
        if m.group("field"):
            steps.append(("field", m.group("field"), None))
        elif m.group("oftype"):
            steps.append(("oftype", m.group("oftype"), None))
        elif m.group("wfield"):
            steps.append(("where", m.group("wfield"), m.group("wvalue")))
        elif m.group("exturl") is not None:
            steps.append(("field", "extension", None))
            steps.append(("where", "url", m.group("exturl")))
        else:
            regex = m.group("rregex").replace("\\\\", "\\")
            steps.append(("reftype", m.group("rtype"), re.compile(regex)))
        rest = rest[m.end():]
    if not steps or steps[0][0] != "field":
        return None
    return root, steps


def _field(items: list[tuple[Any, str | None]], name: str) -> list[tuple[Any, str | None]]:
    out: list[tuple[Any, str | None]] = []
    for item, _ in items:
        if not isinstance(item, dict):
            continue
        if name in item:
            value = item[name]
            if isinstance(value, list):
                out.extend((v, None) for v in value if v is not None)
            elif value is not None:
                out.append((value, None))
            continue
        n = len(name)
        for key, value in item.items():  # choice element: name + Type
            if len(key) > n and key.startswith(name) and key[n:] in CHOICE_SUFFIXES:
                if isinstance(value, list):
                    out.extend((v, key[n:]) for v in value if v is not None)
                else:
                    out.append((value, key[n:]))
    return out


def _walk(items: list[tuple[Any, str | None]], steps: list[Step]) -> list[Any]:
    for kind, arg, extra in steps:
        if kind == "field":
            items = _field(items, arg)
        elif kind == "oftype":
            items = [(v, t) for v, t in items
                     if t is not None and t.lower() == arg.lower()]
        elif kind == "where":
            items = [(v, t) for v, t in items if isinstance(v, dict) and v.get(arg) == extra]
        else:  # reftype
            items = [(v, t) for v, t in items if isinstance(v, dict) and (
                v.get("type") == arg
                or (isinstance(v.get("reference"), str) and extra.match(v["reference"])))]
        if not items:
            return []
    return [v for v, _ in items]


def _evaluator(root: str, steps: list[Step]) -> Evaluator:
    def evaluate(resource: dict[str, Any]) -> list[Any]:
        if resource.get("resourceType") != root:
            return []
        return _walk([(resource, None)], steps)

    return evaluate


def compile_native(expression: str) -> Evaluator | None:
    parts = []
    for part in split_union(expression):
        parsed = _parse(part.strip())
        if parsed is None:
            return None
        parts.append(_evaluator(*parsed))
    return _union(parts)


def _union(parts: list[Evaluator], distinct: bool = False) -> Evaluator:
    """The parts' results in order (``|``); ``distinct``: each element once (by identity)."""
    if len(parts) == 1:
        return parts[0]

    def union(resource: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for fn in parts:
            out.extend(fn(resource))
        return out

    def distinct_union(resource: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        seen: set[int] = set()
        for fn in parts:
            for value in fn(resource):
                if id(value) not in seen:
                    seen.add(id(value))
                    out.append(value)
        return out

    return distinct_union if distinct else union


# --- composite parameters -------------------------------------------------------------------

RelativeEvaluator = Callable[[Any, dict[str, Any]], list[Any]]


def _the_resource(rtype: str) -> Evaluator:
    """The resource itself when it is of type ``rtype`` (a bare type in a union)."""

    def evaluate(resource: dict[str, Any]) -> list[Any]:
        return [resource] if resource.get("resourceType") == rtype else []

    return evaluate


def compile_elements(expression: str) -> Evaluator | None:
    """The elements a composite parameter's expression selects: like :func:`compile_native`,
    and a part may also be the bare resource type (``Observation | Observation.component``
    selects the Observation itself and each of its components)."""
    parts: list[Evaluator] = []
    for part in split_union(expression):
        if re.fullmatch(r"[A-Z][A-Za-z]+", part):
            parts.append(_the_resource(part))
            continue
        parsed = _parse(part)
        if parsed is None:
            return None
        parts.append(_evaluator(*parsed))
    return _union(parts, distinct=True)


def compile_relative(expression: str) -> RelativeEvaluator | None:
    """A composite component's expression, evaluated on one element (``code``,
    ``value.ofType(Quantity) | value.ofType(Range)``) or from the resource
    (``%resource.referenceSeq.chromosome``): ``fn(element, resource)``; None when the
    expression is not a plain path."""
    parts: list[tuple[bool, list[Step]]] = []
    for part in split_union(expression):
        from_resource = part.startswith("%resource.")
        parsed = _parse("Element." + part.removeprefix("%resource."))
        if parsed is None:
            return None
        parts.append((from_resource, parsed[1]))

    def evaluate(element: Any, resource: dict[str, Any]) -> list[Any]:
        out: list[Any] = []
        for from_resource, steps in parts:
            out.extend(_walk([(resource if from_resource else element, None)], steps))
        return out

    return evaluate
