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
    with pytest.raises(FhirError):
        XmlReader(core).loads('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                              '<Patient xmlns="http://hl7.org/fhir"/>')


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


def test_ranges_numbers_dates_and_ucum() -> None:
    from datetime import UTC, datetime

    from fhir_service.conformance.validator.ranges import compare_bound, ucum_factor

    assert compare_bound(101, "Decimal", 100, True) == 1
    assert compare_bound("2024-12-31", "Date", "2025-01-01", False) == -1
    assert compare_bound("2025", "Date", "2025-01-01", False) is None  # open on precision
    assert compare_bound("02:00:00", "Time", "01:00:00", False) == 1
    g = {"value": 11000, "system": "http://unitsofmeasure.org", "code": "g"}
    kg0 = {"value": 0, "system": "http://unitsofmeasure.org", "code": "kg"}
    assert compare_bound(g, "Quantity", kg0, True) == 1
    assert compare_bound({**g, "value": 0}, "Quantity", kg0, False) == 0
    assert compare_bound({**g, "code": "mL"}, "Quantity", kg0, True) is None  # other dimension
    assert ucum_factor("min") is not None and ucum_factor("[lb_av]") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    years = {"value": 100, "system": "http://unitsofmeasure.org", "code": "a"}
    assert compare_bound("1850-01-01", "Duration", years, False, now) == -1
    assert compare_bound("1990-01-01", "Duration", years, False, now) == 1


def test_coding_system_and_canonical_urls(core: Registry) -> None:
    supplement = {"resourceType": "CodeSystem", "url": "http://example.org/cs/sup",
                  "status": "draft", "content": "supplement", "supplements": "http://loinc.org"}
    v = _with(core, supplement)

    def obs(system: str) -> dict[str, Any]:
        return {"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": system, "code": "x"}]}}

    # a local-reference system: an error on a Coding element, a warning in a CodeableConcept
    issues = v.validate(obs("Location1"))
    assert _errors(issues) == [] and any("absolute" in i.diagnostics for i in issues)
    bare = {"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "meta": {"tag": [{"system": "Location1", "code": "x"}]}}
    assert any("absolute" in e for e in _errors(v.validate(bare)))
    assert any("value set" in e for e in _errors(
        v.validate(obs("http://hl7.org/fhir/ValueSet/measure-type"))))
    assert any("supplement" in e for e in _errors(v.validate(obs("http://example.org/cs/sup"))))
    assert _errors(v.validate(obs("http://example.org/cs/other"))) == []
    vs = {"resourceType": "ValueSet", "status": "active", "url": "ValueSet/x"}
    assert any("absolute" in e for e in _errors(v.validate(vs)))
    vs["url"] = "urn:uuid:6A2EE390-978e-42c6-8f88-c17dff3bd8a1"
    assert any("UUIDs" in e for e in _errors(v.validate(vs)))
    vs["url"] = "urn:uuid:6a2ee390-978e-42c6-8f88-c17dff3bd8a1"
    assert _errors(v.validate(vs)) == []


def test_slices_that_leave_a_discriminator_open_and_content_references(core: Registry) -> None:
    profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/params",
        "name": "P", "status": "draft", "kind": "resource", "abstract": False,
        "type": "Parameters", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Parameters",
        "differential": {"element": [
            {"id": "Parameters.parameter.name", "path": "Parameters.parameter.name",
             "patternString": "outer"},
            {"id": "Parameters.parameter.part", "path": "Parameters.parameter.part",
             "slicing": {"discriminator": [{"type": "value", "path": "name"},
                                           {"type": "value", "path": "valueString"}],
                         "rules": "open"}},
            {"id": "Parameters.parameter.part:a", "path": "Parameters.parameter.part",
             "sliceName": "a", "min": 1, "max": "1"},
            {"id": "Parameters.parameter.part:a.name", "path": "Parameters.parameter.part.name",
             "patternString": "inner"},
        ]},
    }
    v = _with(core, profile)
    url = ["http://example.org/sd/params"]
    ok = {"resourceType": "Parameters", "parameter": [
        {"name": "outer", "part": [{"name": "inner", "valueString": "x"},
                                  {"name": "other", "valueString": "y"}]}]}
    assert _errors(v.validate(ok, url)) == []
    missing = {"resourceType": "Parameters", "parameter": [
        {"name": "outer", "part": [{"name": "other", "valueString": "y"}]}]}
    assert any("part:a" in e for e in _errors(v.validate(missing, url)))


