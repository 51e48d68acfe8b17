"""Schema migrations (Alembic, ``store/migrations/versions``).

At start-up :func:`ensure_schema` looks at the database:

* empty: the current schema is created and stamped with the newest revision;
* at the newest revision: nothing to do;
* at an older revision, or made by a release before migrations (tables but no
  ``alembic_version``: the baseline, ``0001``): upgraded, when upgrades are automatic (the
  embedded SQLite default); otherwise the server refuses to start and says to run
  ``cm-fhir db upgrade`` (PostgreSQL: an operator decides when the schema changes);
* at a revision this release does not know (a newer release wrote it): refused, clearly.

Concurrent starts (``--workers``, the audit indexing process) take a lock first: a file
lock beside a SQLite database, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from fhir_service.store.schema import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"


class SchemaError(RuntimeError):
    """The database's schema is not one this release can run on as it is."""


def _config(connection: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


def current(engine: Engine) -> str | None:
    """The database's revision: None when empty, ``BASELINE`` for a store made before
    migrations existed."""
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" in tables:
            value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.rollback()
            return str(value) if value is not None else None
        return BASELINE if "resources" in tables else None


@contextlib.contextmanager
def _locked(engine: Engine) -> Iterator[None]:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        path = url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            yield
            return
        with open(f"{path}.migrate.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    key = zlib.crc32(b"cm-fhir schema") - (1 << 31)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision: (from, to)."""
    with _locked(engine):
        return _upgrade(engine)


def _upgrade(engine: Engine) -> tuple[str | None, str]:
    before = current(engine)
    target = head()
    if before is not None and before not in known_revisions():
        raise SchemaError(f"The database's schema is at revision '{before}', which this "
                          f"release of cm-fhir does not know (its newest is '{target}'): it "
                          "was written by a newer release. Run that release, or restore a "
                          "backup made for this one.")
    with engine.begin() as conn:
        if before is None:
            metadata.create_all(conn)
            command.stamp(_config(conn), target)
        else:
            if not inspect(conn).has_table("alembic_version"):
                command.stamp(_config(conn), BASELINE)
            command.upgrade(_config(conn), target)
    return before, target


def ensure_schema(engine: Engine, auto_upgrade: bool) -> None:
    """See module docstring."""
    target = head()
    with _locked(engine):
        revision = current(engine)
        if revision == target:
            return
        if revision is None or auto_upgrade or revision not in known_revisions():
            _upgrade(engine)
            return
    raise SchemaError(f"The database's schema is at revision '{revision}'; this release "
                      f"needs '{target}'. Back the database up, then run `cm-fhir db upgrade "
                      "--database URL` (the server does not change a PostgreSQL schema by "
                      "itself).")
