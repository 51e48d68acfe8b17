"""The in-memory implementation of the repository protocol (store/repository.py).

Resources, their versions, the index rows search extraction makes at write time
(``IndexRows``), the outgoing references and the access and ownership rows live in Python
structures. A write session works on a copy of the state (of its containers: the
entries are replaced, never changed in place), published at commit (discarded on an
exception) under one lock, so writers are serialised as SQLite's ``BEGIN IMMEDIATE``
serialises them and a read session sees the state of its start.

Search evaluates a :class:`SearchQuery` over the index rows with the semantics of
store/sqlsearch.py (parameter types token, string, reference, date, uri, number,
quantity, composite, ``_id``, ``_lastUpdated``; modifiers, prefixes, chains and ``_has``
through what the caller may see, ``_sort``, paging). What it cannot evaluate is refused (400,
"not supported by the in-memory store"): never a wrong answer. The access rule is the policy's own
(``security.policy.decide``), evaluated on the rows kept here. The contract suite
tests/store/test_repository_contract.py runs against this and the SQL implementation.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from fhir_service.outcomes import FhirError
from fhir_service.search.extract import IndexRows, date_range, normalize_string, parse_reference
from fhir_service.search.params import SearchParam
from fhir_service.search.query import (
    Filter,
    SearchQuery,
    split_composite,
    split_prefix,
    split_token,
    unescape,
)
from fhir_service.security.policy import Grant, decide
from fhir_service.store.repository import AccessFilter, RawAccess, SearchPage, Stored
from fhir_service.store.sqlsearch import date_margin, number_range, uri_above, value_margin

_UNSUPPORTED = "not supported by the in-memory store"


def _unsupported(what: str) -> FhirError:
    return FhirError("invalid", f"{what} is {_UNSUPPORTED}")


@dataclass(frozen=True)
class _Version:
    hpk: int
    stored: Stored  # (pk of the resource, method, content None for a deletion)
    people: frozenset[str] = frozenset()


@dataclass
class _State:
    """Everything stored: the analogue of the SQL tables, by resource key (pk)."""

    next_pk: int = 1
    next_hpk: int = 1
    current: dict[int, Stored] = field(default_factory=dict)  # resources
    keys: dict[tuple[str, str], int] = field(default_factory=dict)  # (rtype, rid) -> pk
    versions: list[_Version] = field(default_factory=list)  # history, by hpk
    index: dict[int, IndexRows] = field(default_factory=dict)  # idx_* tables
    refs: dict[int, frozenset[tuple[str, str]]] = field(default_factory=dict)
    people: dict[int, frozenset[str]] = field(default_factory=dict)  # res_patient
    grants: dict[int, list[Grant]] = field(default_factory=dict)  # access_grants by source
    owners: dict[int, str | None] = field(default_factory=dict)  # res_owner

    def copy(self) -> _State:
        """A copy for a write session: the containers are copied, their entries shared
        (never changed in place: a write replaces them)."""
        return _State(self.next_pk, self.next_hpk, dict(self.current), dict(self.keys),
                      list(self.versions), dict(self.index), dict(self.refs),
                      dict(self.people), dict(self.grants), dict(self.owners))


# --- comparisons (the Python form of sqlsearch.range_condition and _point_condition) -----


def _in_range(prefix: str, low_v: float, high_v: float, low: float, high: float,
              margin: float | None = None) -> bool:
    """Target range [low_v, high_v) against search range [low, high); ``margin``: that of
    ``ap`` (sqlsearch.range_condition)."""
    eq = low_v >= low and high_v <= high
    if prefix == "eq":
        return eq
    if prefix == "ne":
        return not eq
    if prefix == "gt":
        return high_v > high
    if prefix == "lt":
        return low_v < low
    if prefix == "ge":
        return high_v > high or eq
    if prefix == "le":
        return low_v < low or eq
    if prefix == "sa":
        return low_v >= high
    if prefix == "eb":
        return high_v <= low
    if prefix == "ap":
        if margin is None:
            margin = value_margin(low, high)
        return low_v < high + margin and high_v > low - margin
    raise FhirError("invalid", f"Unknown prefix '{prefix}'")


def _at_point(prefix: str, value: float | None, exact: float, low: float, high: float) -> bool:
    if value is None:
        return False
    if prefix == "eq":
        return low <= value < high
    if prefix == "ne":
        return value < low or value >= high
    if prefix in ("gt", "sa"):
        return value > exact
    if prefix in ("lt", "eb"):
        return value < exact
    if prefix == "ge":
        return value >= exact
    if prefix == "le":
        return value <= exact
    if prefix == "ap":
        margin = abs(exact) * 0.1
        return exact - margin <= value <= exact + margin
    raise FhirError("invalid", f"Unknown prefix '{prefix}'")


# --- search over index rows --------------------------------------------------------------

Match = Callable[[Stored, IndexRows], bool]


class _Matcher:
    """Turns :class:`Filter` objects into predicates on (resource, its index rows), with
    the semantics of ``sqlsearch.FilterCompiler``."""

    def __init__(self, local_base_urls: tuple[str, ...]) -> None:
        self.local_base_urls = tuple(u.rstrip("/") + "/" for u in local_base_urls)

    def predicate(self, filt: Filter, session: MemorySession, access: AccessFilter) -> Match:
        """``session`` and ``access``: a chain or ``_has`` hops only through resources the
        caller may see (a hop through a hidden one matches nothing), as in SQL."""
        if filt.has is not None:
            has = filt.has
            inner = self.predicate(has.inner, session, access)
            code = has.ref_param.code
            sources = {(r[1], r[2]) for stored, rows in session.current(has.source_type)
                       if inner(stored, rows) and session._sees(stored, access)
                       for r in rows.reference if r[0] == code}
            return lambda s, _rows: (s.rtype, s.rid) in sources
        if filt.code == "_id":
            ids = {unescape(v) for v in filt.values}
            return lambda s, _rows: s.rid in ids
        if filt.code == "_lastUpdated":
            instants = [self._updated(v) for v in filt.values]
            return lambda s, _rows: any(t(s.updated) for t in instants)
        if filt.alternatives:  # a chain without a type, over several types
            hops = [self.predicate(alt, session, access) for alt in filt.alternatives]
            return lambda s, rows: any(hop(s, rows) for hop in hops)
        if filt.chain is not None:
            assert filt.chain_type is not None
            chain_type, code = filt.chain_type, filt.code
            inner = self.predicate(filt.chain, session, access)
            targets = {stored.rid for stored, rows in session.current(chain_type)
                       if inner(stored, rows) and session._sees(stored, access)}
            return lambda _s, rows: any(r[0] == code and r[1] == chain_type and r[2] in targets
                                        for r in rows.reference)
        assert filt.param is not None
        ptype = filt.param.type
        if ptype not in ("token", "string", "reference", "date", "uri", "number", "quantity",
                         "composite"):
            raise _unsupported(f"A {ptype} search parameter")
        code = filt.code
        if filt.modifier == "missing":
            want_missing = filt.values[0] == "true"
            return lambda _s, rows: (not any(
                r[0] == code for r in getattr(rows, ptype))) == want_missing
        if ptype == "token" and filt.modifier == "not":
            tests = [self._token(v, None) for v in filt.values]
            return lambda _s, rows: not any(
                r[0] == code and t(r) for r in rows.token for t in tests)
        if ptype == "composite":
            param = filt.param
            tests = [self._composite(v, param) for v in filt.values]
        else:
            method = getattr(self, f"_{ptype}")
            tests = [method(v, filt.modifier) for v in filt.values]
        return lambda _s, rows: any(
            r[0] == code and t(r) for r in getattr(rows, ptype) for t in tests)

    # --- per type: a test on one index row (param, then the type's columns) ---------------

    def _token(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        if modifier == "text":
            norm = normalize_string(unescape(value))
            return lambda r: r[3] is not None and r[3].startswith(norm)
        system, code, has_bar = split_token(value)
        if not has_bar:
            return lambda r: r[2] == code

        def test(r: Any) -> bool:
            if system == "" and r[1] is not None:
                return False
            if system and r[1] != system:
                return False
            return not code or r[2] == code

        return test

    def _string(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        raw = unescape(value)
        if modifier == "exact":
            return lambda r: r[2] == raw
        norm = normalize_string(raw)
        if modifier == "contains":
            return lambda r: r[1] is not None and norm in r[1]
        return lambda r: r[1] is not None and r[1].startswith(norm)

    def _uri(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        raw = unescape(value)
        if modifier == "below":
            return lambda r: r[1] is not None and r[1].startswith(raw)
        if modifier == "above":
            prefixes = set(uri_above(raw))
            return lambda r: r[1] in prefixes
        return lambda r: r[1] == raw

    def _date(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        prefix, bare = split_prefix(value)
        rng = date_range(bare)
        assert rng is not None  # checked by the parser
        low, high = rng
        margin = date_margin(low, high) if prefix == "ap" else None
        return lambda r: r[1] is not None and r[2] is not None and \
            _in_range(prefix, r[1], r[2], low, high, margin)

    def _number(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        prefix, bare = split_prefix(value)
        low, high = number_range(bare)
        exact = float(bare)
        return lambda r: _at_point(prefix, r[1], exact, low, high)

    def _quantity(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        prefix, bare = split_prefix(value)
        parts = bare.split("|")
        low, high = number_range(parts[0])
        exact = float(parts[0])
        system = parts[1] if len(parts) >= 3 and parts[1] else None
        unit = (parts[2] if len(parts) >= 3 else parts[1] if len(parts) == 2 else "") or None

        def test(r: Any) -> bool:
            if system is not None and r[1] != system:
                return False
            if unit is not None and r[2] != unit:
                return False
            return _at_point(prefix, r[3], exact, low, high)

        return test

    def _reference(self, value: str, modifier: str | None) -> Callable[[Any], bool]:
        raw = unescape(value)
        if modifier == "identifier":
            system, code, has_bar = split_token(raw)
            return lambda r: r[5] == code and not (has_bar and system and r[4] != system)
        for base in self.local_base_urls:
            raw = raw.removeprefix(base)
        rtype, rid, _ = parse_reference(raw)
        type_filter = modifier if modifier and modifier[:1].isupper() else None
        if rtype is not None and "://" not in raw:
            if type_filter and type_filter != rtype:
                return lambda r: False
            return lambda r: r[1] == rtype and r[2] == rid
        if "://" in raw or raw.startswith("urn:"):
            return lambda r: r[3] == raw
        return lambda r: r[2] == raw and (type_filter is None or r[1] == type_filter)

    def _composite(self, value: str, param: SearchParam) -> Callable[[Any], bool]:
        """Every ``$`` part against its component's slot of one composite row (so all within
        one element), each with the semantics of the component's type."""
        parts: list[Callable[[Any], bool]] = []
        for i, (part, component) in enumerate(
                zip(split_composite(value), param.components, strict=True), start=1):
            parts.append(self._slot_test(i, component.type, part))
        return lambda r: all(t(r) for t in parts)

    def _slot_test(self, i: int, ptype: str, part: str) -> Callable[[Any], bool]:
        """A test on slot ``i`` (s, c, lo, hi) of a composite row: the slot seen as a row of
        the component type's own index (as ``sqlsearch._Slot`` names its columns)."""
        at = 4 * i - 3  # (the row: param, then per slot s, c, lo, hi)

        def slot(r: Any) -> tuple[Any, Any, Any, Any]:
            return r[at], r[at + 1], r[at + 2], r[at + 3]

        if ptype == "number":
            prefix, bare = split_prefix(part)
            low, high = number_range(bare)
            exact = float(bare)
            return lambda r: _at_point(prefix, slot(r)[2], exact, low, high)
        if ptype == "quantity":
            prefix, bare = split_prefix(part)
            bits = bare.split("|")
            low, high = number_range(bits[0])
            exact = float(bits[0])
            system = bits[1] if len(bits) >= 3 and bits[1] else None
            unit = (bits[2] if len(bits) >= 3 else bits[1] if len(bits) == 2 else "") or None

            def quantity(r: Any) -> bool:
                s, c, lo, hi = slot(r)
                if (system is not None and s != system) or (unit is not None and c != unit):
                    return False
                if lo is None or hi is None:
                    return False
                if lo == hi:  # a Quantity, compared like a quantity parameter
                    return _at_point(prefix, lo, exact, low, high)
                return _in_range(prefix, lo, hi, low, high)  # a Range, like a date

            return quantity
        shaped: dict[str, Callable[[tuple[Any, Any, Any, Any]], tuple[Any, ...]]] = {
            "token": lambda x: (None, x[0], x[1], None),
            "string": lambda x: (None, x[1], None),
            "uri": lambda x: (None, x[1]),
            "date": lambda x: (None, x[2], x[3]),
            "reference": lambda x: (None, x[0], x[1], x[1], None, None),
        }
        if ptype not in shaped:
            raise _unsupported(f"A composite of a {ptype} component")
        test = getattr(self, f"_{ptype}")(part, None)
        shape = shaped[ptype]
        return lambda r: bool(test(shape(slot(r))))

    def _updated(self, value: str) -> Callable[[float], bool]:
        prefix, bare = split_prefix(value)
        rng = date_range(bare)
        assert rng is not None
        low, high = rng
        margin = date_margin(low, high) if prefix == "ap" else None
        # a lastUpdated instant is the point range [u, u + 1 µs)
        return lambda u: _in_range(prefix, u, u + 0.000001, low, high, margin)


