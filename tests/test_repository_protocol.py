"""The repository protocol is the contract every storage implementation keeps: the SQL and
the in-memory implementations must offer each protocol method with the same parameters
(mypy checks the types: store/memory.py ``_keep_the_protocol``; the behaviours are
tests/store/test_repository_contract.py)."""

from __future__ import annotations

import inspect

import pytest

from fhir_service.store import repository
from fhir_service.store.memory import MemoryRepository, MemorySession
from fhir_service.store.sqlstore import SqlRepository, SqlSession


def _methods(protocol: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in vars(protocol).items()
            if callable(fn) and not name.startswith("_")}


@pytest.mark.parametrize("session, repo", [(SqlSession, SqlRepository),
                                           (MemorySession, MemoryRepository)])
def test_implementations_keep_the_protocol(session: type, repo: type) -> None:
    for protocol, impl in ((repository.Session, session), (repository.Repository, repo)):
        methods = _methods(protocol)
        assert methods
        for name, expected in methods.items():
            actual = inspect.signature(getattr(impl, name))
            assert list(actual.parameters) == list(expected.parameters), (impl.__name__, name)


def test_the_protocol_lists_what_the_door_uses() -> None:
    """Every session method the door (security/door.py) passes through or reads with is in
    the protocol; what only the SQL store has (the audit probe's ``conn``) is reached through
    ``CallerSession.sql``, which says so on another store."""
    import ast
    from pathlib import Path

    import fhir_service.security.door as door

    tree = ast.parse(Path(door.__file__).read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute) and node.value.attr == "raw"
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"}
    used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
             and isinstance(node.value, ast.Attribute) and node.value.attr == "repository"}
    assert {"get", "search", "write", "read_visible", "version_visible"} <= used
    listed = set(_methods(repository.Session)) | set(_methods(repository.Repository))
    assert used - listed == set()
    sql_only = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute) and node.value.attr == "sql"}
    assert sql_only == {"conn", "_conditions"}
