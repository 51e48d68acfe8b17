"""A QuestionnaireResponse checked against its Questionnaire, and a Questionnaire's own item
rules (https://hl7.org/fhir/R4/questionnaireresponse.html#link,
https://hl7.org/fhir/R4/questionnaire.html#enableWhen).

The response's Questionnaire is found by its canonical URL among the loaded definitions (or
contained, ``#id``); when it is not known, nothing is checked here (the reference validator
only informs). For every item of the response, at every level:

* its ``linkId`` names an item of the Questionnaire at that place;
* answers suit the item's ``type`` (``valueCoding`` for a choice, ``valueString`` or
  ``valueCoding`` for an open choice…); ``group`` and ``display`` items have no answers;
* one answer (and one response item) unless the item ``repeats``;
* an answer to an item with ``answerOption`` is one of the options (open choices may also be
  free text);
* the constraints of the item: ``maxLength``, and the standard extensions ``minLength``,
  ``minValue``/``maxValue``, ``maxDecimalPlaces``, ``mimeType``, ``maxSize``,
  ``questionnaire-referenceResource``;
* an item that is not enabled (``enableWhen``/``enableBehavior``, evaluated on the response's
  answers) has no answer;
* a ``required`` item that is enabled has an answer, once the response is ``completed`` or
  ``amended`` (in progress, an answer may still be missing).

And in a Questionnaire: an ``enableWhen`` names a question that exists and is not inside the
item itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

Report = Callable[[str, str], None]

EXT = "http://hl7.org/fhir/StructureDefinition/"
# item type -> the answer value[x] types it takes (R4 QuestionnaireResponse, "answer value")
ANSWER_TYPES: dict[str, tuple[str, ...]] = {
    "boolean": ("Boolean",), "decimal": ("Decimal",), "integer": ("Integer",),
    "date": ("Date",), "dateTime": ("DateTime",), "time": ("Time",), "string": ("String",),
    # a choice answered with a string: accepted, then checked against the options
    "text": ("String",), "url": ("Uri",), "choice": ("Coding", "String"),
    "open-choice": ("Coding", "String"), "attachment": ("Attachment",),
    "reference": ("Reference",), "quantity": ("Quantity",),
}
_TYPE_NAMES = {"Boolean": "boolean", "Decimal": "decimal", "Integer": "integer", "Date": "date",
               "DateTime": "dateTime", "Time": "time", "String": "string", "Uri": "uri",
               "Coding": "Coding", "Attachment": "Attachment", "Reference": "Reference",
               "Quantity": "Quantity"}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _value(obj: dict[str, Any], prefix: str = "value") -> tuple[str, Any] | None:
    """(type, value) of an element's value[x] (or other choice: ``answer[x]``)."""
    n = len(prefix)
    for key, value in obj.items():
        if key.startswith(prefix) and len(key) > n and key[n].isupper():
            return key[n:], value
    return None


def _ext(item: dict[str, Any], name: str) -> tuple[str, Any] | None:
    for e in _dicts(item.get("extension")):
        if e.get("url") == EXT + name:
            return _value(e)
    return None


def _walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _walk(_dicts(item.get("item")))


def _questionnaire(validator: Any, qr: dict[str, Any]) -> dict[str, Any] | None:
    url = qr.get("questionnaire")
    if not isinstance(url, str):
        return None
    if url.startswith("#"):
        found = next((c for c in _dicts(qr.get("contained")) if c.get("id") == url[1:]), None)
    else:
        found = validator.registry.by_url(url.split("|", 1)[0])
    return found if isinstance(found, dict) and found.get("resourceType") == "Questionnaire" \
        else None


