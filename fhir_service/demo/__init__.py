"""Demo data and conformance installation.

The demo scenarios are the import of the shared example case files (``mappings/examples``:
Diego, early intervention; Nadia, DAC coordination), through the case-file maps: the
contract's examples, the demo and the maps are one source of truth. The conformance
resources come from the implementation guide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_service.conformance.registry import CONFORMANCE_TYPES, Registry

CORE_PACKAGE = "hl7.fhir.r4.core"
# the demo client acts for the young-adult centre of Diego's case file and its case manager
DEMO_STRUCTURE_IDENTIFIER = ("https://finess.esante.gouv.fr", "750000011")
DEMO_PRACTITIONER_IDENTIFIER = ("https://rpps.esante.gouv.fr", "10000000001")


def demo_casefiles() -> list[Path]:
    from fhir_service.mapping.loader import default_mappings_dir

    return sorted((default_mappings_dir() / "examples").glob("*.json"))


def conformance_transaction(registry: Registry) -> dict[str, Any]:
    by_key: dict[str, dict[str, Any]] = {}
    for package in registry.packages:
        if package.name == CORE_PACKAGE:
            continue
        for res in package.resources:
            if res.get("resourceType") in CONFORMANCE_TYPES and res.get("id"):
                url = f"{res['resourceType']}/{res['id']}"
                # a later package's resource replaces an earlier one with the same type and
                # id, as in the registry (our IG's FR Core stand-ins after the national guides)
                by_key.pop(url, None)
                by_key[url] = {"resource": res, "request": {"method": "PUT", "url": url}}
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(by_key.values())}
