"""Source paths of the maps: ``a.b.c`` relative to the current item, ``$.a.b`` from the
document root, ``@`` the current item. Values that are ``""``, ``[]`` or ``{}`` are absent."""

from __future__ import annotations

from typing import Any


def join(path: str, name: str) -> str:
    return f"{path}.{name}"


def absent(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def split(path: str) -> tuple[bool, list[str]]:
    """(from the root?, parts)."""
    if path == "@":
        return False, []
    if path == "$":
        return True, []
    if path.startswith("$."):
        return True, path[2:].split(".")
    return False, path.split(".")


def get(root: Any, root_path: str, cur: Any, cur_path: str, path: str) -> tuple[Any, str]:
    """The value at ``path`` and its JSON path (``None`` when absent)."""
    from_root, parts = split(path)
    value, where = (root, root_path) if from_root else (cur, cur_path)
    for part in parts:
        if not isinstance(value, dict):
            return None, join(where, part)
        value, where = value.get(part), join(where, part)
    if absent(value):
        return None, where
    return value, where


def clean(value: Any) -> Any:
    """Drop absent values recursively (the "empty string means absent" rule)."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items()}
        out = {k: v for k, v in out.items() if not absent(v)}
        return out or None
    if isinstance(value, list):
        items = [clean(v) for v in value]
        items = [v for v in items if not absent(v)]
        return items or None
    return None if absent(value) else value
