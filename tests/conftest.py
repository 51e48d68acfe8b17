"""Shared fixtures: definitions are loaded once per session; each test gets a fresh database.

Also the suite's markers and options (see CONTRIBUTING.md):

* ``jvm`` (tests/oracle, the HL7-validator mutation check), ``postgres`` (the PostgreSQL
  copies of the suites) and ``slow`` (fuzzers, long property runs) are set here by file, so
  ``make test-fast`` deselects them with ``-m``. JVM-backed tests run only in CI (``CI`` set)
  or when asked (``CM_FHIR_JVM_TESTS=1``); otherwise they skip with that reason.
* ``--update-goldens`` (or ``CM_FHIR_UPDATE_GOLDENS=1``): the only way a test writes a golden
  file or report (fixture ``golden``). In a normal run a missing or different golden fails.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import difflib
import json
import os
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


# -- markers by file --------------------------------------------------------------------------

# paths relative to tests/: a folder ("oracle/") marks everything under it, a file every test
# in it, "file::name" the tests of that file whose name starts with name
MARKED: dict[str, tuple[str, ...]] = {
    "jvm": ("oracle/", "validator/test_oracle_mutations.py"),
    "postgres": ("test_postgres.py", "security/test_postgres_security.py"),
    # fuzzers and long property / differential runs (CI and `make test` run them)
    "slow": ("security/test_openapi_fuzz.py::test_schemathesis_",
             "security/test_hostile.py::test_fuzz_",
             "security/test_access_matrix.py::test_access_matrix",
             "security/test_door_property.py::test_every_answer_follows_the_rule",
             "validator/test_model_differential.py",
             "mapping/test_casefile_properties.py::test_generated_case_files_",
             "test_native_paths.py::test_native_paths_match_fhirpathpy",
             "validator/test_native_invariants.py::test_native_invariants_agree_with_fhirpathpy"),
}
JVM_REASON = ("JVM-backed (HL7 validator / HAPI FHIR): runs in CI (CI set) or when asked "
              "with CM_FHIR_JVM_TESTS=1")


def _jvm_tests_wanted() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("CM_FHIR_JVM_TESTS") == "1"


def _uses_postgres(item: pytest.Item) -> bool:
    if "pg_server" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)  # parametrized over the database: the PG copy
    return callspec is not None and any(v in ("postgres", "postgresql")
                                        for v in callspec.params.values() if isinstance(v, str))


def _matches(rel: str, name: str, pattern: str) -> bool:
    path, _, prefix = pattern.partition("::")
    if path.endswith("/"):
        return rel.startswith(path)
    return rel == path and name.startswith(prefix)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).resolve().parent
    jvm_skip = None if _jvm_tests_wanted() else pytest.mark.skip(reason=JVM_REASON)
    for item in items:
        try:
            rel = item.path.resolve().relative_to(tests_dir).as_posix()
        except ValueError:
            continue
        for marker, patterns in MARKED.items():
            if any(_matches(rel, item.name, p) for p in patterns):
                item.add_marker(marker)
        if _uses_postgres(item):
            item.add_marker("postgres")
        if "hapi_base_url" in getattr(item, "fixturenames", ()):  # tests/hapi.py: a HAPI JVM
            item.add_marker("jvm")
        if "golden" in getattr(item, "fixturenames", ()):
            item.add_marker("golden")
        if jvm_skip is not None and item.get_closest_marker("jvm"):
            item.add_marker(jvm_skip)


# -- goldens ------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite the golden files and reports the tests compare with "
                          "(same as CM_FHIR_UPDATE_GOLDENS=1); review the diff before committing")


def _updating_goldens(config: pytest.Config) -> bool:
    return bool(config.getoption("--update-goldens")) or \
        os.environ.get("CM_FHIR_UPDATE_GOLDENS") == "1"


def pytest_configure(config: pytest.Config) -> None:
    if _updating_goldens(config) and os.environ.get("CI"):
        raise pytest.UsageError("goldens are never regenerated in CI (CI is set): unset "
                                "CM_FHIR_UPDATE_GOLDENS / drop --update-goldens")


def pytest_report_header(config: pytest.Config) -> str | None:
    if _updating_goldens(config):
        return "goldens: UPDATING (tests rewrite golden files and reports that differ)"
    return None


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


GOLDEN_HOW = ("regenerate with `make update-goldens` (or pytest --update-goldens, or "
              "CM_FHIR_UPDATE_GOLDENS=1) and review the diff before committing")


def check_golden(path: Path, produced: str, as_json: bool = False, update: bool = False) -> None:
    """``produced`` (text) must match the committed file at ``path``, compared as text or
    (``as_json``) as parsed JSON values. A missing or different golden fails with the diff;
    only ``update`` writes it."""
    current = path.read_text(encoding="utf-8") if path.exists() else None
    old, new = current, produced
    if as_json and current is not None:
        # the same formatting on both sides: equality and the diff ignore layout (a golden
        # that is not JSON any more is compared as text)
        with contextlib.suppress(ValueError):
            old, new = (json.dumps(json.loads(t), indent=2, ensure_ascii=False,
                                   sort_keys=True) + "\n" for t in (current, produced))
    if old == new:
        return
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(produced, encoding="utf-8")
        return
    if old is None:
        pytest.fail(f"golden file {_relative(path)} is missing: {GOLDEN_HOW}", pytrace=False)
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        new.splitlines(keepends=True),
                                        f"{_relative(path)} (committed)", "produced"))
    pytest.fail(f"{_relative(path)} differs from what the test produced: {GOLDEN_HOW}\n{diff}",
                pytrace=False)


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``golden(path, produced, as_json=False)``: :func:`check_golden`, writing the file only
    under ``--update-goldens`` / ``CM_FHIR_UPDATE_GOLDENS=1``. Tests using it are marked
    ``golden`` (what ``make update-goldens`` runs)."""
    update = _updating_goldens(request.config)

    def check(path: Path, produced: str, as_json: bool = False) -> None:
        check_golden(path, produced, as_json=as_json, update=update)

    return check


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for the module's tests (tests/pg.py: a private cluster, or
    CM_FHIR_TEST_POSTGRES_URL); skips with the reason when PostgreSQL is absent."""
    from tests.pg import postgres_server

    yield from postgres_server()


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
        settings = base_context.settings.replace(
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
