"""The same contract suite against PostgreSQL: the HTTP tests of CRUD, search and bundles
run here unchanged with a PostgreSQL-backed context (module-level ``ctx`` override)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from fhir_service.context import FhirContext
from tests.pg import fresh_database
from tests.test_bundles import *
from tests.test_rest_crud import *
from tests.test_search import *

_counter = itertools.count()



@pytest.fixture
def make_context(make_context: Callable[..., FhirContext], pg_server: str) -> Any:
    def make(url: str | None = None, **overrides: Any) -> FhirContext:
        db = fresh_database(pg_server, f"cmfhir_test_{next(_counter)}")
        return make_context(url or db, **overrides)

    return make


@pytest.fixture
def ctx(make_context: Callable[..., FhirContext]) -> FhirContext:
    return make_context()


def test_the_contract_suite_really_runs_on_postgresql(ctx: FhirContext) -> None:
    assert ctx.repository.engine.dialect.name == "postgresql"