def _answers_by_link(items: list[dict[str, Any]],
                     out: dict[str, list[tuple[str, Any]]] | None = None,
                     ) -> dict[str, list[tuple[str, Any]]]:
    """Every answer of the response by the linkId of its item (for enableWhen), at any depth
    (items nest in items and in answers)."""
    out = {} if out is None else out
    for item in items:
        link = item.get("linkId")
        for answer in _dicts(item.get("answer")):
            value = _value(answer)
            if isinstance(link, str) and value is not None:
                out.setdefault(link, []).append(value)
            _answers_by_link(_dicts(answer.get("item")), out)
        _answers_by_link(_dicts(item.get("item")), out)
    return out


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):  # Coding: system and code; Quantity: value
        if "code" in value or "system" in value:
            return (value.get("system"), value.get("code"))
        if "value" in value:
            return _number(value.get("value"))
        return repr(sorted(value.items()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value)
    return value


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _condition_holds(cond: dict[str, Any], answers: dict[str, list[tuple[str, Any]]]) -> bool:
    given = answers.get(str(cond.get("question")), [])
    op = cond.get("operator")
    expected = _value(cond, "answer")
    if op == "exists":
        wanted = expected[1] if expected else True
        return bool(given) == bool(wanted)
    if expected is None:
        return False
    want = _comparable(expected[1])
    for _, value in given:
        got = _comparable(value)
        try:
            if (op == "=" and got == want) or (op == "!=" and got != want):
                return True
            if op in (">", "<", ">=", "<=") and got is not None and want is not None and (
                    (op == ">" and got > want) or (op == "<" and got < want)
                    or (op == ">=" and got >= want) or (op == "<=" and got <= want)):
                return True
        except TypeError:
            continue
    return op == "!=" and not given


def _enabled(qitem: dict[str, Any], answers: dict[str, list[tuple[str, Any]]]) -> bool:
    conditions = _dicts(qitem.get("enableWhen"))
    if not conditions:
        return True
    results = [_condition_holds(c, answers) for c in conditions]
    return all(results) if qitem.get("enableBehavior") == "all" else any(results)


def check_questionnaire_response(validator: Any, qr: dict[str, Any], expr: str,
                                 report: Report) -> None:
    questionnaire = _questionnaire(validator, qr)
    if questionnaire is None:
        return
    final = qr.get("status") in ("completed", "amended")
    answers = _answers_by_link(_dicts(qr.get("item")))
    _items(_dicts(questionnaire.get("item")), qr.get("item"), f"{expr}.item", expr, final,
           answers, report)


def _items(qitems: list[dict[str, Any]], given: Any, path: str, parent: str, final: bool,
           answers: dict[str, list[tuple[str, Any]]], report: Report) -> None:
    by_link = {q.get("linkId"): q for q in qitems}
    items = given if isinstance(given, list) else []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        at = f"{path}[{i}]"
        link = item.get("linkId")
        qitem = by_link.get(link)
        if qitem is None:
            report(f"LinkId '{link}' not found in questionnaire", at)
            continue
        seen[str(link)] = seen.get(str(link), 0) + 1
        if seen[str(link)] == 2 and not qitem.get("repeats"):
            report(f"Only one response item with linkId '{link}' is allowed (the question does "
                   "not repeat)", at)
        _item(qitem, item, at, final, answers, report)
    for qitem in qitems:
        link = qitem.get("linkId")
        if qitem.get("required") is True and final and link not in seen \
                and _enabled(qitem, answers) and qitem.get("type") != "display":
            report(f"No response answer found for required item '{link}'", parent)


def _item(qitem: dict[str, Any], item: dict[str, Any], at: str, final: bool,
          answers: dict[str, list[tuple[str, Any]]], report: Report) -> None:
    qtype = qitem.get("type")
    given = _dicts(item.get("answer"))
    if given and not _enabled(qitem, answers):
        report(f"Item has answer, even though it is not enabled (item id = '{qitem.get('linkId')}')",
               at)
    if qtype in ("group", "display"):
        if given:
            report(f"Items of type {qtype} cannot have answers", f"{at}.answer[0]")
        if qtype == "group":
            _items(_dicts(qitem.get("item")), item.get("item"), f"{at}.item", at, final,
                   answers, report)
        return
    if len(given) > 1 and not qitem.get("repeats"):
        report(f"Only one answer is allowed for item '{qitem.get('linkId')}' (it does not "
               "repeat)", f"{at}.answer[1]")
    if qitem.get("required") is True and final and not given and _enabled(qitem, answers):
        report(f"No response answer found for required item '{qitem.get('linkId')}'", at)
    if item.get("item") and not qitem.get("item"):
        report(f"Items of type {qtype} should not have child items", f"{at}.item[0]")
    for a, answer in enumerate(given):
        where = f"{at}.answer[{a}]"
        value = _value(answer)
        if value is not None:
            _answer(qitem, value[0], value[1], where, report)
        sub = answer.get("item")
        if sub is not None:
            _items(_dicts(qitem.get("item")), sub, f"{where}.item", where, final, answers,
                   report)


def _answer(qitem: dict[str, Any], vtype: str, value: Any, at: str, report: Report) -> None:
    qtype = str(qitem.get("type"))
    allowed = ANSWER_TYPES.get(qtype)
    if allowed is not None and vtype not in allowed:
        report(f"Answer value must be of the type {_TYPE_NAMES.get(allowed[0], allowed[0])} "
               f"not {_TYPE_NAMES.get(vtype, vtype)}", at)
        return
    options = [o for o in (_value(x) for x in _dicts(qitem.get("answerOption"))) if o]
    free_text = qtype == "open-choice" and vtype == "String"
    if options and not free_text and not any(
            otype == vtype and _comparable(ov) == _comparable(value) for otype, ov in options):
        shown = f"{value.get('system')}::{value.get('code')}" if vtype == "Coding" \
            and isinstance(value, dict) else str(value)
        report(f"The {_TYPE_NAMES.get(vtype, vtype).lower()} {shown} is not in the set of "
               "permitted values", at)
    if vtype == "String" and isinstance(value, str):
        limit = qitem.get("maxLength")
        if isinstance(limit, int) and len(value) > limit:
            report(f"The answer '{value[:40]}' is longer then the allowed maximum length of "
                   f"{limit}", at)
        low = _ext(qitem, "minLength")
        if low and isinstance(low[1], int) and len(value) < low[1]:
            report(f"The answer '{value[:40]}' is shorter then the required minimum length of "
                   f"{low[1]}", at)
    if vtype in ("Integer", "Decimal", "Date", "DateTime"):
        _bounds(qitem, vtype, value, at, report)
    if vtype == "Decimal":
        places = _ext(qitem, "maxDecimalPlaces")
        text = str(value)
        if places and isinstance(places[1], int) and "." in text \
                and len(text.split(".", 1)[1]) > places[1]:
            report(f"The value {text} has too many decimal places (limit = {places[1]})", at)
    if vtype == "Attachment" and isinstance(value, dict):
        mimes = [v for e in _dicts(qitem.get("extension")) if e.get("url") == EXT + "mimeType"
                 for v in [e.get("valueCode")] if isinstance(v, str)]
        ctype = value.get("contentType")
        if mimes and isinstance(ctype, str) and ctype not in mimes:
            report(f"The mime type {ctype} is not valid for this answer (allowed = "
                   f"{', '.join(mimes)})", at)
        size = _ext(qitem, "maxSize")
        actual = value.get("size")
        if size and isinstance(actual, int) and _number(size[1]) is not None \
                and actual > (_number(size[1]) or 0):
            report(f"The attachment is too large (allowed = {size[1]}, found = {actual})", at)
    if vtype == "Reference" and isinstance(value, dict):
        kinds = [v for e in _dicts(qitem.get("extension"))
                 if e.get("url") == EXT + "questionnaire-referenceResource"
                 for v in [e.get("valueCode")] if isinstance(v, str)]
        ref = value.get("reference")
        if kinds and isinstance(ref, str) and "/" in ref and not ref.startswith("#"):
            rtype = ref.rstrip("/").split("/")[-2] if "/_history/" not in ref \
                else ref.split("/_history/")[0].split("/")[-2]
            if rtype not in kinds:
                report(f"The resource type {rtype} in the reference {ref} is not allowed "
                       f"(allowed = {','.join(kinds)})", at)


def _bounds(qitem: dict[str, Any], vtype: str, value: Any, at: str, report: Report) -> None:
    for name, sign, word in (("minValue", -1, "less than the allowed minimum"),
                             ("maxValue", 1, "greater than the allowed maximum")):
        bound = _ext(qitem, name)
        if bound is None:
            continue
        if vtype in ("Integer", "Decimal"):
            got, edge = _number(value), _number(bound[1])
            if got is None or edge is None:
                continue
            beyond = got < edge if sign < 0 else got > edge
        elif isinstance(value, str) and isinstance(bound[1], str):
            # dates compare by their common precision, then the more precise is inside
            n = min(len(value), len(bound[1]))
            beyond = value[:n] < bound[1][:n] if sign < 0 else value[:n] > bound[1][:n]
        else:
            continue
        if beyond:
            report(f"The value {value} is {word} of {bound[1]}", at)


def check_questionnaire(validator: Any, questionnaire: dict[str, Any], expr: str,
                        report: Report) -> None:
    """An enableWhen names an existing question, not one inside the item itself."""
    links = {q.get("linkId") for q in _walk(_dicts(questionnaire.get("item")))}

    def visit(items: list[dict[str, Any]], path: str) -> None:
        for i, item in enumerate(items):
            at = f"{path}[{i}]"
            inner = {q.get("linkId") for q in _walk(_dicts(item.get("item")))}
            for k, cond in enumerate(_dicts(item.get("enableWhen"))):
                question = cond.get("question")
                if question not in links:
                    report(f"The enableWhen question '{question}' is not an item of the "
                           "Questionnaire", f"{at}.enableWhen[{k}].question")
                elif question in inner:
                    report("Questions with an enableWhen cannot refer to an inner question "
                           "for its enableWhen condition", f"{at}.enableWhen[{k}].question")
            visit(_dicts(item.get("item")), f"{at}.item")

    visit(_dicts(questionnaire.get("item")), f"{expr}.item")