def test_structure_definition_differential_against_its_base(core: Registry) -> None:
    base_ext = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/ext-base",
        "name": "ExtBase", "status": "draft", "kind": "complex-type", "abstract": False,
        "type": "Extension", "derivation": "constraint",
        "context": [{"type": "element", "expression": "Patient"}],
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "differential": {"element": [
            {"id": "Extension.url", "path": "Extension.url",
             "fixedUri": "http://example.org/sd/ext-base"},
            {"id": "Extension.value[x]", "path": "Extension.value[x]",
             "type": [{"code": "string"}]}]},
    }
    v = _with(core, base_ext)
    derived = copy.deepcopy(base_ext)
    derived.update(url="http://example.org/sd/ext-derived", name="ExtDerived",
                   baseDefinition="http://example.org/sd/ext-base")
    derived["differential"]["element"] = [{"id": "Extension.url", "path": "Extension.url",
                                           "fixedUri": "http://example.org/sd/ext-derived"}]
    assert _errors(v.validate(base_ext)) == []
    assert any("fixed" in e for e in _errors(v.validate(derived)))
    obs = {"resourceType": "StructureDefinition", "url": "http://example.org/sd/obs",
           "name": "Obs", "status": "draft", "kind": "resource", "abstract": False,
           "type": "Observation", "derivation": "constraint",
           "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
           "differential": {"element": [
               {"id": "Observation.valueQuantity", "path": "Observation.valueQuantity"},
               {"id": "Observation.component", "path": "Observation.component",
                "slicing": {"discriminator": [{"type": "pattern", "path": "code"}],
                            "rules": "open"}}]}}
    assert _errors(v.validate(obs)) == []
    bad = copy.deepcopy(obs)
    bad["differential"]["element"][0]["path"] = "Observation.valueBla"
    bad["differential"]["element"][1]["slicing"]["discriminator"][0]["path"] = "type"
    errors = _errors(v.validate(bad))
    assert any("valueBla" in e for e in errors)
    assert any("discriminator path 'type'" in e for e in errors)


def test_search_parameter_and_capability_statement_rules(core: Registry) -> None:
    v = Validator(core)
    sp = {"resourceType": "SearchParameter", "url": "http://example.org/sp/name",
          "name": "N", "status": "active", "description": "d", "code": "name",
          "base": ["Organization"], "type": "string",
          "expression": "Organization.name",
          "derivedFrom": "http://hl7.org/fhir/SearchParameter/Organization-name"}
    assert _errors(v.validate(sp)) == []
    assert any("different" in e for e in _errors(v.validate({**sp, "type": "token"})))
    assert any("not listed as a base" in e
               for e in _errors(v.validate({**sp, "base": ["Patient"],
                                            "expression": "Patient.name"})))
    cs = {"resourceType": "CapabilityStatement", "status": "draft", "date": "2020",
          "description": "d",
          "kind": "requirements", "fhirVersion": "4.0.1", "format": ["json"],
          "rest": [{"mode": "server", "resource": [{"type": "AllergyIntolerance",
                    "searchParam": [{"name": "clinical-status", "type": "token",
                                     "definition": "http://hl7.org/fhir/SearchParameter/"
                                                   "AllergyIntolerance-clinical-status"}]}]}]}
    assert _errors(v.validate(cs)) == []
    cs["rest"][0]["resource"][0]["searchParam"][0]["type"] = "date"
    assert any("Type mismatch" in e for e in _errors(v.validate(cs)))


