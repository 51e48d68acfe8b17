"""Invariants compiled to Python closures instead of being interpreted by fhirpathpy.

https://hl7.org/fhirpath/ — fhirpathpy re-walks its parse tree, re-builds its function
table and wraps every value in a node on each evaluation (~50–90 µs per invariant); the
invariants of the R4 definitions and of our IG are mostly paths with ``exists()``,
``empty()``, ``count()``, ``where()``, ``all()``, ``not()``, boolean operators and
comparisons, which this module compiles once, from fhirpathpy's own parse tree, into closures
over the raw JSON (~1–5 µs).

The contract is *the same verdict as fhirpathpy* (which the validator used before, and which
``tests/validator/test_native_invariants.py`` checks on every official R4 example and every IG
example), including fhirpathpy's own semantics where they differ from the specification:
``=`` compares the first items of equal-length collections, ``<=`` on two strings compares
them as strings, and an operand of ``and``/``or`` that is not a boolean singleton makes the
evaluation fail (the invariant is then reported as unchecked).

Whatever is outside that subset is not compiled (:func:`compile_native` returns None) and stays
with fhirpathpy. Values whose meaning depends on the FHIR type model (primitive extensions
``_name``, choice elements ``value[x]``, decimals, nested objects compared with ``=``) make an
evaluation raise :class:`Bail`, and :mod:`.fhirpath` then asks fhirpathpy for that one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fhir_service.fhirpath.engine import MODEL, parse, string_literal, uniq

Env = dict[str, Any]
# a compiled expression: (focus collection, $this collection, variables) -> collection
Fn = Callable[[list[Any], list[Any], Env], list[Any]]


class Bail(Exception):
    """This evaluation needs fhirpathpy (type-dependent value, primitive extension…)."""


class Fail(Exception):
    """fhirpathpy raises here: the invariant cannot be evaluated (reported as unchecked)."""


class _Unsupported(Exception):
    """The expression uses something this compiler does not handle."""


_FUNCTIONS_NO_ARG = {"exists", "empty", "not", "count", "hasValue", "first", "last",
                     "isDistinct"}


def compile_native(expression: str, type_path: str | None = None
                   ) -> Callable[[Any, Env], list[Any]] | None:
    """A closure ``(node, {"resource": …, "rootResource": …}) -> collection``, or None when the
    expression is outside the compiled subset. ``expression`` is what fhirpathpy would
    evaluate (after :func:`fhir_service.fhirpath.rewrites.invariant_expression`);
    ``type_path`` is the path fhirpathpy types the node with (a resource is typed by its
    ``resourceType``), which resolves choice elements."""
    try:
        tree = parse(expression)
        fn, _ = _expr(tree["children"][0], type_path, type_path)
    except _Unsupported:
        return None
    except Exception:  # noqa: BLE001 - fhirpathpy cannot parse it either: not ours to judge
        return None

    def run(node: Any, env: Env) -> list[Any]:
        root = [node]
        return fn(root, root, env)

    return run


# --- compilation ---------------------------------------------------------------------------
# Each compiler takes the fhirpathpy type paths of the focus and of $this (None: unknown) and
# returns the closure and the type path of what it yields.

Path = str | None
Compiled = tuple[Fn, Path]


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    return node.get("children") or []


def _expr(node: dict[str, Any], fpath: Path, tpath: Path) -> Compiled:
    kind = node["type"]
    if kind in ("TermExpression", "InvocationTerm", "ParenthesizedTerm", "LiteralTerm"):
        (child,) = _children(node)
        return _expr(child, fpath, tpath)
    if kind == "InvocationExpression":
        left, right = _children(node)
        if _function_name(right) in _AT_ROOT and _has_macro(left):
            # fhirpathpy evaluates the argument against the $this a macro left behind
            raise _Unsupported("argument evaluated against a stale $this")
        lfn, lpath = _expr(left, fpath, tpath)
        rfn, rpath = _invocation(right, lpath, tpath)
        return _chain(lfn, rfn), rpath
    if kind in ("MemberInvocation", "FunctionInvocation", "ThisInvocation"):
        return _invocation(node, fpath, tpath)
    if kind == "StringLiteral":
        (value,) = string_literal(None, None, node)  # fhirpathpy's own unescaping
        return (lambda focus, this, env: [value]), None
    if kind == "NumberLiteral":
        number = Decimal(node["text"])
        literal: int | Decimal = int(number) if number == int(number) else number
        return (lambda focus, this, env: [literal]), None
    if kind == "BooleanLiteral":
        flag = node["text"] == "true"
        return (lambda focus, this, env: [flag]), None
    if kind == "ExternalConstantTerm":
        name = str(node["children"][0]["children"][0].get("text", ""))
        if name not in ("resource", "rootResource"):
            raise _Unsupported(name)
        return (lambda focus, this, env: [env[name]]), None
    if kind in ("AndExpression", "OrExpression", "XorExpression", "ImpliesExpression"):
        lhs, rhs = (_expr(c, fpath, tpath)[0] for c in _children(node))
        return _logic(node["terminalNodeText"][0], lhs, rhs), None
    if kind == "EqualityExpression":
        op = node["terminalNodeText"][0]
        if op not in ("=", "!="):
            raise _Unsupported(op)
        lhs, rhs = (_expr(c, fpath, tpath)[0] for c in _children(node))
        return _equality(op == "!=", lhs, rhs), None
    if kind == "MembershipExpression":
        lhs, rhs = (_expr(c, fpath, tpath)[0] for c in _children(node))
        op = node["terminalNodeText"][0]
        if op == "contains":
            return _membership(rhs, lhs), None
        if op == "in":
            return _membership(lhs, rhs), None
        raise _Unsupported(op)
    if kind == "InequalityExpression":
        lhs, rhs = (_expr(c, fpath, tpath)[0] for c in _children(node))
        return _inequality(node["terminalNodeText"][0], lhs, rhs), None
    raise _Unsupported(kind)


_AT_ROOT = frozenset({"subsetOf", "intersect"})
_MACROS = frozenset({"where", "exists", "all", "select", "repeat", "iif"})


def _function_name(node: dict[str, Any]) -> str | None:
    if node["type"] != "FunctionInvocation":
        return None
    return str(_children(node)[0]["children"][0]["text"])


def _has_macro(node: dict[str, Any]) -> bool:
    if _function_name(node) in _MACROS:
        return True
    return any(_has_macro(c) for c in _children(node))


def _chain(left: Fn, step: Fn) -> Fn:
    def fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
        return step(left(focus, this, env), this, env)

    return fn


def _invocation(node: dict[str, Any], fpath: Path, tpath: Path) -> Compiled:
    kind = node["type"]
    if kind == "MemberInvocation":
        name = node["children"][0]["text"]
        if name.startswith(("`", '"')) or name[:1] == name[:1].upper():
            raise _Unsupported(name)  # type names filter resources in fhirpathpy
        return _member(name, fpath)
    if kind == "ThisInvocation":
        return (lambda focus, this, env: this), tpath
    if kind == "FunctionInvocation":
        functn = node["children"][0]
        parts = _children(functn)
        name = parts[0]["text"]
        params = _children(parts[1]) if len(parts) > 1 else []
        return _function(name, params, fpath, tpath)
    raise _Unsupported(kind)


# (choice types or None, type path of the child) for a parent's type path and a name, as
# fhirpathpy computes them from its R4 model
_CHILD_CACHE: dict[tuple[str, str], tuple[tuple[str, ...] | None, str]] = {}


def _child(parent: str, name: str) -> tuple[tuple[str, ...] | None, str]:
    key = (parent, name)
    found = _CHILD_CACHE.get(key)
    if found is None:
        path = f"{parent}.{name}"
        path = MODEL["pathsDefinedElsewhere"].get(path, path)
        choices = MODEL["choiceTypePaths"].get(path)
        if choices:
            found = (tuple(choices), "")
        else:
            if name == "extension":
                path = "Extension"
            found = (None, MODEL["path2Type"].get(path, path))
        _CHILD_CACHE[key] = found
    return found


def _member(name: str, parent: Path) -> Compiled:
    shadow = "_" + name
    static = _child(parent, name) if parent else None
    out_path = static[1] if static is not None and static[0] is None else None

    def fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
        out: list[Any] = []
        for item in focus:
            if not isinstance(item, dict):
                if name == "length" or item is None:
                    raise Bail(name)
                continue
            rtype = item.get("resourceType")
            info = _child(rtype, name) if isinstance(rtype, str) else static
            if info is not None and info[0] is not None:  # a choice element: valueX
                value = None
                for t in info[0]:
                    key = name + t
                    if "_" + key in item:
                        raise Bail(key)
                    value = item.get(key)
                    if value is not None:
                        break
            else:
                if shadow in item:
                    raise Bail(shadow)  # primitive extensions: fhirpathpy's node semantics
                value = item.get(name)
                if value is None and info is None:
                    for key in item:
                        if key.startswith(name) and key[len(name):len(name) + 1].isupper():
                            raise Bail(key)  # maybe a choice element, type unknown here
            if value is None:
                continue
            if isinstance(value, list):
                if None in value:
                    raise Bail(name)
                out.extend(value)
            else:
                out.append(value)
        return out

    return fn, out_path



def _boolean(values: list[Any]) -> Any:
    """fhirpathpy's ``Boolean`` parameter: [] when empty, the bool of a singleton, else it
    raises."""
    if not values:
        return values
    if len(values) > 1:
        raise Fail("expected a singleton")
    value = values[0]
    if value is True or value is False:
        return value
    raise Fail("expected a boolean")


def _logic(op: str, left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
        # both operands are always evaluated, as fhirpathpy does (a failure on the right
        # fails the whole expression even when the left decides it)
        a = _boolean(left(focus, this, env))
        b = _boolean(right(focus, this, env))
        a_empty = isinstance(a, list)
        b_empty = isinstance(b, list)
        if op == "and":
            if b_empty:
                return [False] if a is False else []
            if a_empty:
                return [] if b is True else [False]
            return [a and b]
        if op == "or":
            if b_empty:
                return [True] if a is True else []
            if a_empty:
                return [True] if b is True else []
            return [a or b]
        if op == "implies":
            if b_empty:
                return [True] if a is False else []
            if a_empty:
                return [True] if b is True else []
            return [True] if a is False else [a and b]
        if op == "xor":
            if a_empty or b_empty:
                return []
            return [(a and not b) or (not a and b)]
        raise _Unsupported(op)

    if op not in ("and", "or", "implies", "xor"):
        raise _Unsupported(op)
    return fn


def _plain(value: Any) -> bool:
    """Values that fhirpathpy compares exactly as Python does."""
    return isinstance(value, (str, bool, int)) and not isinstance(value, Decimal)


def _equality(negate: bool, left: Fn, right: Fn) -> Fn:
    def fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
        a = left(focus, this, env)
        b = right(focus, this, env)
        if not a or not b:
            return []
        if len(a) != len(b):
            return [negate]
        x, y = a[0], b[0]
        if not (_plain(x) and _plain(y)):
            raise Bail("typed equality")
        return [(x == y) != negate]

    return fn


def _membership(item: Fn, collection: Fn) -> Fn:
    """``item in collection`` (``collection contains item``), as fhirpathpy: Python equality
    of the values."""
    def fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
        a = item(focus, this, env)
        b = collection(focus, this, env)
        if not a:
            return []
        if not b:
            return [False]
        if len(a) > 1:
            raise Fail("membership of a collection")
        return [a[0] in b]

    return fn


_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _inequality(op: str, left: Fn, right: Fn) -> Fn:
    compare = _COMPARE.get(op)
    if compare is None:
        raise _Unsupported(op)

    def fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
        a = left(focus, this, env)
        b = right(focus, this, env)
        if not a or not b:
            return []
        if len(a) != 1 or len(b) != 1:
            raise Bail("collection comparison")
        x, y = a[0], b[0]
        both_str = isinstance(x, str) and isinstance(y, str)
        both_int = type(x) is int and type(y) is int
        if not (both_str or both_int):
            raise Bail("typed comparison")
        return [compare(x, y)]

    return fn


def _function(name: str, params: list[dict[str, Any]], fpath: Path, tpath: Path) -> Compiled:
    if name in _FUNCTIONS_NO_ARG and not params:
        return _NO_ARG[name], (fpath if name in ("first", "last") else None)
    if name == "exists" and len(params) == 1:
        criteria, _ = _expr(params[0], fpath, fpath)

        def exists_where(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            return [bool(_where(criteria, focus, env))]

        return exists_where, None
    if name == "where" and len(params) == 1:
        criteria, _ = _expr(params[0], fpath, fpath)
        return (lambda focus, this, env: _where(criteria, focus, env)), fpath
    if name == "all" and len(params) == 1:
        criteria, _ = _expr(params[0], fpath, fpath)

        def all_fn(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            for item in focus:
                one = [item]
                r = criteria(one, one, env)
                if not (len(r) == 1 and r[0] == True):  # noqa: E712 - fhirpathpy's is_true
                    return [False]
            return [True]

        return all_fn, None
    if name in ("subsetOf", "intersect") and len(params) == 1:
        other, _ = _expr(params[0], tpath, tpath)
        if name == "subsetOf":
            def subset_of(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
                b = other(this, this, env)
                return [all(item in b for item in focus)]

            return subset_of, None

        def intersect(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            b = other(this, this, env)
            out: list[Any] = []
            for item in focus:
                if item in b and item not in out:
                    out.append(item)
            return out

        return intersect, fpath
    if name == "select" and len(params) == 1:
        projection, out_path = _expr(params[0], fpath, fpath)

        def select(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            out: list[Any] = []
            for item in focus:
                one = [item]
                out.extend(projection(one, one, env))
            return out

        return select, out_path
    if name == "resolve" and not params:
        def resolve(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            if focus and env["resolve"](focus):
                raise Bail("a reference that resolves")  # fhirpathpy's typed resource nodes
            return []

        return resolve, None
    if name == "ofType" and len(params) == 1:
        def of_type(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            if focus:
                raise Bail("ofType")  # type tests need fhirpathpy's type model
            return []

        return of_type, None
    if name == "iif" and len(params) in (2, 3):
        cond, ok, *rest = (_expr(p, fpath, fpath)[0] for p in params)
        fail = rest[0] if rest else None

        def iif(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            c = cond(focus, focus, env)
            if len(c) == 1 and c[0] == True:  # noqa: E712 - fhirpathpy's is_true
                return ok(focus, focus, env)
            return fail(focus, focus, env) if fail is not None else []

        return iif, None
    if name == "trace" and len(params) == 1 and _literal_string(params[0]) is not None:
        return (lambda focus, this, env: focus), fpath  # the validator's traceFn is a no-op
    if name in ("matches", "startsWith", "contains") and len(params) == 1:
        arg = params[0]
        literal = _literal_string(arg)
        if literal is None:
            raise _Unsupported(name)
        if name == "matches":
            if not literal:
                return (lambda focus, this, env: []), None
            rx = re.compile(literal, re.DOTALL)

            def matches(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
                if not focus:
                    return []
                return [rx.search(_string_singleton(focus)) is not None]

            return matches, None

        if name == "contains":
            def contains(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
                if not focus:
                    return []
                return [literal in _string_singleton(focus)]

            return contains, None

        def starts_with(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
            if not focus:
                return []
            text = _string_singleton(focus)
            return [bool(text) and text.startswith(literal)]

        return starts_with, None
    raise _Unsupported(name)


def _literal_string(node: dict[str, Any]) -> str | None:
    while node["type"] in ("TermExpression", "LiteralTerm") and len(_children(node)) == 1:
        node = _children(node)[0]
    if node["type"] != "StringLiteral":
        return None
    return str(string_literal(None, None, node)[0])


def _string_singleton(focus: list[Any]) -> str:
    if len(focus) == 1 and isinstance(focus[0], str):
        return str(focus[0])
    raise Fail("expected a string")


def _where(criteria: Fn, focus: list[Any], env: Env) -> list[Any]:
    out = []
    for item in focus:
        one = [item]
        r = criteria(one, one, env)
        if r:
            keep = r[0]
            if keep is not True and keep is not False:
                raise Bail("non-boolean criteria")
            if keep:
                out.append(item)
    return out


def _exists(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    return [bool(focus)]


def _empty(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    return [not focus]


def _not(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    if len(focus) != 1:
        return []
    value = focus[0]
    if value is True or value is False:
        return [not value]
    return [False]  # fhirpathpy: a non-boolean singleton is true


def _count(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    return [len(focus)]


def _has_value(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    return [len(focus) == 1 and not isinstance(focus[0], (dict, list)) and focus[0] is not None]


def _first(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    return focus[:1]


def _last(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    return focus[-1:]


def _is_distinct(focus: list[Any], this: list[Any], env: Env) -> list[Any]:
    if all(isinstance(x, str) for x in focus):
        return [len(set(focus)) == len(focus)]
    return [len(uniq(focus)) == len(focus)]  # fhirpathpy's distinct(): by JSON text


_NO_ARG: dict[str, Fn] = {"exists": _exists, "empty": _empty, "not": _not, "count": _count,
                          "hasValue": _has_value, "first": _first, "last": _last,
                          "isDistinct": _is_distinct}
