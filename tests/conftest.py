"""Shared fixtures: definitions are loaded once per session; each test gets a fresh database."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_service.context import Clock, FhirContext, build_context
from fhir_service.settings import Settings
from fhir_service.store.sqlstore import SqlRepository

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TESTDATA = SHARED / "testdata"


def require_testdata(sub: str = "") -> Path:
    path = TESTDATA / sub if sub else TESTDATA
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared third-party test data sits beside the "
                    "project in the team's checkout and in CI")
    return path


@pytest.fixture(scope="session")
def base_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirContext]:
    db = tmp_path_factory.mktemp("base") / "base.db"
    # the core suite runs without authentication, audit and provenance; the security tests
    # switch them on explicitly
    ctx = build_context(Settings(database_url=f"sqlite:///{db}", demo=False, auth="off",
                                 audit=False, provenance=False,
                                 audit_indexer="thread"))  # (process: its own tests)
    yield ctx
    ctx.close()


class FrozenClock(Clock):
    """Starts at a fixed instant and steps 1 ms per call: deterministic timestamps."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.t = start
        super().__init__(self._tick)

    def _tick(self) -> float:
        self.t += 0.001
        return self.t


@pytest.fixture
def make_context(base_context: FhirContext, tmp_path: Path) -> Iterator[Callable[..., FhirContext]]:
    made: list[FhirContext] = []

    def make(url: str | None = None, **overrides: Any) -> FhirContext:
        settings = dataclasses.replace(
            base_context.settings,
            database_url=url or f"sqlite:///{tmp_path / f'db{len(made)}.db'}",
            **overrides,
        )
        counter = iter(range(1, 10**9))
        checker = copy.copy(base_context.checker)  # shares the definition caches
        checker.max_depth = settings.max_json_depth
        checker.max_string_length = settings.max_string_length
        ctx = dataclasses.replace(
            base_context,
            settings=settings,
            checker=checker,
            repository=SqlRepository(settings.database_url),
            clock=FrozenClock(),
            new_id=lambda: f"id{next(counter)}",
            operations={},
        )
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def ctx(make_context: Callable[..., FhirContext]) -> FhirContext:
    return make_context()


@pytest.fixture
def client(ctx: FhirContext) -> Any:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    app = create_app(ctx.settings, ctx)
    with TestClient(app, base_url="http://test") as c:
        yield c
