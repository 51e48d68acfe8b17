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


class Plan:
    __slots__ = ("cardinality", "children_of")

    def __init__(self, node: Node) -> None:
        # children whose count can be wrong: a minimum, or a maximum that an instance can
        # exceed (a single-valued element counts at most 1: only max = 0 can be exceeded)
        self.cardinality: tuple[tuple[str, Node], ...] = tuple(
            (name, child) for name, child in node.children.items()
            if child.min > 0 or (child.max is not None and (child.array or child.max == 0))
        )
        # type name -> (node describing the children, its model) or None
        self.children_of: dict[str, Any] = {}


def plan_of(node: Node) -> Plan:
    plan = node.plan
    if plan is None:
        plan = node.plan = Plan(node)
    return plan
