"""Fixtures for the HL7 validator oracle: one validator JVM for the whole test session.

The oracle is set up by ``tools/hl7-validator/setup.sh`` (Maven + npm, cached under .cache/).
When it is not set up yet and java, javac and mvn are present, the ``hl7`` fixture runs the
set-up itself (a cold set-up downloads ~300 MB; set CM_FHIR_ORACLE_NO_SETUP=1 to skip instead).
Tests skip with the reason when Java/Maven or the set-up are missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oracle.hl7_validator import PROJECT_ROOT, HL7Validator, ensure_setup

TESTDATA = (PROJECT_ROOT / ".." / "shared" / "testdata").resolve()


@pytest.fixture(scope="session")
def hl7() -> Iterator[HL7Validator]:
    ok, reason = ensure_setup()
    if not ok:
        pytest.skip(f"HL7 validator oracle unavailable: {reason}")
    validator = HL7Validator()
    validator.start()
    try:
        yield validator
    finally:
        validator.close()


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.exists():
        pytest.skip(f"{TESTDATA} is absent: the shared third-party test data sits beside the project")
    return TESTDATA
