"""Rules specific to a resource type that its definition does not express as invariants: on
conformance resources being validated as instances (StructureDefinition, SearchParameter,
CapabilityStatement, ConceptMap, ValueSet), on search result Bundles, and on MeasureReports
against their Measure.

StructureDefinition:

https://hl7.org/fhir/R4/structuredefinition.html and https://hl7.org/fhir/R4/profiling.html —
checked on the differential of a constraint, against its base:

* every ``path`` names an element of the base type (a choice is ``value[x]`` or one of its
  types' renamings, ``valueQuantity``);
* a fixed value of the base cannot be changed (a derived extension cannot fix another url);
* each slicing discriminator path names an element of the element it slices.

The problems are reported as errors, as the reference validator reports them when it generates
the snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fhir_service.conformance.validator import ecl
from fhir_service.conformance.validator.questionnaire import (
    check_questionnaire,
    check_questionnaire_response,
)

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Node, Validator

Report = Callable[[str, str], None]  # (message, FHIRPath)
SNOMED = "http://snomed.info/sct"
_SCTID = re.compile(r"^\d{6,18}$")
# the boolean concept properties every code system may use without declaring them
# (https://hl7.org/fhir/R4/codesystem.html#defined-props)
_STANDARD_PROPERTIES = {"inactive": "boolean", "notSelectable": "boolean"}


def check_structure_definition(validator: Validator, sd: dict[str, Any], expr: str,
                               report: Report) -> None:
    if sd.get("derivation") != "constraint":
        return
    diff = sd.get("differential")
    elements = diff.get("element") if isinstance(diff, dict) else None
    if not isinstance(elements, list) or not isinstance(sd.get("type"), str):
        return
    base_url = sd.get("baseDefinition")
    base = validator.snapshots.by_url(base_url) if isinstance(base_url, str) else None
    base_by_id = {e.get("id"): e for e in base or []}
    for i, el in enumerate(elements):
        if not isinstance(el, dict):
            continue
        loc = f"{expr}.differential.element[{i}]"
        path = el.get("path")
        if isinstance(path, str) and resolve_path(validator, path) is None:
            report(f"The path '{path}' of the differential does not name an element of "
                   f"{sd['type']} (for a choice, use name[x] or a type renaming)", f"{loc}.path")
            continue
        eid = el.get("id")
        if isinstance(eid, str):
            _fixed_conflict(el, base_by_id.get(eid), str(base_url), loc, report)
        slicing = el.get("slicing")
        if isinstance(slicing, dict) and isinstance(path, str):
            _slicing(validator, el, path, slicing, loc, report)


def resolve_path(validator: Validator, path: str) -> Node | None:
    """The element of the base type that an ElementDefinition.path names, or None. Paths that
    go through a choice of several types are taken as valid once the choice is reached."""
    segs = path.split(".")
    model = validator.type_model(segs[0])
    if model is None:
        return None
    node = model.root
    tname = segs[0]
    for seg in segs[1:]:
        if not node.children:
            target = validator._children_of(node, tname)
            if target is None:
                return None
            node = target[0]
        if seg.endswith("[x]"):
            child = node.children.get(seg[:-3])
            if child is None or not child.choice:
                return None
            if len(child.type_codes) != 1:
                return child
            node, tname = child, child.type_codes[0]
            continue
        found = node.choice_keys.get(seg)
        if found is None:
            return None
        node, tname = found
    return node


def _fixed_value(el: dict[str, Any]) -> tuple[str, Any] | None:
    for key, value in el.items():
        if key.startswith("fixed"):
            return key, value
    return None


def _fixed_conflict(el: dict[str, Any], base_el: dict[str, Any] | None, base_url: str,
                    loc: str, report: Report) -> None:
    if base_el is None:
        return
    base_fixed = _fixed_value(base_el)
    if base_fixed is None:
        return
    for key, value in el.items():
        if key.startswith(("fixed", "pattern")) and value != base_fixed[1]:
            report(f"Value is '{value}' but is fixed to '{base_fixed[1]}' in the base "
                   f"{base_url}: a profile cannot change a fixed value", f"{loc}.{key}")


def _disc_names(path: str) -> list[str] | None:
    """The element names of a simple discriminator path, None if it uses functions."""
    if "(" in path:
        return None
    return [s for s in path.split(".") if s != "$this"]


def _slicing(validator: Validator, el: dict[str, Any], path: str, slicing: dict[str, Any],
             loc: str, report: Report) -> None:
    node = resolve_path(validator, path)
    if node is None:
        return
    types = [t.code for t in node.types] or ([node.path.split(".")[0]] if node.children else [])
    declared = [str(t["code"]) for t in el.get("type") or []
                if isinstance(t, dict) and isinstance(t.get("code"), str)]
    tname = (declared or types or [""])[0]
    for j, d in enumerate(slicing.get("discriminator") or []):
        dpath = d.get("path") if isinstance(d, dict) else None
        names = _disc_names(dpath) if isinstance(dpath, str) else None
        if not names:
            continue
        first = names[0]
        target = node if node.children else None
        if target is None:
            found = validator._children_of(node, tname)
            target = found[0] if found else None
        if target is None:
            continue
        if first not in target.choice_keys and not (
            first.endswith("[x]") and first[:-3] in target.children
        ):
            report(f"The discriminator path '{dpath}' does not appear to be valid for the "
                   f"element that is being sliced '{path}'",
                   f"{loc}.slicing.discriminator[{j}]")


# --- search parameters and capability statements -----------------------------------------


def check_search_parameter(validator: Validator, sp: dict[str, Any], expr: str,
                           report: Report) -> None:
    """A SearchParameter derived from another keeps its type and its bases
    (https://hl7.org/fhir/R4/searchparameter-definitions.html#SearchParameter.derivedFrom)."""
    url = sp.get("derivedFrom")
    parent = validator.registry.by_url(url) if isinstance(url, str) else None
    if parent is None or parent.get("resourceType") != "SearchParameter":
        return
    if isinstance(sp.get("type"), str) and sp["type"] != parent.get("type"):
        report(f"The type {sp['type']} is different to the type {parent.get('type')} of "
               f"the SearchParameter {url} it is derived from", f"{expr}.type")
    allowed = set(parent.get("base") or [])
    if allowed & {"Resource", "DomainResource"}:
        return
    for i, base in enumerate(sp.get("base") or []):
        if isinstance(base, str) and base not in allowed:
            report(f"The resource type {base} is not listed as a base in the SearchParameter "
                   f"{url} this is derived from", f"{expr}.base[{i}]")


def check_capability_statement(validator: Validator, cs: dict[str, Any], expr: str,
                               report: Report) -> None:
    """A search parameter declared with a definition has the definition's type
    (https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.searchParam.type)."""
    for r, rest in enumerate(_dicts(cs.get("rest"))):
        for k, res in enumerate(_dicts(rest.get("resource"))):
            for p, param in enumerate(_dicts(res.get("searchParam"))):
                url = param.get("definition")
                sp = validator.registry.by_url(url) if isinstance(url, str) else None
                if sp is None or sp.get("resourceType") != "SearchParameter":
                    continue
                if isinstance(param.get("type"), str) and param["type"] != sp.get("type"):
                    report(f"Type mismatch - SearchParameter '{url}' type is {sp.get('type')}, "
                           f"but type here is {param['type']}",
                           f"{expr}.rest[{r}].resource[{k}].searchParam[{p}]")


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- terminology resources ---------------------------------------------------------------


def check_concept_map(validator: Validator, cm: dict[str, Any], expr: str,
                      report: Report) -> None:
    """The source codes of a ConceptMap belong to its source value set, and the target codes
    to its target value set, where those can be expanded here completely
    (https://hl7.org/fhir/R4/conceptmap.html#scope)."""
    terminology = validator.terminology
    scopes = []
    for side, keys in (("source", ("sourceCanonical", "sourceUri")),
                       ("target", ("targetCanonical", "targetUri"))):
        url = next((cm[k] for k in keys if isinstance(cm.get(k), str)), None)
        exp = terminology.expand(url) if url else None
        scopes.append((side, url, exp))
    for g, group in enumerate(_dicts(cm.get("group"))):
        for e, element in enumerate(_dicts(group.get("element"))):
            at = f"{expr}.group[{g}].element[{e}]"
            _in_scope(terminology, scopes[0], group.get("source"), element.get("code"),
                      f"{at}.code", report)
            for t, target in enumerate(_dicts(element.get("target"))):
                _in_scope(terminology, scopes[1], group.get("target"), target.get("code"),
                          f"{at}.target[{t}].code", report)


def _in_scope(terminology: Any, scope: tuple[str, str | None, Any], system: Any, code: Any,
              at: str, report: Report) -> None:
    """Reported only where the code system is known completely, defines the code, and the
    value set is complete here: a code the value set leaves out."""
    side, url, exp = scope
    if exp is None or not exp.complete or not isinstance(code, str) or not isinstance(
        system, str
    ):
        return
    cs = terminology.code_system(system)
    if cs is None or not cs.complete or cs.find(code) is None:
        return
    if exp.contains(system, code) is False:
        report(f"The {side} code '{code}' is not valid in the value set {url}", at)


def check_value_set(validator: Validator, vs: dict[str, Any], expr: str,
                    report: Report) -> None:
    """Filters name properties the code system defines, and a value that stands for a code
    (a property of type code or Coding, or the concept itself) is a known code; a SNOMED CT
``constraint`` filter is ECL (checked for syntax, :mod:`.ecl`)
    (https://hl7.org/fhir/R4/valueset-definitions.html#ValueSet.compose.include.filter)."""
    compose = vs.get("compose")
    if not isinstance(compose, dict):
        return
    for part in ("include", "exclude"):
        for i, inc in enumerate(_dicts(compose.get(part))):
            system = inc.get("system")
            if not isinstance(system, str):
                continue
            if system == SNOMED:
                for f, flt in enumerate(_dicts(inc.get("filter"))):
                    _snomed_filter(flt, f"{expr}.compose.{part}[{i}].filter[{f}]", report)
                continue
            cs = validator.terminology.code_system(system)
            res = validator.registry.by_url(system)
            if cs is None or not cs.complete or res is None:
                continue
            props = {str(p["code"]): p.get("type") for p in _dicts(res.get("property"))
                     if isinstance(p.get("code"), str)}
            for f, flt in enumerate(_dicts(inc.get("filter"))):
                _filter_value(validator, system, cs, props, flt,
                              f"{expr}.compose.{part}[{i}].filter[{f}]", report)


def _snomed_filter(flt: dict[str, Any], at: str, report: Report) -> None:
    """https://hl7.org/fhir/R4/snomedct.html#filters: ``constraint`` takes ECL, ``concept``
    a concept id (an SCTID: 6 to 18 digits)."""
    prop, value = flt.get("property"), flt.get("value")
    if not isinstance(value, str):
        return
    if prop == "constraint" and (problem := ecl.syntax_error(value)):
        report(f"The value '{value}' for the filter constraint is invalid: {problem}", at)
    elif prop == "concept" and not _SCTID.match(value):
        report(f"The value for a filter based on property 'concept' must be a valid code from "
               f"the system '{SNOMED}', and '{value}' is not (not a SNOMED CT identifier)", at)


def _filter_value(validator: Validator, system: str, cs: Any, props: dict[str, Any],
                  flt: dict[str, Any], at: str, report: Report) -> None:
    prop, op, value = flt.get("property"), flt.get("op"), flt.get("value")
    if not isinstance(value, str) or op not in ("=", "is-a", "descendent-of", "is-not-a",
                                                "generalizes"):
        return
    if prop in ("concept", "code") and op != "=":
        if cs.find(value) is None:
            report(f"The value for a filter based on property '{prop}' must be a valid code "
                   f"from the system '{system}', and '{value}' is not", at)
        return
    kind = props.get(str(prop)) or _STANDARD_PROPERTIES.get(str(prop))
    if kind == "boolean" and op == "=" and value not in ("true", "false"):
        report(f"The value for a filter based on property '{prop}' must be either 'true' or "
               f"'false', not '{value}'", at)
    elif kind == "Coding":
        target_system, _, code = value.partition("#")
        target = validator.terminology.code_system(target_system) if code else None
        if target is not None and target.complete and target.find(code) is None:
            report(f"The value for a filter based on property '{prop}' is '{value}' which is "
                   f"not a valid code (unknown code '{code}' in the CodeSystem "
                   f"'{target_system}')", at)
    elif kind == "code" and op == "=" and cs.find(value) is None and not any(
        value in (str(v) for v in c.properties.get(str(prop), []))
        for c in cs.concepts.values()
    ):
        report(f"The value for a filter based on property '{prop}' is '{value}' which is not "
               "a valid code", at)


# --- search results ----------------------------------------------------------------------


def check_bundle(validator: Validator, bundle: dict[str, Any], expr: str,
                 report: Report) -> None:
    """Search results (https://hl7.org/fhir/R4/bundle.html#searchset): an ``outcome`` entry is
    an OperationOutcome; a ``match`` has an id and is of a type the search (its ``self`` link:
    the type searched, or ``_type``) asks for."""
    if bundle.get("type") != "searchset":
        return
    wanted = _searched_types(validator, bundle)
    for i, entry in enumerate(_dicts(bundle.get("entry"))):
        res, search = entry.get("resource"), entry.get("search")
        if not isinstance(res, dict) or not isinstance(search, dict):
            continue
        rtype, at = res.get("resourceType"), f"{expr}.entry[{i}].resource"
        if search.get("mode") == "outcome" and rtype != "OperationOutcome":
            report(f"This is not an OperationOutcome ({rtype})", at)
        elif search.get("mode") == "match":
            if not res.get("id"):
                report("Search results must have ids", at)
            if wanted and rtype not in wanted:
                report(f"This is not a matching resource type for the specified search ({rtype} "
                       f"expecting {', '.join(sorted(wanted))})", at)


def _searched_types(validator: Validator, bundle: dict[str, Any]) -> set[str]:
    link = next((k.get("url") for k in _dicts(bundle.get("link"))
                 if k.get("relation") == "self"), None)
    if not isinstance(link, str):
        return set()
    path, _, query = link.partition("?")
    types: set[str] = set()
    for param in query.split("&"):
        name, _, value = param.partition("=")
        if name == "_type":
            types.update(t for t in value.split(",") if t)
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if not types and validator.registry.type_definition(last) is not None and (
        (validator.registry.type_definition(last) or {}).get("kind") == "resource"
    ):
        types.add(last)
    return types


# --- measure reports -----------------------------------------------------------------------


def check_measure_report(validator: Validator, report: dict[str, Any], expr: str,
                         report_issue: Report) -> None:
    """The stratifiers of a MeasureReport group are those its Measure defines for the group,
    named by their code (https://hl7.org/fhir/R4/measurereport-definitions.html#MeasureReport.group.stratifier.code),
    where the Measure is known here."""
    url = report.get("measure")
    measure = validator.registry.by_url(url.split("|", 1)[0]) if isinstance(url, str) else None
    if measure is None or measure.get("resourceType") != "Measure":
        return
    groups = _dicts(measure.get("group"))
    for g, group in enumerate(_dicts(report.get("group"))):
        mgroup = _matching_group(group, groups)
        if mgroup is None:
            continue
        defined = _dicts(mgroup.get("stratifier"))
        found: set[int] = set()
        for k, strat in enumerate(_dicts(group.get("stratifier"))):
            match = next((i for i, d in enumerate(defined)
                          if _same_concepts(strat.get("code"), d.get("code"))), None)
            if match is None:
                report_issue("Group should have a code that matches the group stratifier "
                             "definition in the measure", f"{expr}.group[{g}].stratifier[{k}]")
            else:
                found.add(match)
        for i, d in enumerate(defined):
            if i not in found:
                code = ", ".join(str(c.get("code")) for c in _codings(d.get("code")))
                report_issue(f"The MeasureReport does not include a stratifier for the "
                             f"stratifier with code '{code}' (id = '{d.get('id', '')}')",
                             f"{expr}.group[{g}]")


def _codings(value: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept, or of a list of them."""
    concepts = value if isinstance(value, list) else [value]
    return [c for cc in concepts if isinstance(cc, dict) for c in _dicts(cc.get("coding"))]


def _same_concepts(a: Any, b: Any) -> bool:
    ours = {(c.get("system"), c.get("code")) for c in _codings(a)}
    theirs = {(c.get("system"), c.get("code")) for c in _codings(b)}
    return bool(ours & theirs)


def _matching_group(group: dict[str, Any],
                    groups: list[dict[str, Any]]) -> dict[str, Any] | None:
    for g in groups:
        if _same_concepts(group.get("code"), g.get("code")):
            return g
    if group.get("id"):
        for g in groups:
            if g.get("id") == group["id"]:
                return g
    return groups[0] if len(groups) == 1 and not _codings(group.get("code")) else None


RULES: dict[str, Callable[[Validator, dict[str, Any], str, Report], None]] = {
    "StructureDefinition": check_structure_definition,
    "SearchParameter": check_search_parameter,
    "CapabilityStatement": check_capability_statement,
    "ConceptMap": check_concept_map,
    "ValueSet": check_value_set,
    "Bundle": check_bundle,
    "MeasureReport": check_measure_report,
    "QuestionnaireResponse": check_questionnaire_response,
    "Questionnaire": check_questionnaire,
}
