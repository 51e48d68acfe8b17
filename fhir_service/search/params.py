"""Search parameters as data: compiled from SearchParameter resources of the loaded packages.

https://hl7.org/fhir/R4/searchparameter.html — each parameter's FHIRPath ``expression`` is
split at its top-level unions, and the parts rooted at a resource type are compiled once per
type. The rewrites that make R4 expressions evaluable (``resolve() is X``, ``Resource.`` roots,
``as``, ``hasExtension``) are in :mod:`fhir_service.fhirpath.rewrites`; plain paths are walked
natively (:mod:`fhir_service.fhirpath.paths`), the rest by the general engine
(:mod:`fhir_service.fhirpath.engine`).

An expression that does not compile fails loudly at start-up (:class:`SearchParamError`).

Composite parameters (https://hl7.org/fhir/R4/search.html#composite) are indexed once every
SearchParameter is known: their ``expression`` selects elements (``Observation.component``)
and each ``component`` names another parameter (``definition``, which gives its type) and an
``expression`` evaluated on each element. One with an unknown component, a component of a
type that is not indexed, or more than :data:`COMPOSITE_SLOTS` components is not indexed
(searching by it is then ignored, like any unknown parameter).
"""

from __future__ import annotations

from collections.abc import Callable, KeysView
from dataclasses import dataclass, field
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.fhirpath import engine, paths
from fhir_service.fhirpath.rewrites import search_component, search_expression_for_type
from fhir_service.fhirpath.rewrites import split_union as split_union
from fhir_service.store.schema import COMPOSITE_SLOTS

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


@dataclass(frozen=True)
class CompositeComponent:
    """One component of a composite parameter: its type (from the parameter its
    ``definition`` names) and its expression, evaluated as ``fn(element, resource, index)``
    (``index``: the element's position in what the composite's expression selects)."""

    code: str
    type: str
    expression: str
    evaluate: Callable[[Any, dict[str, Any], int], list[Any]] = field(repr=False)


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
    # composite parameters: the components, in the order of the search value's ``$`` parts
    components: tuple[CompositeComponent, ...] = ()

    @property
    def indexed(self) -> bool:
        return self.evaluate is not None


