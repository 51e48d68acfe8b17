"""Fixtures of the mapping tests: the case-file service bound to a fresh store (frozen clock
and ids from tests/conftest.py, provenance on, a fixed id secret so that imported ids and the
goldens are deterministic), the example case files (a copy of ../shared/casefile/examples
kept in mappings/examples/, checked identical to the shared ones when those are present)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fhir_service.mapping.service import CasefileService
from fhir_service.router import Router

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "mappings" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = ("diego-intervention-precoce", "nadia-coordination-dac")
# the id secret of the mapping tests (a server makes its own: forward.id_secret)
TEST_ID_SECRET = hashlib.sha256(b"cm-fhir mapping tests: id secret").digest()


def keys_with_test_secret(folder: Path, secret: bytes = TEST_ID_SECRET) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / "id-secret").write_bytes(secret)
    return folder


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8")))


@pytest.fixture
def ctx(make_context: Callable[..., Any], tmp_path: Path) -> Any:
    """A store with Provenance on (the importer's provenance goes to the server as the
    transaction's X-Provenance) and the test id secret in its keys directory."""
    return make_context(keys_dir=keys_with_test_secret(tmp_path / "keys"), provenance=True)


@pytest.fixture
def router(ctx: Any) -> Router:
    from fhir_service.cli import install_conformance

    class _App:  # install_conformance takes an application with .state.ctx/.state.router
        class state:
            pass

    r = Router(ctx)
    from fhir_service.operations import install_all

    install_all(r)
    _App.state.ctx = ctx
    _App.state.router = r
    install_conformance(_App)
    return r


@pytest.fixture
def service(ctx: Any, router: Router) -> CasefileService:
    return CasefileService.for_context(ctx, router.dispatch)
