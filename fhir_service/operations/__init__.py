"""FHIR operations ($name), one module per operation, plugged into the router as data.

Each module listed in :data:`OPERATION_MODULES` exposes ``install(router)``, which calls
``router.add_operation(level, type_or_"*", name, handler)`` for each URL form it serves and
``declare(...)`` so that the CapabilityStatement lists it with its OperationDefinition.
A handler is ``handler(ctx, req, router) -> FhirResponse``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhir_service.router import Router

OPERATION_MODULES: tuple[str, ...] = (
    "fhir_service.operations.validate",
    "fhir_service.operations.casefile",
    "fhir_service.operations.terminology",
)


def declare(router: Router, name: str, definition: str, types: tuple[str, ...] = (),
            system: bool = False) -> None:
    """Record an operation for the CapabilityStatement (``types``: resource-level uses)."""
    router.ctx.operations[name] = {"name": name, "definition": definition, "types": types,
                                   "system": system}


def install_all(router: Router) -> list[str]:
    installed = []
    for module_name in OPERATION_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # not written yet
            raise
        module.install(router)
        installed.append(module_name)
    return installed
