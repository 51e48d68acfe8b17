"""Terminology operations over local content (R4 core package and loaded IGs).

- https://hl7.org/fhir/R4/valueset-operation-expand.html — ``ValueSet/$expand``
- https://hl7.org/fhir/R4/valueset-operation-validate-code.html — ``ValueSet/$validate-code``
- https://hl7.org/fhir/R4/codesystem-operation-lookup.html — ``CodeSystem/$lookup``

GET with query parameters or POST with a ``Parameters`` body, at type level (``url`` /
``system``) or instance level (``ValueSet/[id]/$expand``). Nothing is fetched from a
terminology server: a value set drawing on a code system we do not hold cannot be expanded
(422), and a code of such a system cannot be judged (``result`` is absent, a message says
why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fhir_service.context import instant
from fhir_service.interactions.common import parse_body
from fhir_service.operations import declare
from fhir_service.operations.validate import validator_for
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest, FhirResponse

if TYPE_CHECKING:
    from fhir_service.context import FhirContext
    from fhir_service.router import Router

EXPAND = "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"
VALIDATE_CODE = "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code"
LOOKUP = "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"


def install(router: Router) -> None:
    for level in ("type", "instance"):
        router.add_operation(level, "ValueSet", "expand", expand)
        router.add_operation(level, "ValueSet", "validate-code", validate_code)
        router.add_operation(level, "CodeSystem", "lookup", lookup)
    declare(router, "expand", EXPAND, types=("ValueSet",))
    declare(router, "validate-code", VALIDATE_CODE, types=("ValueSet",))
    declare(router, "lookup", LOOKUP, types=("CodeSystem",))


def _params(req: FhirRequest) -> dict[str, list[Any]]:
    """Parameters from the query string and, for POST, a Parameters body."""
    out: dict[str, list[Any]] = {}
    for key, value in req.query:
        out.setdefault(key, []).append(value)
    if req.method.upper() == "POST" and req.body.strip():
        body = parse_body(req)
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise FhirError("invalid", "The body must be a Parameters resource")
        for p in body.get("parameter", []) or []:
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                continue
            given: Any = p.get("resource")
            if given is None:
                given = next((v for k, v in p.items() if k.startswith("value")), None)
            out.setdefault(p["name"], []).append(given)
    elif req.method.upper() not in ("GET", "POST"):
        raise FhirError("method-not-allowed", "Terminology operations take GET or POST")
    return out


def _one(params: dict[str, list[Any]], name: str) -> Any:
    values = params.get(name) or []
    return values[0] if values else None


def _value_set(ctx: FhirContext, req: FhirRequest, params: dict[str, list[Any]]) -> dict[str, Any]:
    if len(req.segments) == 3:
        vs = ctx.registry.get("ValueSet", req.segments[1])
        if vs is None:
            raise FhirError("not-found", f"ValueSet/{req.segments[1]} is not known here")
        return vs
    inline = _one(params, "valueSet")
    if isinstance(inline, dict):
        return inline
    url = _one(params, "url")
    if not url:
        raise FhirError("invalid", "Name the value set: 'url', 'valueSet', or ValueSet/[id]")
    vs = ctx.registry.by_url(str(url))
    if vs is None or vs.get("resourceType") != "ValueSet":
        raise FhirError("not-found", f"The value set {url} is not known here", "url")
    return vs


def expand(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    params = _params(req)
    vs = _value_set(ctx, req, params)
    terminology = validator_for(ctx.registry).terminology
    exp = terminology.expand_resource(vs)
    if not exp.complete:
        missing = ", ".join(sorted(exp.unchecked)) or "; ".join(exp.problems)
        raise FhirError("unprocessable", f"The value set {vs.get('url')} cannot be expanded "
                        f"here: it draws on {missing}, which is not available locally")
    text_filter = str(_one(params, "filter") or "").lower()
    items = [(s, c, d) for s, c, d in exp.items()
             if not text_filter or text_filter in c.lower() or text_filter in (d or "").lower()]
    offset = int(_one(params, "offset") or 0)
    count = _one(params, "count")
    page = items[offset: offset + int(count)] if count is not None else items[offset:]
    result = {k: v for k, v in vs.items() if k not in ("compose", "expansion", "text")}
    expansion: dict[str, Any] = {
        "identifier": f"urn:uuid:{ctx.new_id()}",
        "timestamp": instant(ctx.clock()),
        "total": len(items),
        "offset": offset,
        "contains": [{k: v for k, v in (("system", s), ("code", c), ("display", d)) if v}
                     for s, c, d in page],
    }
    if text_filter:
        expansion["parameter"] = [{"name": "filter", "valueString": text_filter}]
    if not expansion["contains"]:
        del expansion["contains"]
    result["expansion"] = expansion
    return FhirResponse(200, result)


def _coded(params: dict[str, list[Any]]) -> list[tuple[str | None, str, str | None]]:
    code = _one(params, "code")
    if code is not None:
        return [(_one(params, "system"), str(code), _one(params, "display"))]
    coding = _one(params, "coding")
    if isinstance(coding, dict) and coding.get("code"):
        return [(coding.get("system"), coding["code"], coding.get("display"))]
    concept = _one(params, "codeableConcept")
    if isinstance(concept, dict):
        return [(c.get("system"), c["code"], c.get("display"))
                for c in concept.get("coding", []) or [] if isinstance(c, dict) and c.get("code")]
    return []


def validate_code(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    params = _params(req)
    vs = _value_set(ctx, req, params)
    codes = _coded(params)
    if not codes:
        raise FhirError("invalid", "Give 'code' (with 'system'), 'coding' or 'codeableConcept'")
    terminology = validator_for(ctx.registry).terminology
    exp = terminology.expand_resource(vs)
    answers = []
    for system, code, display in codes:
        found = exp.contains(system, code)
        expected = exp.display(system, code)
        answers.append((found, system, code, display, expected))
    if any(a[0] is True for a in answers):
        found, system, code, display, expected = next(a for a in answers if a[0] is True)
        out: list[dict[str, Any]] = [{"name": "result", "valueBoolean": True}]
        if expected:
            out.append({"name": "display", "valueString": expected})
        if display and expected and display != expected:
            out.append({"name": "message",
                        "valueString": f"The display '{display}' differs from '{expected}'"})
        return FhirResponse(200, {"resourceType": "Parameters", "parameter": out})
    shown = ", ".join(f"{s}#{c}" if s else c for _, s, c, _, _ in answers)
    if any(a[0] is None for a in answers):
        message = (f"The code {shown} cannot be checked against {vs.get('url')}: its code "
                   "system is not available here")
        return FhirResponse(200, {"resourceType": "Parameters", "parameter": [
            {"name": "message", "valueString": message}]})
    return FhirResponse(200, {"resourceType": "Parameters", "parameter": [
        {"name": "result", "valueBoolean": False},
        {"name": "message", "valueString": f"The code {shown} is not in the value set "
                                           f"{vs.get('url')}"}]})


def lookup(ctx: FhirContext, req: FhirRequest, router: Router) -> FhirResponse:
    params = _params(req)
    codes = _coded(params)
    system: Any = None
    if len(req.segments) == 3:
        res = ctx.registry.get("CodeSystem", req.segments[1])
        if res is None:
            raise FhirError("not-found", f"CodeSystem/{req.segments[1]} is not known here")
        system = res.get("url")
    if not codes:
        raise FhirError("invalid", "Give 'code' and 'system', or 'coding'")
    sys_param, code, _ = codes[0]
    system = system or sys_param
    if not system:
        raise FhirError("invalid", "Give the code system ('system')", "system")
    terminology = validator_for(ctx.registry).terminology
    cs = terminology.code_system(str(system))
    if cs is None:
        raise FhirError("not-found", f"The code system {system} is not available here", "system")
    concept = cs.find(code)
    if concept is None:
        raise FhirError("not-found", f"Unknown code '{code}' in the code system {system}", "code")
    out: list[dict[str, Any]] = [{"name": "name", "valueString": cs.name or cs.url}]
    if cs.version:
        out.append({"name": "version", "valueString": cs.version})
    out.append({"name": "display", "valueString": concept.display or concept.code})
    if concept.definition:
        out.append({"name": "definition", "valueString": concept.definition})
    for d in concept.designations:
        part = [{"name": "value", "valueString": d.get("value", "")}]
        if d.get("language"):
            part.insert(0, {"name": "language", "valueCode": d["language"]})
        if d.get("use"):
            part.insert(-1, {"name": "use", "valueCoding": d["use"]})
        out.append({"name": "designation", "part": part})
    if concept.parent:
        out.append({"name": "property", "part": [{"name": "code", "valueCode": "parent"},
                                                  {"name": "value", "valueCode": concept.parent}]})
    for child in cs.children.get(concept.code, []):
        out.append({"name": "property", "part": [{"name": "code", "valueCode": "child"},
                                                  {"name": "value", "valueCode": child}]})
    for pcode, values in concept.properties.items():
        for v in values:
            key = "valueCode" if isinstance(v, str) else "valueBoolean" if isinstance(
                v, bool) else "valueString"
            out.append({"name": "property", "part": [{"name": "code", "valueCode": pcode},
                                                      {"name": "value", key: v}]})
    return FhirResponse(200, {"resourceType": "Parameters", "parameter": out})
