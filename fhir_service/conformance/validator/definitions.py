"""Rules on StructureDefinition resources themselves (a profile being validated as an instance).

https://hl7.org/fhir/R4/structuredefinition.html and https://hl7.org/fhir/R4/profiling.html —
checked on the differential of a constraint, against its base:

* every ``path`` names an element of the base type (a choice is ``value[x]`` or one of its
  types' renamings, ``valueQuantity``);
* a fixed value of the base cannot be changed (a derived extension cannot fix another url);
* each slicing discriminator path names an element of the element it slices.

The problems are reported as errors, as the reference validator reports them when it generates
the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Node, Validator

Report = Callable[[str, str], None]  # (message, FHIRPath)


def check_structure_definition(validator: Validator, sd: dict[str, Any], expr: str,
                               report: Report) -> None:
    if sd.get("derivation") != "constraint":
        return
    diff = sd.get("differential")
    elements = diff.get("element") if isinstance(diff, dict) else None
    if not isinstance(elements, list) or not isinstance(sd.get("type"), str):
        return
    base_url = sd.get("baseDefinition")
    base = validator.snapshots.by_url(base_url) if isinstance(base_url, str) else None
    base_by_id = {e.get("id"): e for e in base or []}
    for i, el in enumerate(elements):
        if not isinstance(el, dict):
            continue
        loc = f"{expr}.differential.element[{i}]"
        path = el.get("path")
        if isinstance(path, str) and resolve_path(validator, path) is None:
            report(f"The path '{path}' of the differential does not name an element of "
                   f"{sd['type']} (for a choice, use name[x] or a type renaming)", f"{loc}.path")
            continue
        eid = el.get("id")
        if isinstance(eid, str):
            _fixed_conflict(el, base_by_id.get(eid), str(base_url), loc, report)
        slicing = el.get("slicing")
        if isinstance(slicing, dict) and isinstance(path, str):
            _slicing(validator, el, path, slicing, loc, report)


def resolve_path(validator: Validator, path: str) -> Node | None:
    """The element of the base type that an ElementDefinition.path names, or None. Paths that
    go through a choice of several types are taken as valid once the choice is reached."""
    segs = path.split(".")
    model = validator.type_model(segs[0])
    if model is None:
        return None
    node = model.root
    tname = segs[0]
    for seg in segs[1:]:
        if not node.children:
            target = validator._children_of(node, tname)
            if target is None:
                return None
            node = target[0]
        if seg.endswith("[x]"):
            child = node.children.get(seg[:-3])
            if child is None or not child.choice:
                return None
            if len(child.type_codes) != 1:
                return child
            node, tname = child, child.type_codes[0]
            continue
        found = node.choice_keys.get(seg)
        if found is None:
            return None
        node, tname = found
    return node


def _fixed_value(el: dict[str, Any]) -> tuple[str, Any] | None:
    for key, value in el.items():
        if key.startswith("fixed"):
            return key, value
    return None


def _fixed_conflict(el: dict[str, Any], base_el: dict[str, Any] | None, base_url: str,
                    loc: str, report: Report) -> None:
    if base_el is None:
        return
    base_fixed = _fixed_value(base_el)
    if base_fixed is None:
        return
    for key, value in el.items():
        if key.startswith(("fixed", "pattern")) and value != base_fixed[1]:
            report(f"Value is '{value}' but is fixed to '{base_fixed[1]}' in the base "
                   f"{base_url}: a profile cannot change a fixed value", f"{loc}.{key}")


def _disc_names(path: str) -> list[str] | None:
    """The element names of a simple discriminator path, None if it uses functions."""
    if "(" in path:
        return None
    return [s for s in path.split(".") if s != "$this"]


def _slicing(validator: Validator, el: dict[str, Any], path: str, slicing: dict[str, Any],
             loc: str, report: Report) -> None:
    node = resolve_path(validator, path)
    if node is None:
        return
    types = [t.code for t in node.types] or ([node.path.split(".")[0]] if node.children else [])
    declared = [t.get("code") for t in el.get("type") or [] if isinstance(t, dict)]
    tname = (declared or types or [""])[0]
    for j, d in enumerate(slicing.get("discriminator") or []):
        dpath = d.get("path") if isinstance(d, dict) else None
        names = _disc_names(dpath) if isinstance(dpath, str) else None
        if not names:
            continue
        first = names[0]
        target = node if node.children else None
        if target is None:
            found = validator._children_of(node, tname)
            target = found[0] if found else None
        if target is None:
            continue
        if first not in target.choice_keys and not (
            first.endswith("[x]") and first[:-3] in target.children
        ):
            report(f"The discriminator path '{dpath}' does not appear to be valid for the "
                   f"element that is being sliced '{path}'",
                   f"{loc}.slicing.discriminator[{j}]")
