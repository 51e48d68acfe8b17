"""The case-file service: the mapping set of ``mappings/casefile`` bound to a router
(import as one transaction, export, goals sheet). Used by the operations and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fhir_service import fhir
from fhir_service.context import FhirContext
from fhir_service.mapping.importer import Importer, ImportResult
from fhir_service.mapping.loader import MappingSet, default_mappings_dir, load
from fhir_service.outcomes import FhirError

_CACHE: dict[tuple[int, str], MappingSet] = {}


def mapping_set(ctx: FhirContext, folder: Path | None = None) -> MappingSet:
    folder = folder or default_mappings_dir() / "casefile"
    key = (id(ctx.registry), str(folder))
    if key not in _CACHE:
        _CACHE[key] = load(folder, ctx.registry, ctx.checker)
    return _CACHE[key]


class CasefileService:
    def __init__(self, mset: MappingSet, dispatch: Any, base_url: str,
                 headers: dict[str, str] | None = None, principal: Any = None) -> None:
        self.mset = mset
        self.importer = Importer(mset, dispatch, base_url, headers, principal)

    @classmethod
    def for_context(cls, ctx: FhirContext, dispatch: Any, base_url: str = "http://localhost/fhir",
                    headers: dict[str, str] | None = None,
                    principal: Any = None) -> CasefileService:
        return cls(mapping_set(ctx), dispatch, base_url, headers, principal)

    def import_json(self, raw: bytes | dict[str, Any]) -> ImportResult:
        if isinstance(raw, dict):
            doc = raw
        else:
            try:
                doc = fhir.loads(raw)
            except FhirError as exc:
                raise FhirError("structure", f"$: the case file is not valid JSON ({exc.message})",
                                "$") from None
        return self.importer.run(doc)

    def import_csv(self, raw: bytes) -> list[ImportResult]:
        raise FhirError("not-supported", "The goals sheet (text/csv) import is not available "
                        "yet: import the whole case file (JSON)")

    def export(self, episode_id: str, plan_id: str | None = None) -> dict[str, Any]:
        raise FhirError("not-supported", "The case-file export ($casefile) is not available "
                        "yet: its reverse map is still to be written")
