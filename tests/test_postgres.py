"""The same contract suite against PostgreSQL: the HTTP tests of CRUD, search and bundles
run here unchanged with a PostgreSQL-backed context (module-level ``ctx`` override)."""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

import pytest

from fhir_service.context import FhirContext
from tests.pg import fresh_database, postgres_server
from tests.test_bundles import *  # noqa: F403 - re-collected against PostgreSQL
from tests.test_rest_crud import *  # noqa: F403
from tests.test_search import *  # noqa: F403

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    yield from postgres_server()


@pytest.fixture
def make_context(make_context: Callable[..., FhirContext], pg_server: str) -> Any:  # noqa: F811
    def make(url: str | None = None, **overrides: Any) -> FhirContext:
        db = fresh_database(pg_server, f"cmfhir_test_{next(_counter)}")
        return make_context(url or db, **overrides)

    return make


@pytest.fixture
def ctx(make_context: Callable[..., FhirContext]) -> FhirContext:  # noqa: F811
    return make_context()


def test_the_contract_suite_really_runs_on_postgresql(ctx: FhirContext) -> None:
    assert ctx.repository.engine.dialect.name == "postgresql"
