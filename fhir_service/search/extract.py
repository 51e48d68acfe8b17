"""Index values extracted from a resource by evaluating its search parameters' FHIRPath.

https://hl7.org/fhir/R4/search.html#ptypes — one row shape per parameter type. Values are
recognised by their JSON shape (a ``Period`` has ``start``/``end``, a ``CodeableConcept`` has
``coding``/``text``, …) since FHIRPath results carry no type. An expression that raises
during evaluation is an error for the write (never silently indexes nothing).

A composite parameter gives one row per selected element and per combination of its
components' values (:func:`_composites`), each component's values shaped by its own type.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fhir_service.search.params import SearchParam, SearchParamError
from fhir_service.store.schema import COMPOSITE_SLOTS

_DATE = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})(T(?P<H>\d{2}):(?P<M>\d{2})"
    r"(:(?P<S>\d{2})(?P<f>\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
NEG_INF = -math.inf
POS_INF = math.inf
_REF = re.compile(
    r"^(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/(?P<version>[A-Za-z0-9\-.]{1,64}))?$"
)


def normalize_string(value: str) -> str:
    """Case- and accent-insensitive form used by string search (spec: 'ignoring case and
    accents')."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def date_range(value: str) -> tuple[float, float] | None:
    """The implicit range [low, high) of a FHIR date/dateTime/instant, in epoch seconds."""
    match = _DATE.match(value.strip())
    if match is None:
        return None
    g = match.groupdict()
    tz = UTC
    if g["tz"] and g["tz"] != "Z":
        sign = 1 if g["tz"][0] == "+" else -1
        hours, minutes = int(g["tz"][1:3]), int(g["tz"][4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    year = int(g["y"])
    try:
        if g["m"] is None:
            low = datetime(year, 1, 1, tzinfo=tz)
            high = datetime(year + 1, 1, 1, tzinfo=tz) if year < 9999 else None
        elif g["d"] is None:
            month = int(g["m"])
            low = datetime(year, month, 1, tzinfo=tz)
            high = (
                datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
                if year < 9999 or month < 12
                else None
            )
        elif g["H"] is None:
            low = datetime(year, int(g["m"]), int(g["d"]), tzinfo=tz)
            high = low + timedelta(days=1)
        else:
            second = int(g["S"] or 0)
            frac = g["f"]
            micro = int(Decimal(frac) * 1_000_000) if frac else 0
            low = datetime(year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), second,
                           micro, tzinfo=tz)
            if g["S"] is None:
                step = timedelta(minutes=1)
            elif frac:
                step = timedelta(microseconds=max(1, 10 ** (6 - min(len(frac) - 1, 6))))
            else:
                step = timedelta(seconds=1)
            high = low + step
    except ValueError:
        return None
    return low.timestamp(), (high.timestamp() if high else POS_INF)


def parse_reference(ref: str) -> tuple[str | None, str | None, str | None]:
    """(type, id, version) of a literal reference, or Nones for other forms."""
    match = _REF.match(ref)
    if match is None:
        return None, None, None
    return match.group("type"), match.group("id"), match.group("version")


@dataclass
class IndexRows:
    token: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    string: list[tuple[str, str, str]] = field(default_factory=list)
    date: list[tuple[str, float, float]] = field(default_factory=list)
    reference: list[tuple[str, str | None, str | None, str | None, str | None, str | None]] = (
        field(default_factory=list)
    )
    number: list[tuple[str, float]] = field(default_factory=list)
    quantity: list[tuple[str, str | None, str | None, float]] = field(default_factory=list)
    uri: list[tuple[str, str]] = field(default_factory=list)
    # (param, then per slot: system, code, low, high; see store/schema.py idx_composite)
    composite: list[tuple[Any, ...]] = field(default_factory=list)


def _tokens(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, bool):
        out.token.append((code, None, "true" if value else "false", None))
    elif isinstance(value, (str, int, Decimal)):
        out.token.append((code, None, str(value), None))
    elif isinstance(value, dict):
        if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
            text = value.get("text")
            for coding in value.get("coding", []):
                out.token.append(
                    (code, coding.get("system"), coding.get("code"),
                     normalize_string(coding.get("display") or text or ""))
                )
            if text:
                out.token.append((code, None, None, normalize_string(text)))
        elif "code" in value:  # Coding
            out.token.append((code, value.get("system"), value.get("code"),
                              normalize_string(value.get("display") or "")))
        elif "value" in value:  # Identifier or ContactPoint
            type_text = None
            if isinstance(value.get("type"), dict):
                type_text = normalize_string(value["type"].get("text") or "")
            out.token.append((code, value.get("system"), str(value["value"]), type_text))


_STRING_PARTS = ("family", "given", "prefix", "suffix", "text", "line", "city", "district",
                 "state", "postalCode", "country")


def _strings(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, str):
        out.string.append((code, normalize_string(value), value))
    elif isinstance(value, dict):
        for part in _STRING_PARTS:
            item = value.get(part)
            for s in item if isinstance(item, list) else [item]:
                if isinstance(s, str):
                    out.string.append((code, normalize_string(s), s))


def _dates(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, str):
        rng = date_range(value)
        if rng:
            out.date.append((code, rng[0], rng[1]))
    elif isinstance(value, dict):
        if "start" in value or "end" in value:
            start = date_range(value["start"]) if "start" in value else None
            low = start[0] if start else NEG_INF
            end = date_range(value["end"]) if "end" in value else None
            out.date.append((code, low, end[1] if end else POS_INF))
        elif "event" in value:
            for event in value["event"]:
                _dates(code, event, out)
        elif "repeat" in value and isinstance(value["repeat"], dict):
            bounds = value["repeat"].get("boundsPeriod")
            if bounds:
                _dates(code, bounds, out)


def _references(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, str):  # canonical or uri used as reference
        out.reference.append((code, None, None, value, None, None))
        return
    if not isinstance(value, dict):
        return
    ref = value.get("reference")
    ident = value.get("identifier") if isinstance(value.get("identifier"), dict) else None
    if isinstance(ref, str) and not ref.startswith("#"):
        rtype, rid, _ = parse_reference(ref)
        if rtype is None and value.get("type"):
            rtype = value.get("type")
        out.reference.append((code, rtype, rid, ref, None, None))
    if ident is not None:
        out.reference.append(
            (code, value.get("type"), None, None, ident.get("system"),
             str(ident["value"]) if "value" in ident else None)
        )


def _numbers(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        out.number.append((code, float(value)))


def _quantities(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, dict) and "value" in value:
        out.quantity.append(
            (code, value.get("system"), value.get("code") or value.get("unit"),
             float(value["value"]))
        )
        if value.get("unit") and value.get("code") and value["unit"] != value["code"]:
            out.quantity.append((code, None, value["unit"], float(value["value"])))


def _uris(code: str, value: Any, out: IndexRows) -> None:
    if isinstance(value, str):
        out.uri.append((code, value))


def _no_values(code: str, value: Any, out: IndexRows) -> None:
    """Composite rows need every component of an element (:func:`_composites`): a single
    value gives none."""


_EXTRACTORS = {
    "token": _tokens,
    "string": _strings,
    "date": _dates,
    "reference": _references,
    "number": _numbers,
    "quantity": _quantities,
    "uri": _uris,
    "composite": _no_values,
}

Slot = tuple[str | None, str | None, float | None, float | None]
_EMPTY_SLOT: Slot = (None, None, None, None)


def _range_slot(value: dict[str, Any]) -> Slot | None:
    """A Range as a quantity slot: its bounds (an absent one is infinite)."""
    low, high = value.get("low") or {}, value.get("high") or {}
    if not isinstance(low, dict) or not isinstance(high, dict) or (
            "value" not in low and "value" not in high):
        return None
    unit = low if "value" in low else high
    return (unit.get("system"), unit.get("code") or unit.get("unit"),
            float(low["value"]) if "value" in low else NEG_INF,
            float(high["value"]) if "value" in high else POS_INF)


def _token_slots(values: list[Any]) -> list[Slot]:
    """The (system, code) pairs :func:`_tokens` gives, without the display text (which
    composite values never search, and whose normalisation is most of the cost)."""
    found: list[Slot] = []
    for value in values:
        if isinstance(value, bool):
            found.append((None, "true" if value else "false", None, None))
        elif isinstance(value, (str, int, Decimal)):
            found.append((None, str(value), None, None))
        elif isinstance(value, dict):
            if "coding" in value or ("text" in value and "code" not in value
                                     and "value" not in value):
                found.extend((c.get("system"), c["code"], None, None)
                             for c in value.get("coding", []) if c.get("code") is not None)
            elif "code" in value:
                if value["code"] is not None:
                    found.append((value.get("system"), value["code"], None, None))
            elif "value" in value:
                found.append((value.get("system"), str(value["value"]), None, None))
    return list(dict.fromkeys(found))


def _slots(ptype: str, values: list[Any]) -> list[Slot]:
    """A component's values in the slot shape of idx_composite, by the component's type."""
    if ptype == "token":
        return _token_slots(values)
    rows = IndexRows()
    found: list[Slot] = []
    fn = _EXTRACTORS[ptype]
    for value in values:
        if ptype == "quantity" and isinstance(value, dict) and "value" not in value:
            if (slot := _range_slot(value)) is not None:
                found.append(slot)
            continue
        fn("", value, rows)
    found.extend((None, norm, None, None) for _, norm, _exact in rows.string)
    found.extend((None, None, low, high) for _, low, high in rows.date)
    for _, rtype, rid, url, _system, _value in rows.reference:
        if rid is not None:
            found.append((rtype, rid, None, None))
        if url is not None and (rid is None or "://" in url or url.startswith("urn:")):
            found.append((None, url, None, None))
    found.extend((None, None, number, number) for _, number in rows.number)
    found.extend((system, code, number, number) for _, system, code, number in rows.quantity)
    found.extend((None, uri, None, None) for _, uri in rows.uri)
    return list(dict.fromkeys(found))


def _composites(param: SearchParam, resource: dict[str, Any], out: IndexRows,
                cache: dict[tuple[int, str, str], tuple[Any, list[Slot]]]) -> None:
    """``cache``: the slots of a component expression on an element, shared by the
    composites of one resource (Observation's eight evaluate ``code`` on the same ones);
    it holds the element too, so that its id is not reused while the cache lives."""
    assert param.evaluate is not None
    rows: dict[tuple[Any, ...], None] = {}
    for index, element in enumerate(param.evaluate(resource)):
        slots: list[list[Slot]] = []
        # the last components first: the value, absent more often than the code
        for component in reversed(param.components):
            key = (id(element), component.expression, component.type)
            if (cached := cache.get(key)) is not None:
                found = cached[1]
            else:
                found = _slots(component.type, component.evaluate(element, resource, index))
                cache[key] = (element, found)
            if not found:
                break  # an element lacking a component matches no composite value
            slots.append(found)
        else:
            slots.reverse()
            padding = _EMPTY_SLOT * (COMPOSITE_SLOTS - len(slots))
            for combination in itertools.product(*slots):
                rows[(param.code, *itertools.chain.from_iterable(combination), *padding)] = None
    out.composite.extend(rows)


def extract(resource: dict[str, Any], params: Sequence[SearchParam]) -> IndexRows:
    rows = IndexRows()
    cache: dict[tuple[int, str, str], tuple[Any, list[Slot]]] = {}
    for param in params:
        assert param.evaluate is not None
        try:
            if param.type == "composite":
                _composites(param, resource, rows, cache)
                continue
            values = param.evaluate(resource)
        except Exception as exc:
            raise SearchParamError(
                f"search parameter {param.resource_type}.{param.code} "
                f"('{param.expression}') failed: {exc}"
            ) from exc
        fn = _EXTRACTORS[param.type]
        for value in values:
            fn(param.code, value, rows)
    return rows
