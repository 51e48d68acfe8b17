"""General rules of the specification the validator applies to every resource type, each on
an instance that keeps it and one that breaks it (found missing on official cases outside
../shared: bench/validator_heldout.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import build_registry
from fhir_service.conformance.validator import Validator


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(build_registry(core_package_dir()))


def _issues(validator: Validator, resource: dict[str, Any], severity: str = "error"
            ) -> list[tuple[str, str]]:
    parsed = fhir.loads(json.dumps(resource))
    return [(i.diagnostics, ",".join(i.expression)) for i in validator.validate(parsed)
            if i.severity == severity or (severity == "error" and i.severity == "fatal")]


PATIENT: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "active": True}


def test_an_extension_url_is_absolute_except_inside_a_complex_extension(
        validator: Validator) -> None:
    ok = copy.deepcopy(PATIENT)
    ok["extension"] = [{"url": "http://example.org/fhir/StructureDefinition/nick",
                        "extension": [{"url": "part", "valueString": "x"}]}]
    assert _issues(validator, ok) == []
    bad = copy.deepcopy(PATIENT)
    bad["extension"] = [{"url": "nickname", "valueString": "x"}]
    assert ("Extension.url must be an absolute URL ('nickname')",
            "Patient.extension[0].url") in _issues(validator, bad)


@pytest.mark.parametrize(("url", "severity"), [
    ("http://example.org/fhir/StructureDefinition/x", "warning"),
    ("https://fhir.acme.com/StructureDefinition/x", "warning"),
    ("https://example.com/StructureDefinition/x", "error"),
    ("https://fhir.example.fr/StructureDefinition/x", "error"),
])
def test_unknown_extensions_pass_only_in_the_example_domains(validator: Validator, url: str,
                                                             severity: str) -> None:
    p = copy.deepcopy(PATIENT)
    p["extension"] = [{"url": url, "valueString": "x"}]
    assert any(f"The extension {url} is not known here" in m
               for m, _ in _issues(validator, p, severity))


def _bundle(full_url: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": full_url, "resource": copy.deepcopy(PATIENT)}]}


@pytest.mark.parametrize(("full_url", "wrong"), [
    ("http://server.example.fr/fhir/Patient/p1", False),
    ("http://server.example.fr/fhir/Patient/p1/_history/2", True),  # bdl-8: no version
    ("http://server.example.fr/fhir/Patient/p2", True),  # RESTful, another id
    ("http://server.example.fr/fhir/Practitioner/p1", True),  # RESTful, another type
    ("http://server.example.fr/fhir/Patiemt/p1", False),  # not a type: not RESTful
    ("http://server.example.fr/anything", False),
])
def test_a_restful_full_url_names_the_resource(validator: Validator, full_url: str,
                                               wrong: bool) -> None:
    found = [m for m, _ in _issues(validator, _bundle(full_url)) if "fullUrl" in m]
    assert bool(found) == wrong, found


def test_a_contained_resource_may_be_referenced_from_the_narrative(
        validator: Validator) -> None:
    doc: dict[str, Any] = {
        "resourceType": "Patient", "id": "p1",
        "contained": [{"resourceType": "Binary", "id": "photo", "contentType": "image/png"}],
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                 '<img src="#photo" alt="photo"/></div>'},
    }
    assert not [m for m, _ in _issues(validator, doc) if "dom-3" in m]
    doc["text"]["div"] = '<div xmlns="http://www.w3.org/1999/xhtml"><p>no link</p></div>'
    assert [m for m, _ in _issues(validator, doc) if "dom-3" in m]


def test_a_narrative_without_content_is_an_error(validator: Validator) -> None:
    p = copy.deepcopy(PATIENT)
    p["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                 "  </div>"}
    assert any("txt-2" in m for m, _ in _issues(validator, p))
    p["text"]["div"] = '<div xmlns="http://www.w3.org/1999/xhtml">Nadia</div>'
    assert not any("txt-2" in m for m, _ in _issues(validator, p))


def test_canonical_references_are_absolute_or_fragments(validator: Validator) -> None:
    plan: dict[str, Any] = {"resourceType": "CarePlan", "id": "c1", "status": "active",
                            "intent": "plan", "subject": {"reference": "Patient/p1"},
                            "instantiatesCanonical": ["http://example.org/PlanDefinition/x"]}
    assert not [m for m, _ in _issues(validator, plan) if "Canonical" in m]
    plan["instantiatesCanonical"] = ["PlanDefinition/x"]
    assert ("Canonical URLs must be absolute URLs if they are not fragment references "
            "(PlanDefinition/x)", "CarePlan.instantiatesCanonical[0]") in _issues(validator, plan)


def test_an_attachment_states_the_size_of_its_data(validator: Validator) -> None:
    doc: dict[str, Any] = {"resourceType": "DocumentReference", "id": "d1", "status": "current",
                           "content": [{"attachment": {"contentType": "text/plain",
                                                       "data": "Ym9uam91cg==", "size": 7}}]}
    assert not [m for m, _ in _issues(validator, doc) if "Size" in m]  # "bonjour": 7 bytes
    doc["content"][0]["attachment"]["size"] = 100
    assert ("Stated Attachment Size 100 does not match actual attachment size 7",
            "DocumentReference.content[0].attachment.size") in _issues(validator, doc)


def test_a_link_relation_occurs_once(validator: Validator) -> None:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": 0,
                              "link": [{"relation": "self", "url": "http://s.example.fr/a"},
                                       {"relation": "next", "url": "http://s.example.fr/b"}]}
    assert _issues(validator, bundle) == []
    bundle["link"].append({"relation": "self", "url": "http://s.example.fr/c"})
    assert ("The link relationship type 'self' can only occur once",
            "Bundle.link[2]") in _issues(validator, bundle)
