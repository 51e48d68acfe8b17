"""A small JSON Schema (2020-12 subset) validator that reports every problem by JSON path,
and schema navigation for the load-time checks of maps.

Keywords: type, const, enum, required, properties, additionalProperties (false), items,
minItems, minLength, pattern, format (date, date-time, date-or-date-time, uri), $ref to
``#/$defs/...``. Empty strings mean "absent" in the source formats the engine serves, so a
required property holding ``""`` is reported as missing and formats are not checked on ``""``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from fhir_service.mapping.paths import join

_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float),
    "integer": int}
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def valid_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def valid_date_time(value: str) -> bool:
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


_FORMATS = {
    "date": (valid_date, "an existing calendar date YYYY-MM-DD"),
    "date-time": (valid_date_time, "a date-time with a time zone (YYYY-MM-DDThh:mm:ss+hh:mm)"),
    "date-or-date-time": (lambda v: valid_date(v) or valid_date_time(v),
                          "a date YYYY-MM-DD or a date-time with a time zone"),
    "uri": (lambda v: bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", v)), "an absolute URI"),
}


class Schema:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.version = str(document.get("version", ""))

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $ref are supported, not {ref}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        return node

    # --- navigation (load-time checks) -----------------------------------------------------

    def child(self, node: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The schema of property ``name`` of an object node (arrays: of their items)."""
        node = self.resolve(node)
        if node.get("type") == "array":
            node = self.resolve(node.get("items", {}))
        props = node.get("properties")
        if not isinstance(props, dict) or name not in props:
            return None
        return self.resolve(props[name])

    def items(self, node: dict[str, Any]) -> dict[str, Any] | None:
        node = self.resolve(node)
        return self.resolve(node["items"]) if node.get("type") == "array" else None

    def paths(self) -> list[str]:
        """Every property path (``a.b.c``; arrays transparent), for documentation and tests."""
        out: list[str] = []

        def walk(node: dict[str, Any], prefix: str) -> None:
            node = self.resolve(node)
            if node.get("type") == "array":
                walk(node.get("items", {}), prefix)
                return
            for name, sub in (node.get("properties") or {}).items():
                path = f"{prefix}.{name}" if prefix else name
                out.append(path)
                walk(sub, path)

        walk(self.document, "")
        return out

    # --- validation ------------------------------------------------------------------------

    def validate(self, value: Any) -> list[tuple[str, str]]:
        """Every problem as (JSON path, message)."""
        problems: list[tuple[str, str]] = []
        self._check(self.document, value, "$", problems)
        return problems

    def _check(self, node: dict[str, Any], value: Any, path: str,
               problems: list[tuple[str, str]]) -> None:
        node = self.resolve(node)
        if "const" in node and value != node["const"]:
            problems.append((path, f"must be {node['const']!r}"))
            return
        expected = node.get("type")
        if expected and not _is_type(value, expected):
            problems.append((path, f"must be of type {expected}, not {type(value).__name__}"))
            return
        if "enum" in node and value not in node["enum"]:
            allowed = ", ".join(repr(v) for v in node["enum"] if v != "")
            problems.append((path, f"{value!r} is not one of {allowed}"))
        if isinstance(value, str) and value != "":
            if "pattern" in node and not re.search(node["pattern"], value):
                problems.append((path, f"{value!r} does not match {node['pattern']}"))
            fmt = _FORMATS.get(node.get("format", ""))
            if fmt and not fmt[0](value):
                problems.append((path, f"{value!r} is not {fmt[1]}"))
        if isinstance(value, str) and len(value) < node.get("minLength", 0) and value != "":
            problems.append((path, f"must have at least {node['minLength']} characters"))
        if isinstance(value, dict):
            props = node.get("properties") or {}
            for name in node.get("required", []):
                if value.get(name) in (None, "", [], {}):
                    problems.append((join(path, name), "is required"))
            if node.get("additionalProperties") is False:
                for name in value:
                    if name not in props:
                        problems.append((join(path, name), "is not a field of the contract"))
            for name, sub in props.items():
                if name in value and value[name] is not None:
                    self._check(sub, value[name], join(path, name), problems)
        if isinstance(value, list):
            if len(value) < node.get("minItems", 0):
                problems.append((path, f"must have at least {node['minItems']} item(s)"))
            if "items" in node:
                for i, item in enumerate(value):
                    self._check(node["items"], item, f"{path}[{i}]", problems)


def _is_type(value: Any, expected: str) -> bool:
    if expected in ("number", "integer") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[expected])