def test_concept_map_and_value_set_filter_rules(core: Registry) -> None:
    cs = {"resourceType": "CodeSystem", "url": "http://example.org/cs/a", "status": "draft",
          "content": "complete", "property": [{"code": "rel", "type": "Coding"}],
          "concept": [{"code": "x"}, {"code": "y"}]}
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/a", "status": "draft",
          "compose": {"include": [{"system": "http://example.org/cs/a",
                                   "concept": [{"code": "y"}]}]}}
    v = _with(core, cs, vs)
    cm = {"resourceType": "ConceptMap", "status": "draft",
          "sourceCanonical": "http://example.org/vs/a",
          "group": [{"source": "http://example.org/cs/a", "target": "http://example.org/t",
                     "element": [{"code": "y", "target": [{"code": "1",
                                                           "equivalence": "equal"}]}]}]}
    assert _errors(v.validate(cm)) == []
    cm["group"][0]["element"][0]["code"] = "x"
    assert any("not valid in the value set" in e for e in _errors(v.validate(cm)))
    fvs = {"resourceType": "ValueSet", "url": "http://example.org/vs/f", "status": "draft",
           "compose": {"include": [{"system": "http://example.org/cs/a", "filter": [
               {"property": "rel", "op": "=", "value": "http://example.org/cs/a#y"}]}]}}
    assert _errors(v.validate(fvs)) == []
    fvs["compose"]["include"][0]["filter"][0]["value"] = "http://example.org/cs/a#nope"
    assert any("not a valid code" in e for e in _errors(v.validate(fvs)))
    fvs["compose"]["include"][0]["filter"][0] = {"property": "concept", "op": "is-a",
                                                 "value": "nope"}
    assert any("valid code" in e for e in _errors(v.validate(fvs)))


@pytest.mark.parametrize("text", [
    "< 404684003 |Clinical finding|", "<< 73211009 OR << 46635009", "*",
    "< 19829001 : 116676008 |Associated morphology| = << 79654002 |Edema|",
    "^ 700043003", "< 404684003 : { 363698007 = << 39057004, 116676008 = << 415582006 }",
    "(< 19829001 AND < 301867009) MINUS << 233604007", "< 27658006 : [1..3] 127489000 = *",
    "< 373873005 : 1142135004 >= #250", "< 125605004 . 363698007",
    "<< 195967001 : R 246075003 = 387517004", "descendantOrSelfOf 404684003",
])
def test_ecl_reads_valid_expression_constraints(text: str) -> None:
    from fhir_service.conformance.validator.ecl import syntax_error

    assert syntax_error(text) is None


@pytest.mark.parametrize("text", ["234234 << 234234", "<< ", "404684003 AND", "< abc",
                                  "(< 404684003", "< 404684003 : 363698007"])
def test_ecl_rejects_what_is_not_ecl(text: str) -> None:
    from fhir_service.conformance.validator.ecl import syntax_error

    assert syntax_error(text) is not None


def test_search_result_bundles(core: Registry) -> None:
    v = Validator(core)
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "link": [{"relation": "self", "url": "http://x/fhir/Observation?code=1"}],
              "entry": [{"fullUrl": "http://x/fhir/Observation/1",
                         "resource": {"resourceType": "Observation", "id": "1",
                                      "status": "final", "code": {"text": "t"}},
                         "search": {"mode": "match"}},
                        {"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
                         "resource": {"resourceType": "OperationOutcome", "issue": [
                             {"severity": "warning", "code": "processing"}]},
                         "search": {"mode": "outcome"}}]}
    assert _errors(v.validate(bundle)) == []
    bad = copy.deepcopy(bundle)
    bad["entry"][0]["resource"].pop("id")
    bad["entry"][0]["fullUrl"] = "urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"
    bad["entry"][1]["search"]["mode"] = "match"
    errors = _errors(v.validate(bad))
    assert any("must have ids" in e for e in errors)
    assert any("not a matching resource type" in e for e in errors)


def test_snomed_and_standard_property_filters(core: Registry) -> None:
    v = Validator(core)
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/s", "status": "draft",
          "compose": {"include": [
              {"system": "http://snomed.info/sct",
               "filter": [{"property": "concept", "op": "is-a", "value": "404684003"},
                          {"property": "constraint", "op": "=", "value": "<< 404684003"}]},
              {"system": "http://terminology.hl7.org/CodeSystem/ex-tooth",
               "filter": [{"property": "notSelectable", "op": "=", "value": "true"}]}]}}
    assert _errors(v.validate(vs)) == []
    inc = vs["compose"]["include"]
    inc[0]["filter"][0]["value"] = "something"
    inc[0]["filter"][1]["value"] = "234234 << 234234"
    inc[1]["filter"][0]["value"] = "1"
    errors = _errors(v.validate(vs))
    assert len([e for e in errors if "filter" in e]) == 3, errors


