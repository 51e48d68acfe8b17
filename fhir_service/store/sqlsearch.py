"""Compile search filters into SQL conditions on the ``resources`` table.

Each filter becomes an ``EXISTS`` sub-query on the index table of its parameter type, so
counts and paging are computed by the database (no filtering after the fact). Access rules
are added the same way, as extra conditions (see ``SqlStore.search``).

Comparison semantics: https://hl7.org/fhir/R4/search.html#prefix — a date or number search
value is a range [low, high); ``eq`` means the target range lies within it, ``gt`` that the
target extends above it, and so on.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from fhir_service.outcomes import FhirError
from fhir_service.search.extract import date_range, normalize_string, parse_reference
from fhir_service.search.params import SearchParam
from fhir_service.search.query import Filter, split_composite, split_prefix, split_token, unescape
from fhir_service.store.schema import INDEX_TABLES, idx_reference, resources

Condition = ColumnElement[bool]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def number_range(text: str) -> tuple[float, float]:
    """Implicit range of a number by its significant figures (spec: 100 means [99.5, 100.5))."""
    from decimal import Decimal

    dec = Decimal(text)
    exponent = dec.as_tuple().exponent
    half = Decimal(5) * (Decimal(10) ** (int(exponent) - 1)) if isinstance(exponent, int) else 0
    return float(dec - half), float(dec + half)


def uri_above(raw: str) -> list[str]:
    """The URIs ``:above`` matches for a searched ``raw``: itself, and every prefix of it that
    ends a path segment, with and without its ``/`` (https://hl7.org/fhir/R4/search.html#uri:
    ``url:above=http://acme.org/fhir/ValueSet/123/_history/5`` finds
    ``http://acme.org/fhir/ValueSet/123``, ``…/ValueSet/`` and ``http://acme.org/fhir/``).
    Prefixes start after the authority of a URL with one (``http://acme.org``, never
    ``http:`` nor ``http://``) and stop at a query or fragment; a URI without ``/`` (a URN)
    matches itself only."""
    found = [raw]
    path_end = min((i for i in (raw.find("?"), raw.find("#")) if i >= 0), default=len(raw))
    scheme = raw.find("://")
    start = raw.find("/", scheme + 3) if scheme >= 0 else raw.find("/")
    if start < 0 or start >= path_end:
        if scheme >= 0 and path_end < len(raw):
            found.append(raw[:path_end])  # (http://acme.org?x: the authority alone)
        return found
    for i in range(start, path_end):
        if raw[i] == "/":
            found.extend((raw[:i], raw[: i + 1]))
    if path_end < len(raw):
        found.append(raw[:path_end])
    return sorted(set(found) - {""})


DAY = 86400.0


def date_margin(low: float, high: float, now: float | None = None) -> float:
    """The margin of a date ``ap`` search for the range [low, high) (epoch seconds).

    https://hl7.org/fhir/R4/search.html#prefix: "the recommended value for the approximation
    is 10% of the stated value (or for a date, 10% of the gap between now and the date),
    but systems may choose other values where appropriate". The gap is between now and the
    searched range (0 when the range holds now). Minimum one day: ``date`` has a day's
    precision at best and most of what is searched (birth dates, due dates, periods of
    care) is recorded to the day, so a value close to now (whose 10 % would be minutes)
    still means "around that day", never less than an ``eq`` to the day would give."""
    current = time.time() if now is None else now
    gap = max(low - current, current - high, 0.0) if high != float("inf") else \
        max(low - current, 0.0)
    return max(0.1 * gap, DAY)


def range_condition(prefix: str, low_col: Any, high_col: Any, low: float, high: float,
                    margin: float | None = None) -> Condition:
    """Target range [low_col, high_col) against search range [low, high). ``margin``: that of
    ``ap`` (:func:`date_margin` for dates); by default, for quantity ranges, 10 % of the
    value and at least the search range's width."""
    eq = and_(low_col >= low, high_col <= high)
    if prefix == "eq":
        return eq
    if prefix == "ne":
        return not_(eq)
    if prefix == "gt":
        return high_col > high
    if prefix == "lt":
        return low_col < low
    if prefix == "ge":
        return or_(high_col > high, eq)
    if prefix == "le":
        return or_(low_col < low, eq)
    if prefix == "sa":
        return low_col >= high
    if prefix == "eb":
        return high_col <= low
    if prefix == "ap":
        if margin is None:
            margin = value_margin(low, high)
        return and_(low_col < high + margin, high_col > low - margin)
    raise FhirError("invalid", f"Unknown prefix '{prefix}'")


def value_margin(low: float, high: float) -> float:
    """The ``ap`` margin of a quantity range: 10 % of the value (the spec's recommendation),
    at least the width of the search value's implicit range."""
    width = (high - low) if high != float("inf") and low != float("-inf") else 0.0
    return max(width, abs(low) * 0.1 if low != float("-inf") else 0.0)


class FilterCompiler:
    """Turns :class:`Filter` objects into SQL conditions correlated with ``res``."""

    def __init__(self, local_base_urls: tuple[str, ...] = ()) -> None:
        self.local_base_urls = tuple(u.rstrip("/") + "/" for u in local_base_urls)

    def condition(self, filt: Filter, res: Any, rtype: str | None, access: Any) -> Condition:
        """``access`` (security.policy.AccessFilter) restricts every resource a chain or a
        ``_has`` passes through to those the caller may see: a hop through a hidden
        resource matches nothing."""
        if filt.has is not None:
            return self._has(filt, res, access)
        if filt.code == "_id":
            return res.c.rid.in_([unescape(v) for v in filt.values])
        if filt.code == "_lastUpdated":
            return or_(*[self._updated(v, res) for v in filt.values])
        assert filt.param is not None
        ptype = filt.param.type
        if filt.chain is not None or filt.alternatives:
            return self._chain(filt, res, access)
        table = _TABLES[ptype]
        param = table.c.param == filt.code
        if rtype is not None:
            param = and_(table.c.rtype == rtype, param)
        base = and_(table.c.res_pk == res.c.pk, param)
        if filt.modifier == "missing":
            present = exists(select(1).where(base))
            return not_(present) if filt.values[0] == "true" else present
        if ptype == "composite":
            values = or_(*[self._composite(v, filt.param, table) for v in filt.values])
            # the first component (a code, mostly) is selective: from the index table
            return res.c.pk.in_(select(table.c.res_pk).where(and_(param, values)))
        method = getattr(self, f"_{ptype}")
        if ptype == "token" and filt.modifier == "not":
            values = or_(*[self._token(v, None, table) for v in filt.values])
            return not_(exists(select(1).where(and_(base, values))))
        values = or_(*[method(v, filt.modifier, table) for v in filt.values])
        if ptype == "reference" or filt.code == "identifier":
            # selective filters: uncorrelated, so the database starts from the index table's
            # own index (a correlated EXISTS would be probed once per resource of the type)
            return res.c.pk.in_(select(table.c.res_pk).where(and_(param, values)))
        # broad filters (status, category, dates…): probed along the page order, so a page
        # stops after _count matches instead of materialising every match
        return exists(select(1).where(and_(base, values)))

    # --- per type --------------------------------------------------------------------------

    def _token(self, value: str, modifier: str | None, t: Any) -> Condition:
        if modifier == "text":
            return t.c.text.like(_like_escape(normalize_string(unescape(value))) + "%",
                                 escape="\\")
        system, code, has_bar = split_token(value)
        if not has_bar:
            return t.c.code == code
        conds = []
        if system == "":
            conds.append(t.c.system.is_(None))
        elif system is not None:
            conds.append(t.c.system == system)
        if code:
            conds.append(t.c.code == code)
        return and_(*conds) if conds else true()

    def _string(self, value: str, modifier: str | None, t: Any) -> Condition:
        raw = unescape(value)
        if modifier == "exact":
            return t.c.exact == raw
        norm = _like_escape(normalize_string(raw))
        if modifier == "contains":
            return t.c.norm.like(f"%{norm}%", escape="\\")
        return t.c.norm.like(f"{norm}%", escape="\\")

    def _uri(self, value: str, modifier: str | None, t: Any) -> Condition:
        raw = unescape(value)
        if modifier == "below":
            # URIs are case-sensitive (RFC 3986): LIKE (case-insensitive on SQLite) narrows
            # the rows, the comparison of the first characters decides, on both databases
            return and_(t.c.value.like(_like_escape(raw) + "%", escape="\\"),
                        func.substr(t.c.value, 1, len(raw)) == raw)
        if modifier == "above":
            return t.c.value.in_(uri_above(raw))
        return t.c.value == raw

    def _date(self, value: str, modifier: str | None, t: Any) -> Condition:
        prefix, bare = split_prefix(value)
        rng = date_range(bare)
        assert rng is not None  # checked by the parser
        return range_condition(prefix, t.c.low, t.c.high, rng[0], rng[1],
                               date_margin(*rng) if prefix == "ap" else None)

    def _number(self, value: str, modifier: str | None, t: Any) -> Condition:
        prefix, bare = split_prefix(value)
        low, high = number_range(bare)
        exact = float(bare)
        return _point_condition(prefix, t.c.value, exact, low, high)

    def _quantity(self, value: str, modifier: str | None, t: Any) -> Condition:
        prefix, bare = split_prefix(value)
        parts = bare.split("|")
        number = parts[0]
        low, high = number_range(number)
        conds = [_point_condition(prefix, t.c.value, float(number), low, high)]
        if len(parts) >= 3:
            if parts[1]:
                conds.append(t.c.system == parts[1])
            if parts[2]:
                conds.append(t.c.code == parts[2])
        elif len(parts) == 2 and parts[1]:
            conds.append(t.c.code == parts[1])
        return and_(*conds)

    def _reference(self, value: str, modifier: str | None, t: Any) -> Condition:
        raw = unescape(value)
        if modifier == "identifier":
            system, code, has_bar = split_token(raw)
            conds = [t.c.id_value == code]
            if has_bar and system:
                conds.append(t.c.id_system == system)
            return and_(*conds)
        for base in self.local_base_urls:
            raw = raw.removeprefix(base)
        rtype, rid, _ = parse_reference(raw)
        type_filter = modifier if modifier and modifier[:1].isupper() else None
        if rtype is not None and "://" not in raw:
            if type_filter and type_filter != rtype:
                return false()
            return and_(t.c.ref_type == rtype, t.c.ref_id == rid)
        if "://" in raw or raw.startswith("urn:"):
            return t.c.ref_url == raw
        conds = [t.c.ref_id == raw]
        if type_filter:
            conds.append(t.c.ref_type == type_filter)
        return and_(*conds)

    def _composite(self, value: str, param: SearchParam, t: Any) -> Condition:
        """Every ``$`` part against its component's slot of one idx_composite row (so all
        within one element), each with the semantics of the component's type."""
        conds = []
        for i, (part, component) in enumerate(
                zip(split_composite(value), param.components, strict=True), start=1):
            slot = _Slot(t, i)
            ptype = component.type
            if ptype == "number":
                prefix, bare = split_prefix(part)
                low, high = number_range(bare)
                conds.append(_point_condition(prefix, slot.c.low, float(bare), low, high))
            elif ptype == "quantity":
                conds.append(self._slot_quantity(part, slot))
            else:
                conds.append(getattr(self, f"_{ptype}")(part, None, slot))
        return and_(*conds)

    def _slot_quantity(self, value: str, slot: _Slot) -> Condition:
        """A quantity part: a Quantity (low = high) compared like a quantity parameter, a
        Range (useContext) like a date range."""
        prefix, bare = split_prefix(value)
        parts = bare.split("|")
        number = parts[0]
        low, high = number_range(number)
        c = slot.c
        conds = [or_(
            and_(c.low == c.high, _point_condition(prefix, c.low, float(number), low, high)),
            and_(c.low != c.high, range_condition(prefix, c.low, c.high, low, high)))]
        if len(parts) >= 3:
            if parts[1]:
                conds.append(c.system == parts[1])
            if parts[2]:
                conds.append(c.code == parts[2])
        elif len(parts) == 2 and parts[1]:
            conds.append(c.code == parts[1])
        return and_(*conds)

    # --- composite forms -----------------------------------------------------------------

    def _updated(self, value: str, res: Any) -> Condition:
        prefix, bare = split_prefix(value)
        rng = date_range(bare)
        assert rng is not None
        # a lastUpdated instant is the point range [u, u + 1 µs)
        return range_condition(prefix, res.c.updated, res.c.updated + 0.000001, rng[0], rng[1],
                               date_margin(*rng) if prefix == "ap" else None)

    def _chain(self, filt: Filter, res: Any, access: Any) -> Condition:
        """A reference of ``res`` (parameter ``filt.code``) to a resource of the chain's type
        that matches the rest of the chain and that the caller may see; a chain without a
        type over several types (``filt.alternatives``): to one of any of them."""
        ref = idx_reference
        per_type = []
        for hop in filt.alternatives or [filt]:
            assert hop.chain is not None and hop.chain_type is not None
            target = resources.alias()
            inner = self.condition(hop.chain, target, hop.chain_type, access)
            conds = [target.c.rtype == hop.chain_type, target.c.deleted == false(), inner]
            if (visible := access.condition(target)) is not None:
                conds.append(visible)
            targets = select(target.c.rid).where(and_(*conds))
            per_type.append(and_(ref.c.ref_type == hop.chain_type, ref.c.ref_id.in_(targets)))
        return exists(
            select(1).where(
                and_(ref.c.res_pk == res.c.pk, ref.c.param == filt.code, or_(*per_type))
            )
        )

    def _has(self, filt: Filter, res: Any, access: Any) -> Condition:
        assert filt.has is not None
        has = filt.has
        source = resources.alias()
        ref = idx_reference.alias()
        inner = self.condition(has.inner, source, has.source_type, access)
        conds = [
            ref.c.rtype == has.source_type,
            ref.c.param == has.ref_param.code,
            ref.c.ref_type == res.c.rtype,
            ref.c.ref_id == res.c.rid,
            source.c.deleted == false(),
            inner,
        ]
        if (visible := access.condition(source)) is not None:
            conds.append(visible)
        return exists(
            select(1)
            .select_from(ref.join(source, source.c.pk == ref.c.res_pk))
            .where(and_(*conds))
        )


def _point_condition(prefix: str, col: Any, exact: float, low: float, high: float) -> Condition:
    if prefix == "eq":
        return and_(col >= low, col < high)
    if prefix == "ne":
        return or_(col < low, col >= high)
    if prefix in ("gt", "sa"):
        return col > exact
    if prefix in ("lt", "eb"):
        return col < exact
    if prefix == "ge":
        return col >= exact
    if prefix == "le":
        return col <= exact
    if prefix == "ap":
        margin = abs(exact) * 0.1
        return and_(col >= exact - margin, col <= exact + margin)
    raise FhirError("invalid", f"Unknown prefix '{prefix}'")


_TABLES = INDEX_TABLES


class _Slot:
    """Slot ``i`` of idx_composite under the column names the per-type conditions use."""

    def __init__(self, table: Any, i: int) -> None:
        s, c, lo, hi = (table.c[f"{kind}{i}"] for kind in ("s", "c", "lo", "hi"))
        self.c = SimpleNamespace(system=s, ref_type=s, code=c, norm=c, value=c, ref_id=c,
                                 ref_url=c, low=lo, high=hi)


def sort_expression(code: str, ptype: str, res: Any, descending: bool) -> Any:
    """A resource's sort key for a parameter: a scalar sub-query (NULL: no value) wrapped in
    a :class:`SortKey`.

    Ascending sorts take a resource's lowest value, descending ones its highest (a
    repeated element sorts by the value that comes first in that direction); a date or a
    Period sorts by its start ascending and by its end descending (an open end is the
    highest). Strings sort by their case- and accent-insensitive form, tokens by code,
    quantities by value (whatever the unit), references by ``Type/id`` (else the URL or the
    identifier written). Resources without a value come last in both directions
    (:class:`SortKey`)."""
    if code == "_id":
        return res.c.rid
    if code == "_lastUpdated":
        return res.c.updated
    table = _TABLES[ptype]
    c = table.c
    column: Any
    if ptype == "date":
        column = c.high if descending else c.low
    elif ptype == "string":
        column = c.norm
    elif ptype == "token":
        column = c.code
    elif ptype == "reference":
        column = func.coalesce(c.ref_type + "/" + c.ref_id, c.ref_url, c.id_value)
    elif ptype in ("number", "quantity", "uri"):
        column = c.value
    else:
        raise FhirError("invalid", f"Cannot sort by a {ptype} parameter ('{code}')", "_sort")
    agg = func.max(column) if descending else func.min(column)
    return SortKey(
        select(agg)
        .where(and_(c.res_pk == res.c.pk, c.param == code))
        .scalar_subquery()
    )


class SortKey:
    """A ``_sort`` key whose ``asc()`` and ``desc()`` put the resources lacking a value last,
    whichever the direction and the database (SQLite and PostgreSQL put NULL at opposite
    ends by default). The search adds ``pk`` as the last key, so the order is total and
    the pages of an offset neither overlap nor leave gaps."""

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def asc(self) -> Any:
        return self.expr.asc().nulls_last()

    def desc(self) -> Any:
        return self.expr.desc().nulls_last()


def apply_page(stmt: Select[Any], res: Any, cursor: int | None, snapshot: int | None) -> Select[Any]:
    if cursor is not None:
        stmt = stmt.where(res.c.pk > cursor)
    if snapshot is not None:
        stmt = stmt.where(res.c.pk <= snapshot)
    return stmt
