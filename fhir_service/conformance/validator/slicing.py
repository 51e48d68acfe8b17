"""Slicing: an element's items matched to the slices a profile defines, by their discriminators
(https://hl7.org/fhir/R4/profiling.html#slicing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fhir_service.conformance.validator import coding, references
from fhir_service.conformance.validator.common import (
    _PATH_TOKEN,
    _contains,
    _from,
    _ref_type,
    _Run,
    _walk,
)

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Node, Validator


def sliced(
    validator: Validator,
    run: _Run,
    items: list[Any],
    node: Node,
    tname: str,
    expr: str,
    resource: dict[str, Any],
    root: dict[str, Any],
) -> None:
    slicing = node.slicing or {}
    discs = slicing.get("discriminator", [])
    rules = slicing.get("rules", "open")
    ordered = bool(slicing.get("ordered", False))
    counts = [0] * len(node.slices)
    last = -1
    unmatched_seen = False
    for i, item in enumerate(items):
        loc = f"{expr}[{i}]" if node.array else expr
        if item is None:
            continue
        matched = None
        for si, s in enumerate(node.slices):
            if slice_matches(validator, run, item, s, discs, tname):
                matched = si
                break
        if matched is None:
            unmatched_seen = True
            if rules == "closed":
                run.add(
                    "error",
                    "structure",
                    f"This element does not match any known slice of {node.path} and "
                    f"the slicing is closed{_from(run)}",
                    loc,
                )
            validator._item(run, item, node, tname, loc, resource, root)
            continue
        counts[matched] += 1
        if ordered and matched < last:
            run.add("error", "structure", f"The slices of {node.path} are out of order{_from(run)}", loc)
        if rules == "openAtEnd" and unmatched_seen:
            run.add(
                "error",
                "structure",
                f"Unmatched items of {node.path} must come after the slices (openAtEnd){_from(run)}",
                loc,
            )
        last = max(last, matched)
        validator._item(run, item, node.slices[matched], tname, loc, resource, root)
    total = sum(1 for i in items if i is not None)
    for si, s in enumerate(node.slices):
        n = counts[si]
        if n < s.min:
            run.add(
                "error",
                "structure",
                f"Slice '{node.path}:{s.slice_name}': minimum required = {s.min}, but "
                f"only found {n}{_from(run)}",
                expr if total else expr.rsplit(".", 1)[0],
            )
        elif s.max is not None and n > s.max:
            run.add(
                "error",
                "structure",
                f"Slice '{node.path}:{s.slice_name}': max allowed = {s.max}, but found {n}{_from(run)}",
                expr,
            )


def slice_matches(
    validator: Validator, run: _Run, item: Any, s: Node, discs: list[dict[str, Any]], tname: str
) -> bool:
    if not discs:
        return validator._conforms(item, s, tname)
    constrained = 0
    for d in discs:
        dtype, path = d.get("type"), d.get("path", "$this")
        if dtype in ("value", "pattern"):
            expected = disc_expected(validator, s, path, tname)
            if expected is None:
                continue  # this slice does not constrain this discriminator
            constrained += 1
            kind, value = expected
            actual = _walk(item, path)
            if kind == "binding":
                ok = any(coding.in_valueset(validator, value, a) for a in actual)
            elif kind == "fixed":
                ok = any(a == value for a in actual)
            else:
                ok = any(_contains(a, value) for a in actual)
            if not ok:
                return False
        elif dtype == "exists":
            target = disc_node(validator, s, path, tname)
            if target is None:
                return False
            present = bool(_walk(item, path))
            if target.min >= 1 and not present:
                return False
            if target.max == 0 and present:
                return False
        elif dtype == "type":
            target = disc_node(validator, s, path, tname) if path != "$this" else s
            allowed = {t.code for t in target.types} if target is not None else set()
            if path.endswith("resolve()"):
                refs = _walk(item, path[: -len(".resolve()")] if "." in path else "$this")
                got = {_ref_type(r.get("reference") if isinstance(r, dict) else r) for r in refs}
                allowed = {
                    validator._profile_type(p) for t in (target.types if target else []) for p in t.targets
                }
                if not got & allowed:
                    return False
                constrained += 1
                continue
            values = _walk(item, path)
            got = set()
            for v in values:
                if isinstance(v, dict) and "resourceType" in v:
                    got.add(v["resourceType"])
            if path == "$this" and not got:
                got.add(tname)
            if not got & allowed and not (allowed and not got):
                return False
        elif dtype == "profile":
            target = disc_node(validator, s, path, tname) if path != "$this" else s
            if target is None:
                return False
            profiles = [p for t in target.types for p in (t.profiles or t.targets)]
            values = _walk(item, path)
            if not values or not profiles:
                return False
            if not any(references.conforms_profile(validator, v, p, run) for v in values for p in profiles):
                return False
        else:
            return False
        if dtype not in ("value", "pattern"):
            constrained += 1
    return constrained > 0


def disc_node(validator: Validator, s: Node, path: str, tname: str) -> Node | None:
    node: Node | None = s
    for m in _PATH_TOKEN.finditer(path):
        tok = m.group(0)
        if tok == "$this" or node is None:
            continue
        if m.group(1) is not None:  # extension('url')
            ext = validator._child(node, "extension", "Extension")
            if ext is None:
                return None
            url = m.group(1)
            node = next((sl for sl in ext.slices if any(url in t.profiles for t in sl.types)), None)
            continue
        if m.group(2) is not None:  # ofType(T): restrict, keep the node
            continue
        if tok == "resolve()":
            continue
        node = validator._child(node, tok, node.type_codes[0] if node.type_codes else tname)
        if node is not None and node.slices and m.end() < len(path):
            # the path goes through a sliced element: its required (or only) slice fixes it
            required = [sl for sl in node.slices if sl.min >= 1]
            if len(required) == 1 or len(node.slices) == 1:
                node = (required or node.slices)[0]
    return node


def disc_expected(validator: Validator, s: Node, path: str, tname: str) -> tuple[str, Any] | None:
    if (
        path == "url"
        and s.types
        and any(t.profiles for t in s.types)
        and ("url" not in s.children or s.children["url"].fixed is None)
    ):
        return "fixed", s.types[0].profiles[0]
    target = s if path == "$this" else disc_node(validator, s, path, tname)
    if target is None:
        return None
    if target.fixed is not None:
        return "fixed", target.fixed[1]
    if target.pattern is not None:
        return "pattern", target.pattern[1]
    if target.binding is not None and target.binding[0] == "required":
        return "binding", target.binding[1]
    return None
