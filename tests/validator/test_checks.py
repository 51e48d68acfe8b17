"""Checks added to agree with the reference validator: each one on a small instance that
breaks it, and on one that does not."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import Registry, build_registry
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator.xmlformat import XmlReader
from fhir_service.outcomes import FhirError


@pytest.fixture(scope="module")
def core() -> Registry:
    return build_registry(core_package_dir())


def _with(core: Registry, *resources: dict[str, Any], **options: Any) -> Validator:
    reg = Registry()
    reg.packages = list(core.packages)
    reg._by_url = dict(core._by_url)
    reg._by_type_id = dict(core._by_type_id)
    reg._sd_by_type = dict(core._sd_by_type)
    for r in resources:
        reg.add_resource(copy.deepcopy(r))
    return Validator(reg, **options)


def _errors(issues: list[Any]) -> list[str]:
    return [f"{i.diagnostics} @ {','.join(i.expression)}" for i in issues
            if i.severity in ("error", "fatal")]


def test_xml_reader_follows_the_type_definitions(core: Registry) -> None:
    xml = """<Patient xmlns="http://hl7.org/fhir"><id value="p1"/>
      <extension url="http://example.org/x"><valueBoolean value="true"/></extension>
      <active value="false"/><name><given value="A"/><given value="B"/></name>
      <birthDate><extension url="http://example.org/y"><valueInteger value="3"/></extension>
      </birthDate><multipleBirthInteger value="2"/>
      <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">hi</div></text>
      <contained><Practitioner><id value="pr"/></Practitioner></contained></Patient>"""
    res = XmlReader(core).loads(xml)
    assert res["id"] == "p1" and res["active"] is False
    assert res["name"] == [{"given": ["A", "B"]}]
    assert res["extension"] == [{"url": "http://example.org/x", "valueBoolean": True}]
    assert "birthDate" not in res
    assert res["_birthDate"]["extension"][0]["valueInteger"] == 3
    assert res["multipleBirthInteger"] == 2
    assert res["contained"] == [{"resourceType": "Practitioner", "id": "pr"}]
    assert res["text"]["div"].startswith("<div") and "xhtml" in res["text"]["div"]
    with pytest.raises(FhirError) as err:
        XmlReader(core).loads('<Patient xmlns="http://hl7.org/fhir"><bogus value="1"/></Patient>')
    assert err.value.issues[0].expression == ("Patient.bogus",)


def test_context_variables_are_typed_resources(core: Registry) -> None:
    profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/ctx",
        "name": "Ctx", "status": "draft", "kind": "resource", "abstract": False,
        "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{
            "id": "Patient.generalPractitioner", "path": "Patient.generalPractitioner",
            "constraint": [{"key": "ctx-1", "severity": "error", "human": "types",
                            "expression": "%resource.type().name = 'Patient' and "
                                          "%rootResource.type().name = 'Patient'"}]}]},
    }
    v = _with(core, profile)
    ok = {"resourceType": "Patient", "generalPractitioner": [{"reference": "Practitioner/1"}]}
    assert _errors(v.validate(ok, ["http://example.org/sd/ctx"])) == []
    profile["differential"]["element"][0]["constraint"][0]["expression"] = (
        "%resource.type().name = 'Practitioner'")
    bad = _with(core, profile)
    assert any("ctx-1" in e for e in _errors(bad.validate(ok, ["http://example.org/sd/ctx"])))


def test_que_12_as_corrected_after_r4(core: Registry) -> None:
    v = Validator(core)
    q = {"resourceType": "Questionnaire", "status": "draft", "item": [
        {"linkId": "a", "type": "boolean"}, {"linkId": "b", "type": "boolean"},
        {"linkId": "c", "type": "boolean", "enableWhen": [
            {"question": "a", "operator": "=", "answerBoolean": True},
            {"question": "b", "operator": "=", "answerBoolean": True}]}]}
    assert any("que-12" in e for e in _errors(v.validate(q)))
    q["item"][2]["enableBehavior"] = "all"
    assert not any("que-12" in e for e in _errors(v.validate(q)))


def test_fixed_complex_value_is_exact(core: Registry) -> None:
    profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/fixed",
        "name": "Fixed", "status": "draft", "kind": "resource", "abstract": False,
        "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{"id": "Patient.telecom", "path": "Patient.telecom",
                                      "fixedContactPoint": {"use": "home"}}]},
    }
    v = _with(core, profile)
    url = ["http://example.org/sd/fixed"]
    exact = {"resourceType": "Patient", "telecom": [{"use": "home"}]}
    more = {"resourceType": "Patient", "telecom": [{"use": "home", "value": "1"}]}
    assert _errors(v.validate(exact, url)) == []
    assert any("Patient.telecom[0]" in e for e in _errors(v.validate(more, url)))


def test_markdown_with_html_and_contained_options(core: Registry) -> None:
    comm = {"resourceType": "Communication", "status": "completed",
            "note": [{"text": "<resource type>\\<id>"}]}
    default = Validator(core)
    issues = default.validate(comm)
    assert _errors(issues) == [] and any("HTML tag" in i.diagnostics for i in issues)
    strict = Validator(core, html_in_markdown="error")
    assert any("HTML tag" in e for e in _errors(strict.validate(comm)))
    comm["note"][0]["text"] = "a < b and c > d"
    assert _errors(strict.validate(comm)) == []
    cond = {"resourceType": "Condition", "subject": {"reference": "Patient/1"},
            "contained": [{"resourceType": "Practitioner", "id": "x" * 65}]}
    assert _errors(default.validate(cond))
    assert _errors(Validator(core, check_contained=False).validate(cond)) == []
