from __future__ import annotations

from pathlib import Path

import pytest

from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import build_registry
from fhir_service.conformance.validator import Validator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def validator() -> Validator:
    if not (ROOT / "profiles" / "package-manifest.json").exists():
        pytest.skip("profiles/ (the IG) is absent")
    return Validator(build_registry(core_package_dir(), [ROOT / "profiles"]))
