"""Snapshot generation: a constraint StructureDefinition's differential applied to its base.

https://hl7.org/fhir/R4/profiling.html#snapshot — SUSHI (and many hand-written profiles)
publish only the ``differential``. We compute the snapshot the validator walks, by element
id: each differential element is merged onto the matching base element; a new slice is a copy
of the sliced element (and its descendants, or those of the slice's type profile); a
constraint below an element whose children the base does not list expands that element's
type (or type profile) in place. Constraints (invariants) accumulate; other properties of the
differential replace the base's.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from fhir_service.conformance.registry import Registry

log = logging.getLogger("cm_fhir.validator")

_FIXED_PREFIXES = ("fixed", "pattern")


def split_id(eid: str) -> list[str]:
    """Split an element id on the dots that are not inside a slice name's brackets."""
    out: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in eid:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "." and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def ensure_ids(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give elements without ``id`` one derived from path and slice names (older content)."""
    if all("id" in e for e in elements):
        return elements
    out = []
    last_id_for_path: dict[str, str] = {}
    for original in elements:
        e = dict(original)
        path = e["path"]
        if "id" not in e:
            parts = path.split(".")
            parent_path = ".".join(parts[:-1])
            parent_id = last_id_for_path.get(parent_path, parent_path)
            eid = f"{parent_id}.{parts[-1]}" if parent_id else parts[-1]
            if e.get("sliceName"):
                eid = f"{eid}:{e['sliceName']}"
            e["id"] = eid
        last_id_for_path[path] = e["id"]
        out.append(e)
    return out


def _type_name(el: dict[str, Any]) -> tuple[str | None, str | None]:
    """(type code, single profile) of an element with exactly one type, else (None, None)."""
    types = el.get("type") or []
    if len(types) != 1:
        return None, None
    profiles = types[0].get("profile") or []
    return types[0].get("code"), (profiles[0] if len(profiles) == 1 else None)


class SnapshotGenerator:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._cache: dict[str, list[dict[str, Any]]] = {}
        self._busy: set[str] = set()

    def snapshot(self, sd: dict[str, Any]) -> list[dict[str, Any]]:
        url = sd.get("url") or f"#{id(sd)}"
        cached = self._cache.get(url)
        if cached is not None:
            return cached
        snap = sd.get("snapshot", {}).get("element")
        if snap:
            result = ensure_ids(snap)
        elif url in self._busy:
            return []
        else:
            self._busy.add(url)
            try:
                result = self._generate(sd)
            finally:
                self._busy.discard(url)
        self._cache[url] = result
        return result

    def by_url(self, url: str) -> list[dict[str, Any]] | None:
        sd = self.registry.by_url(url) or self.registry.by_url(url.split("|", 1)[0])
        if sd is None or sd.get("resourceType") != "StructureDefinition":
            return None
        return self.snapshot(sd)

    # --- generation ----------------------------------------------------------------------

    def _generate(self, sd: dict[str, Any]) -> list[dict[str, Any]]:
        base_url = sd.get("baseDefinition")
        base = self.by_url(base_url) if base_url else None
        if not base:
            log.warning("no base snapshot for %s (%s)", sd.get("url"), base_url)
            return ensure_ids(sd.get("differential", {}).get("element", []))
        elems = [copy.deepcopy(e) for e in base]
        root = split_id(elems[0]["id"])[0]
        for diff in ensure_ids(sd.get("differential", {}).get("element", [])):
            did = self._normalise(diff["id"], root)
            pos = self._find(elems, did)
            if pos is None:
                pos = self._create(elems, did, diff)
            if pos is None:
                log.info("%s: differential element %s has no base element", sd.get("url"),
                         diff["id"])
                continue
            if _is_type_slice(diff["id"]):
                # "effective[x]:effectivePeriod" constrains effective[x] when it is a Period:
                # its type and cardinality are not the choice element's
                _merge(elems[pos], {k: v for k, v in diff.items()
                                    if k not in ("type", "min", "max", "sliceName")})
                continue
            _merge(elems[pos], diff)
        return elems

    @staticmethod
    def _normalise(did: str, root: str) -> str:
        segs = split_id(did)
        if segs and segs[0] != root:
            segs[0] = root
        out = []
        for seg in segs:
            name, _, slice_name = seg.partition(":")
            # "value[x]:valueQuantity" is a type constraint on value[x], not a real slice
            if name.endswith("[x]") and slice_name.startswith(name[:-3]) and (
                slice_name[len(name) - 3 : len(name) - 2].isupper()
            ):
                out.append(name)
                continue
            out.append(seg)
        return ".".join(out)

    @staticmethod
    def _find(elems: list[dict[str, Any]], eid: str) -> int | None:
        for i, e in enumerate(elems):
            if e["id"] == eid:
                return i
        return None

    def _create(self, elems: list[dict[str, Any]], eid: str, diff: dict[str, Any]) -> int | None:
        segs = split_id(eid)
        if len(segs) < 2:
            return None
        parent_id = ".".join(segs[:-1])
        last = segs[-1]
        ppos = self._find(elems, parent_id)
        if ppos is None:
            ppos = self._create(elems, parent_id, {})
            if ppos is None:
                return None
        name, _, slice_name = last.partition(":")
        if slice_name:
            return self._create_slice(elems, parent_id, name, slice_name, diff)
        # a renamed choice (valueQuantity) → value[x]
        pos = self._expand_children(elems, ppos)
        found = self._find(elems, eid)
        if found is not None:
            return found
        for i in range(ppos + 1, len(elems)):
            e = elems[i]
            segs_e = split_id(e["id"])
            if ".".join(segs_e[:-1]) == parent_id and segs_e[-1].endswith("[x]"):
                stem = segs_e[-1][:-3]
                if name.startswith(stem) and name[len(stem):len(stem) + 1].isupper():
                    return i
        return pos

    def _expand_children(self, elems: list[dict[str, Any]], ppos: int) -> int | None:
        """Insert the children of elems[ppos]'s type when the snapshot lists none."""
        parent = elems[ppos]
        pid = parent["id"]
        if ppos + 1 < len(elems) and elems[ppos + 1]["id"].startswith(pid + "."):
            return None
        ref = parent.get("contentReference")
        if isinstance(ref, str) and "#" in ref:
            self._expand_reference(elems, ppos, ref.split("#", 1)[1])
            return None
        code, profile = _type_name(parent)
        if code is None:
            return None
        source = self.by_url(profile) if profile else None
        if not source:
            sd = self.registry.type_definition(code)
            source = self.snapshot(sd) if sd else None
        if not source:
            return None
        src_root = source[0]["id"]
        src_path = source[0]["path"]
        new = []
        for e in source[1:]:
            c = copy.deepcopy(e)
            c["id"] = pid + c["id"][len(src_root):]
            c["path"] = parent["path"] + c["path"][len(src_path):]
            new.append(c)
        elems[ppos + 1 : ppos + 1] = new
        return None

    def _expand_reference(self, elems: list[dict[str, Any]], ppos: int, target: str) -> None:
        """Insert the children of the base definition's element that a contentReference names
        (https://hl7.org/fhir/R4/elementdefinition.html#ElementDefinition.contentReference),
        so that a differential can constrain an element defined by reference."""
        parent = elems[ppos]
        sd = self.registry.type_definition(target.split(".", 1)[0])
        source = self.snapshot(sd) if sd else []
        new = []
        for e in source:
            if e["id"].startswith(target + "."):
                c = copy.deepcopy(e)
                c["id"] = parent["id"] + c["id"][len(target):]
                c["path"] = parent["path"] + c["path"][len(target):]
                new.append(c)
        if new:
            parent.pop("contentReference", None)
            parent["type"] = parent.get("type") or [{"code": "BackboneElement"}]
        elems[ppos + 1 : ppos + 1] = new
        return None

    def _create_slice(self, elems: list[dict[str, Any]], parent_id: str, name: str,
                      slice_name: str, diff: dict[str, Any]) -> int | None:
        base_id = f"{parent_id}.{name}"
        bpos = self._find(elems, base_id)
        if bpos is None:
            bpos = self._create(elems, base_id, {})
            if bpos is None:
                return None
        # re-slicing (a:b/c): slice the slice
        if "/" in slice_name:
            outer = slice_name.rsplit("/", 1)[0]
            opos = self._find(elems, f"{base_id}:{outer}")
            if opos is not None:
                bpos = opos
        base_el = elems[bpos]
        src_id = base_el["id"]
        end = bpos + 1
        while end < len(elems) and (
            elems[end]["id"].startswith(base_id + ".") or elems[end]["id"].startswith(base_id + ":")
        ):
            end += 1
        new_id = f"{base_id}:{slice_name}"
        head = copy.deepcopy(base_el)
        head.pop("slicing", None)
        head["id"] = new_id
        head["sliceName"] = slice_name
        head.setdefault("min", 0)
        copies = [head]
        # children: from the slice's type profile if it names one, else those of the base
        profile = None
        types = diff.get("type") or []
        if len(types) == 1 and len(types[0].get("profile") or []) == 1:
            profile = types[0]["profile"][0]
        source = self.by_url(profile) if profile else None
        if source:
            src_root, src_path = source[0]["id"], source[0]["path"]
            for e in source[1:]:
                c = copy.deepcopy(e)
                c["id"] = new_id + c["id"][len(src_root):]
                c["path"] = base_el["path"] + c["path"][len(src_path):]
                copies.append(c)
            for key in ("constraint",):
                if source[0].get(key):
                    head[key] = _union_constraints(head.get(key, []), source[0][key])
        else:
            for e in elems[bpos + 1 : end]:
                if e["id"].startswith(src_id + "."):
                    c = copy.deepcopy(e)
                    c["id"] = new_id + c["id"][len(src_id):]
                    copies.append(c)
        elems[end:end] = copies
        return end


def _is_type_slice(eid: str) -> bool:
    """Is the last segment of ``eid`` a type slice of a choice (``value[x]:valueQuantity``)?"""
    name, _, slice_name = split_id(eid)[-1].partition(":")
    return name.endswith("[x]") and slice_name.startswith(name[:-3]) and (
        slice_name[len(name) - 3 : len(name) - 2].isupper())


def _union_constraints(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = {c.get("key") for c in a}
    return a + [c for c in b if c.get("key") not in keys]


def _merge(el: dict[str, Any], diff: dict[str, Any]) -> None:
    for key, value in diff.items():
        if key in ("id", "path"):
            continue
        if key == "constraint":
            el["constraint"] = _union_constraints(el.get("constraint", []), value)
        elif key.startswith(_FIXED_PREFIXES):
            for k in [k for k in el if k.startswith(_FIXED_PREFIXES)]:
                del el[k]
            el[key] = value
        else:
            el[key] = value
