"""minValue[x] / maxValue[x] of ElementDefinition: comparisons of an instance value with a bound.

https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.minValue_x_ —
numbers compare as decimals; date, dateTime, instant and time values on their common
precision (a comparison that the precisions leave open is not reported); quantities after a
UCUM conversion of simple units (a metric prefix and one base unit, or a unit of time:
``mg`` against ``kg``, ``min`` against ``h``); a Duration bound on a date is a window around
the current date (``minValueDuration`` 100 a: not more than 100 years ago,
``maxValueDuration`` 10 a: not more than 10 years ahead). Anything else is undecidable here:
``None``, and nothing is reported.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

UCUM = "http://unitsofmeasure.org"

# https://ucum.org/ucum#para-30 (prefixes) and #para-31 (base units), #para-43 (time)
_PREFIXES = {
    "Y": Decimal("1e24"), "Z": Decimal("1e21"), "E": Decimal("1e18"), "P": Decimal("1e15"),
    "T": Decimal("1e12"), "G": Decimal("1e9"), "M": Decimal("1e6"), "k": Decimal("1e3"),
    "h": Decimal("1e2"), "da": Decimal("1e1"), "d": Decimal("1e-1"), "c": Decimal("1e-2"),
    "m": Decimal("1e-3"), "u": Decimal("1e-6"), "n": Decimal("1e-9"), "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
}
_METRIC = {"g": "mass", "m": "length", "L": "volume", "l": "volume", "s": "time",
           "mol": "amount"}
_TIME = {"min": Decimal(60), "h": Decimal(3600), "d": Decimal(86400), "wk": Decimal(604800),
         "mo": Decimal("2629800"), "a": Decimal("31557600")}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?$")
_TIME_OF_DAY = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")


def ucum_factor(code: str) -> tuple[Decimal, str] | None:
    """(factor to the base unit, dimension) of a simple UCUM unit, or None."""
    if code in _TIME:
        return _TIME[code], "time"
    if code in _METRIC:
        return Decimal(1), _METRIC[code]
    for prefix, factor in _PREFIXES.items():
        if code.startswith(prefix) and code[len(prefix):] in _METRIC:
            return factor, _METRIC[code[len(prefix):]]
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _in_base(q: dict[str, Any]) -> tuple[Decimal, str] | None:
    value = _decimal(q.get("value"))
    code = q.get("code")
    if value is None or not isinstance(code, str):
        return None
    if q.get("system") not in (None, UCUM):
        return None
    unit = ucum_factor(code)
    if unit is None:
        return None
    return value * unit[0], unit[1]


def _sign(a: Any, b: Any) -> int | None:
    try:
        return (a > b) - (a < b)
    except (InvalidOperation, TypeError):  # NaN, or values that do not compare
        return None


def _date_key(value: str) -> tuple[list[int], datetime | None] | None:
    m = _DATE.match(value)
    if not m:
        return None
    parts = [int(g) for g in m.groups()[:6] if g is not None]
    instant = None
    if len(parts) >= 5 and m.group(7):
        tz = "+00:00" if m.group(7) == "Z" else m.group(7)
        seconds = parts[5] if len(parts) > 5 else 0
        try:
            instant = datetime.fromisoformat(
                f"{parts[0]:04d}-{parts[1]:02d}-{parts[2]:02d}T{parts[3]:02d}:{parts[4]:02d}:"
                f"{seconds:02d}{tz}")
        except ValueError:  # 30 February: not a date, nothing to compare
            return None
    return parts, instant


def _compare_dates(a: str, b: str) -> int | None:
    ka, kb = _date_key(a), _date_key(b)
    if ka is None or kb is None:
        ta, tb = _TIME_OF_DAY.match(a), _TIME_OF_DAY.match(b)
        if ta and tb:
            return _sign([int(x or 0) for x in ta.groups()], [int(x or 0) for x in tb.groups()])
        return None
    if ka[1] is not None and kb[1] is not None:
        return _sign(ka[1], kb[1])
    n = min(len(ka[0]), len(kb[0]))
    c = _sign(ka[0][:n], kb[0][:n])
    return c or None  # equal on the common precision: open


def _relative_date(duration: dict[str, Any], is_max: bool, now: datetime) -> str | None:
    value = _decimal(duration.get("value"))
    unit = ucum_factor(str(duration.get("code", "")))
    if value is None or unit is None or unit[1] != "time":
        return None
    seconds = float(abs(value) * unit[0])
    try:
        when = now + timedelta(seconds=seconds) if is_max else now - timedelta(seconds=seconds)
    except OverflowError:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def compare_bound(item: Any, bound_type: str, bound: Any, is_max: bool,
                  now: datetime | None = None) -> int | None:
    """Sign of (item - bound), or None when it cannot be decided."""
    if isinstance(item, dict):
        if not isinstance(bound, dict):
            return None
        a, b = _in_base(item), _in_base(bound)
        if a is None or b is None or a[1] != b[1]:
            return None
        return _sign(a[0], b[0])
    if isinstance(item, str) and not isinstance(bound, str):
        if bound_type in ("Duration", "Quantity") and isinstance(bound, dict):
            edge = _relative_date(bound, is_max, now or datetime.now(UTC))
            return _compare_dates(item, edge) if edge else None
        return None
    if isinstance(item, str) and isinstance(bound, str):
        return _compare_dates(item, bound)
    x, y = _decimal(item), _decimal(bound)
    if x is None or y is None:
        return None
    return _sign(x, y)


def show(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('value')} {value.get('code') or value.get('unit') or ''}".strip()
    return str(value)
