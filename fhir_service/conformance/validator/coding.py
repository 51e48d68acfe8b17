"""Codes: bindings to value sets, Codings against their code systems, displays
(https://hl7.org/fhir/R4/terminologies.html)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fhir_service.conformance.validator.common import _ABSOLUTE, _from, _norm, _Run

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Node, Validator


def check_binding(validator: Validator, run: _Run, item: Any, tname: str, node: Node, expr: str) -> None:
    assert node.binding is not None
    strength, vs = node.binding
    if strength not in ("required", "extensible"):
        return
    pairs: list[tuple[str | None, str]] = []
    if isinstance(item, str):
        pairs = [(None, item)]
    elif tname == "CodeableConcept":
        pairs = [
            (c.get("system"), c["code"])
            for c in item.get("coding", []) or []
            if isinstance(c, dict) and isinstance(c.get("code"), str)
        ]
        if not pairs:
            if strength == "required" and item.get("coding") is None:
                run.add(
                    "error",
                    "code-invalid",
                    f"No code provided, and a code is required from the value set {vs}{_from(run)}",
                    expr,
                )
            return
    elif isinstance(item, dict) and isinstance(item.get("code"), str):
        pairs = [(item.get("system"), item["code"])]
    if not pairs:
        return
    exp = validator.terminology.expand(vs)
    if exp is None:
        run.add(
            "warning", "not-found", f"The value set {vs} is not known here: the code was not checked", expr
        )
        return
    results = [exp.contains(s, c) for s, c in pairs]
    if True in results:
        return
    shown = ", ".join(f"{s}#{c}" if s else c for s, c in pairs)
    if None in results:
        run.add(
            "information",
            "informational",
            f"The code {shown} could not be checked against {vs}: its code system is not available here",
            expr,
        )
        return
    severity = "error" if strength == "required" else "warning"
    run.add(
        severity,
        "code-invalid",
        f"The code {shown} is not in the value set {vs} ({strength} binding){_from(run)}",
        expr,
    )


def check_coding(
    validator: Validator, run: _Run, coding: dict[str, Any], expr: str, in_concept: bool = False
) -> None:
    system, code = coding.get("system"), coding.get("code")
    if isinstance(system, str) and check_coding_system(validator, run, system, f"{expr}.system", in_concept):
        return
    if not isinstance(system, str) or not isinstance(code, str):
        return
    known = validator.terminology.check_code(system, code)
    if known is False:
        run.add(
            "error", "code-invalid", f"Unknown code '{code}' in the code system '{system}'", f"{expr}.code"
        )
    elif known and isinstance(coding.get("display"), str):
        check_display(validator, run, system, code, coding["display"], f"{expr}.display")


def check_coding_system(
    validator: Validator, run: _Run, system: str, expr: str, in_concept: bool = False
) -> bool:
    """Coding.system names a code system by its absolute canonical URL
    (https://hl7.org/fhir/R4/datatypes.html#Coding): not a local reference, not a value
    set, not a supplement. True when it does not (an issue was reported). A local
    reference is an error on a Coding element, a warning inside a CodeableConcept, where
    the reference validator reports it only as a code system it cannot find."""
    if not _ABSOLUTE.match(system):
        run.add(
            "warning" if in_concept else "error",
            "invalid",
            f"Coding.system must be an absolute reference, not a local reference ('{system}')",
            expr,
        )
        return True
    res = validator.registry.by_url(system)
    if res is None:
        return False
    if res.get("resourceType") == "ValueSet":
        run.add(
            "error", "invalid", f"The Coding references a value set, not a code system ('{system}')", expr
        )
        return True
    if res.get("resourceType") == "CodeSystem" and (
        res.get("content") == "supplement" or "supplements" in res
    ):
        run.add(
            "error",
            "invalid",
            f"CodeSystem {system} is a supplement, so it cannot be used as a value in Coding.system",
            expr,
        )
        return True
    return False


def check_display(validator: Validator, run: _Run, system: str, code: str, display: str, expr: str) -> None:
    """Coding.display is one of the displays the code system gives the code (its display
    or a designation), case and spacing aside, as the reference validator checks it
    (https://hl7.org/fhir/R4/datatypes.html#Coding)."""
    key = (system, code)
    valid = validator._displays.get(key)
    if valid is None:
        cs = validator.terminology.code_system(system)
        concept = cs.find(code) if cs is not None else None
        shown = [concept.display] if concept is not None and concept.display else []
        shown += [
            str(d["value"])
            for d in (concept.designations if concept else [])
            if isinstance(d, dict) and isinstance(d.get("value"), str)
        ]
        valid = (tuple(dict.fromkeys(str(v) for v in shown)), frozenset(_norm(str(v)) for v in shown))
        validator._displays[key] = valid
    if not valid[0] or display in valid[0] or _norm(display) in valid[1]:
        return
    choices = " or ".join(f"'{v}'" for v in valid[0])
    run.add(
        validator.wrong_display,
        "invalid",
        f"Wrong Display Name '{display}' for {system}#{code}. Valid display is {choices}",
        expr,
    )


def in_valueset(validator: Validator, vs: str, value: Any) -> bool:
    exp = validator.terminology.expand(vs)
    if exp is None:
        return False
    if isinstance(value, str):
        return exp.contains(None, value) is True
    if isinstance(value, dict):
        codings = value.get("coding") if "coding" in value else [value]
        return any(
            isinstance(c, dict) and exp.contains(c.get("system"), str(c.get("code"))) is True
            for c in codings or []
        )
    return False
