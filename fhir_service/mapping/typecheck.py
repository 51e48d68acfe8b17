"""Load-time type checking of maps (FHIR Mapping Language idea: both ends are typed).

The source side is checked against the JSON Schema of the source format, the target side
against the R4 StructureDefinitions (element names, choice types, datatypes, backbone
elements), so that a map naming a path that does not exist fails when it is loaded.
"""

from __future__ import annotations

from typing import Any

from fhir_service.conformance.structure import StructureChecker
from fhir_service.mapping.paths import split
from fhir_service.mapping.schema import Schema
from fhir_service.mapping.template import DIRECTIVES


class MapLoadError(ValueError):
    """A map is malformed or names a path that does not exist."""


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


class SourceChecker:
    def __init__(self, schema: Schema, where: str, datatypes: dict[str, Any]) -> None:
        self.schema = schema
        self.where = where
        self.datatypes = datatypes

    def resolve(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        from_root, parts = split(path)
        current = self.schema.document if from_root else node
        walked = "$" if from_root else "(item)"
        for part in parts:
            child = self.schema.child(current, part)
            if child is None:
                raise MapLoadError(f"{self.where}: source path '{path}' does not exist in the "
                                   f"source model (no '{part}' under {walked})")
            current, walked = child, f"{walked}.{part}"
        return current

    def check(self, template: Any, node: dict[str, Any]) -> None:
        if isinstance(template, list):
            for item in template:
                self.check(item, node)
            return
        if not isinstance(template, dict):
            return
        current = node
        if "$each" in template:
            arr = self.resolve(current, template["$each"])
            items = self.schema.items(arr)
            if items is None:
                raise MapLoadError(f"{self.where}: $each '{template['$each']}' is not an array")
            current = items
        conds = template.get("$when", [])
        for cond in conds if isinstance(conds, list) else [conds]:
            self.resolve(current, cond["path"])
        if "$from" in template:
            current = self.resolve(current, template["$from"])
        if "$datatype" in template:
            if template["$datatype"] not in self.datatypes:
                raise MapLoadError(f"{self.where}: unknown datatype map {template['$datatype']}")
            self.check(self.datatypes[template["$datatype"]], current)
        if "$format" in template:
            import re

            for ph in re.findall(r"\{([^{}]+)\}", template["$format"]):
                self.resolve(current, ph.split("[")[0])
        for key, sub in template.items():
            if key not in DIRECTIVES:
                self.check(sub, current)


class TargetChecker:
    """Walks a template alongside the R4 type trees of the target resource."""

    def __init__(self, checker: StructureChecker, where: str,
                 datatypes: dict[str, Any]) -> None:
        self.checker = checker
        self.where = where
        self.datatypes = datatypes

    def check_resource(self, rtype: str, template: dict[str, Any]) -> None:
        if self.checker.tree(rtype) is None:
            raise MapLoadError(f"{self.where}: unknown resource type {rtype}")
        self._object(template, rtype, rtype, rtype)

    def _children(self, tree_type: str, element: str) -> dict[str, Any]:
        tree = self.checker.tree(tree_type)
        return tree.children.get(element, {}) if tree is not None else {}

    def _object(self, template: Any, tree_type: str, element: str, shown: str) -> None:
        if isinstance(template, list):
            for item in template:
                self._object(item, tree_type, element, shown)
            return
        if not isinstance(template, dict):
            return
        if tree_type == "Resource" and isinstance(template.get("resourceType"), str):
            # a contained resource: checked as its own type
            rtype = template["resourceType"]
            if self.checker.tree(rtype) is None:
                raise MapLoadError(f"{self.where}: unknown resource type {rtype} at {shown}")
            tree_type = element = rtype
            shown = f"{shown}({rtype})"
        if "$datatype" in template:
            self._object(self.datatypes[template["$datatype"]], tree_type, element, shown)
        for key, sub in template.items():
            if key in DIRECTIVES or key == "resourceType":
                continue
            child, type_name = self._find(tree_type, element, key)
            if child is None:
                raise MapLoadError(f"{self.where}: target path '{shown}.{key}' does not exist "
                                   "in FHIR R4")
            if child.content_ref:
                ref = child.content_ref.lstrip("#")
                self._object(sub, tree_type, ref, f"{shown}.{key}")
            elif type_name in ("BackboneElement", "Element") or not type_name:
                self._object(sub, tree_type, child.path, f"{shown}.{key}")
            elif self.checker.is_primitive(type_name) or type_name[:1].islower():
                continue
            else:
                self._object(sub, type_name, type_name, f"{shown}.{key}")

    def _find(self, tree_type: str, element: str, key: str) -> tuple[Any, str]:
        children = self._children(tree_type, element)
        if key in children and not children[key].choice:
            child = children[key]
            return child, child.types[0] if child.types else ""
        for child in children.values():
            if child.choice and key.startswith(child.name):
                suffix = key[len(child.name):]
                for t in child.types:
                    if _upper_first(t) == suffix:
                        return child, t
        return None, ""
