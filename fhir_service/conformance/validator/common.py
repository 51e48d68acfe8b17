"""Helpers shared by the validator's rule modules (engine.py and its mixins)."""

from __future__ import annotations

import re
from typing import Any

from fhir_service.outcomes import Issue

CORE = "http://hl7.org/fhir/StructureDefinition/"
_PATH_TOKEN = re.compile(r"extension\('([^']*)'\)|ofType\((\w+)\)|resolve\(\)|[^.]+")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class _Run:
    """State of one validation: issues found and the resources in scope."""

    __slots__ = ("bundle", "guard", "issues", "profile")

    def __init__(
        self, bundle: dict[str, Any] | None = None, guard: set[tuple[int, str]] | None = None
    ) -> None:
        self.issues: list[Issue] = []
        self.bundle = bundle
        self.profile = ""
        # (resource, profile) conformance checks under way: references that loop end there
        self.guard: set[tuple[int, str]] = guard if guard is not None else set()

    def add(self, severity: str, code: str, message: str, expr: str) -> None:
        self.issues.append(Issue(severity, code, message, (expr,)))


def _from(run: _Run) -> str:
    return f" (from {run.profile})" if run.profile and not run.profile.startswith(CORE) else ""


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _walk(item: Any, path: str) -> list[Any]:
    """Values at a simple discriminator path (names, extension('url'), ofType(T))."""
    values = [item]
    for m in _PATH_TOKEN.finditer(path):
        tok = m.group(0)
        if tok == "$this":
            continue
        out: list[Any] = []
        if m.group(1) is not None:
            for v in values:
                if isinstance(v, dict):
                    out.extend(
                        e
                        for e in v.get("extension", []) or []
                        if isinstance(e, dict) and e.get("url") == m.group(1)
                    )
        elif m.group(2) is not None:
            t = m.group(2)
            out = [v for v in values if not isinstance(v, dict) or v.get("resourceType", t) == t]
        elif tok == "resolve()":
            out = values
        else:
            for v in values:
                if not isinstance(v, dict):
                    continue
                if tok in v:
                    x = v[tok]
                    out.extend(x if isinstance(x, list) else [x])
                else:
                    for k, x in v.items():  # choice: value[x] named valueQuantity etc.
                        if k.startswith(tok) and k[len(tok) : len(tok) + 1].isupper():
                            out.extend(x if isinstance(x, list) else [x])
        values = out
    return values


_NARRATIVE_LINK = re.compile(r"""\b(?:src|href)\s*=\s*["']#([^"']+)["']""")


def _equal_fixed(actual: Any, fixed: Any) -> bool:
    """Fixed-value semantics (profiling.html#fixed): the instance has exactly the fixed
    content, no property more or less (element ids aside)."""
    if isinstance(fixed, dict):
        if not isinstance(actual, dict):
            return False
        keys = set(actual) - {"id"}
        if keys != set(fixed) - {"id"}:
            return False
        return all(_equal_fixed(actual[k], fixed[k]) for k in keys)
    if isinstance(fixed, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(fixed)
            and all(_equal_fixed(a, f) for a, f in zip(actual, fixed, strict=True))
        )
    return bool(actual == fixed)


def _contains(actual: Any, pattern: Any) -> bool:
    """Pattern semantics: every property of the pattern is in the instance (arrays: each
    pattern item matches some instance item)."""
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return False
        return all(k in actual and _contains(actual[k], v) for k, v in pattern.items())
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return False
        return all(any(_contains(a, p) for a in actual) for p in pattern)
    return bool(actual == pattern)


def _ref_type(ref: Any) -> str | None:
    if not isinstance(ref, str) or ref.startswith(("#", "urn:")):
        return None
    parts = ref.split("?", 1)[0].split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return parts[-2]
    return None


def _bundle_entry(bundle: dict[str, Any] | None, ref: str) -> dict[str, Any] | None:
    """The resource of the Bundle a literal reference (relative or absolute) points to."""
    if bundle is None:
        return None
    for entry in bundle.get("entry", []) or []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict):
            continue
        full = entry.get("fullUrl") or ""
        if (
            full == ref
            or (isinstance(full, str) and full.endswith("/" + ref))
            or (f"{res.get('resourceType')}/{res.get('id')}" == ref)
        ):
            return res
    return None


def _local_refs(obj: Any) -> Any:
    """Local ids referenced ('#id' in references, canonicals, uris and urls; '#' for the
    container; and, as the reference validator counts them, ``src``/``href`` links of the
    narrative)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, str) and value.startswith("#"):
                yield value[1:] if value != "#" else "#"
            elif key == "div" and isinstance(value, str):
                yield from _NARRATIVE_LINK.findall(value)
            elif key != "contained":
                yield from _local_refs(value)
            else:
                for c in value if isinstance(value, list) else []:
                    yield from _local_refs(c)
    elif isinstance(obj, list):
        for item in obj:
            yield from _local_refs(item)
