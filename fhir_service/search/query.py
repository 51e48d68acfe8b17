"""Parsing a FHIR search request into a typed query.

https://hl7.org/fhir/R4/search.html — parameters with modifiers (``:exact :contains
:missing :not :text :identifier :[type] :below :above``), prefixes (``eq ne gt lt ge le sa eb
ap``), OR (comma) and AND (repetition), chaining (``subject:Patient.name=…``), reverse
chaining (``_has:Observation:patient:code=…``), and the result parameters ``_count _sort
_total _summary _elements _include _revinclude``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from fhir_service.outcomes import FhirError, Issue
from fhir_service.search.params import CONTROL_PARAMS, SearchParam, SearchParamRegistry

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
PREFIXED_TYPES = ("date", "number", "quantity")
MODIFIERS_BY_TYPE = {
    "string": {"exact", "contains", "missing"},
    "token": {"not", "text", "missing", "of-type"},
    "reference": {"missing", "identifier"},
    "date": {"missing"},
    "number": {"missing"},
    "quantity": {"missing"},
    "uri": {"missing", "below", "above"},
}
SPECIAL = {"_id", "_lastUpdated"}
MAX_CHAIN_DEPTH = 3
# defaults of the settings max_or_values and max_value_length
MAX_OR_VALUES = 100
MAX_VALUE_LENGTH = 2048


def split_values(raw: str) -> list[str]:
    """Split at unescaped commas; ``\\,`` ``\\|`` ``\\$`` ``\\\\`` are escapes."""
    values: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            buf.append(raw[i : i + 2])
            i += 2
            continue
        if ch == ",":
            values.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    values.append("".join(buf))
    return [v for v in values if v != ""]


def split_composite(value: str) -> list[str]:
    """The ``$``-separated parts of a composite value (``\\$`` is an escaped dollar), escapes
    kept for each part's own parsing."""
    parts: list[str] = []
    start = i = 0
    while i < len(value):
        if value[i] == "\\":
            i += 2
            continue
        if value[i] == "$":
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


def unescape(value: str) -> str:
    return re.sub(r"\\([\\,|$])", r"\1", value)


def split_token(value: str) -> tuple[str | None, str | None, bool]:
    """(system, code, has_bar) of ``[system]|[code]`` honouring ``\\|`` escapes."""
    match = re.search(r"(?<!\\)\|", value)
    if match is None:
        return None, unescape(value), False
    return unescape(value[: match.start()]), unescape(value[match.end() :]), True


@dataclass
class Filter:
    """One AND-ed condition: a parameter with OR-ed values, possibly chained."""

    param: SearchParam | None  # None for _id / _lastUpdated
    code: str
    modifier: str | None
    values: list[str]
    chain: Filter | None = None  # for chained references: condition on the target
    chain_type: str | None = None  # target resource type of the chain
    has: HasFilter | None = None
    # a chain without a type over several target types: one typed chain filter per type
    # (each with ``chain`` and ``chain_type``), OR-ed
    alternatives: list[Filter] = field(default_factory=list)


@dataclass
class HasFilter:
    """``_has:Type:param:...``: resources referenced by a ``Type`` whose ``param`` points here."""

    source_type: str
    ref_param: SearchParam
    inner: Filter


@dataclass
class Include:
    source_type: str
    param_code: str  # "*" for all reference parameters
    target_type: str | None
    iterate: bool
    reverse: bool


@dataclass
class SearchQuery:
    resource_type: str | None
    filters: list[Filter] = field(default_factory=list)
    count: int = 20
    sort: list[tuple[str, bool, str]] = field(default_factory=list)  # (code, desc, type)
    total: str = "default"  # none | estimate | accurate, or the server's default
    summary: str | None = None
    elements: list[str] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    cursor: int | None = None
    offset: int = 0
    snapshot: int | None = None
    ignored: list[str] = field(default_factory=list)
    # the parameters kept, in canonical order, for self/next links
    used: list[tuple[str, str]] = field(default_factory=list)


class _ChainTooDeep(FhirError):
    """Raised where the chain gets too deep; reported under the whole parameter's name."""


class _TooManyHops(FhirError):
    """Raised where a chain without a type fans out too widely; reported under the whole
    parameter's name."""


