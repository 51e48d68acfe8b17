"""Demo data and conformance installation, both taken from the implementation guide.

The demo scenarios are the IG's example transaction bundles (Diego, early intervention;
Nadia, DAC coordination), so the demo and the documented examples are one source of truth.
(Once the case-file import lands, the demo becomes the import of the shared case files.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_service.conformance.registry import CONFORMANCE_TYPES, Registry

DEMO_BUNDLE_NAMES = ("Bundle-diego-transaction.json", "Bundle-nadia-transaction.json")
CORE_PACKAGE = "hl7.fhir.r4.core"


def demo_bundles(settings: Any) -> list[Path]:
    found = []
    for package in settings.ig_packages:
        folder = Path(package) / "fsh-generated" / "resources"
        found.extend(folder / name for name in DEMO_BUNDLE_NAMES if (folder / name).exists())
    return found


def conformance_transaction(registry: Registry) -> dict[str, Any]:
    entries = []
    for package in registry.packages:
        if package.name == CORE_PACKAGE:
            continue
        for res in package.resources:
            if res.get("resourceType") in CONFORMANCE_TYPES and res.get("id"):
                url = f"{res['resourceType']}/{res['id']}"
                entries.append({"resource": res, "request": {"method": "PUT", "url": url}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
