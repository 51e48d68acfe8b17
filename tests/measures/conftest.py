"""Shared by the indicator tests: a store loaded with generated resources (SQLite, or a fresh
PostgreSQL database of the module's server), and the CSV of ``cm-fhir indicators`` against
a real server holding them."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.operations import install_all
from fhir_service.request import FhirRequest
from fhir_service.router import Router


def transaction(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle that PUTs every resource at its id."""
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in items]}


def load(router: Router, items: list[dict[str, Any]]) -> None:
    """Writes ``items`` as the server itself (not an access: nothing is audited)."""
    resp = router.dispatch(FhirRequest("POST", [], body=fhir.dumps(transaction(items)),
                                       headers={"content-type": "application/fhir+json"},
                                       base_url="http://test/fhir"))
    assert resp.status == 200


def loaded_router(request: pytest.FixtureRequest, make_context: Any,
                  items: list[dict[str, Any]]) -> Router:
    """A router over a fresh store holding ``items``: SQLite, or PostgreSQL when the fixture
    is parametrised so (the same SQL)."""
    url = None
    if request.param == "postgres":
        from tests.pg import fresh_database

        url = fresh_database(request.getfixturevalue("pg_server"),
                             f"cmfhir_measures_{time.time_ns()}")
    ctx = make_context(url, audit=False, provenance=False)
    if url is not None:
        assert ctx.repository.engine.dialect.name == "postgresql"
    router = Router(ctx)
    install_all(router)
    load(router, items)
    return router


@contextmanager
def serving(make_context: Any, items: list[dict[str, Any]]) -> Iterator[str]:
    """A real server (127.0.0.1, authentication off) holding ``items``: its FHIR base URL."""
    import requests

    from fhir_service.app import create_app
    from tests.testscripts.conftest import BackgroundServer

    ctx = make_context(auth="off", audit=False, provenance=False)
    server = BackgroundServer(create_app(ctx.settings, ctx))
    server.start()
    try:
        resp = requests.post(f"{server.url}/fhir", data=fhir.dumps(transaction(items)),
                             timeout=60, headers={"Content-Type": "application/fhir+json"})
        assert resp.status_code == 200, resp.text[:500]
        yield f"{server.url}/fhir"
    finally:
        server.stop()


def indicators_csv(url: str, out: Path, *args: str) -> list[dict[str, str]]:
    """The rows ``cm-fhir indicators ARGS --url URL`` writes."""
    from typer.testing import CliRunner

    from fhir_service.cli import app

    result = CliRunner().invoke(app, ["indicators", *args, "--url", url, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
