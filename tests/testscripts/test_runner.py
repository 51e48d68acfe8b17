"""The runner itself: every supported construct, and that failures, warnings and unsupported
constructs are reported as such, never passed silently. Run over HTTP against the server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.testscripts.runner import (
    FAIL,
    KNOWN,
    PASS,
    SKIP,
    WARNING,
    ScriptResult,
    TestScriptRunner,
    Unsupported,
    subset_mismatches,
    xpath_to_fhirpath,
)

SYSTEM = "https://ids.hopital.example/ipp"  # (an INS would name one person only)


def op(code: str, **kw: Any) -> dict[str, Any]:
    return {"operation": {"type": {"system": "http://terminology.hl7.org/CodeSystem/"
                                   "testscript-operation-codes", "code": code}, **kw}}


def check(**kw: Any) -> dict[str, Any]:
    return {"assert": {"warningOnly": False, **kw}}


def no_fixtures(reference: str) -> dict[str, Any]:
    raise AssertionError(f"unexpected fixture {reference}")


def run(base: str, script: dict[str, Any], **kw: Any) -> ScriptResult:
    script = {"resourceType": "TestScript", "id": "self-test", "status": "draft", **script}
    return TestScriptRunner(base, no_fixtures, **kw).run(script)


PATIENT = {"resourceType": "Patient", "id": "p", "identifier": [{"system": SYSTEM,
                                                               "value": "1 234"}],
           "name": [{"family": "Durand", "given": ["Léa"]}], "birthDate": "1990-05-01"}


def outcomes(result: ScriptResult) -> dict[str, str]:
    return {a.key: a.outcome for a in result.assertions}


def test_supported_constructs_pass(fhir_base: str) -> None:
    script = {
        "contained": [PATIENT],
        "fixture": [{"id": "pat", "resource": {"reference": "#p"}}],
        "variable": [
            {"name": "newId", "expression": "Patient.id", "sourceId": "created"},
            {"name": "etag", "headerField": "ETag", "sourceId": "created"},
            {"name": "family", "path": "fhir:Patient/fhir:name/fhir:family/@value",
             "sourceId": "pat"},
            {"name": "total", "expression": "Bundle.total"},
            {"name": "ident", "defaultValue": f"{SYSTEM}|1 234"},
        ],
        "setup": {"action": [
            op("create", resource="Patient", sourceId="pat", contentType="json",
               responseId="created"),
            check(response="created"),
            check(headerField="Location", operator="contains", value="/Patient/${newId}"),
            check(headerField="ETag", operator="equals", value='W/"1"'),
        ]},
        "test": [
            {"id": "read", "action": [
                op("read", resource="Patient", params="/${newId}", accept="json",
                   requestHeader=[{"field": "X-Test", "value": "${family}"}]),
                check(direction="request", headerField="X-Test", value="Durand"),
                check(direction="request", headerField="Accept", operator="contains",
                      value="fhir+json"),
                check(requestMethod="get"),
                check(requestURL="/Patient/${newId}", operator="contains"),
                check(responseCode="200"),
                check(contentType="json"),
                check(resource="Patient"),
                check(expression="Patient.birthDate", value="1990-05-01"),
                check(expression="Patient.name.given", operator="in", value="Jean,Léa"),
                check(expression="Patient.name.family", operator="notEquals", value="Martin"),
                check(expression="Patient.deceased", operator="empty"),
                check(expression="Patient.name", operator="notEmpty"),
                check(expression="Patient.birthDate > @1980-01-01", operator="eval"),
                check(compareToSourceId="pat", compareToSourceExpression="Patient.name.family",
                      expression="Patient.name.family"),
                check(compareToSourceId="pat",
                      compareToSourcePath="fhir:Patient/fhir:birthDate/@value",
                      path="fhir:Patient/fhir:birthDate/@value"),
                check(compareToSourceId="pat", compareToSourceExpression="Patient.id",
                      operator="notEquals"),
                check(minimumId="pat"),
            ]},
            {"id": "versions", "action": [
                op("update", resource="Patient", params="/${newId}", sourceId="pat",
                   responseId="updated"),
                check(response="okay"),
                op("vread", resource="Patient", targetId="created"),
                check(expression="Patient.meta.versionId", value="1"),
                op("history", resource="Patient", targetId="created"),
                check(expression="Bundle.type", value="history"),
                check(expression="Bundle.entry.count()", operator="greaterThan", value="0"),
                check(expression="Bundle.entry.count()", operator="lessThan", value="3"),
            ]},
            {"id": "search", "action": [
                op("search", resource="Patient", params="?identifier=${ident}"),
                check(expression="Bundle.total", value="1"),
                check(navigationLinks=True),
                check(expression="Bundle.total.toString()", value="${total}"),
                op("search", resource="Patient", encodeRequestUrl=False,
                   params="?identifier=" + SYSTEM + "|1%20234"),
                check(requestURL="|1%20234", operator="contains"),
                check(expression="Bundle.total", value="1"),
            ]},
            {"id": "client-id", "action": [
                op("updateCreate", resource="Patient", params="/client-chosen",
                   sourceId="pat"),
                check(responseCode="201,200", operator="in"),
                check(expression="Patient.id", value="client-chosen"),
                op("delete", resource="Patient", params="/client-chosen"),
                check(responseCode="200,204", operator="in"),
                op("read", resource="Patient", params="/client-chosen"),
                check(response="gone"),
            ]},
        ],
        "teardown": {"action": [op("delete", resource="Patient", targetId="created")]},
    }
    result = run(fhir_base, script)
    bad = {k: v for k, v in outcomes(result).items() if v != PASS}
    assert not bad and result.ok, result.report()
    assert len(result.assertions) == 34
    assert any("teardown.action[0]: DELETE" in o and "→ 20" in o for o in result.operations)


def test_failures_warnings_and_unsupported_are_reported(fhir_base: str) -> None:
    script = {
        "contained": [PATIENT],
        "fixture": [{"id": "pat", "resource": {"reference": "#p"}}],
        "profile": [{"id": "prof", "reference": "http://hl7.org/fhir/StructureDefinition/"
                                                 "Patient"}],
        "test": [{"id": "t", "action": [
            op("read", resource="Patient", params="/absent"),                 # 404
            check(response="okay"),                                             # 1 fail
            check(response="okay", warningOnly=True),                           # 2 warning
            check(validateProfileId="prof"),                                    # 3 skip
            check(path="fhir:Patient/fhir:name[1]/fhir:family/@value",
                  value="x"),                                                   # 4 skip
            check(responseCode="404", operator="matches"),                     # 5 skip?
            check(responseCode="404", label="listed"),                          # 6 known passes
            check(responseCode="200", label="known"),                           # 7 known
            check(expression="Patient.name.family", sourceId="pat", value="X"),  # 8 fail
            check(expression="(", sourceId="pat", value="X"),                  # 9 fail
            check(requestURL="x", stopTestOnFail=True),                        # 10 skip
            op("transaction"),                                                  # 11
            check(response="okay"),                                             # 12 skip
            op("read", resource="Patient", params="/${undefined}"),           # 13 error
            check(response="okay"),                                             # 14 fail
        ]}],
    }
    known = {"test[t].action[6]": "said to fail", "test[t].action[7]": "script is wrong"}
    result = run(fhir_base, script, known_failures=known)
    got = outcomes(result)
    assert got == {
        "test[t].action[1]": FAIL, "test[t].action[2]": WARNING, "test[t].action[3]": SKIP,
        "test[t].action[4]": SKIP, "test[t].action[5]": SKIP, "test[t].action[6]": FAIL,
        "test[t].action[7]": KNOWN, "test[t].action[8]": FAIL, "test[t].action[9]": FAIL,
        "test[t].action[10]": SKIP, "test[t].action[12]": SKIP, "test[t].action[14]": FAIL,
    }, result.report()
    assert not result.ok
    assert any("undefined" in e for e in result.errors)
    messages = {a.key: a.message for a in result.assertions}
    assert "validateProfileId" in messages["test[t].action[3]"]
    assert "transaction" in messages["test[t].action[12]"]
    assert "known failure" in messages["test[t].action[6]"]


def test_validate_profile_id_uses_the_given_validator(fhir_base: str) -> None:
    seen: list[tuple[str, str]] = []

    def validator(resource: dict[str, Any], url: str) -> list[str]:
        seen.append((resource["resourceType"], url))
        return [] if url.endswith("/Patient") else ["Patient.identifier: minimum 2"]

    script = {
        "contained": [PATIENT],
        "fixture": [{"id": "pat", "resource": {"reference": "#p"}}],
        "profile": [{"id": "base", "reference": "http://hl7.org/fhir/StructureDefinition/Patient"},
                    {"id": "strict", "reference": "http://example.org/StructureDefinition/two"}],
        "test": [{"id": "t", "action": [
            check(validateProfileId="base", sourceId="pat"),
            check(validateProfileId="strict", sourceId="pat"),
        ]}],
    }
    result = run(fhir_base, script, validator=validator)
    assert outcomes(result) == {"test[t].action[0]": PASS, "test[t].action[1]": FAIL}
    assert seen == [("Patient", "http://hl7.org/fhir/StructureDefinition/Patient"),
                    ("Patient", "http://example.org/StructureDefinition/two")]
    messages = {a.key: a.message for a in result.assertions}
    assert "minimum 2" in messages["test[t].action[1]"]


def test_setup_failure_skips_the_tests(fhir_base: str) -> None:
    script = {"setup": {"action": [op("read", resource="Patient", params="/absent"),
                                   check(response="okay")]},
              "test": [{"id": "t", "action": [op("read", resource="Patient", params="/x"),
                                              check(response="okay")]}]}
    result = run(fhir_base, script)
    assert outcomes(result) == {"setup.action[1]": FAIL, "test[t].action[1]": SKIP}
    assert not result.ok


def test_multisystem_scripts_are_skipped_whole(fhir_base: str) -> None:
    script = {"origin": [{"index": 1, "profile": {"code": "FHIR-Client"}}],
              "destination": [{"index": 1, "profile": {"code": "FHIR-Server"}}],
              "test": [{"id": "t", "action": [
                  op("read", resource="Patient", params="/x", origin=1, destination=1),
                  check(response="okay")]}]}
    result = run(fhir_base, script)
    assert outcomes(result) == {"test[t].action[1]": SKIP}
    assert result.operations == []


def test_xpath_translation_and_subset() -> None:
    assert xpath_to_fhirpath("fhir:Bundle/fhir:type/@value") == "Bundle.type"
    assert xpath_to_fhirpath("Patient/id") == "Patient.id"
    assert xpath_to_fhirpath("Patient.name.where(use='official').family") == \
        "Patient.name.where(use='official').family"
    for bad in ("fhir:Patient/fhir:name[1]", "//fhir:family", "$.name[0]",
                "fhir:Patient/@id"):
        with pytest.raises(Unsupported):
            xpath_to_fhirpath(bad)
    assert subset_mismatches({"a": [{"b": 1}]}, {"a": [{"b": 2}, {"b": 1, "c": 3}]}) == []
    assert subset_mismatches({"a": [{"b": 1}]}, {"a": [{"b": 2}]}) == ["/a[0]: no matching item"]
