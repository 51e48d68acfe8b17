"""A QuestionnaireResponse against its Questionnaire, and a Questionnaire's enableWhen
(fhir_service/conformance/validator/questionnaire.py): our own cases, one per rule, each with
a response that keeps the rule and one that breaks it at a known place."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import Registry, build_registry
from fhir_service.conformance.validator import Validator

URL = "http://example.org/Questionnaire/intake"
EXT = "http://hl7.org/fhir/StructureDefinition/"
YES = {"system": "http://example.org/yn", "code": "y"}
NO = {"system": "http://example.org/yn", "code": "n"}

QUESTIONNAIRE: dict[str, Any] = {
    "resourceType": "Questionnaire", "id": "intake", "url": URL, "status": "active",
    "item": [
        {"linkId": "name", "type": "string", "required": True, "maxLength": 10,
         "extension": [{"url": EXT + "minLength", "valueInteger": 2}]},
        {"linkId": "age", "type": "integer",
         "extension": [{"url": EXT + "minValue", "valueInteger": 18},
                       {"url": EXT + "maxValue", "valueInteger": 120}]},
        {"linkId": "weight", "type": "decimal",
         "extension": [{"url": EXT + "maxDecimalPlaces", "valueInteger": 1}]},
        {"linkId": "housed", "type": "choice", "answerOption": [{"valueCoding": YES},
                                                                  {"valueCoding": NO}]},
        {"linkId": "where", "type": "string", "required": True,
         "enableWhen": [{"question": "housed", "operator": "=", "answerCoding": YES}]},
        {"linkId": "start", "type": "date",
         "extension": [{"url": EXT + "minValue", "valueDate": "2020-01-01"}]},
        {"linkId": "referrer", "type": "reference",
         "extension": [{"url": EXT + "questionnaire-referenceResource",
                        "valueCode": "Practitioner"}]},
        {"linkId": "letter", "type": "attachment",
         "extension": [{"url": EXT + "mimeType", "valueCode": "application/pdf"},
                       {"url": EXT + "maxSize", "valueDecimal": 1000}]},
        {"linkId": "contacts", "type": "group", "repeats": True, "item": [
            {"linkId": "contact", "type": "string"}]},
        {"linkId": "note", "type": "display", "text": "Thank you"},
    ],
}

GOOD: dict[str, Any] = {
    "resourceType": "QuestionnaireResponse", "id": "r1", "questionnaire": URL,
    "status": "completed",
    "item": [
        {"linkId": "name", "answer": [{"valueString": "Nadia"}]},
        {"linkId": "age", "answer": [{"valueInteger": 34}]},
        {"linkId": "weight", "answer": [{"valueDecimal": 61.5}]},
        {"linkId": "housed", "answer": [{"valueCoding": YES}]},
        {"linkId": "where", "answer": [{"valueString": "Lyon"}]},
        {"linkId": "start", "answer": [{"valueDate": "2024-03-01"}]},
        {"linkId": "referrer", "answer": [{"valueReference": {"reference": "Practitioner/1"}}]},
        {"linkId": "letter", "answer": [{"valueAttachment": {"contentType": "application/pdf",
                                                            "size": 800}}]},
        {"linkId": "contacts", "item": [{"linkId": "contact",
                                         "answer": [{"valueString": "sister"}]}]},
    ],
}


@pytest.fixture(scope="module")
def validator() -> Validator:
    core = build_registry(core_package_dir())
    reg = Registry()
    reg.packages = list(core.packages)
    reg._by_url = dict(core._by_url)
    reg._by_type_id = dict(core._by_type_id)
    reg._sd_by_type = dict(core._sd_by_type)
    reg.add_resource(copy.deepcopy(QUESTIONNAIRE))
    return Validator(reg)


def _errors(validator: Validator, resource: dict[str, Any]) -> list[tuple[str, str]]:
    parsed = fhir.loads(json.dumps(resource))  # as the server reads JSON (decimals exact)
    return [(i.diagnostics, ",".join(i.expression)) for i in validator.validate(parsed)
            if i.severity in ("error", "fatal")]


def _item(qr: dict[str, Any], link: str) -> dict[str, Any]:
    return next(i for i in qr["item"] if i["linkId"] == link)


def test_a_response_that_keeps_every_rule_has_no_error(validator: Validator) -> None:
    assert _errors(validator, GOOD) == []
    assert _errors(validator, QUESTIONNAIRE) == []


def _set(link: str, answers: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    def change(qr: dict[str, Any]) -> None:
        _item(qr, link)["answer"] = answers
    return change


def _drop(link: str) -> Callable[[dict[str, Any]], None]:
    def change(qr: dict[str, Any]) -> None:
        qr["item"] = [i for i in qr["item"] if i["linkId"] != link]
    return change


def _add(item: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(qr: dict[str, Any]) -> None:
        qr["item"].append(item)
    return change


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("unknown linkId", _add({"linkId": "shoe-size", "answer": [{"valueInteger": 40}]}),
     "LinkId 'shoe-size' not found", "QuestionnaireResponse.item[9]"),
    ("required missing", _drop("name"), "required item 'name'", "QuestionnaireResponse"),
    ("wrong answer type", _set("age", [{"valueString": "34"}]),
     "must be of the type integer not string", "QuestionnaireResponse.item[1].answer[0]"),
    ("two answers, no repeats", _set("age", [{"valueInteger": 30}, {"valueInteger": 31}]),
     "Only one answer", "QuestionnaireResponse.item[1].answer[1]"),
    ("not an option", _set("housed", [{"valueCoding": {"system": "http://example.org/yn",
                                                       "code": "maybe"}}]),
     "not in the set of permitted values", "QuestionnaireResponse.item[3].answer[0]"),
    ("answered while disabled", _set("housed", [{"valueCoding": NO}]),
     "not enabled (item id = 'where')", "QuestionnaireResponse.item[4]"),
    ("too long", _set("name", [{"valueString": "Nadia Benali-Martin"}]),
     "longer then the allowed maximum length of 10", "QuestionnaireResponse.item[0].answer[0]"),
    ("too short", _set("name", [{"valueString": "N"}]),
     "shorter then the required minimum length of 2", "QuestionnaireResponse.item[0].answer[0]"),
    ("below minValue", _set("age", [{"valueInteger": 12}]),
     "less than the allowed minimum of 18", "QuestionnaireResponse.item[1].answer[0]"),
    ("above maxValue", _set("age", [{"valueInteger": 130}]),
     "greater than the allowed maximum of 120", "QuestionnaireResponse.item[1].answer[0]"),
    ("date before minValue", _set("start", [{"valueDate": "2019-12"}]),
     "less than the allowed minimum of 2020-01-01", "QuestionnaireResponse.item[5].answer[0]"),
    ("decimal places", _set("weight", [{"valueDecimal": 61.25}]),
     "too many decimal places (limit = 1)", "QuestionnaireResponse.item[2].answer[0]"),
    ("reference type", _set("referrer", [{"valueReference": {"reference": "Patient/9"}}]),
     "resource type Patient in the reference Patient/9 is not allowed",
     "QuestionnaireResponse.item[6].answer[0]"),
    ("mime type", _set("letter", [{"valueAttachment": {"contentType": "image/png"}}]),
     "mime type image/png is not valid", "QuestionnaireResponse.item[7].answer[0]"),
    ("attachment size", _set("letter", [{"valueAttachment": {"contentType": "application/pdf",
                                                             "size": 5000}}]),
     "too large (allowed = 1000, found = 5000)", "QuestionnaireResponse.item[7].answer[0]"),
    ("group with an answer", _set("contacts", [{"valueString": "x"}]),
     "Items of type group cannot have answers", "QuestionnaireResponse.item[8].answer[0]"),
    ("display answered", _add({"linkId": "note", "answer": [{"valueString": "ok"}]}),
     "Items of type display cannot have answers", "QuestionnaireResponse.item[9].answer[0]"),
]


@pytest.mark.parametrize(("why", "change", "message", "where"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_rule_reports_where_it_is_broken(validator: Validator, why: str,
                                               change: Callable[[dict[str, Any]], None],
                                               message: str, where: str) -> None:
    qr = copy.deepcopy(GOOD)
    change(qr)
    errors = _errors(validator, qr)
    assert any(message in text and at == where for text, at in errors), (why, errors)


def test_an_unfinished_response_may_miss_required_answers(validator: Validator) -> None:
    qr = copy.deepcopy(GOOD)
    _drop("name")(qr)
    qr["status"] = "in-progress"
    assert _errors(validator, qr) == []


def test_a_disabled_required_item_need_not_be_answered(validator: Validator) -> None:
    qr = copy.deepcopy(GOOD)
    _set("housed", [{"valueCoding": NO}])(qr)
    _drop("where")(qr)
    assert _errors(validator, qr) == []


def test_an_unknown_questionnaire_is_not_checked(validator: Validator) -> None:
    qr = copy.deepcopy(GOOD)
    qr["questionnaire"] = "http://example.org/Questionnaire/unknown"
    _add({"linkId": "shoe-size", "answer": [{"valueInteger": 40}]})(qr)
    assert _errors(validator, qr) == []


def test_a_contained_questionnaire_is_used(validator: Validator) -> None:
    qr = copy.deepcopy(GOOD)
    contained = copy.deepcopy(QUESTIONNAIRE)
    contained["id"] = "q"
    del contained["url"]
    qr["contained"] = [contained]
    qr["questionnaire"] = "#q"
    assert _errors(validator, qr) == []
    _add({"linkId": "shoe-size", "answer": [{"valueInteger": 40}]})(qr)
    assert [m for m, _ in _errors(validator, qr)] == ["LinkId 'shoe-size' not found in "
                                                       "questionnaire"]


def test_enable_when_must_name_an_outer_question(validator: Validator) -> None:
    q = copy.deepcopy(QUESTIONNAIRE)
    group = q["item"][8]
    group["enableWhen"] = [{"question": "contact", "operator": "exists", "answerBoolean": True}]
    q["item"][1]["enableWhen"] = [{"question": "nothing", "operator": "exists",
                                   "answerBoolean": True}]
    errors = _errors(validator, q)
    assert ("Questions with an enableWhen cannot refer to an inner question for its enableWhen "
            "condition", "Questionnaire.item[8].enableWhen[0].question") in errors
    assert any("'nothing' is not an item" in m and at == "Questionnaire.item[1].enableWhen[0]"
               ".question" for m, at in errors)


def test_contained_resources_ids_follow_the_id_pattern(validator: Validator) -> None:
    qr = copy.deepcopy(GOOD)
    contained = copy.deepcopy(QUESTIONNAIRE)
    contained["id"] = "q_1"  # "_" is not allowed in an id
    del contained["url"]
    qr["contained"] = [contained]
    qr["questionnaire"] = "#q_1"
    assert any("Invalid resource id 'q_1'" in m for m, _ in _errors(validator, qr))
