"""``cm-fhir serve --workers 2`` and two ``serve`` processes on one SQLite database: the same
scenario as the PostgreSQL one (tests/test_parallel_ingest.py): 4 clients posting
transactions at once, a resource updated by every transaction, every request audited
through one journal directory. Nothing lost, no id given twice, one version per update, every
created resource named by an AuditEvent. SQLite writes one transaction at a time across the
processes (``BEGIN IMMEDIATE`` and its busy timeout); reads and searches use both cores
(bench/README.md, "workers on SQLite")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_parallel_ingest import run_parallel_ingest


@pytest.mark.parametrize("deployment", ["workers", "two-ports"])
def test_parallel_ingest_on_sqlite_loses_nothing(tmp_path: Path, deployment: str) -> None:
    run_parallel_ingest(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path, deployment)
