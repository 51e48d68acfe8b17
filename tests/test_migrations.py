"""Schema migrations (Alembic): a fresh store, a store of the release before migrations, an
older revision on PostgreSQL (an operator upgrades), a revision from a newer release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from fhir_service.store import migrate
from fhir_service.store.schema import metadata
from fhir_service.store.sqlstore import SqlRepository, make_engine
from tests.pg import fresh_database, postgres_server


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def _legacy_store(engine: Engine) -> None:
    """A store as the release before migrations left it: the baseline tables, no
    alembic_version, one person's resource with two versions."""
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), migrate.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO resources (pk, rtype, rid, version, updated, deleted, "
                          "content) VALUES (1, 'Goal', 'g1', 2, 1.0, false, '{}')"))
        for version in (1, 2):
            conn.execute(text("INSERT INTO history (res_pk, rtype, rid, version, updated, "
                              f"method, content) VALUES (1, 'Goal', 'g1', {version}, 1.0, "
                              "'PUT', '{}')"))
        conn.execute(text("INSERT INTO res_patient (res_pk, patient_id) VALUES (1, 'p1')"))


def test_a_fresh_store_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    repo = SqlRepository(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert migrate.current(repo.engine) == migrate.head()
        assert _differences(repo.engine) == []
    finally:
        repo.close()


def test_the_previous_release_s_store_is_upgraded_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    _legacy_store(engine)
    assert migrate.current(engine) == migrate.BASELINE
    assert "res_owner" not in inspect(engine).get_table_names()
    engine.dispose()
    repo = SqlRepository(url)  # the embedded store upgrades by itself
    try:
        assert migrate.current(repo.engine) == migrate.head()
        assert _differences(repo.engine) == []  # the migrations make what the code declares
        with repo.engine.connect() as conn:  # each version got the resource's people
            rows = conn.execute(text("SELECT count(*) FROM hist_patient WHERE patient_id = "
                                     "'p1'")).scalar()
        assert rows == 2
        with repo.read_session() as session:
            assert session.get("Goal", "g1") is not None
    finally:
        repo.close()


def test_a_revision_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    SqlRepository(url).close()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(migrate.SchemaError, match="does not know"):
        SqlRepository(url)


def test_cli_upgrade_and_current(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fhir_service.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    _legacy_store(engine)
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["db", "current", "--database", url])
    assert result.exit_code == 0 and f"database: {migrate.BASELINE}" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database", url])
    assert result.exit_code == 0, result.output
    assert f"{migrate.BASELINE} → {migrate.head()}" in result.output
    result = runner.invoke(app, ["db", "upgrade", "--database", url])
    assert "nothing to do" in result.output


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    yield from postgres_server()


def test_postgresql_waits_for_an_operator_to_upgrade(pg: str) -> None:
    url = fresh_database(pg, "cmfhir_migrate")
    engine = make_engine(url)
    _legacy_store(engine)
    with pytest.raises(migrate.SchemaError, match="cm-fhir db upgrade"):
        SqlRepository(url)
    assert migrate.upgrade(engine) == (migrate.BASELINE, migrate.head())
    assert _differences(engine) == []
    engine.dispose()
    repo = SqlRepository(url)
    try:
        assert migrate.current(repo.engine) == migrate.head()
    finally:
        repo.close()
