"""Import: source document → one FHIR transaction executed through the router, so atomicity,
validation and referential integrity come from the FHIR core.

Identity and ownership come from the mapping set's ``identity.json``:

- *owned* resources have the id derived from ``source.system`` + the map's key; an existing
  one written by another source is a conflict (the file is rejected);
- *shared* resources are matched in the store by their identifiers, in the rule's order
  (``$source`` = the importing source's namespace). A new one takes the id of its strongest
  identifier. On a match, the source that first wrote the resource (``meta.source``) owns
  it: its re-import replaces its data and keeps the other sources' local identifiers;
  another source only adds its own local identifier, never overwrites, and every differing
  value comes back as a warning.

Identity look-ups read the whole store (one person is never duplicated), but what the
caller may not see never reaches it: a resource the file matches that is hidden from the
caller's structure refuses the import without naming it, and no error or warning quotes
the id, owner or content of a resource the caller may not read.

Every write that changes nothing is a no-op of the core (no new version). The mapped
Provenance (source system, file, author) is not a transaction entry (Provenance is written
by the server only): it goes with the transaction as its ``X-Provenance`` header, and the
server records it, with its targets and its own agents, only when something changed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fhir_service import fhir
from fhir_service.mapping.forward import Mapped, Unit, map_document, uuid_for
from fhir_service.mapping.loader import MappingSet
from fhir_service.mapping.template import Cursor, Problem, RenderEnv, render
from fhir_service.outcomes import FhirError, Issue, operation_outcome
from fhir_service.request import FhirRequest
from fhir_service.security.policy import DIRECTORY_TYPES

_URN = re.compile(r"urn:uuid:[0-9a-f-]{36}")


@dataclass
class ImportResult:
    outcome: dict[str, Any]
    response: dict[str, Any] | None
    bundle: dict[str, Any]  # the transaction that was executed
    summary: dict[str, Counter[str]] = field(default_factory=dict)  # status -> type -> n
    warnings: list[Issue] = field(default_factory=list)
    # the provenance detail sent with the transaction (X-Provenance), when something changed
    provenance: dict[str, Any] | None = None

    @property
    def changed(self) -> bool:
        return bool(self.summary.get("created") or self.summary.get("updated"))


@dataclass
class _Prepared:
    """A document mapped and identified, ready to be written (:meth:`Importer.commit`)."""
    mapped: Mapped
    existing: dict[str, dict[str, Any] | None]
    statuses: dict[str, str]
    warnings: list[Issue]
    provenance: dict[str, Any] | None = None  # X-Provenance content, when something changes


def problems_error(problems: list[Problem], what: str = "The file") -> FhirError:
    issues = [Issue("error", p.code if p.code in ("code-invalid", "structure", "conflict")
                    else "invalid", f"{p.path}: {p.message}", (p.path,)) for p in problems]
    return FhirError("invalid", f"{what} breaks the contract ({len(issues)} problem(s)); "
                     "nothing was written", issues=issues)


HIDDEN = ("is already recorded, and your structure does not accompany this person: importing "
          "it needs a care-team membership of one of your professionals, a consent naming your "
          "structure or the management of one of the person's episodes of care; nothing was "
          "written")


class Importer:
    def __init__(self, mset: MappingSet, dispatch: Any, base_url: str = "http://localhost/fhir",
                 headers: dict[str, str] | None = None, principal: Any = None, *,
                 secret: bytes) -> None:
        self.mset = mset
        self.dispatch = dispatch
        # Identity look-ups (INS, RPPS, FINESS…) see the whole store, so that one person is
        # never duplicated; the writes run as the caller, under its scopes and access rights,
        # and what the caller may not see is never named to it (:meth:`_visible`).
        self.principal = principal
        self.secret = secret  # the server's id secret (forward.id_secret)
        self.base_url = base_url
        self.headers = {k: v for k, v in (headers or {}).items()
                        if k in ("authorization", "prefer")}
        self._seen: dict[tuple[str, str], bool] = {}

    # --- store access through the router ----------------------------------------------------

    def _get(self, segments: list[str], query: list[tuple[str, str]] | None = None) -> Any:
        req = FhirRequest("GET", segments, query=query or [], headers=dict(self.headers),
                          base_url=self.base_url)
        try:
            resp = self.dispatch(req)
        except FhirError as exc:
            if exc.status in (404, 410):
                return None
            raise
        body = resp.body
        return fhir.loads(body) if isinstance(body, bytes) else body

    def read(self, rtype: str, rid: str) -> dict[str, Any] | None:
        return self._get([rtype, rid])

    def search(self, rtype: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
        bundle = self._get([rtype], query) or {}
        return [e["resource"] for e in bundle.get("entry", [])
                if e.get("search", {}).get("mode", "match") == "match"]

    def _visible(self, rtype: str, rid: str) -> bool:
        """May the caller see ``rtype/rid``? Read again through the router as the caller: a
        404 (or 410) means hidden. The server itself (no principal) sees everything; a caller
        whose token cannot read the type gets the router's 403."""
        principal = self.principal
        if principal is None or getattr(principal, "system", False):
            return True
        key = (rtype, rid)
        if key not in self._seen:
            req = FhirRequest("GET", [rtype, rid], headers=dict(self.headers),
                              base_url=self.base_url, principal=principal)
            try:
                self.dispatch(req)
                self._seen[key] = True
            except FhirError as exc:
                if exc.status not in (404, 410):
                    raise
                self._seen[key] = False
        return self._seen[key]

    # --- import -----------------------------------------------------------------------------

    def run(self, doc: Any, what: str = "The file",
            translate: Any = None) -> ImportResult:
        return self.commit([self.prepare(doc, what, translate)], what)[0]

    def prepare(self, doc: Any, what: str = "The file", translate: Any = None) -> _Prepared:
        """Map and identify one document against the store as it is (nothing written)."""
        mapped = map_document(self.mset, doc, with_provenance=False, secret=self.secret)
        if mapped.problems:
            probs = [translate(p) for p in mapped.problems] if translate else mapped.problems
            raise problems_error(probs, what)
        source = mapped.source_system
        warnings: list[Issue] = [Issue("information", "informational", f"{n.path}: {n.message}",
                                       (n.path,)) for n in mapped.notices]
        existing: dict[str, dict[str, Any] | None] = {}
        conflicts: list[Problem] = []
        hidden: list[Problem] = []
        for unit in mapped.units:
            current = existing[unit.key_id] = self._identify(unit, source, conflicts)
            if current is None:
                continue
            if not self._visible(unit.rtype, unit.rid):
                hidden.append(Problem(unit.path, f"this {unit.rtype} {HIDDEN}", "forbidden"))
                continue
            owner = current.get("meta", {}).get("source")
            if self._rule(unit.rtype).get("ownership") != "shared" and \
                    owner not in (None, source):
                conflicts.append(Problem(unit.path, f"{unit.rtype}/{unit.rid} belongs to "
                                         f"{owner}; only that source's import replaces it",
                                         "conflict"))
        if hidden:
            probs = [translate(p) for p in hidden] if translate else hidden
            issues = [Issue("error", "forbidden", f"{p.path}: {p.message}", (p.path,))
                      for p in probs]
            raise FhirError("forbidden", f"{what} names data your structure may not see "
                            f"({len(issues)} problem(s)); nothing was written", issues=issues)
        if conflicts:
            raise problems_error(conflicts, what)
        refs = {u.full_url: f"{u.rtype}/{u.rid}" for u in mapped.units}
        statuses: dict[str, str] = {}
        for unit in mapped.units:
            assert unit.resource is not None
            resource = _rewrite(unit.resource, refs)
            resource["id"] = unit.rid
            resource.setdefault("meta", {})["source"] = source
            current = existing[unit.key_id]
            rule = self._rule(unit.rtype)
            if current is not None and rule.get("ownership") == "shared":
                resource = self._merge(unit, resource, current, source, rule, warnings)
            unit.resource = resource
            if current is None:
                statuses[unit.key_id] = "created"
            elif fhir.same_content(_comparable(current), _comparable(resource)):
                statuses[unit.key_id] = "unchanged"
            else:
                statuses[unit.key_id] = "updated"
        changed = [u for u in mapped.units if statuses[u.key_id] != "unchanged"]
        provenance = None
        if changed and self.mset.provenance is not None:
            provenance = self._provenance(mapped, changed, statuses, refs)
        return _Prepared(mapped, existing, statuses, warnings, provenance)

    def commit(self, prepared: list[_Prepared], what: str = "The file") -> list[ImportResult]:
        """Write prepared documents in one transaction: all of them, or none. A resource
        several documents produce (the person, the episode… of two plans) is written once;
        two documents that produce it differently are a conflict."""
        units: list[Unit] = []
        existing: dict[str, Any] = {}
        first: dict[str, Unit] = {}
        conflicts: list[Problem] = []
        for prep in prepared:
            for unit in prep.mapped.units:
                seen = first.get(unit.key_id)
                if seen is None:
                    first[unit.key_id] = unit
                    units.append(unit)
                    existing[unit.key_id] = prep.existing[unit.key_id]
                elif not fhir.same_content(seen.resource or {}, unit.resource or {}):
                    conflicts.append(Problem(unit.path, f"{unit.rtype}/{unit.rid} is also "
                                             f"produced, differently, at {seen.path}",
                                             "conflict"))
        if conflicts:
            raise problems_error(conflicts, what)
        bundle = self._transaction(units, existing)
        headers = {**self.headers, "content-type": "application/fhir+json"}
        provenance = _combined([p.provenance for p in prepared if p.provenance is not None])
        if provenance is not None:
            headers["x-provenance"] = fhir.dumps(provenance).decode()
        req = FhirRequest("POST", [], body=fhir.dumps(bundle), base_url=self.base_url,
                          headers=headers, principal=self.principal)
        try:
            resp = self.dispatch(req)
        except FhirError as exc:
            raise self._explain(exc, units) from None
        response = fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body
        entry_of = {u.key_id: i for i, u in enumerate(units)}
        results = []
        for prep in prepared:
            mine = [entry_of[u.key_id] for u in prep.mapped.units]
            if len(prepared) == 1:
                own_bundle, own_response = bundle, response
            else:  # each document's own part of the transaction and of its response
                own_bundle = {**bundle, "entry": [bundle["entry"][i] for i in mine]}
                own_response = {**response, "entry": [response["entry"][i] for i in mine]} \
                    if isinstance(response, dict) and "entry" in response else response
            summary: dict[str, Counter[str]] = {"created": Counter(), "updated": Counter(),
                                                "unchanged": Counter()}
            for unit in prep.mapped.units:
                summary[prep.statuses[unit.key_id]][unit.rtype] += 1
            text = "; ".join(f"{status}: " + (", ".join(f"{n} {t}"
                                                        for t, n in sorted(c.items()))
                                              or "none") for status, c in summary.items())
            issues = [Issue("information", "informational", f"Imported ({text})"),
                      *prep.warnings]
            results.append(ImportResult(operation_outcome(issues), own_response, own_bundle,
                                        summary, prep.warnings, prep.provenance))
        return results

    # --- identity ---------------------------------------------------------------------------

    def _rule(self, rtype: str) -> dict[str, Any]:
        return self.mset.identity["types"].get(rtype, {"ownership": "owned"})

    def _identify(self, unit: Unit, source: str,
                  conflicts: list[Problem]) -> dict[str, Any] | None:
        """The stored resource ``unit`` is (whole store, whoever may see it), None if new;
        sets ``unit.rid``. Problems name nothing of what was found (it may be hidden)."""
        rule = self._rule(unit.rtype)
        resource = unit.resource or {}
        if rule.get("ownership") != "shared":
            return self.read(unit.rtype, unit.rid)
        identifiers = resource.get("identifier", [])
        strongest = None
        for rule_system in rule.get("match", []):
            system = source if rule_system == "$source" else rule_system
            for ident in identifiers:
                if ident.get("system") != system or not ident.get("value"):
                    continue
                strongest = strongest or ident
                found = self.search(unit.rtype, [("identifier", f"{system}|{ident['value']}")])
                if len(found) > 1:
                    conflicts.append(Problem(unit.path, f"the identifier {system}|"
                                             f"{ident['value']} of this {unit.rtype} matches "
                                             f"more than one recorded {unit.rtype}: the "
                                             "duplicate must be resolved first", "conflict"))
                    return None
                if found:
                    unit.rid = found[0]["id"]
                    return found[0]
        if strongest is not None:
            unit.rid = uuid_for(self.mset, self.secret, unit.rtype, strongest["system"],
                                strongest["value"])
            return self.read(unit.rtype, unit.rid)
        return None

    def _merge(self, unit: Unit, mine: dict[str, Any], current: dict[str, Any], source: str,
               rule: dict[str, Any], warnings: list[Issue]) -> dict[str, Any]:
        owner = current.get("meta", {}).get("source")
        national = {s for s in rule.get("match", []) if s != "$source"}
        theirs = current.get("identifier", [])
        mine_ids = mine.get("identifier", [])
        if owner in (None, source):
            kept = [i for i in theirs if i not in mine_ids and i.get("system") != source
                    and i.get("system") not in national]
            merged = {**mine, "identifier": mine_ids + kept}
            merged["meta"] = {**mine.get("meta", {}), "source": source}
            return merged
        merged = {k: v for k, v in current.items() if k != "meta"}
        merged["meta"] = {k: v for k, v in current.get("meta", {}).items()
                          if k not in ("versionId", "lastUpdated")}
        added = [i for i in mine_ids if i.get("system") == source and i not in theirs]
        # ``current`` was found visible to the caller (prepare refuses hidden ones), so its id
        # and owner may be named
        where = f"{unit.rtype}/{current['id']}"
        partner = self.principal is not None and not getattr(self.principal, "system", False)
        if added and partner and unit.rtype in DIRECTORY_TYPES:
            # a partner changes only its own directory data (docs/security.md): another
            # source's record is used as it is, found again by its national identifier next
            # time (the server's own imports, the CLI's, still add the local identifier)
            warnings.append(Issue("information", "informational",
                                  f"{unit.path}: {where} is recorded by {owner}; your local "
                                  "identifier was not added to it", (unit.path,)))
            added = []
        merged["identifier"] = theirs + added
        for ident in mine_ids:
            if ident.get("system") in national and ident not in theirs:
                warnings.append(Issue("warning", "business-rule",
                                      f"{unit.path}: {where} is recorded by {owner}; its "
                                      f"identifier {ident.get('system')}|{ident.get('value')} "
                                      "was not added", (unit.path,)))
        for key, value in mine.items():
            if key in ("resourceType", "id", "meta", "identifier"):
                continue
            if key in current and current[key] != value:
                warnings.append(Issue("warning", "business-rule",
                                      f"{unit.path}: {where}.{key} differs from what {owner} "
                                      "recorded; their value is kept", (unit.path,)))
        return merged

    # --- provenance and transaction ---------------------------------------------------------

    def _provenance(self, mapped: Mapped, changed: list[Unit], statuses: dict[str, str],
                    refs: dict[str, str]) -> dict[str, Any] | None:
        """The mapped Provenance as X-Provenance content: no id, no target, no recorded (the
        server sets them), references to the file's resources as their ids in the store."""
        rmap = self.mset.provenance
        assert rmap is not None
        doc = mapped.document
        created = any(statuses[u.key_id] == "created" for u in changed)
        activity = ({"code": "CREATE", "system": "http://terminology.hl7.org/CodeSystem/"
                     "v3-DataOperation", "display": "create"} if created else
                    {"code": "UPDATE", "system": "http://terminology.hl7.org/CodeSystem/"
                     "v3-DataOperation", "display": "revise"})
        variables = {"targets": [{"reference": f"{u.rtype}/{u.rid}"} for u in changed],
                     "activity": activity}
        mapped_p = map_document(self.mset, doc, variables, secret=self.secret)
        unit = next((u for u in mapped_p.units if u.map is rmap), None)
        if unit is None or unit.resource is None:
            return None
        resource = _rewrite(unit.resource, refs)
        for key in ("id", "target", "recorded"):
            resource.pop(key, None)
        profiles = resource.pop("meta", {}).get("profile")
        if profiles:
            resource = {"resourceType": "Provenance", "meta": {"profile": profiles},
                        **{k: v for k, v in resource.items() if k != "resourceType"}}
        return resource

    def _transaction(self, units: list[Unit], existing: dict[str, Any]) -> dict[str, Any]:
        entries = []
        for unit in units:
            request: dict[str, Any] = {"method": "PUT", "url": f"{unit.rtype}/{unit.rid}"}
            current = existing.get(unit.key_id)
            if current is not None and current.get("meta", {}).get("versionId"):
                request["ifMatch"] = f'W/"{current["meta"]["versionId"]}"'
            entries.append({"fullUrl": unit.full_url, "resource": unit.resource,
                            "request": request})
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def _explain(self, exc: FhirError, units: list[Unit]) -> FhirError:
        """Name the source item behind each failing transaction entry."""
        issues = []
        for issue in exc.issues:
            text = issue.diagnostics
            match = re.search(r"Bundle\.entry\[(\d+)\]", text + " ".join(issue.expression))
            if match and int(match.group(1)) < len(units):
                unit = units[int(match.group(1))]
                text = f"{unit.path} ({unit.rtype}/{unit.rid}): {text}"
            elif any(e.startswith(("Provenance", "X-Provenance")) for e in issue.expression):
                text = f"The import's provenance (its X-Provenance): {text}"
            issues.append(Issue(issue.severity, issue.code, text, issue.expression))
        return FhirError(exc.category, issues[0].diagnostics if issues else exc.message,
                         issues=issues)


def _combined(provenances: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One X-Provenance for a transaction of several documents (the plans of a sheet): the
    first one's content, with every document's agents and entities (once each); CREATE if
    any document creates something."""
    if not provenances:
        return None
    out = dict(provenances[0])
    for key in ("agent", "entity"):
        merged: list[Any] = []
        for prov in provenances:
            merged.extend(x for x in prov.get(key, []) if x not in merged)
        if merged:
            out[key] = merged
    codes = [c for p in provenances for c in p.get("activity", {}).get("coding", [])]
    create = next((c for c in codes if c.get("code") == "CREATE"), None)
    if create is not None:
        out["activity"] = {"coding": [create]}
    return out


def _rewrite(resource: dict[str, Any], refs: dict[str, str]) -> dict[str, Any]:
    raw = fhir.dumps(resource).decode()
    raw = _URN.sub(lambda m: refs.get(m.group(0), m.group(0)), raw)
    return fhir.loads(raw)


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    from fhir_service.narrative import generated_text  # (the server's narrative: not data)

    return {k: v for k, v in resource.items()
            if k != "meta" and not (k == "text" and generated_text(v))}


__all__ = ["Cursor", "ImportResult", "Importer", "RenderEnv", "problems_error", "render"]