def test_type_slice_of_a_choice_does_not_restrict_its_other_types(core: Registry) -> None:
    profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/eff",
        "name": "Eff", "status": "draft", "kind": "resource", "abstract": False,
        "type": "Observation", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
        "differential": {"element": [
            {"id": "Observation.effective[x]", "path": "Observation.effective[x]", "min": 1,
             "slicing": {"discriminator": [{"type": "type", "path": "$this"}],
                         "rules": "open"},
             "type": [{"code": "dateTime"}, {"code": "Period"}]},
            {"id": "Observation.effective[x]:effectivePeriod",
             "path": "Observation.effective[x]", "sliceName": "effectivePeriod",
             "type": [{"code": "Period"}]}]},
    }
    v = _with(core, profile)
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "t"},
           "effectiveDateTime": "2024-01-01"}
    url = ["http://example.org/sd/eff"]
    assert _errors(v.validate(obs, url)) == []
    obs.pop("effectiveDateTime")
    obs["effectiveInstant"] = "2024-01-01T00:00:00Z"
    assert _errors(v.validate(obs, url))


def test_reference_types_resolved_and_literal(core: Registry) -> None:
    goal = {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "d"},
            "subject": {"reference": "Substance/x"}}
    strict, lenient = Validator(core), Validator(core, unresolved_reference_types="warning")
    assert any("not a valid target" in e for e in _errors(strict.validate(goal)))
    issues = lenient.validate(goal)
    assert _errors(issues) == [] and any("not a valid target" in i.diagnostics for i in issues)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://a.org/fhir/Goal/g", "resource": {**goal, "id": "g"}},
        {"fullUrl": "http://a.org/fhir/Substance/x",
         "resource": {"resourceType": "Substance", "id": "x", "code": {"text": "s"}}}]}
    assert any("not a valid target" in e for e in _errors(lenient.validate(bundle)))
    contained = {**goal, "subject": {"reference": "#s"},
                 "contained": [{"resourceType": "Substance", "id": "s", "code": {"text": "s"}}]}
    assert any("not a valid target" in e for e in _errors(lenient.validate(contained)))


def test_positions_of_expressions_in_json_text() -> None:
    from fhir_service.conformance.validator.positions import json_positions, locate

    text = ('{\n  "resourceType": "Patient",\n  "name": [ {"given": ["A", "B\\\\"]},\n'
            '    {"family": "F"} ],\n  "birthDate": "bad"\n}')
    p = json_positions(text)
    assert locate("Patient.birthDate", p) == (5, 3)
    assert locate("Patient.name[1].family", p) == (4, 6)
    assert locate("Patient.name[0].given[1]", p) == (3, 29)
    assert locate("Patient.identifier", p) == (1, 1)  # absent: its parent, the resource
    assert locate("Patient.name[0].given[1].extension", p) == (3, 29)


def test_display_of_a_local_code_system(core: Registry) -> None:
    v = Validator(core)

    def obs(display: str) -> dict[str, Any]:
        return {"resourceType": "Observation", "status": "final", "code": {"text": "t"},
                "interpretation": [{"coding": [{
                    "system": "http://hl7.org/fhir/administrative-gender", "code": "male",
                    "display": display}]}]}

    assert _errors(v.validate(obs("Male"))) == []
    assert _errors(v.validate(obs("  male "))) == []  # case and spacing aside
    assert any("Wrong Display Name" in e for e in _errors(v.validate(obs("Female"))))


