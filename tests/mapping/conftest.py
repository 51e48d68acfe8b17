"""Fixtures of the mapping tests: the case-file service bound to a fresh store (frozen clock
and ids from tests/conftest.py), the example case files (a copy of ../shared/casefile/examples
kept in mappings/examples/, checked identical to the shared ones when those are present)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhir_service.mapping.service import CasefileService
from fhir_service.router import Router

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "mappings" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = ("diego-intervention-precoce", "nadia-coordination-dac")


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8")))


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
