"""Structural checks of FHIR JSON driven by StructureDefinition snapshots.

https://hl7.org/fhir/R4/json.html and https://hl7.org/fhir/R4/elementdefinition.html —
element names (choice types ``value[x]`` included, one type at a time), cardinality, JSON
types of primitives and their regular expressions (read from the primitive types'
StructureDefinitions, never re-typed), the value spaces the regular expressions leave open
(real calendar dates, 32-bit integers), no empty strings/objects/arrays, no nulls outside
primitive arrays, primitive extensions (``_name``, not on FHIRPath System-typed elements:
ids and ``Extension.url``), contained resources. On write it runs on every resource, before
the profile validator's base pass; together they catch everything the ``fhir.resources`` R4B
models catch on R4 (tests/validator/test_model_differential.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.outcomes import Issue

_REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
_FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."
_CORE = "http://hl7.org/fhir/StructureDefinition/"
_NUMBER_TYPES = {"integer", "positiveInt", "unsignedInt", "decimal"}
_INTEGER_TYPES = {"integer", "positiveInt", "unsignedInt"}
# datatypes.html#integer: integers are 32-bit (positiveInt and unsignedInt: their own regular
# expressions bound the lower end)
_INT_MIN, _INT_MAX = -2_147_483_648, 2_147_483_647
# datatypes.html#date/dateTime/instant: "Dates SHALL be valid dates" (the regular expressions
# allow 31 days in every month)
_DATE_TYPES = {"date", "dateTime", "instant"}


@dataclass
class Child:
    name: str
    path: str  # element path in the defining SD, e.g. "CarePlan.activity.detail"
    min: int
    max: str
    types: tuple[str, ...]
    choice: bool
    content_ref: str | None = None
    # typed with a FHIRPath System type (Resource.id, Element.id, Extension.url): a JSON
    # property without a primitive extension (json.html#primitive)
    system: bool = False


@dataclass
class TypeTree:
    """Children per element path for one type (resource or datatype)."""

    name: str
    children: dict[str, dict[str, Child]] = field(default_factory=dict)


def _type_code(t: dict[str, Any]) -> str:
    code = t.get("code", "")
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext.get("url") == _FHIR_TYPE_EXT:
                return str(ext.get("valueUrl"))
        return code.rsplit(".", 1)[-1].lower()
    return str(code)


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MEMO_LENGTH = 128
_MEMO_ENTRIES = 20_000


class StructureChecker:
    def __init__(self, registry: Registry, max_depth: int = 64,
                 max_string_length: int = 1_048_576) -> None:
        self.registry = registry
        self.max_depth = max_depth
        self.max_string_length = max_string_length
        self._trees: dict[str, TypeTree] = {}
        self._primitive_regex: dict[str, re.Pattern[str] | None] = {}
        self._primitive: dict[str, bool] = {}
        # short strings already found valid, by type: the same codes, systems, dates and
        # references recur across resources (bounded; see _remember)
        self._valid: set[tuple[str, str]] = set()

    # --- definitions ---------------------------------------------------------------------

    def tree(self, type_name: str) -> TypeTree | None:
        if type_name in self._trees:
            return self._trees[type_name]
        sd = self.registry.type_definition(type_name)
        if sd is None and type_name == "Element":
            # the root of the datatypes has no derivation (the registry indexes types by their
            # specialisations): the content of every primitive extension (_name) is an Element
            sd = self.registry.by_url(_CORE + type_name)
        if sd is None or "snapshot" not in sd:
            return None
        tree = TypeTree(type_name)
        for el in sd["snapshot"]["element"]:
            path = el["path"]
            if "." not in path:
                continue
            parent, name = path.rsplit(".", 1)
            if name in ("id",) and parent == type_name and sd.get("kind") != "resource":
                pass
            choice = name.endswith("[x]")
            child = Child(
                name=name[:-3] if choice else name,
                path=path,
                min=int(el.get("min", 0)),
                max=str(el.get("max", "*")),
                types=tuple(_type_code(t) for t in el.get("type", [])),
                choice=choice,
                content_ref=el.get("contentReference"),
                system=any(str(t.get("code", "")).startswith(_SYSTEM_PREFIX)
                           for t in el.get("type", [])),
            )
            tree.children.setdefault(parent, {})[child.name] = child
        self._trees[type_name] = tree
        return tree

    def is_primitive(self, type_name: str) -> bool:
        found = self._primitive.get(type_name)
        if found is None:
            sd = self.registry.type_definition(type_name)
            found = self._primitive[type_name] = bool(
                sd and sd.get("kind") == "primitive-type") or type_name in ("string", "boolean")
        return found

    def primitive_regex(self, type_name: str) -> re.Pattern[str] | None:
        if type_name in self._primitive_regex:
            return self._primitive_regex[type_name]
        pattern = None
        sd = self.registry.type_definition(type_name)
        if sd is not None:
            for el in sd.get("snapshot", {}).get("element", []):
                if el["path"] == f"{type_name}.value":
                    for t in el.get("type", []):
                        for ext in t.get("extension", []):
                            if ext.get("url") == _REGEX_EXT:
                                pattern = re.compile(ext["valueString"], re.ASCII)
        self._primitive_regex[type_name] = pattern
        return pattern

    # --- checking ------------------------------------------------------------------------

    def check_resource(self, resource: Any, path: str | None = None) -> list[Issue]:
        issues: list[Issue] = []
        self._check_resource(resource, path, issues)
        return issues

    def _check_resource(self, resource: Any, path: str | None, issues: list[Issue]) -> None:
        if not isinstance(resource, dict):
            issues.append(Issue("error", "structure", "A resource must be a JSON object",
                                (path or "Resource",)))
            return
        rtype = resource.get("resourceType")
        here = path or (rtype if isinstance(rtype, str) else "Resource")
        sd = self.registry.type_definition(rtype) if isinstance(rtype, str) else None
        if not isinstance(rtype, str) or sd is None or sd.get("kind") != "resource" \
                or sd.get("abstract"):
            issues.append(Issue("error", "structure",
                                f"Unknown resourceType '{rtype}'", (here,)))
            return
        tree = self.tree(rtype)
        assert tree is not None
        self._check_object(resource, tree, rtype, here, issues, is_resource=True)

    def _check_object(
        self,
        obj: dict[str, Any],
        tree: TypeTree,
        el_path: str,
        fhirpath: str,
        issues: list[Issue],
        is_resource: bool = False,
    ) -> None:
        children = tree.children.get(el_path, {})
        if fhirpath.count(".") > self.max_depth:
            issues.append(Issue("error", "too-costly",
                                f"Elements are nested deeper than {self.max_depth} levels",
                                (fhirpath,)))
            return
        seen: set[str] = set()
        chosen: dict[str, str] | None = None  # choice element -> the JSON name used
        for key, value in obj.items():
            if is_resource and key == "resourceType":
                continue
            base = key.removeprefix("_")
            child, type_name = self._find_child(children, base)
            loc = f"{fhirpath}.{base}"
            if child is None:
                issues.append(Issue("error", "structure",
                                    f"Unknown element '{key}' at {fhirpath}", (loc,)))
                continue
            seen.add(child.name)
            if child.choice:
                # json.html#choice: one type per choice element (its cardinality is at most 1)
                chosen = {} if chosen is None else chosen
                other = chosen.setdefault(child.name, base)
                if other != base:
                    issues.append(Issue("error", "structure",
                                        f"Only one of {child.name}[x] may be present "
                                        f"('{other}' and '{base}')", (loc,)))
                    continue
            if key.startswith("_"):
                if child.system:
                    issues.append(Issue("error", "structure",
                                        f"'{key}' is not allowed: {child.path} has no "
                                        "extensions", (loc,)))
                    continue
                if not self.is_primitive(type_name):
                    issues.append(Issue("error", "structure",
                                        f"'{key}' is only allowed for primitive elements", (loc,)))
                    continue
                self._check_values(value, child, "Element", loc, issues, primitive_ext=True)
                continue
            self._check_values(value, child, type_name, loc, issues,
                               partner=obj.get(f"_{key}") if isinstance(value, list) else None)
        for name, child in children.items():
            if child.min > 0 and name not in seen:
                shown = f"{name}[x]" if child.choice else name
                issues.append(Issue("error", "required",
                                    f"Missing required element '{shown}' at {fhirpath}",
                                    (f"{fhirpath}.{name}",)))

    def _find_child(self, children: dict[str, Child], key: str) -> tuple[Child | None, str]:
        child = children.get(key)
        if child is not None and not child.choice:
            return child, child.types[0] if child.types else "BackboneElement"
        for candidate in children.values():
            if candidate.choice and key.startswith(candidate.name):
                suffix = key[len(candidate.name):]
                for t in candidate.types:
                    if _upper_first(t) == suffix:
                        return candidate, t
        return None, ""

    def _check_values(
        self,
        value: Any,
        child: Child,
        type_name: str,
        loc: str,
        issues: list[Issue],
        primitive_ext: bool = False,
        partner: Any = None,
    ) -> None:
        if isinstance(value, list):
            if child.max == "1" or child.max == "0":
                issues.append(Issue("error", "structure",
                                    f"'{child.name}' must not be an array (max {child.max})",
                                    (loc,)))
                return
            if not value:
                issues.append(Issue("error", "structure", "Arrays must not be empty", (loc,)))
                return
            for i, item in enumerate(value):
                if item is None:
                    # json.html#primitive: a null item of a primitive array holds the place of
                    # a value whose id or extensions are in the _name array
                    if not (primitive_ext or (
                            self.is_primitive(type_name) and isinstance(partner, list)
                            and i < len(partner) and partner[i] is not None)):
                        issues.append(Issue("error", "structure",
                                            "null is not allowed here", (f"{loc}[{i}]",)))
                    continue
                self._check_value(item, child, type_name, f"{loc}[{i}]", issues, primitive_ext)
            return
        if child.max not in ("0", "1") and not primitive_ext:
            issues.append(Issue("error", "structure",
                                f"'{child.name}' must be an array (max {child.max})", (loc,)))
            return
        if value is None:
            issues.append(Issue("error", "structure", "null is not allowed here", (loc,)))
            return
        self._check_value(value, child, type_name, loc, issues, primitive_ext)

    def _check_value(
        self,
        value: Any,
        child: Child,
        type_name: str,
        loc: str,
        issues: list[Issue],
        primitive_ext: bool,
    ) -> None:
        if primitive_ext:
            if not isinstance(value, dict) or not value:
                issues.append(Issue("error", "structure",
                                    "A primitive extension must be a non-empty object", (loc,)))
                return
            tree = self.tree("Element")
            if tree is not None:
                self._check_object(value, tree, "Element", loc, issues)
            return
        if child.content_ref:
            ref_path = child.content_ref.split("#", 1)[-1]
            root = ref_path.split(".", 1)[0]
            tree = self.tree(root)
            if tree is None or not isinstance(value, dict):
                issues.append(Issue("error", "structure", "Expected an object", (loc,)))
                return
            if not value:
                issues.append(Issue("error", "structure", "Objects must not be empty", (loc,)))
                return
            self._check_object(value, tree, ref_path, loc, issues)
            return
        if self.is_primitive(type_name):
            self._check_primitive(value, type_name, loc, issues)
            return
        if not isinstance(value, dict):
            issues.append(Issue("error", "structure",
                                f"Expected an object for '{child.name}' ({type_name})", (loc,)))
            return
        if not value:
            issues.append(Issue("error", "structure", "Objects must not be empty", (loc,)))
            return
        if type_name == "Resource" or (
            type_name not in ("BackboneElement", "Element")
            and (sd := self.registry.type_definition(type_name)) is not None
            and sd.get("kind") == "resource"
        ):
            self._check_resource(value, loc, issues)
            return
        if type_name in ("BackboneElement", "Element") or not child.types:
            # inline element: children are defined in the same tree, under the element path
            root = child.path.split(".", 1)[0]
            tree = self.tree(root)
            if tree is not None:
                self._check_object(value, tree, child.path, loc, issues)
            return
        tree = self.tree(type_name)
        if tree is None:
            return
        self._check_object(value, tree, type_name, loc, issues)

    def _check_primitive(self, value: Any, type_name: str, loc: str, issues: list[Issue]) -> None:
        if type_name == "boolean":
            ok = isinstance(value, bool)
        elif type_name in _NUMBER_TYPES:
            ok = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
            if ok and type_name in _INTEGER_TYPES and not isinstance(value, int):
                ok = False
        else:
            ok = isinstance(value, str)
        if not ok:
            issues.append(Issue("error", "structure",
                                f"Wrong JSON type for a {type_name}: {value!r:.60}", (loc,)))
            return
        if type_name in _INTEGER_TYPES and not _INT_MIN <= value <= _INT_MAX:
            issues.append(Issue("error", "value", f"The value {str(value)[:40]} is outside "
                                "the range of a 32-bit integer", (loc,)))
            return
        if isinstance(value, str):
            if (type_name, value) in self._valid:
                return
            if value == "" or (value.strip() == "" and type_name != "string"):
                issues.append(Issue("error", "value", "Strings must not be empty", (loc,)))
                return
            if len(value) > self.max_string_length:
                issues.append(Issue("error", "too-costly", f"The string is longer than "
                                    f"{self.max_string_length} characters", (loc,)))
                return
            if _CONTROL.search(value) or _SURROGATE.search(value):
                issues.append(Issue("error", "value", "Strings must not hold control "
                                    "characters or lone surrogates", (loc,)))
                return
        pattern = self.primitive_regex(type_name)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if pattern is not None and pattern.fullmatch(text) is None:
            issues.append(Issue("error", "value",
                                f"'{text:.80}' is not a valid {type_name}", (loc,)))
        elif type_name in _DATE_TYPES and len(text) >= 10 and not _real_date(text):
            issues.append(Issue("error", "value",
                                f"'{text:.80}' is not a valid {type_name}: no such day", (loc,)))
        elif isinstance(value, str) and len(value) <= _MEMO_LENGTH:
            if len(self._valid) >= _MEMO_ENTRIES:
                self._valid.clear()
            self._valid.add((type_name, value))


def _real_date(text: str) -> bool:
    """YYYY-MM-DD at the start of a date, dateTime or instant is a day of the calendar."""
    try:
        date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True
