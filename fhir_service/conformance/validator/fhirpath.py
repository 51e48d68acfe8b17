"""Invariants (ElementDefinition.constraint) in FHIRPath: compiled once, cached, evaluated.

https://hl7.org/fhir/R4/conformance-rules.html#constraints and https://hl7.org/fhirpath/ —
evaluated with the general engine (:mod:`fhir_service.fhirpath.engine`: fhirpathpy, R4 model).
The universal rules that sit on nearly every element (``ele-1``, ``ext-1``,
``dom-2``…``dom-6``, ``ref-1``, ``txt-1``/``txt-2``) are checked natively by the engine (see
:data:`NATIVE`): evaluating ``ele-1`` with a generic FHIRPath engine on every element is what
makes naive validators slow. Expressions are rewritten where fhirpathpy 2.2.4 differs from the
spec, and the R4 errata applied, by :mod:`fhir_service.fhirpath.rewrites`
(``invariant_expression``, ``INVARIANT_ERRATA``); functions it lacks are supplied
(``hasValue``, ``resolve`` over
contained resources and the Bundle, ``htmlChecks``, ``memberOf`` over local terminology) or,
when not decidable here (``conformsTo``), make the invariant *unchecked* (information).
The other invariants are compiled into Python closures by :mod:`.native` when their shape
allows it (with fhirpathpy's verdict, proven on the R4 and IG examples); fhirpathpy evaluates
the rest, and the values the closures leave to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fhir_service.conformance.validator import native
from fhir_service.fhirpath import engine
from fhir_service.fhirpath.rewrites import invariant_errata, invariant_expression

# invariant keys the engine checks natively (never through FHIRPath)
NATIVE = frozenset({"ele-1", "ext-1", "dom-2", "dom-3", "dom-4", "dom-5", "dom-6", "ref-1",
                    "txt-1", "txt-2"})

class Unchecked(Exception):
    """The expression uses something we cannot evaluate here."""


@dataclass
class Scope:
    """What ``resolve()`` and ``%resource`` see while one resource is validated."""

    resource: Any = None
    root: Any = None
    bundle: dict[str, Any] | None = None


_local = threading.local()


def _scope() -> Scope:
    scope = getattr(_local, "scope", None)
    if scope is None:
        scope = Scope()
        _local.scope = scope
    return scope


def set_scope(resource: Any, root: Any, bundle: dict[str, Any] | None) -> Scope:
    old = _scope()
    _local.scope = Scope(resource, root, bundle)
    return old


def restore_scope(scope: Scope) -> None:
    _local.scope = scope


def _has_value(inputs: list[Any]) -> list[bool]:
    return [len(inputs) == 1 and not isinstance(inputs[0], (dict, list)) and inputs[0] is not None]


def _resolve(inputs: list[Any]) -> list[Any]:
    scope = _scope()
    out = []
    for item in inputs:
        ref = item.get("reference") if isinstance(item, dict) else item
        if not isinstance(ref, str):
            continue
        target = None
        if ref.startswith("#"):
            root = scope.resource if isinstance(scope.resource, dict) else {}
            for c in root.get("contained", []) or []:
                if isinstance(c, dict) and c.get("id") == ref[1:]:
                    target = c
            if ref == "#":
                target = root
        elif scope.bundle is not None:
            for entry in scope.bundle.get("entry", []) or []:
                res = entry.get("resource") if isinstance(entry, dict) else None
                if not isinstance(res, dict):
                    continue
                full = entry.get("fullUrl") or ""
                if full == ref or (full.endswith("/" + ref) and "/" in ref) or (
                    f"{res.get('resourceType')}/{res.get('id')}" == ref
                ):
                    target = res
                    break
        if target is not None:
            out.append(engine.node(target, target.get("resourceType")))
    return out


def _html_checks(inputs: list[Any]) -> list[bool]:
    from fhir_service.conformance.validator.xhtml import check_div

    return [all(not check_div(x) for x in inputs if isinstance(x, str))]


def _unchecked(inputs: list[Any], *args: Any) -> list[Any]:
    raise Unchecked("conformsTo() is not evaluated here")


def _member_of(inputs: list[Any], url: Any) -> list[bool]:
    terminology = getattr(_local, "terminology", None)
    if terminology is None:
        raise Unchecked("memberOf() needs the terminology module")
    url = url[0] if isinstance(url, list) and url else url
    exp = terminology.expand(str(url))
    if exp is None:
        raise Unchecked(f"memberOf(): value set {url} is unknown")
    results = []
    for item in inputs:
        if isinstance(item, str):
            results.append(exp.contains(None, item))
        elif isinstance(item, dict) and "coding" in item:
            found = [exp.contains(c.get("system"), c.get("code", "")) for c in item["coding"]]
            results.append(True if True in found else (None if None in found else False))
        elif isinstance(item, dict):
            results.append(exp.contains(item.get("system"), item.get("code", "")))
    if None in results and True not in results:
        raise Unchecked(f"memberOf(): membership in {url} cannot be decided locally")
    return [True in results] if results else []


def _no_trace(*args: Any) -> None:
    """trace() output is not wanted while validating."""


def set_terminology(terminology: Any) -> None:
    _local.terminology = terminology


FUNCTIONS: dict[str, dict[str, Any]] = {
    "hasValue": {"fn": _has_value},
    "resolve": {"fn": _resolve},
    "htmlChecks": {"fn": _html_checks},
    "conformsTo": {"fn": _unchecked, "arity": {1: ["String"]}},
    "memberOf": {"fn": _member_of, "arity": {1: ["String"]}},
}


@dataclass
class Invariant:
    key: str
    severity: str
    human: str
    expression: str
    fn: Callable[..., Any] | None
    problem: str | None  # why it cannot be evaluated (compile failure, unsupported)


class InvariantCache:
    """Compiled invariants by expression (shared by every profile that repeats one)."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[Callable[..., Any] | None, str | None]] = {}

    def compile(self, constraint: dict[str, Any]) -> Invariant | None:
        key = constraint.get("key", "")
        expression = constraint.get("expression")
        if key in NATIVE or not expression:
            return None
        expression = invariant_errata(key, expression)
        if expression not in self._compiled:
            fn, problem = None, None
            try:
                fn = engine.compile_expression(invariant_expression(expression),
                                               {"userInvocationTable": FUNCTIONS,
                                                "traceFn": _no_trace})
            except Exception as exc:  # noqa: BLE001 - report as unchecked
                problem = f"cannot be compiled ({str(exc)[:120]})"
            self._compiled[expression] = (fn, problem)
        fn, problem = self._compiled[expression]
        return Invariant(key, constraint.get("severity", "error"), constraint.get("human", ""),
                         expression, fn, problem)