def test_targets_at_hand_conform_to_target_profiles(core: Registry) -> None:
    patient_profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/pat",
        "name": "Pat", "status": "draft", "kind": "resource", "abstract": False,
        "type": "Patient", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
        "differential": {"element": [{"id": "Patient.identifier", "path": "Patient.identifier",
                                      "min": 1}]}}
    goal_profile = {
        "resourceType": "StructureDefinition", "url": "http://example.org/sd/goal",
        "name": "G", "status": "draft", "kind": "resource", "abstract": False,
        "type": "Goal", "derivation": "constraint",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Goal",
        "differential": {"element": [{"id": "Goal.subject", "path": "Goal.subject", "type": [
            {"code": "Reference", "targetProfile": ["http://example.org/sd/pat"]}]}]}}
    v = _with(core, patient_profile, goal_profile)
    goal = {"resourceType": "Goal", "id": "g", "lifecycleStatus": "active",
            "description": {"text": "d"}, "subject": {"reference": "Patient/p"},
            "meta": {"profile": ["http://example.org/sd/goal"]}}
    patient = {"resourceType": "Patient", "id": "p", "identifier": [{"value": "1"}]}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://a.org/fhir/Goal/g", "resource": goal},
        {"fullUrl": "http://a.org/fhir/Patient/p", "resource": patient}]}
    assert _errors(v.validate(bundle)) == []
    del patient["identifier"]
    assert any("profile match" in e for e in _errors(v.validate(bundle)))
    assert _errors(v.validate(goal)) == []  # not at hand: not checked


def test_wrong_display_is_a_warning_on_write(core: Registry) -> None:
    from fhir_service.operations.validate import validator_for

    patient = {"resourceType": "Patient", "maritalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M",
        "display": "M"}]}}
    strict = validator_for(core)
    lenient = validator_for(core, unknown_extensions="warning")
    assert any("Wrong Display" in e for e in _errors(strict.validate(patient)))
    issues = lenient.validate(patient)
    assert _errors(issues) == [] and any("Wrong Display" in i.diagnostics for i in issues)


def test_integer_range_and_nulls_in_primitive_arrays(core: Registry) -> None:
    v = Validator(core)
    assert _errors(v.validate({"resourceType": "Patient", "multipleBirthInteger": 2**31 - 1})) == []
    assert not any("32-bit" in e for e in _errors(
        v.validate({"resourceType": "Patient", "multipleBirthInteger": -5})))
    assert any("32-bit" in e for e in _errors(
        v.validate({"resourceType": "Patient", "multipleBirthInteger": 2**31})))
    assert any("null" in e for e in _errors(
        v.validate({"resourceType": "Patient", "name": [{"given": ["a", None]}]})))
    ok = {"resourceType": "Patient", "name": [{"given": ["a", None], "_given": [None, {
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                       "valueCode": "unknown"}]}]}]}
    assert _errors(v.validate(ok)) == []


def test_measure_report_stratifiers_follow_the_measure(core: Registry) -> None:
    code = {"coding": [{"system": "http://example.org/cs", "code": "age"}]}
    measure = {"resourceType": "Measure", "url": "http://example.org/Measure/m",
               "status": "active", "group": [{"id": "g", "stratifier": [{"code": code}]}]}
    v = _with(core, measure)
    mr = {"resourceType": "MeasureReport", "status": "complete", "type": "summary",
          "measure": "http://example.org/Measure/m", "period": {"start": "2024"},
          "group": [{"id": "g", "stratifier": [{"code": [code]}]}]}
    assert _errors(v.validate(mr)) == []
    del mr["group"][0]["stratifier"][0]["code"]
    errors = _errors(v.validate(mr))
    assert any("matches the group stratifier" in e for e in errors)
    assert any("does not include a stratifier" in e for e in errors)


def test_large_decimals_are_not_integers(core: Registry) -> None:
    v = Validator(core)
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "t"},
           "valueQuantity": {"value": 1000000000000000000}}
    assert _errors(v.validate(obs)) == []


def test_ranges_never_fail_on_odd_values() -> None:
    from decimal import Decimal

    from fhir_service.conformance.validator.ranges import compare_bound

    assert compare_bound(Decimal("NaN"), "Decimal", 1, True) is None
    assert compare_bound("2024-02-30T10:00:00Z", "DateTime", "2024-01-01T00:00:00Z",
                         False) is None
    assert compare_bound("2024-01-01", "Duration", {"value": 10**30, "code": "a"}, False) is None
