"""What the validator precomputes once per element of a compiled profile (its *plan*).

The walk in :mod:`.engine` asks the same questions of an element for every instance: which
of its children can break their cardinality, which node describes its children for a given
type. The answers depend only on the (immutable, cached) snapshot, so each
:class:`~.engine.Node` keeps them in its ``plan`` slot, filled on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Node


CORE = "http://hl7.org/fhir/StructureDefinition/"
_UNSET = object()


class Plan:
    __slots__ = ("cardinality", "children_of", "targets")

    def __init__(self, node: Node) -> None:
        # children whose count can be wrong: a minimum, or a maximum that an instance can
        # exceed (a single-valued element counts at most 1: only max = 0 can be exceeded)
        self.cardinality: tuple[tuple[str, Node], ...] = tuple(
            (name, child) for name, child in node.children.items()
            if child.min > 0 or (child.max is not None and (child.array or child.max == 0))
        )
        # type name -> (node describing the children, its model) or None
        self.children_of: dict[str, Any] = {}
        self.targets: Any = _UNSET  # see reference_targets


def plan_of(node: Node) -> Plan:
    plan = node.plan
    if plan is None:
        plan = node.plan = Plan(node)
    return plan


def cardinality_failures(node: Node, counts: dict[str, int]) -> list[tuple[str, Node, int]]:
    """(name, child, count) of the children of ``node`` whose count breaks their min or max,
    given the counts of the children an object holds."""
    out = []
    for name, child in plan_of(node).cardinality:
        n = counts.get(name, 0)
        if n < child.min or (child.max is not None and n > child.max):
            out.append((name, child, n))
    return out


def reference_targets(validator: Any, node: Node) -> frozenset[str] | None:
    """The resource types a Reference at ``node`` may point to; None when it names no target
    or a target profile that is not known here (its type is then unknown)."""
    plan = plan_of(node)
    if plan.targets is _UNSET:
        targets = [p for t in node.types if t.code == "Reference" for p in t.targets]
        if not targets or not all(p.startswith(CORE) or validator.registry.by_url(p)
                                  for p in targets):
            plan.targets = None
        else:
            plan.targets = frozenset(validator._profile_type(p) for p in targets)
    return plan.targets
