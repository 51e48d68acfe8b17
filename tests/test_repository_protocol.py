"""The repository protocol is the contract every storage implementation keeps: the SQL
implementation must offer each protocol method with the same parameters."""

from __future__ import annotations

import inspect

from fhir_service.store import repository
from fhir_service.store.sqlstore import SqlRepository, SqlSession


def _methods(protocol: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in vars(protocol).items()
            if callable(fn) and not name.startswith("_")}


def test_sql_session_and_repository_keep_the_protocol() -> None:
    for protocol, impl in ((repository.Session, SqlSession),
                           (repository.Repository, SqlRepository)):
        methods = _methods(protocol)
        assert methods
        for name, expected in methods.items():
            actual = inspect.signature(getattr(impl, name))
            assert list(actual.parameters) == list(expected.parameters), (impl.__name__, name)