def _native_component(fn: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """A composite component evaluated natively on the element that holds it."""

    def evaluate(element: Any, resource: dict[str, Any], _index: int) -> list[Any]:
        return fn(element, resource)

    return evaluate


def _located_component(fns: list[Callable[..., list[Any]]]) -> Callable[..., list[Any]]:
    """A composite component evaluated by fhirpathpy on the element's part and index."""

    def evaluate(located: Any, resource: dict[str, Any], _index: int) -> list[Any]:
        return fns[located.part](resource, {"index": located.index, "resource": resource})

    return evaluate


def compile_expression(expression: str) -> Callable[..., list[Any]]:
    """The general engine's compiled function: ``fn(resource, context=None)``."""
    try:
        fn: Callable[..., list[Any]] = engine.compile_expression(expression)
    except Exception as exc:
        raise SearchParamError(f"cannot compile '{expression}': {exc}") from exc
    return fn


@dataclass(frozen=True, eq=False)
class _Located:
    """An element selected by the ``part``-th part of a composite's expression, at ``index``
    (what the fhirpathpy form of a component needs to reach it again)."""

    part: int
    index: int


def _located_elements(parts: list[Callable[..., list[Any]]]
                      ) -> Callable[[dict[str, Any]], list[Any]]:
    def evaluate(resource: dict[str, Any]) -> list[Any]:
        return [_Located(k, i) for k, fn in enumerate(parts)
                for i in range(len(fn(resource, {"resource": resource})))]

    return evaluate


def _example(sp: dict[str, Any]) -> bool:
    """An example SearchParameter (the R4 package ships some: ``example`` for ``_id``,
    ``example-reference`` for Condition ``subject``…): experimental drafts."""
    return bool(sp.get("experimental")) and sp.get("status") == "draft"


class SearchParamRegistry:
    """Search parameters per resource type, from every SearchParameter in the registry."""

    def __init__(self, registry: Registry, resource_types: list[str]) -> None:
        self._by_type: dict[str, dict[str, SearchParam]] = {t: {} for t in resource_types}
        self._by_url: dict[str, dict[str, Any]] = {}
        self._forget()
        for sp in registry.all_of("SearchParameter"):
            self.add(sp)
        self.link_composites()

    @classmethod
    def from_definitions(cls, definitions: list[dict[str, Any]],
                         resource_types: list[str]) -> SearchParamRegistry:
        """A registry of just these SearchParameters (no definitions loaded): for a process
        that indexes a few types only."""
        self = cls.__new__(cls)
        self._by_type = {t: {} for t in resource_types}
        self._by_url = {}
        self._forget()
        for sp in definitions:
            self.add(sp)
        self.link_composites()
        return self

    def add(self, sp: dict[str, Any]) -> None:
        ptype = sp.get("type")
        expression = sp.get("expression")
        bases = sp.get("base", [])
        code = sp.get("code")
        if not code or not ptype:
            return
        if sp.get("url"):
            self._by_url[sp["url"]] = sp
        self._forget()
        for base in bases:
            types = list(self._by_type) if base in ("Resource", "DomainResource") else [base]
            for rtype in types:
                if rtype not in self._by_type:
                    continue
                if rtype == "Resource":
                    continue
                current = self._by_type[rtype].get(code)
                if current is not None and _example(sp) and not _example(current.definition):
                    continue  # the spec's example SearchParameters never replace real ones
                evaluate = None
                expr_for = ""
                if expression and ptype in (*INDEXED_TYPES, "composite"):
                    expr_for = search_expression_for_type(expression, rtype) or ""
                    if expr_for and ptype == "composite":
                        compile_expression(expr_for)  # components: link_composites()
                    elif expr_for:
                        # always compiled by fhirpathpy (a bad expression fails here, at
                        # start-up); evaluated natively when the expression is a simple path
                        evaluate = compile_expression(expr_for)
                        evaluate = paths.compile_native(expr_for) or evaluate
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

    def link_composites(self) -> None:
        """Index the composite parameters whose components are all known (called once every
        SearchParameter has been added)."""
        self._forget()
        for params in self._by_type.values():
            for param in params.values():
                if param.type == "composite" and param.expression and param.evaluate is None:
                    self._link_composite(param)

    def _link_composite(self, param: SearchParam) -> None:
        parts = []
        for component in param.definition.get("component", []):
            url = str(component.get("definition", "")).split("|", 1)[0]
            target = self._by_url.get(url)
            expression = component.get("expression")
            if target is None or not expression:
                return
            parts.append((expression, target))
        specs = []
        for expression, named in parts:
            # R4 errata: DocumentReference-relationship names each component's definition
            # for the other one (relatesto, a reference, for `code`; relation, a token, for
            # `target`); the definition whose expression is this component's path wins
            path = f"{param.definition.get('expression')}.{expression}"
            same = [t for _, t in parts if t.get("expression") == path]
            target = same[0] if len(same) == 1 and named.get("expression") != path else named
            if target.get("type") not in INDEXED_TYPES:
                return
            rewritten = search_component(expression)
            compile_expression(rewritten)  # a bad expression fails at start-up
            specs.append((str(target.get("code", "")), str(target["type"]), rewritten))
        if not specs or len(specs) > COMPOSITE_SLOTS:
            return
        elements = paths.compile_elements(param.expression)
        natives = [paths.compile_relative(expression) for _, _, expression in specs]
        compiled = [fn for fn in natives if fn is not None]
        components = []
        if elements is not None and len(compiled) == len(natives):
            for (code, ptype, expression), fn in zip(specs, compiled, strict=True):
                components.append(CompositeComponent(
                    code, ptype, expression,
                    _native_component(fn)))
            param.evaluate = elements
        else:
            # fhirpathpy, which knows an element's type only from the path that reached it:
            # a component is evaluated as ``(part)[%index].select(component)`` for the
            # index-th element of each part of the expression (``a | b``) in turn
            bases = split_union(param.expression)
            selects = [[compile_expression(f"({base})[%index].select({expression})")
                        for base in bases] for _, _, expression in specs]
            for (code, ptype, expression), fns in zip(specs, selects, strict=True):
                components.append(CompositeComponent(
                    code, ptype, expression,
                    _located_component(fns)))
            param.evaluate = _located_elements([compile_expression(b) for b in bases])
        param.components = tuple(components)

    def for_type(self, rtype: str) -> dict[str, SearchParam]:
        return self._by_type.get(rtype, {})

    def get(self, rtype: str, code: str) -> SearchParam | None:
        return self._by_type.get(rtype, {}).get(code)

    def indexed(self, rtype: str) -> tuple[SearchParam, ...]:
        """The indexed parameters of a type (every write asks): computed once per type, until
        a definition is added or composites are linked."""
        found = self._indexed.get(rtype)
        if found is None:
            found = self._indexed[rtype] = tuple(
                p for p in self._by_type.get(rtype, {}).values() if p.indexed)
        return found

    def types(self) -> KeysView[str]:
        """The resource types, in definition order: a read-only view, no copy, with a
        set's membership test (``rtype in params.types()`` runs on every request)."""
        return self._by_type.keys()

    def _forget(self) -> None:
        """Drop what :meth:`indexed` computed (whenever a definition is added or composites
        are linked)."""
        self._indexed: dict[str, tuple[SearchParam, ...]] = {}
