"""Forward templates: a JSON document shaped like the target resource, whose objects may
carry ``$`` directives. Rendering walks the template in the context of a source item.

Directives (an object may combine them; they apply in this order):

``$when``      condition(s) on source paths: ``{"path": p, "equals"|"in"|"not-in": v}``,
               ``{"path": p, "exists": bool}`` or ``{"path": p, "lacks": v}`` (an array
               without v, or absent); a list means all. False → the node is absent.
``$each``      (inside an array) render the node once per item of the source array at path.
``$from``      move the context to a source path; absent value → the node is absent.
``$value``     a constant (for constants that look like directives).
``$var``       a value given by the caller (e.g. the targets of a provenance record).
``$datatype``  render a named datatype template in the current context.
``$code``      translate the current value with a code table → a Coding; ``$part`` picks one
               of its fields (``code``).
``$ref``       the current value is a local key (or, without ``$from``, the single item) of a
               wiring target (or a list of targets, tried in order) → a Reference.
``$format``    a string with ``{path}`` placeholders.

Other keys are rendered recursively; absent results, empty arrays and objects are dropped
(FHIR has no empty values). An object with ``$from`` and no other key is the value itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fhir_service.mapping.codes import CodeTable
from fhir_service.mapping.paths import absent, clean, get

DIRECTIVES = frozenset({"$when", "$each", "$from", "$value", "$var", "$datatype", "$code",
                        "$part", "$ref", "$format", "$comment"})
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass
class Problem:
    path: str
    message: str
    code: str = "invalid"


@dataclass
class Cursor:
    value: Any
    path: str


@dataclass
class RenderEnv:
    root: Any
    datatypes: dict[str, Any]
    tables: dict[str, CodeTable]
    # (target names, key or None, where) -> reference object or None (then a problem is added)
    reference: Callable[[list[str], Any, str], dict[str, Any] | None]
    variables: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def at(self, cur: Cursor, path: str) -> Cursor:
        value, where = get(self.root, "$", cur.value, cur.path, path)
        return Cursor(value, where)


def condition(env: RenderEnv, cur: Cursor, cond: Any) -> bool:
    if isinstance(cond, list):
        return all(condition(env, cur, c) for c in cond)
    value = env.at(cur, cond["path"]).value
    if "exists" in cond:
        return (value is not None) == bool(cond["exists"])
    if "equals" in cond:
        return bool(value == cond["equals"])
    if "in" in cond:
        return value in cond["in"]
    if "not-in" in cond:
        return value not in cond["not-in"]
    if "lacks" in cond:
        return not isinstance(value, list) or cond["lacks"] not in value
    raise ValueError(f"unknown condition {cond}")


def render(node: Any, env: RenderEnv, cur: Cursor) -> Any:
    if isinstance(node, list):
        out: list[Any] = []
        for item in node:
            if isinstance(item, dict) and "$each" in item:
                out.extend(render_each(item, env, cur))
                continue
            value = render(item, env, cur)
            if not absent(value):
                out.append(value)
        return out or None
    if not isinstance(node, dict):
        return node
    if "$when" in node and not condition(env, cur, node["$when"]):
        return None
    if "$value" in node:
        return node["$value"]
    if "$var" in node:
        return clean(env.variables.get(node["$var"]))
    if "$from" in node:
        cur = env.at(cur, node["$from"])
        if cur.value is None:
            return None
    if "$datatype" in node:
        base = render(env.datatypes[node["$datatype"]], env, cur)
        extra = render({k: v for k, v in node.items() if k not in DIRECTIVES}, env, cur)
        if isinstance(base, dict) and isinstance(extra, dict):
            return {**extra, **base}
        return base
    if "$code" in node:
        return _code(node, env, cur)
    if "$ref" in node:
        targets = node["$ref"] if isinstance(node["$ref"], list) else [node["$ref"]]
        key = cur.value if "$from" in node else None
        return env.reference(targets, key, cur.path)
    if "$format" in node:
        return _format(node["$format"], env, cur)
    plain = {k: v for k, v in node.items() if k not in DIRECTIVES}
    if not plain:
        return clean(cur.value) if "$from" in node else None
    out_obj: dict[str, Any] = {}
    for key, sub in plain.items():
        value = render(sub, env, cur)
        if not absent(value):
            out_obj[key] = value
    return out_obj or None


def render_each(node: dict[str, Any], env: RenderEnv, cur: Cursor) -> list[Any]:
    items = env.at(cur, node["$each"])
    if items.value is None:
        return []
    if not isinstance(items.value, list):
        env.problems.append(Problem(items.path, "must be an array"))
        return []
    body = {k: v for k, v in node.items() if k != "$each"}
    out = []
    for i, item in enumerate(items.value):
        value = render(body, env, Cursor(item, f"{items.path}[{i}]"))
        if not absent(value):
            out.append(value)
    return out


def _code(node: dict[str, Any], env: RenderEnv, cur: Cursor) -> Any:
    table = env.tables[node["$code"]]
    coding = table.translate(cur.value)
    if coding is None:
        shown = (f"{cur.value.get('system')}|{cur.value.get('code')}"
                 if isinstance(cur.value, dict) else cur.value)
        env.problems.append(Problem(cur.path, f"unknown code {shown!r}: the code table "
                                    f"{table.url} does not translate it", "code-invalid"))
        return None
    part = node.get("$part")
    return coding.get(part) if part else dict(coding)


def _format(text: str, env: RenderEnv, cur: Cursor) -> str | None:
    def value(match: re.Match[str]) -> str:
        path, _, index = match.group(1).partition("[")
        found = env.at(cur, path).value
        if isinstance(found, list):
            found = found[int(index.rstrip("]") or 0)] if found else None
        return "" if found is None else str(found)

    result = " ".join(_PLACEHOLDER.sub(value, text).split())
    return result or None


# --- load-time checks ------------------------------------------------------------------------


def source_paths(node: Any) -> list[tuple[str, Any]]:
    """(directive, argument) pairs naming source paths, in template order, for the checker."""
    out: list[tuple[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            out.extend(source_paths(item))
    elif isinstance(node, dict):
        for key in ("$each", "$from"):
            if key in node:
                out.append((key, node[key]))
        for key, sub in node.items():
            if key not in DIRECTIVES:
                out.extend(source_paths(sub))
    return out