class _NoChainTarget(FhirError):
    """A chain none of whose target types defines the chained parameter (a deeper hop of a
    chain without a type drops the candidate that leads there)."""


# the most typed hops one parameter may expand to (a chain without a type over several
# types, at several depths, each candidate counted as it is parsed): beyond, the client
# names the types
MAX_CHAIN_HOPS = 64


class QueryParser:
    def __init__(self, params: SearchParamRegistry, default_count: int, max_count: int, *,
                 max_or_values: int = MAX_OR_VALUES,
                 max_value_length: int = MAX_VALUE_LENGTH) -> None:
        self.params = params
        self.default_count = default_count
        self.max_count = max_count
        self.max_or_values = max_or_values
        self.max_value_length = max_value_length
        self._base: str | None = None
        self._hops_left = MAX_CHAIN_HOPS  # (per parameter: reset for each by parse())

    def parse(
        self,
        rtype: str | None,
        items: list[tuple[str, str]],
        strict: bool = False,
        base_url: str | None = None,
    ) -> SearchQuery:
        query = SearchQuery(rtype, count=self.default_count)
        self._base = base_url.rstrip("/") + "/" if base_url else None
        problems: list[Issue] = []
        for name, raw in items:
            self._hops_left = MAX_CHAIN_HOPS
            try:
                self._check_limits(name, raw)
                self._parse_item(query, rtype, name, raw, strict)
            except _ChainTooDeep:
                problems.append(Issue("error", "too-costly", f"Parameter '{name}' chains more "
                                      f"than {MAX_CHAIN_DEPTH} references", (name,)))
            except _TooManyHops:
                problems.append(Issue("error", "too-costly", f"Parameter '{name}' goes through "
                                      f"more than {MAX_CHAIN_HOPS} types of reference: name "
                                      "the target types ('reference:[type].parameter')",
                                      (name,)))
            except FhirError as exc:
                problems.extend(exc.issues)
        if problems:
            raise FhirError("invalid", problems[0].diagnostics, issues=problems)
        return query

    def _check_limits(self, name: str, raw: str) -> None:
        """Sizes the database and the parser are not asked to cope with (they fail, or take
        time, well before the request's own limits): a 400 naming the parameter, never
        repeating its value (an identifier, a name: patient data)."""
        if len(name) > self.max_value_length:
            shown = name[:64] + "…"
            raise FhirError("too-large", f"A parameter name ('{shown}') is longer than the "
                            f"limit of {self.max_value_length} characters", shown)
        if len(raw) > self.max_value_length:
            raise FhirError("too-large", f"The value of '{name}' is longer than the limit of "
                            f"{self.max_value_length} characters", name)
        # each comma separates at most one more value (escaped commas are not separators):
        # the exact count is only needed near the limit
        if raw.count(",") >= self.max_or_values and \
                len(split_values(raw)) > self.max_or_values:
            raise FhirError("too-large", f"'{name}' lists more than {self.max_or_values} "
                            "values", name)

    def _parse_item(
        self, query: SearchQuery, rtype: str | None, name: str, raw: str, strict: bool
    ) -> None:
        base = name.split(":", 1)[0].split(".", 1)[0]
        if base in CONTROL_PARAMS:
            self._parse_control(query, rtype, name, raw)
            return
        if rtype is None:
            if base in SPECIAL:
                query.filters.append(self._parse_special(name, raw))
                query.used.append((name, raw))
                return
            raise FhirError("not-supported", f"Parameter '{name}' is not supported in a "
                            "system-level search", name)
        filt = self.parse_filter(rtype, name, raw, strict)
        if filt is None:
            query.ignored.append(name)
            return
        query.filters.append(filt)
        query.used.append((name, raw))

    def parse_filter(
        self, rtype: str, name: str, raw: str, strict: bool, depth: int = 0
    ) -> Filter | None:
        if depth > MAX_CHAIN_DEPTH:
            raise _ChainTooDeep("too-large", f"Chain too deep in '{name}'", name)
        if name.startswith("_has:"):
            return self._parse_has(rtype, name, raw, strict, depth)
        head, _, rest = name.partition(".")
        code, _, modifier = head.partition(":")
        modifier_or_none = modifier or None
        if code in SPECIAL:
            return self._parse_special(name, raw)
        param = self.params.get(rtype, code)
        if param is None or (not param.indexed):
            if strict:
                raise FhirError("invalid", f"Unknown search parameter '{code}' for {rtype}",
                                name)
            return None
        values = split_values(raw)
        if rest:  # chaining
            if param.type != "reference":
                raise FhirError("invalid", f"'{code}' is not a reference parameter, it cannot "
                                "be chained", name)
            types = self.params.types()
            targets = [t for t in narrowed_targets(param) if t in types]
            if modifier_or_none:
                if modifier_or_none not in targets:
                    raise FhirError("invalid", f"'{modifier}' is not a target of '{code}'", name)
                targets = [modifier_or_none]
            return self._parse_chain(param, name, code, rest, raw, values, targets, depth)
        allowed = MODIFIERS_BY_TYPE.get(param.type, {"missing"})
        if modifier_or_none and modifier_or_none not in allowed:
            if param.type == "reference" and modifier_or_none in self.params.types():
                pass  # :[type]
            else:
                raise FhirError(
                    "invalid" if modifier_or_none not in ("in", "not-in", "above", "below")
                    else "not-supported",
                    f"Modifier ':{modifier}' is not supported on {param.type} parameter "
                    f"'{code}'", name)
        if modifier_or_none == "missing":
            if raw not in ("true", "false"):
                raise FhirError("invalid", f"':missing' takes true or false, not '{raw}'", name)
        elif param.type in PREFIXED_TYPES:
            self._check_prefixed(name, values, param.type)
        elif param.type == "composite":
            values = self._check_composite(name, values, param)
        if not values:
            raise FhirError("invalid", f"Parameter '{name}' has no value", name)
        if param.type == "reference" and self._base:
            values = [v.removeprefix(self._base) for v in values]
        return Filter(param, code, modifier_or_none, values)

    def _parse_chain(self, param: SearchParam, name: str, code: str, rest: str, raw: str,
                     values: list[str], targets: list[str], depth: int) -> Filter:
        """``code[:Type].rest``: a chain to the target types (``targets``) that define the
        chained parameter. Without a type (https://hl7.org/fhir/R4/search.html#chaining:
        ``DiagnosticReport?subject.name=peter``) a chain searches every candidate type that
        defines it, the union of their matches (``Goal?subject.name=``: Patient and
        Organization, Group has no ``name``). Refused, naming the types to choose, when no
        target defines it, when the candidates define it with different types (the value
        would be read one way here and another there), or when it expands to more than
        :data:`MAX_CHAIN_HOPS` typed hops."""
        inner_code = rest.split(":", 1)[0].split(".", 1)[0]
        hint = f"name the target type as '{code}:[type].{rest}'"
        defining = [t for t in targets if inner_code in SPECIAL or inner_code == "_has"
                    or _indexed(self.params.get(t, inner_code))]
        if not defining:
            raise _NoChainTarget("invalid", f"Chain '{name}': no target type of '{code}' "
                                 f"({', '.join(targets) or 'none'}) defines '{inner_code}'",
                                 name)
        kinds = {p.type for t in defining if (p := self.params.get(t, inner_code)) is not None}
        if len(kinds) > 1:
            raise FhirError("invalid", f"Chain '{name}' is ambiguous: '{inner_code}' is of "
                            f"different types on {', '.join(defining)}: {hint}", name)
        hops: list[Filter] = []
        dropped: list[FhirError] = []
        for target in defining:
            self._hops_left -= 1  # counted as it goes: a wide fan-out stops early
            if self._hops_left < 0:
                raise _TooManyHops("invalid", f"Chain '{name}' goes through too many types",
                                   name)
            try:
                inner = self.parse_filter(target, rest, raw, True, depth + 1)
            except (_ChainTooDeep, _TooManyHops):
                raise
            except _NoChainTarget as exc:
                if len(defining) == 1:
                    raise _named(exc, name) from None
                dropped.append(_named(exc, name))  # a deeper hop no type here defines
                continue
            except FhirError as exc:  # (reported under the parameter as the client wrote it)
                raise _named(exc, name) from None
            assert inner is not None
            hops.append(Filter(param, code, None, values, chain=inner, chain_type=target))
        if not hops:
            raise dropped[0]
        if len(hops) == 1:
            return hops[0]
        return Filter(param, code, None, values, alternatives=hops)

    def _parse_special(self, name: str, raw: str) -> Filter:
        """``_id`` and ``_lastUpdated`` (columns of the resource table), at any level."""
        head, _, rest = name.partition(".")
        code, _, modifier = head.partition(":")
        if rest:
            raise FhirError("invalid", f"'{code}' cannot be chained", name)
        if modifier:
            raise FhirError("invalid", f"Modifier ':{modifier}' is not allowed on {code}", name)
        values = split_values(raw)
        if not values:
            raise FhirError("invalid", f"Parameter '{name}' has no value", name)
        if code == "_lastUpdated":
            self._check_prefixed(name, values, "date")
        return Filter(None, code, None, values)

    def _check_prefixed(self, name: str, values: list[str], ptype: str) -> None:
        from fhir_service.search.extract import date_range

        for value in values:
            _prefix, bare = split_prefix(value)
            if ptype == "date" and date_range(bare) is None:
                raise FhirError("invalid", f"'{value}' is not a valid date for '{name}'", name)
            if ptype in ("number", "quantity"):
                number = bare.split("|", 1)[0]
                try:
                    float(number)
                except ValueError:
                    raise FhirError("invalid", f"'{value}' is not a valid number for '{name}'",
                                    name) from None

    def _check_composite(self, name: str, values: list[str], param: SearchParam) -> list[str]:
        """Each value has one ``$``-separated part per component, valid for its type; a
        reference part loses this server's base URL, as a reference parameter's value."""
        checked = []
        for value in values:
            parts = split_composite(value)
            if len(parts) != len(param.components) or not all(parts):
                shape = "$".join(f"[{c.code}]" for c in param.components)
                raise FhirError("invalid", f"A value of composite parameter '{name}' is "
                                f"malformed: expected {shape}", name)
            for i, (part, component) in enumerate(zip(parts, param.components, strict=True)):
                if component.type in PREFIXED_TYPES:
                    self._check_prefixed(name, [part], component.type)
                elif component.type == "reference" and self._base:
                    parts[i] = part.removeprefix(self._base)
            checked.append("$".join(parts))
        return checked

    def _parse_has(
        self, rtype: str, name: str, raw: str, strict: bool, depth: int
    ) -> Filter:
        parts = name.split(":", 3)
        if len(parts) < 4:
            raise FhirError("invalid", f"Malformed _has parameter '{name}': expected "
                            "_has:Type:reference-param:search-param", name)
        _, source_type, ref_code, inner_name = parts
        if source_type not in self.params.types():
            raise FhirError("invalid", f"Unknown resource type '{source_type}' in '{name}'", name)
        ref_param = self.params.get(source_type, ref_code)
        if ref_param is None or ref_param.type != "reference":
            raise FhirError("invalid", f"'{ref_code}' is not a reference parameter of "
                            f"{source_type}", name)
        inner = self.parse_filter(source_type, inner_name, raw, True, depth + 1)
        assert inner is not None
        return Filter(None, "_has", None, [], has=HasFilter(source_type, ref_param, inner))

    def _parse_control(self, query: SearchQuery, rtype: str | None, name: str, raw: str) -> None:
        base = name.split(":", 1)[0]
        if base == "_count":
            try:
                count = int(raw)
            except ValueError:
                raise FhirError("invalid", f"_count must be an integer, not '{raw}'",
                                "_count") from None
            if count < 0:
                raise FhirError("invalid", "_count must not be negative", "_count")
            query.count = min(count, self.max_count)
            query.used.append(("_count", str(query.count)))
        elif base == "_sort":
            for item in raw.split(","):
                desc = item.startswith("-")
                code = item[1:] if desc else item
                param = self.params.get(rtype, code) if rtype else None
                if code not in SPECIAL and (param is None or not param.indexed
                                            or param.type == "composite"):
                    raise FhirError("invalid", f"Cannot sort by unknown parameter '{code}'",
                                    "_sort")
                query.sort.append((code, desc, param.type if param else "date"))
            query.used.append(("_sort", raw))
        elif base == "_total":
            if raw not in ("none", "estimate", "accurate"):
                raise FhirError("invalid", "_total must be none, estimate or accurate", "_total")
            query.total = raw
            query.used.append(("_total", raw))
        elif base == "_summary":
            if raw not in ("true", "false", "text", "data", "count"):
                raise FhirError("invalid", "_summary must be true, false, text, data or count",
                                "_summary")
            query.summary = None if raw == "false" else raw
            query.used.append(("_summary", raw))
        elif base == "_elements":
            query.elements.extend(e.strip() for e in raw.split(",") if e.strip())
            query.used.append(("_elements", raw))
        elif base == "_include" and raw == "*":
            # every reference of every returned resource (and, with :iterate, of what they
            # include): one include per type that has reference parameters
            iterate = name.endswith((":iterate", ":recurse"))
            query.includes.extend(
                Include(t, "*", None, iterate, False) for t in self.params.types()
                if any(p.type == "reference" for p in self.params.for_type(t).values()))
            query.used.append((name, raw))
        elif base in ("_include", "_revinclude"):
            query.includes.append(self._parse_include(name, raw, base == "_revinclude"))
            query.used.append((name, raw))
        elif base == "_cursor":
            query.cursor = _int_param(raw, "_cursor")
        elif base == "_offset":
            query.offset = _int_param(raw, "_offset")
        elif base == "_snapshot":
            query.snapshot = _int_param(raw, "_snapshot")
        elif base in ("_format", "_pretty"):
            pass
        else:
            query.ignored.append(name)

    def _parse_include(self, name: str, raw: str, reverse: bool) -> Include:
        iterate = name.endswith((":iterate", ":recurse"))
        parts = raw.split(":")
        if parts == ["*"]:
            raise FhirError("not-supported", f"{name}=* is not supported: name the parameter",
                            name)
        if len(parts) < 2 or len(parts) > 3:
            raise FhirError("invalid", f"Malformed {name} value '{raw}': expected "
                            "Type:param[:targetType]", name)
        source, code = parts[0], parts[1]
        target = parts[2] if len(parts) == 3 else None
        if source not in self.params.types():
            raise FhirError("invalid", f"Unknown resource type '{source}' in {name}", name)
        if code != "*":
            param = self.params.get(source, code)
            if param is None or param.type != "reference":
                raise FhirError("invalid", f"'{code}' is not a reference parameter of {source}",
                                name)
        return Include(source, code, target, iterate, reverse)