# compiled closures (see :mod:`.native`) by (expression, fhirpathpy type path of the node);
# None: the expression stays with fhirpathpy. USE_NATIVE = False evaluates everything with
# fhirpathpy (the equivalence test and the benchmark's "before" figure use it).
USE_NATIVE = True
_NATIVE: dict[tuple[str, str], Callable[..., list[Any]] | None] = {}


def evaluate(inv: Invariant, node: Any, type_path: str, resource: Any,
             root: Any) -> bool | None:
    """True when the invariant holds, False when it fails, None when it cannot be decided."""
    if inv.fn is None:
        return None
    if USE_NATIVE:
        found = evaluate_native(inv, node, type_path, resource, root)
        if found is not NOT_NATIVE:
            return found  # type: ignore[return-value]
    return evaluate_fhirpath(inv, node, type_path, resource, root)


NOT_NATIVE = object()


def evaluate_native(inv: Invariant, node: Any, type_path: str, resource: Any,
                    root: Any) -> bool | object | None:
    """:func:`evaluate` with the compiled closure, or NOT_NATIVE when it is fhirpathpy's."""
    rtype = node.get("resourceType") if isinstance(node, dict) else None
    path = rtype if isinstance(rtype, str) else type_path
    key = (inv.expression, path)
    try:
        fn = _NATIVE[key]
    except KeyError:
        fn = _NATIVE[key] = native.compile_native(invariant_expression(inv.expression), path)
    if fn is None:
        return NOT_NATIVE
    try:
        return verdict(fn(node, {"resource": resource, "rootResource": root,
                                 "resolve": _resolve}))
    except native.Bail:
        return NOT_NATIVE  # this value needs fhirpathpy's typed nodes
    except native.Fail:
        return None


def verdict(result: list[Any]) -> bool:
    """An invariant's collection as a verdict (empty: failed; a boolean singleton: itself)."""
    if not result:
        return False
    if len(result) == 1 and isinstance(result[0], bool):
        return result[0]
    return True


def evaluate_fhirpath(inv: Invariant, node: Any, type_path: str, resource: Any,
                      root: Any) -> bool | None:
    """:func:`evaluate` with fhirpathpy only."""
    if inv.fn is None:
        return None
    if isinstance(node, dict) and "resourceType" in node:
        data: Any = node
    else:
        data = engine.node(node, type_path)
    try:
        result = inv.fn(data, {"resource": engine.typed_resource(resource),
                               "rootResource": engine.typed_resource(root)})
    except Unchecked:
        return None
    except Exception:  # noqa: BLE001 - an engine failure is not the instance's fault
        return None
    if not result:
        return False
    if len(result) == 1 and isinstance(result[0], bool):
        return result[0]
    return True
