"""The case-file service: the mapping set of ``mappings/casefile`` bound to a router
(import as one transaction, export, goals sheet). Used by the operations and the CLI."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fhir_service import fhir
from fhir_service.context import FhirContext, instant
from fhir_service.mapping.forward import id_secret
from fhir_service.mapping.importer import Importer, ImportResult
from fhir_service.mapping.loader import MappingSet, default_mappings_dir, load
from fhir_service.mapping.reverse import Exporter, ExportResult, Reader
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest

_CACHE: dict[tuple[int, str], MappingSet] = {}


def mapping_set(ctx: FhirContext, folder: Path | None = None) -> MappingSet:
    folder = folder or default_mappings_dir() / "casefile"
    key = (id(ctx.registry), str(folder))
    if key not in _CACHE:
        _CACHE[key] = load(folder, ctx.registry, ctx.checker)
    return _CACHE[key]


class CallerReader(Reader):
    """Reads through the router as the caller (its token, scopes and access rules); keeps
    what was read for the audit trail."""

    def __init__(self, dispatch: Any, base_url: str, headers: dict[str, str] | None,
                 principal: Any) -> None:
        self.dispatch = dispatch
        self.base_url = base_url
        self.headers = {k: v for k, v in (headers or {}).items() if k == "authorization"}
        self.principal = principal
        self.touched: list[Any] = []

    def _get(self, segments: list[str], query: list[tuple[str, str]]) -> Any:
        req = FhirRequest("GET", segments, query=query, headers=dict(self.headers),
                          base_url=self.base_url, principal=self.principal)
        try:
            resp = self.dispatch(req)
        except FhirError as exc:
            if exc.status in (403, 404, 410):
                return None
            raise
        self.touched.extend(resp.touched)
        return fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        return self._get([rtype, rid], [])

    def search(self, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        bundle = self._get([rtype], [*query, ("_count", str(_PAGE))])
        while bundle:
            found.extend(e["resource"] for e in bundle.get("entry", [])
                         if e.get("search", {}).get("mode", "match") == "match")
            nxt = next((link["url"] for link in bundle.get("link", [])
                        if link.get("relation") == "next"), None)
            if nxt is None or len(found) >= _MAX_SEARCH:
                break
            bundle = self._get([rtype], _query_of(nxt))
        return found


def _query_of(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


_PAGE = 200
_MAX_SEARCH = 5000


class CasefileService:
    def __init__(self, mset: MappingSet, dispatch: Any, base_url: str,
                 headers: dict[str, str] | None = None, principal: Any = None,
                 now: Any = None, *, secret: bytes) -> None:
        self.mset = mset
        self.importer = Importer(mset, dispatch, base_url, headers, principal, secret=secret)
        self.reader = CallerReader(dispatch, base_url, headers, principal)
        self.now = now or (lambda: instant(time.time()))

    @classmethod
    def for_context(cls, ctx: FhirContext, dispatch: Any, base_url: str = "http://localhost/fhir",
                    headers: dict[str, str] | None = None, principal: Any = None,
                    secret: bytes | None = None) -> CasefileService:
        """``secret``: the id secret (default: the server's, ``id_secret(ctx.settings)``)."""
        return cls(mapping_set(ctx), dispatch, base_url, headers, principal,
                   lambda: instant(ctx.clock()),
                   secret=secret if secret is not None else id_secret(ctx.settings))

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
        """A sheet (the mapping set's tabular map for text/csv): one result per document it
        updates (each plan), all written in one transaction."""
        from fhir_service.mapping.forward import map_document
        from fhir_service.mapping.tabular import TabularImport

        tabs = [(n, t) for n, t in self.mset.tabular.items() if t.get("format") == "text/csv"]
        if not tabs:
            raise FhirError("not-supported", f"The mapping set {self.mset.folder.name} has no "
                            "map for text/csv")
        name, tab = tabs[0]
        sheet = TabularImport(
            name, tab, self.mset.schema, self.reader.search,
            lambda root, params: self.export(root, params=params).document,
            lambda doc: map_document(self.mset, doc, with_provenance=False,
                                     secret=self.importer.secret).problems)
        prepared = [self.importer.prepare(group.document, "The sheet",
                                          lambda p, g=group: sheet.translate(g, p))
                    for group in sheet.prepare(raw)]
        return self.importer.commit(prepared, "The sheet")  # one transaction: all or nothing

    def export(self, root_id: str, plan_id: str | None = None,
               params: dict[str, str] | None = None) -> ExportResult:
        """The source document of ``root_id`` (an EpisodeOfCare for case files), read as the
        caller: what it may not see is neither read nor exported (an invisible root: 404)."""
        if self.mset.reverse is None:
            raise FhirError("not-supported", f"The mapping set {self.mset.folder.name} has no "
                            "reverse map (export.json)")
        exporter = Exporter(self.mset.reverse, self.mset.schema, self.mset.tables,
                            self.mset.wiring.get("reverse", {}), self.reader)
        params = {**(params or {}), **({"plan": plan_id} if plan_id else {})}
        result = exporter.run(root_id, params, {"now": self.now(),
                                                "base": self.reader.base_url})
        # FHIR written by other clients may not make a valid case file (e.g. no identifier in
        # the source's namespace, a required element missing): say where, let the caller choose
        from fhir_service.mapping.forward import run_checks
        from fhir_service.mapping.template import Problem

        problems = [Problem(p, m) for p, m in self.mset.schema.validate(result.document)]
        run_checks(self.mset, result.document, problems)
        result.problems = problems
        return result

    @staticmethod
    def invalid_export(result: ExportResult, what: str) -> FhirError:
        from fhir_service.outcomes import Issue

        issues = [Issue("error", "processing", f"{p.path}: {p.message}", (p.path,))
                  for p in result.problems]
        # references the export could not follow: a strict export is complete or refused
        issues.extend(Issue("error", "not-found", note) for note in result.notes)
        return FhirError("unprocessable", f"The FHIR data of {what} does not make a valid, "
                         f"complete case file ({len(issues)} problem(s))", issues=issues)