def _named(exc: FhirError, name: str) -> FhirError:
    """The same error, its issues' expression the whole chained parameter ``name``."""
    return type(exc)(exc.category, exc.message, name, issues=[
        dataclasses.replace(issue, expression=(name,)) for issue in exc.issues])


def _indexed(param: SearchParam | None) -> bool:
    return param is not None and param.indexed


def narrowed_targets(param: SearchParam) -> tuple[str, ...]:
    """The target types of a reference parameter on its resource type, narrowed by its
    expression: ``CareTeam.subject.where(resolve() is Patient)`` targets Patient only, even
    when the shared definition (clinical-patient) lists Group for other bases. A part of the
    expression without ``resolve() is`` keeps every declared target."""
    from fhir_service.search.params import split_union

    raw = param.definition.get("expression") or ""
    found: set[str] = set()
    for part in split_union(raw):
        root = part.strip().lstrip("(").split(".", 1)[0].strip()
        if root not in (param.resource_type, "Resource", "DomainResource"):
            continue
        kinds = _RESOLVE_IS.findall(part)
        if not kinds:
            return param.targets
        found.update(kinds)
    narrowed = tuple(t for t in param.targets if t in found)
    return narrowed or param.targets


_RESOLVE_IS = re.compile(r"resolve\(\)\s+is\s+([A-Za-z]+)")


def _int_param(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise FhirError("invalid", f"{name} must be an integer", name) from None


def split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in PREFIXES and not value[2].isalpha():
        return value[:2], value[2:]
    return "eq", value
