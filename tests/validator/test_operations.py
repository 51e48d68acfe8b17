"""$validate, validation on write and the terminology operations, through the HTTP API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.validator.mutations import EXAMPLES

H = {"Content-Type": "application/fhir+json"}
CP = "https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-care-plan"


def careplan() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "CarePlan-diego-careplan.json").read_text())
    return data


def test_validate_type_level_valid_and_invalid(client: Any) -> None:
    r = client.post("/fhir/CarePlan/$validate", json=careplan(), headers=H)
    assert r.status_code == 200
    assert r.json()["issue"][-1]["diagnostics"] == "All OK"
    bad = {**careplan(), "title": None}
    del bad["title"]
    r = client.post("/fhir/CarePlan/$validate", json=bad, headers=H)
    assert r.status_code == 200
    errors = [i for i in r.json()["issue"] if i["severity"] == "error"]
    assert errors[0]["expression"] == ["CarePlan"] and "title" in errors[0]["diagnostics"]


def test_validate_parameters_profile_and_modes(client: Any) -> None:
    plain = {k: v for k, v in careplan().items() if k != "meta"}
    plain.pop("title")
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": plain}, {"name": "profile", "valueUri": CP}]}
    r = client.post("/fhir/CarePlan/$validate", json=params, headers=H)
    assert r.status_code == 200
    assert any(i["severity"] == "error" for i in r.json()["issue"])
    # without the profile the same resource is valid R4
    r = client.post("/fhir/CarePlan/$validate", json=plain, headers=H)
    assert not any(i["severity"] == "error" for i in r.json()["issue"])
    # update and delete only at instance level
    params["parameter"].append({"name": "mode", "valueCode": "update"})
    assert client.post("/fhir/CarePlan/$validate", json=params, headers=H).status_code == 400
    r = client.post("/fhir/CarePlan/x1/$validate", json={"resourceType": "Parameters",
                    "parameter": [{"name": "mode", "valueCode": "delete"}]}, headers=H)
    assert r.status_code == 200 and r.json()["issue"][0]["code"] == "not-found"
    # unusable requests
    assert client.post("/fhir/CarePlan/$validate", content=b"", headers=H).status_code == 400
    assert client.post("/fhir/CarePlan/$validate", json={"resourceType": "Patient"},
                       headers=H).status_code == 400


def test_unknown_profile_parameter_is_an_error_issue(client: Any) -> None:
    r = client.post("/fhir/CarePlan/$validate?profile=http://example.org/nope", json=careplan(),
                    headers=H)
    assert r.status_code == 200
    assert r.json()["issue"][0]["code"] == "not-found"


def test_write_rejects_a_claimed_profile_violation(client: Any) -> None:
    bad = careplan()
    bad["id"] = "bad-plan"
    del bad["title"]
    r = client.put("/fhir/CarePlan/bad-plan", json=bad, headers=H)
    assert r.status_code == 400, r.text
    assert "title" in r.text
    # an unknown claimed profile only warns: the write goes through
    ok = {"resourceType": "Patient", "id": "p1",
          "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]}}
    assert client.put("/fhir/Patient/p1", json=ok, headers=H).status_code == 201


def test_setting_requires_our_profiles(make_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    plain = {"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active",
             "description": {"text": "x"}, "subject": {"reference": "Patient/p"}}
    ctx = make_context(referential_integrity=False, require_profiles=True)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        r = c.put("/fhir/Goal/g1", json=plain, headers=H)
        assert r.status_code == 400
        assert "cm-goal" in r.text
    monkeypatch.setenv("CM_FHIR_REQUIRE_PROFILES", "1")  # the environment sets it too
    from fhir_service.settings import Settings

    assert Settings.from_env().require_profiles is True
    ctx = make_context(referential_integrity=False)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        assert c.put("/fhir/Goal/g1", json=plain, headers=H).status_code == 201


def test_capability_statement_declares_validate(client: Any) -> None:
    ops = json.dumps(client.get("/fhir/metadata").json())
    assert "OperationDefinition/Resource-validate" in ops


def test_expand(client: Any) -> None:
    url = "https://interop.cm-sante-mentale.fr/fhir/ValueSet/cm-care-pillar"
    r = client.get("/fhir/ValueSet/$expand", params={"url": url})
    assert r.status_code == 200, r.text
    exp = r.json()["expansion"]
    assert exp["total"] == len(exp["contains"]) >= 4
    r = client.get("/fhir/ValueSet/$expand",
                   params={"url": "http://hl7.org/fhir/ValueSet/request-status", "count": "2"})
    assert r.json()["expansion"]["total"] == 7 and len(r.json()["expansion"]["contains"]) == 2
    # a value set over SNOMED CT cannot be expanded here
    r = client.get("/fhir/ValueSet/$expand",
                   params={"url": "http://hl7.org/fhir/ValueSet/clinical-findings"})
    assert r.status_code == 422


def test_validate_code_and_lookup(client: Any) -> None:
    vs = "http://hl7.org/fhir/ValueSet/request-status"
    r = client.get("/fhir/ValueSet/$validate-code", params={
        "url": vs, "system": "http://hl7.org/fhir/request-status", "code": "active"})
    assert r.json()["parameter"][0] == {"name": "result", "valueBoolean": True}
    r = client.post("/fhir/ValueSet/$validate-code", json={"resourceType": "Parameters",
                    "parameter": [{"name": "url", "valueUri": vs},
                                  {"name": "coding", "valueCoding": {"code": "nope"}}]},
                    headers=H)
    assert r.json()["parameter"][0] == {"name": "result", "valueBoolean": False}
    r = client.get("/fhir/CodeSystem/$lookup", params={
        "system": "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-care-pillar",
        "code": "soutien"})
    assert r.status_code == 200, r.text
    names = [p["name"] for p in r.json()["parameter"]]
    assert "display" in names and "name" in names
    r = client.get("/fhir/CodeSystem/$lookup", params={
        "system": "http://hl7.org/fhir/request-status", "code": "nope"})
    assert r.status_code == 404


def test_validate_issues_carry_line_and_column(client: Any) -> None:
    from fhir_service.conformance.validator.positions import COL, LINE

    bad = careplan()
    bad["status"] = "not-a-status"
    text = json.dumps(bad, indent=2)
    where = text.index('\n  "status"') + 3  # the top-level one (not text.status)
    line = text.count("\n", 0, where) + 1
    col = where - (text.rfind("\n", 0, where) + 1) + 1

    def position(issue: dict[str, Any]) -> tuple[int, int]:
        ext = {e["url"]: e["valueInteger"] for e in issue.get("extension", [])}
        return ext[LINE], ext[COL]

    r = client.post("/fhir/CarePlan/$validate", content=text.encode(), headers=H)
    errors = [i for i in r.json()["issue"] if i["severity"] == "error"]
    status = next(i for i in errors if i["expression"] == ["CarePlan.status"])
    assert position(status) == (line, col)
    # inside a Parameters, positions are those of the body
    params = json.dumps({"resourceType": "Parameters",
                         "parameter": [{"name": "resource", "resource": bad}]}, indent=1)
    where = params.index('\n    "status"') + 5
    r = client.post("/fhir/CarePlan/$validate", content=params.encode(), headers=H)
    status = next(i for i in r.json()["issue"] if i.get("expression") == ["CarePlan.status"])
    assert position(status) == (params.count("\n", 0, where) + 1,
                                where - (params.rfind("\n", 0, where) + 1) + 1)
