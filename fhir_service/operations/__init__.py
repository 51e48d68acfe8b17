"""FHIR operations ($name), one module per operation, plugged into the router as data.

Each module returned by :func:`operation_modules` exposes ``install(router)``, which calls
``router.add_operation(level, type_or_"*", name, handler)`` for each URL form it serves and
``declare(...)`` so that the CapabilityStatement lists it with its OperationDefinition.
A handler is ``handler(ctx, req, router) -> FhirResponse``.

The list is explicit imports, not module names looked up at run time: a renamed or missing
operation module is an ImportError at start-up (and in every test that builds a router), never
an operation that silently disappears. ``tests/test_house_rules.py`` checks that every module
of this package is listed and installs something.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhir_service.router import Router


def declare(router: Router, name: str, definition: str, types: tuple[str, ...] = (),
            system: bool = False, per_type: dict[str, str] | None = None) -> None:
    """Record an operation for the CapabilityStatement (``types``: resource-level uses;
    ``per_type``: another definition for some of those types, e.g. $everything's)."""
    router.ctx.operations[name] = {"name": name, "definition": definition, "types": types,
                                   "system": system, "per_type": dict(per_type or {})}


def operation_modules() -> tuple[ModuleType, ...]:
    """The operation modules, in installation order.

    Imported here rather than at the top of the package because each of them imports
    :func:`declare` from it."""
    from fhir_service.operations import (
        casefile,
        convert,
        everything,
        export,
        measure,
        subscription,
        terminology,
        validate,
    )

    return (validate, casefile, terminology, everything, export, subscription, measure,
            convert)


def install_all(router: Router) -> list[str]:
    """Install every operation on ``router``; the names of the modules installed."""
    installed = []
    for module in operation_modules():
        module.install(router)
        installed.append(module.__name__)
    return installed
