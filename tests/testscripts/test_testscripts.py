"""The official R4 TestScript examples, run over HTTP against a real uvicorn server.

Each script gets a fresh database and its own server on a free port of 127.0.0.1. Every
assertion the runner evaluates must pass; the ones it cannot evaluate are reported as skipped
with the reason, and the ones known to fail because the script is wrong are listed in
``KNOWN_FAILURES`` with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import build_registry
from fhir_service.conformance.validator import Validator
from tests.conftest import require_testdata
from tests.testscripts.conftest import RESULTS
from tests.testscripts.runner import KNOWN, SKIP, WARNING, PackageFixtures, TestScriptRunner

try:
    SCRIPTS_DIR = require_testdata("r4-testscripts")
except pytest.skip.Exception as absent:  # no shared test data: skip the whole module
    pytest.skip(str(absent), allow_module_level=True)

SCRIPTS = sorted(p.name for p in SCRIPTS_DIR.glob("TestScript-*.json"))

# Scripts left out as a whole: the runner reports each of their assertions as skipped.
LEFT_OUT = {
    "testscript-example-multisystem": (
        "multi-system script: one origin (a FHIR client under test) and two destination "
        "servers; the test engine has to proxy and observe the client's requests, which a "
        "runner that is itself the client of one server cannot do"),
}

# Assertions expected to fail because the script, not the server, is wrong (still evaluated;
# an unexpected pass fails the test).
KNOWN_FAILURES = {
    "testscript-example-readtest": {
        "test[R004].action[1]": (
            "R004 expects 400 for the id 'ID-may-not-contain-CAPITALS', but R4 ids are "
            "[A-Za-z0-9\\-\\.]{1,64}, capitals allowed: the id is well formed and absent, so "
            "404 is right"),
    },
}

# What a tester supplies: values for the variables that only carry a hint, and resources the
# script expects to exist already.
TESTER_VARIABLES = {
    "testscript-example-search": {"PatientSearchFamilyName": "Chalmers",
                                  "PatientSearchGivenName": "Peter"},
}
PRELOAD = {
    # R001 reads ${KnownPatientResourceId} = "example", which the script never creates.
    "testscript-example-readtest": ["Patient/example"],
}


@pytest.fixture(scope="module")
def profile_errors() -> object:
    """validateProfileId: the project's validator (R4 core; a TestScript names core profiles)."""
    validator = Validator(build_registry(core_package_dir(), []))

    def errors(resource: dict, url: str) -> list[str]:
        return [f"{', '.join(i.expression)}: {i.diagnostics}"
                for i in validator.validate(resource, [url])
                if i.severity in ("error", "fatal")]

    return errors


@pytest.mark.parametrize("name", SCRIPTS)
def test_testscript(name: str, fhir_base: str, tmp_path: Path, profile_errors: object) -> None:
    package = core_package_dir()
    if not (package / "Patient-example.json").exists():
        pytest.skip(f"{package} lacks the R4 examples: run `make install`")
    script = json.loads((SCRIPTS_DIR / name).read_text(encoding="utf-8"))
    sid = script["id"]
    fixtures = PackageFixtures(package)

    with requests.Session() as session:
        for ref in PRELOAD.get(sid, []):
            resource = fixtures(ref)
            r = session.put(f"{fhir_base}/{ref}", json=resource,
                            headers={"Content-Type": "application/fhir+json"}, timeout=30)
            assert r.status_code in (200, 201), r.text
        runner = TestScriptRunner(fhir_base, fixtures, variables=TESTER_VARIABLES.get(sid),
                                  known_failures=KNOWN_FAILURES.get(sid), session=session,
                                  validator=profile_errors)
        result = runner.run(script)

    print(result.report())
    left = [a for a in result.assertions if a.outcome in (SKIP, KNOWN, WARNING)]
    for a in left:
        print(f"left out: {sid} {a.key}: {a.outcome}: {a.message}")
    RESULTS.append(result)
    assert result.ok, result.report()
    if sid in LEFT_OUT:
        assert result.assertions and all(a.outcome == SKIP for a in result.assertions)
        pytest.skip(f"{sid}: {LEFT_OUT[sid]}")
    # Every script of the example set has assertions the runner evaluates.
    assert any(a.outcome == "pass" for a in result.assertions), result.report()