def _sort_value(code: str, ptype: str, stored: Stored, rows: IndexRows,
                descending: bool) -> Any:
    """A resource's sort key, as ``sqlsearch.sort_expression`` (None: no value)."""
    if code == "_id":
        return stored.rid
    if code == "_lastUpdated":
        return stored.updated
    if ptype not in ("date", "string", "token", "reference", "number", "quantity", "uri"):
        raise FhirError("invalid", f"Cannot sort by a {ptype} parameter ('{code}')", "_sort")
    values: list[Any] = []
    for r in getattr(rows, ptype):
        if r[0] != code:
            continue
        if ptype == "date":
            v = r[2] if descending else r[1]
        elif ptype in ("string", "token"):
            v = r[1] if ptype == "string" else r[2]
        elif ptype == "reference":
            v = f"{r[1]}/{r[2]}" if r[1] is not None and r[2] is not None else (
                r[3] if r[3] is not None else r[5])
        elif ptype == "quantity":
            v = r[3]
        else:
            v = r[1]
        if v is not None:
            values.append(v)
    if not values:
        return None
    return max(values) if descending else min(values)


# --- sessions ----------------------------------------------------------------------------


class MemorySession:
    """One session over a state: a read session over the state of its start, a write
    session over a private copy that the repository publishes at commit."""

    def __init__(self, state: _State, matcher: _Matcher, write: bool) -> None:
        self.state = state
        self.matcher = matcher
        self.is_write = write
        self._hpk: dict[int, int] = {}  # resource pk -> its version written here
        self.written: list[tuple[int, str]] = []  # (history row, type), as SqlSession's

    def _readonly(self) -> None:
        if not self.is_write:
            raise RuntimeError("a read session does not write")

    # --- the access rule (security.policy.decide, on the rows kept here) -------------------

    def _granted(self, org: str, people: tuple[str, ...], now: float) -> int:
        return len({g.patient_id for grants in self.state.grants.values() for g in grants
                    if g.org_id == org and g.patient_id in people and g.start <= now
                    and (g.end is None or g.end > now)})

    def _decide(self, rtype: str, people: Iterable[str], access: RawAccess, pk: int) -> bool:
        return decide(rtype, tuple(sorted(people)), access, self._granted,
                      lambda: self.state.owners.get(pk))

    def _sees(self, stored: Stored, access: AccessFilter) -> bool:
        raw = access.raw
        if raw is None:
            return True
        return self._decide(stored.rtype, self.state.people.get(stored.pk, ()), raw, stored.pk)

    # --- reads -----------------------------------------------------------------------------

    def get(self, rtype: str, rid: str) -> Stored | None:
        pk = self.state.keys.get((rtype, rid))
        return None if pk is None else self.state.current[pk]

    def get_version(self, rtype: str, rid: str, version: int) -> Stored | None:
        pk = self.state.keys.get((rtype, rid))
        if pk is None:
            return None
        for v in self.state.versions:
            if v.stored.pk == pk and v.stored.version == version:
                return v.stored
        return None

    def fetch(self, pks: Iterable[int]) -> list[Stored]:
        current = self.state.current
        return [current[pk] for pk in pks if pk in current]

    def current(self, rtype: str | None) -> Iterator[tuple[Stored, IndexRows]]:
        """The current (not deleted) resources of a type, or of every type, by key, with
        their index rows."""
        empty = IndexRows()
        for pk in sorted(self.state.current):
            stored = self.state.current[pk]
            if not stored.deleted and (not rtype or stored.rtype == rtype):
                yield stored, self.state.index.get(pk, empty)

    def _matches(self, query: SearchQuery, access: AccessFilter) -> list[Stored]:
        tests = [self.matcher.predicate(f, self, access) for f in query.filters]
        return [stored for stored, rows in self.current(query.resource_type)
                if all(t(stored, rows) for t in tests) and self._sees(stored, access)]

    def max_pk(self) -> int:
        return max(self.state.current, default=0)

    def search(self, query: SearchQuery, access: AccessFilter) -> SearchPage:
        matches = self._matches(query, access)
        if query.snapshot is not None:
            matches = [s for s in matches if s.pk <= query.snapshot]
        if query.sort:
            ordered = matches  # (by pk: the last key)
            empty = IndexRows()
            for code, desc, ptype in reversed(query.sort):
                keyed = [(_sort_value(code, ptype, s, self.state.index.get(s.pk, empty), desc),
                          s) for s in ordered]
                valued = sorted((k for k in keyed if k[0] is not None), key=lambda k: k[0],
                                reverse=desc)  # (stable: ties keep the later keys' order)
                ordered = [s for _, s in valued] + [s for v, s in keyed if v is None]
            page_from = ordered[query.offset:]
        else:
            page_from = [s for s in matches if query.cursor is None or s.pk > query.cursor]
        rows = page_from[: query.count + 1] if query.count > 0 else []
        has_more = len(rows) > query.count
        rows = rows[: query.count]
        snapshot = query.snapshot if query.snapshot is not None else (
            self.max_pk() if has_more else 0)
        total: int | None = None
        first_page = query.cursor is None and query.offset == 0
        if first_page and not has_more and query.count > 0:
            total = len(rows)
        elif query.total in ("accurate", "estimate") or query.count == 0:
            total = len([s for s in matches if not snapshot or s.pk <= snapshot])
        return SearchPage([r.pk for r in rows], total, has_more, snapshot, rows)

    def count(self, query: SearchQuery, access: AccessFilter) -> int:
        return len(self._matches(query, access))

    def include_targets(
        self, pks: list[int], param: str | None, source_type: str, target_type: str | None
    ) -> list[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for pk in pks:
            stored = self.state.current.get(pk)
            if stored is None or stored.rtype != source_type or pk not in self.state.index:
                continue
            for r in self.state.index[pk].reference:
                if (param and param != "*" and r[0] != param) or r[1] is None or r[2] is None:
                    continue
                if target_type is None or r[1] == target_type:
                    found.add((r[1], r[2]))
        return sorted(found)

    def revinclude_sources(
        self, keys: list[tuple[str, str]], source_type: str, param: str | None
    ) -> list[int]:
        wanted = set(keys)
        out = []
        for pk, rows in self.state.index.items():
            if self.state.current[pk].rtype != source_type:
                continue
            if any((r[1], r[2]) in wanted and not (param and param != "*" and r[0] != param)
                   for r in rows.reference):
                out.append(pk)
        return sorted(out)

    def lookup(self, keys: list[tuple[str, str]], access: AccessFilter) -> list[Stored]:
        found = [self.state.current[pk] for k in set(keys)
                 if (pk := self.state.keys.get(k)) is not None]
        return sorted((s for s in found if not s.deleted and self._sees(s, access)),
                      key=lambda s: s.pk)

    def filter_visible(self, pks: list[int], access: AccessFilter) -> list[int]:
        if access.raw is None:
            return pks
        return [pk for pk in pks if self.visible(pk, access)]

    def visible(self, pk: int, access: AccessFilter) -> bool:
        stored = self.state.current.get(pk)
        return stored is not None and self._sees(stored, access)

    def existing(self, keys: list[tuple[str, str]], access: AccessFilter
                 ) -> set[tuple[str, str]]:
        """As ``SqlSession.existing``: current resources the caller may see, or a person
        nobody accompanies yet."""
        found: set[tuple[str, str]] = set()
        for key in keys:
            pk = self.state.keys.get(key)
            if pk is None or self.state.current[pk].deleted:
                continue
            stored = self.state.current[pk]
            if self._sees(stored, access) or (
                    key[0] == "Patient" and not self.patient_has_grants(key[1])):
                found.add(key)
        return found

    def history(
        self,
        rtype: str | None,
        rid: str | None,
        since: float | None,
        before: float | None,
        count: int,
        offset: int,
        snapshot: int | None,
        access: AccessFilter,
    ) -> tuple[list[Stored], int, int]:
        if snapshot is None:
            snapshot = self.state.versions[-1].hpk if self.state.versions else 0
        raw = access.raw
        rows = [v.stored for v in reversed(self.state.versions)
                if v.hpk <= snapshot
                and (not rtype or v.stored.rtype == rtype) and (not rid or v.stored.rid == rid)
                and (since is None or v.stored.updated >= since)
                and (before is None or v.stored.updated < before)
                and (raw is None or self._decide(v.stored.rtype, v.people, raw, v.stored.pk))]
        return rows[offset:offset + count], len(rows), snapshot

    def referencing(self, rtype: str, rid: str, limit: int = 5) -> list[tuple[str, str]]:
        out = []
        for pk in sorted(self.state.refs):
            stored = self.state.current[pk]
            if (rtype, rid) in self.state.refs[pk] and not stored.deleted and \
                    stored.rtype not in ("Provenance", "AuditEvent"):
                out.append((stored.rtype, stored.rid))
                if len(out) == limit:
                    break
        return [k for k in out if k != (rtype, rid)]

    # --- writes ----------------------------------------------------------------------------

    def lock(self, rtype: str, rid: str) -> None:
        """Nothing to do: a write session holds the repository's write lock."""

    def lock_type(self, rtype: str) -> None:
        """Nothing to do (see :meth:`lock`)."""

    def prepare_writes(self, keys: list[tuple[str, str]]) -> None:
        """Nothing to do (see :meth:`lock`)."""

    def _clear(self, pk: int) -> None:
        self.state.index.pop(pk, None)
        self.state.refs.pop(pk, None)
        self.state.people.pop(pk, None)
        self.state.grants.pop(pk, None)

    def _version(self, stored: Stored, people: frozenset[str] = frozenset()) -> int:
        hpk = self.state.next_hpk
        self.state.next_hpk += 1
        self.state.versions.append(_Version(hpk, stored, people))
        self.written.append((hpk, stored.rtype))
        return hpk

    def write(
        self,
        rtype: str,
        rid: str,
        version: int,
        updated: float,
        content: bytes,
        method: str,
        rows: IndexRows,
        refs_out: list[tuple[str, str]],
        existing_pk: int | None = None,
    ) -> Stored:
        self._readonly()
        state = self.state
        if existing_pk is None:
            if (rtype, rid) in state.keys:
                raise FhirError("conflict", f"{rtype}/{rid} exists already")
            pk = state.next_pk
            state.next_pk += 1
            state.keys[(rtype, rid)] = pk
        else:
            pk = existing_pk
            self._clear(pk)
        stored = Stored(pk, rtype, rid, version, updated, False, content, method)
        state.current[pk] = Stored(pk, rtype, rid, version, updated, False, content)
        self._hpk[pk] = self._version(stored)
        state.index[pk] = copy.deepcopy(rows)
        if refs_out:
            state.refs[pk] = frozenset(refs_out)
        return stored

    def append_many(self, items: list[tuple[str, str, float, bytes, IndexRows, list[str]]]
                    ) -> None:
        """New resources (version 1) with their index rows and people: the audit trail's
        bulk path (``SqlSession.append_many``)."""
        for rtype, rid, updated, content, rows, patients in items:
            stored = self.write(rtype, rid, 1, updated, content, "POST", rows, [])
            if patients:  # (the resource's people only: no rows by version, as in SQL)
                self.state.people[stored.pk] = frozenset(patients)

    def delete(self, pk: int, rtype: str, rid: str, version: int, updated: float) -> None:
        self._readonly()
        people = self.state.people.get(pk, frozenset())  # (the deletion stays theirs)
        self.state.current[pk] = Stored(pk, rtype, rid, version, updated, True, None)
        self._version(Stored(pk, rtype, rid, version, updated, True, None, "DELETE"), people)
        self._clear(pk)

    # --- access and ownership rows -----------------------------------------------------------

    def set_access_rows(self, pk: int, patients: list[str], grants: list[Grant]) -> None:
        self._readonly()
        if patients:
            self.state.people[pk] = self.state.people.get(pk, frozenset()) | set(patients)
            hpk = self._hpk.get(pk)
            versions = self.state.versions
            for n in range(len(versions) - 1, -1, -1):
                if versions[n].hpk == hpk:
                    versions[n] = replace(versions[n], people=versions[n].people | set(patients))
                    break
        if grants:
            self.state.grants[pk] = [*self.state.grants.get(pk, []), *grants]

    def replace_grants(self, pk: int, grants: list[Grant]) -> None:
        self._readonly()
        self.state.grants.pop(pk, None)
        self.set_access_rows(pk, [], grants)

    def patients_by_pk(self, pks: list[int]) -> dict[int, list[str]]:
        return {pk: sorted(self.state.people[pk]) for pk in pks if self.state.people.get(pk)}

    def current_patients(self, pk: int) -> set[str]:
        return set(self.state.people.get(pk, ()))

    def patients_of_versions(self, keys: list[tuple[str, str, int | None]]) -> set[str]:
        found = self.patients_of_keys([(t, i) for t, i, v in keys if v is None])
        versions = {(t, i, v) for t, i, v in keys if v is not None}
        for v in self.state.versions:
            if (v.stored.rtype, v.stored.rid, v.stored.version) in versions:
                found |= v.people
        return found

    def patients_of_keys(self, keys: list[tuple[str, str]]) -> set[str]:
        found: set[str] = set()
        for key in keys:
            if (pk := self.state.keys.get(key)) is not None:
                found |= self.state.people.get(pk, frozenset())
        return found

    def owner_row(self, pk: int) -> tuple[bool, str | None]:
        if pk in self.state.owners:
            return True, self.state.owners[pk]
        return False, None

    def set_owner(self, pk: int, org: str | None) -> None:
        self._readonly()
        self.state.owners[pk] = org

    def organization_owner(self, org_id: str) -> str:
        pk = self.state.keys.get(("Organization", org_id))
        owner = self.state.owners.get(pk) if pk is not None else None
        return owner or org_id

    def role_owner(self, role_id: str) -> str | None:
        pk = self.state.keys.get(("PractitionerRole", role_id))
        if pk is not None and pk in self.state.owners:
            return self.state.owners[pk]
        org = self.role_organization(role_id)
        return self.organization_owner(org) if org else None

    def role_organization(self, role_id: str) -> str | None:
        pk = self.state.keys.get(("PractitionerRole", role_id))
        if pk is None or self.state.current[pk].deleted or pk not in self.state.index:
            return None
        for r in self.state.index[pk].reference:
            if r[0] == "organization" and r[1] == "Organization":
                return r[2]
        return None

    def referencing_sources(self, source_type: str, target_type: str,
                            target_id: str) -> list[Stored]:
        pks = [pk for pk, rows in self.state.index.items()
               if self.state.current[pk].rtype == source_type
               and any(r[1] == target_type and r[2] == target_id for r in rows.reference)]
        return [s for s in self.fetch(sorted(pks)) if not s.deleted]

    def has_grant(self, org: str, patient: str, now: float) -> bool:
        return self._granted(org, (patient,), now) == 1

    def episode_managers(self, patients: set[str]) -> set[str]:
        return {g.org_id for grants in self.state.grants.values() for g in grants
                if g.patient_id in patients and g.kind == "episode"}

    def patient_has_grants(self, patient: str) -> bool:
        return any(g.patient_id == patient for grants in self.state.grants.values()
                   for g in grants)


class MemoryRepository:
    """The store in memory (tests, and a reference for what the protocol means); see the
    module docstring for what it does not support."""

    def __init__(self, local_base_urls: tuple[str, ...] = ()) -> None:
        self.matcher = _Matcher(local_base_urls)
        self._state = _State()
        self._write_lock = threading.Lock()

    def read_visible(self, rtype: str, rid: str, access: RawAccess | None
                     ) -> tuple[Stored | None, bool]:
        session = MemorySession(self._state, self.matcher, write=False)
        stored = session.get(rtype, rid)
        if stored is None or access is None:
            return stored, True
        people = () if rtype == "AuditEvent" else tuple(  # (as RawRule: not looked up)
            sorted(self._state.people.get(stored.pk, ())))
        visible = session._decide(rtype, people, access, stored.pk)
        return Stored(stored.pk, stored.rtype, stored.rid, stored.version, stored.updated,
                      stored.deleted, stored.content, patients=people), visible

    def version_visible(self, pk: int, version: int, rtype: str, access: RawAccess
                        ) -> tuple[bool, tuple[str, ...]]:
        session = MemorySession(self._state, self.matcher, write=False)
        if rtype == "AuditEvent":
            return session._decide(rtype, (), access, pk), ()
        people: tuple[str, ...] = ()
        for v in self._state.versions:
            if v.stored.pk == pk and v.stored.version == version:
                people = tuple(sorted(v.people))
        return session._decide(rtype, people, access, pk), people

    @contextmanager
    def read_session(self) -> Iterator[MemorySession]:
        yield MemorySession(self._state, self.matcher, write=False)

    @contextmanager
    def write_session(self) -> Iterator[MemorySession]:
        with self._write_lock:
            work = self._state.copy()
            yield MemorySession(work, self.matcher, write=True)
            self._state = work  # (published only when the block ends without an error)

    def close(self) -> None:
        self._state = _State()


__all__ = ["MemoryRepository", "MemorySession"]


if TYPE_CHECKING:  # both implementations keep the protocol, as mypy checks here
    from fhir_service.store.repository import Repository
    from fhir_service.store.sqlstore import SqlRepository

    def _keep_the_protocol(sql: SqlRepository, memory: MemoryRepository) -> list[Repository]:
        return [sql, memory]
