"""A throwaway PostgreSQL cluster for tests (like pytest-postgresql, without the dependency).

Uses ``CM_FHIR_TEST_POSTGRES_URL`` when set; otherwise starts a private cluster with the
server binaries installed on the machine (``.ci/postgres.sh`` installs them in CI) on a free
port of 127.0.0.1, and stops it afterwards. Skips with a reason when PostgreSQL is absent.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as(user: str | None, args: list[str]) -> subprocess.CompletedProcess[str]:
    if user:
        args = ["runuser", "-u", user, "--", *args]
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)


def postgres_server() -> Iterator[str]:
    url = os.environ.get("CM_FHIR_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install '.[postgres]')")
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries are absent (.ci/postgres.sh installs them)")
    user = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        user = "postgres"
        if subprocess.run(["id", "-u", user], capture_output=True, check=False).returncode:
            pytest.skip("running as root without a 'postgres' user to run PostgreSQL")
    tmp = Path(tempfile.mkdtemp(prefix="cm-fhir-pg-"))
    data = tmp / "data"
    if user:
        shutil.chown(tmp, user)
    init = _run_as(user, [initdb, "-D", str(data), "--auth=trust", "-U", "postgres",
                          "--encoding=UTF8", "--no-sync"])
    if init.returncode != 0:
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    port = _free_port()
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off"
    start = _run_as(user, [pg_ctl, "-D", str(data), "-o", opts, "-l", str(tmp / "log"),
                           "-w", "-t", "60", "start"])
    if start.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[-300:]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        _run_as(user, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """Create an empty database on the server and return its URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def postgres_contexts(make_context: Any, server_url: str, journals: pytest.TempPathFactory,
                      prefix: str) -> Any:
    """A ``make_context`` (tests/conftest.py) whose contexts each get a fresh database on the
    PostgreSQL server, named ``<prefix>_<n>``, and an audit journal folder of their own (a
    PostgreSQL deployment names it, CM_FHIR_AUDIT_JOURNAL: it is not beside a file)."""
    counter = itertools.count()

    def make(url: str | None = None, **overrides: Any) -> Any:
        db = fresh_database(server_url, f"{prefix}_{next(counter)}")
        overrides.setdefault("audit_journal", str(journals.mktemp("journal")))
        return make_context(url or db, **overrides)

    return make
