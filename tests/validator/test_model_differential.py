"""Differential: our write-path checks against the ``fhir.resources`` R4B pydantic model.

The project keeps the R4B models on the write hot path "only where a differential test shows
they catch what our checks miss". This test is that differential. Two arms run separately on
the same inputs:

* **ours**: what ``validate_resource`` does on write without the model, i.e. the structural
  check (``conformance/structure.py``), then the profile validator's base pass
  (``operations/validate.py`` ``make_profile_validator``, lenient as on write), then the id
  rule;
* **model**: ``fhir.validate_with_model`` (the R4B model; no model for a type = accepted).

Inputs: every resource of the official R4 examples package (``hl7.fhir.r4.core#4.0.1``, the
5,306 resources of ``hl7.fhir.r4.examples``, conformance resources included) and the shared
copy of the spec examples; the resources of the HL7 validator's test cases; and **mutants**
of valid examples, generated from the StructureDefinitions (see :func:`mutants`): each one
breaks one JSON / structural rule at a site chosen with a fixed seed.

A case where the model rejects and we accept is a miss of ours, unless the model is wrong
about R4 there (:data:`R4B_VS_R4`: R4B is not R4 for a few types and elements, and the model
has a few defects of its own against the R4 JSON format). The test asserts that no other miss
remains, and that no explanation is stale. The reverse (we reject what the model accepts) is
counted for information: the model checks no invariant, binding or profile.

Figures (5,306 examples, 174 validator-case resources, 5,318 mutants from 221 seeds, 43
operators). Before the structural check learnt the rules below, the first run (all 4,781
valid examples as seeds, 138,624 mutants) found 1,114 misses of ours, of three kinds, each
closed by the general rule of the specification in ``conformance/structure.py``: a second
type of a choice element (432: ``valueString`` with ``valueBoolean``; json.html, one
``value[x]``), a day the calendar does not have (681: ``2020-02-30`` in date, dateTime and
instant; "Dates SHALL be valid dates"), ``_id`` on a resource id (1 validator-case resource;
FHIRPath System-typed elements carry no extensions). The structural check alone (without the
base pass) also missed 90 mutants with a bad primitive extension (``_system: {"url": …}``):
it never read their content, now checked as ``Element``. Since then: 0 misses, for both; 44
explained (the Evidence example, 41 CodeSystems and 2 validator cases with ``_valueString`` in
extensions); 1,741 cases we reject and the model accepts (237 of them examples or validator
cases: invariants, extension contexts, fullUrl, terminology). With ``--all-seeds`` (about 3-5
minutes): 0 misses.

``python -m tests.validator.test_model_differential [--all-seeds]`` prints the figures, every
case, and what each operator's mutants are caught by (the model, ours). The file is marked
slow in tests/conftest.py (about two minutes).
"""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.conformance.structure import Child, StructureChecker, TypeTree
from fhir_service.context import FhirContext
from fhir_service.interactions.common import validate_resource
from fhir_service.outcomes import FhirError, Issue

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "testdata"
SPEC_EXAMPLES = SHARED / "r4-spec-examples"
VALIDATOR_CASES = SHARED / "fhir-validator-cases"
SEED = 20240401
SEEDS_PER_TYPE = 2  # valid examples mutated per resource type (python -m …: --all-seeds)
SEED_MAX_BYTES = 40_000  # mutate the examples of ordinary size (not the definition bundles)

# --- explained differences: the model rejects valid R4 -----------------------------------------

# (pattern on the model's issue path with indices removed, reason, witness). A miss is
# explained when every issue the model reports matches one of these. A witness is an R4
# element (Type.name) the R4B model lacks: the test checks that it is so. An entry without a
# witness must be exercised by some case. Found by comparing every R4 snapshot with the R4B
# model classes (resources, backbone elements, the general datatypes); differences where the
# model is the more lenient one (ActivityDefinition/PlanDefinition.subjectCanonical and the
# R4B-only Extension.value[x] types CodeableReference and RatioRange, accepted by the model,
# rejected by us; MarketingStatus.country and dateRange, required in R4 only) cannot make
# the model reject valid R4 and are not listed. The 18 R4 types R4B dropped
# (MedicinalProduct*, Substance{NucleicAcid,Polymer,Protein,ReferenceInformation,
# SourceMaterial,Specification}, Effect/RiskEvidenceSynthesis) have no model at all: only our
# checks see them.
R4B_VS_R4: list[tuple[str, str, str | None]] = [
    (r"^Evidence\.",
     "R4B redesigned Evidence: R4 exposureBackground, exposureVariant, outcome, name, topic … "
     "are gone and variableDefinition is new and required; the R4 structure is what we check",
     "Evidence.exposureBackground"),
    (r"^EvidenceVariable\.",
     "R4B redesigned EvidenceVariable: R4 type, topic, jurisdiction, effectivePeriod … are "
     "gone, characteristic.definition[x] changed",
     "EvidenceVariable.type"),
    (r"\.(valueMeta|defaultValueMeta|fixedMeta|patternMeta)$",
     "R4B removed Meta from the open types: R4 Extension.valueMeta and ElementDefinition."
     "defaultValue/fixed/patternMeta are unknown to the model",
     "Extension.valueMeta"),
    (r"\.(extension|modifierExtension)\._value[A-Z]\w*$",
     "model defect: a primitive extension (_valueString …) on Extension.value[x] is valid R4 "
     "JSON (json.html#primitive: any primitive may carry _name); the model forbids it",
     None),
]
_INDEX = re.compile(r"\[\d+\]")


def _explained(model_issues: list[Issue]) -> str | None:
    reasons = []
    for issue in model_issues:
        path = _INDEX.sub("", issue.expression[0] if issue.expression else "")
        found = next((r for p, r, _ in R4B_VS_R4 if re.search(p, path)), None)
        if found is None:
            return None
        reasons.append(found)
    return reasons[0] if reasons else None


# --- the two arms --------------------------------------------------------------------------


def _errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity in ("error", "fatal")]


def ours(ctx: FhirContext, resource: Any) -> list[Issue]:
    """Our write-path verdict without the model: errors (empty = accepted)."""
    if not isinstance(resource, dict):
        return [Issue("error", "structure", "not an object", ("Resource",))]
    try:
        validate_resource(ctx, resource)
    except FhirError as exc:
        return _errors(exc.issues) or [Issue("error", exc.code, exc.diagnostics, ())]
    return []


def model(resource: Any) -> list[Issue]:
    """The R4B model's verdict: errors (empty = accepted, also when R4B has no model)."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [Issue("error", "structure", "not a resource", ("Resource",))]
    try:
        return _errors(fhir.validate_with_model(resource))
    except Exception as exc:  # a crash of the model counts as a rejection  # noqa: BLE001
        return [Issue("error", "exception", f"{type(exc).__name__}: {exc}"[:200],
                      (resource["resourceType"],))]


# --- inputs ------------------------------------------------------------------------------------


def _load(path: Path) -> Any:
    try:
        return fhir.loads(path.read_bytes())
    except FhirError:
        return None


def official_examples(core: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    seen: set[str] = set()
    for folder, label in ((core, "r4-examples"), (SPEC_EXAMPLES, "spec-examples")):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            if path.name in ("package.json", ".index.json") or path.name in seen:
                continue
            seen.add(path.name)
            data = _load(path)
            if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
                yield f"{label}/{path.name}", data


def validator_case_resources() -> Iterator[tuple[str, dict[str, Any]]]:
    """The JSON resources of the HL7 validator's test cases (instances and their supporting
    definitions alike: all are resources someone could write)."""
    for path in sorted(VALIDATOR_CASES.glob("*.json")):
        if path.name == "manifest.json":
            continue
        data = _load(path)
        if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            yield f"validator-cases/{path.name}", data


# --- mutants -------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass
class Site:
    """One value in a resource, with what the definitions say about it."""

    path: Path_  # keys and indices from the resource root to the value
    key: str  # the JSON property name (choice suffix included)
    child: Child
    type_name: str
    primitive: bool
    in_array: bool  # the value is an item of an array
    tree: TypeTree | None = None  # for complex values: the tree and element path of their
    el_path: str = ""  # children
    resource: bool = False  # the value is a resource (contained, entry.resource …)


@dataclass
class Mutant:
    name: str
    operator: str
    resource: dict[str, Any]


def sites(checker: StructureChecker, resource: dict[str, Any]) -> list[Site]:
    """Every value of the resource, resolved against the definitions like the checker does."""
    out: list[Site] = []
    tree = checker.tree(resource["resourceType"])
    if tree is not None:
        _walk(checker, resource, tree, resource["resourceType"], (), out)
    return out


def _walk(checker: StructureChecker, obj: dict[str, Any], tree: TypeTree, el_path: str,
          path: Path_, out: list[Site]) -> None:
    children = tree.children.get(el_path, {})
    for key, value in obj.items():
        if key == "resourceType" or key.startswith("_"):
            continue
        child, type_name = checker._find_child(children, key)
        if child is None:
            continue
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            here = (*path, key) if i is None else (*path, key, i)
            if item is None:
                continue
            site = Site(here, key, child, type_name, checker.is_primitive(type_name),
                        i is not None)
            out.append(site)
            if not isinstance(item, dict) or site.primitive:
                continue
            sub_tree, sub_path, is_res = _resolve(checker, child, type_name, item)
            site.tree, site.el_path, site.resource = sub_tree, sub_path, is_res
            if sub_tree is not None:
                _walk(checker, item, sub_tree, sub_path, here, out)


def _resolve(checker: StructureChecker, child: Child, type_name: str,
             value: dict[str, Any]) -> tuple[TypeTree | None, str, bool]:
    if child.content_ref:
        ref = child.content_ref.split("#", 1)[-1]
        return checker.tree(ref.split(".", 1)[0]), ref, False
    sd = checker.registry.type_definition(type_name)
    if type_name == "Resource" or (sd is not None and sd.get("kind") == "resource"):
        rtype = value.get("resourceType")
        tree = checker.tree(rtype) if isinstance(rtype, str) else None
        return tree, rtype if isinstance(rtype, str) else "", True
    if type_name in ("BackboneElement", "Element") or not child.types:
        return checker.tree(child.path.split(".", 1)[0]), child.path, False
    return checker.tree(type_name), type_name, False


def _get(res: Any, path: Path_) -> Any:
    for step in path:
        res = res[step]
    return res


def _parent(res: Any, path: Path_) -> tuple[Any, str | int]:
    return _get(res, path[:-1]), path[-1]


def _key_path(site: Site) -> Path_:
    """The path of the property (the array itself for an item)."""
    return site.path[:-1] if site.in_array else site.path


# Lexically invalid values for each primitive type (each against the type's own regex, or a
# JSON-level rule: range, number kind), and a valid value of a wrong JSON type.
BAD_LEXICAL: dict[str, list[Any]] = {
    "boolean": ["true", 1],
    "integer": [2147483648, -2147483649, Decimal("1.5"), Decimal("1.0"), "12"],
    "positiveInt": [0, -3, 2147483648, "1"],
    "unsignedInt": [-1, 2147483648, "0"],
    "decimal": ["1.5", "NaN", True],
    "string": [12, True, "", " \x01 "],
    "markdown": [""],
    "code": [" leading", "two  spaces", "", 3],
    "id": ["has space", "x" * 65, "under_score", ""],
    "uri": ["has space", ""],
    "url": ["has space"],
    "canonical": ["has space"],
    "oid": ["1.2.x", "urn:oid:01.2"],
    "uuid": ["urn:uuid:not-a-uuid", "c757873d-ec9a-4326-a141-556f43239520"],
    "date": ["2020-13-01", "2020-1-1", "20200101", "2020-02-30", "2021-02-29",
             "2020-01-01T10:00:00Z"],
    "dateTime": ["2020-01-01T10:00", "2020-01-01T25:00:00Z", "2020-01-01 10:00:00",
                 "2020-02-30T10:00:00Z", "2020-01-01T10:00:00", "2020-04-31"],
    "instant": ["2020-01-01", "2020-01-01T10:00:00", "2020-01-01T10:61:00Z",
                "2019-02-29T10:00:00Z"],
    "time": ["25:00:00", "10:00", "10:00:00Z"],
    "base64Binary": ["@@@ not base64 @@@"],
    "xhtml": ["no div element", ""],
}
UNKNOWN = "unknownElementXyz"


def _ops_for(site: Site) -> list[tuple[str, Callable[[Any, Site, random.Random], bool]]]:
    ops: list[tuple[str, Callable[[Any, Site, random.Random], bool]]] = []
    many = site.child.max not in ("0", "1")
    if site.primitive:
        ops.append((f"bad-{site.type_name}", _op_bad_lexical))
        ops.append(("primitive-as-object", _op_primitive_as_object))
        ops.append(("primitive-ext-shape", _op_primitive_ext_shape))
        if many:
            ops.append(("null-in-primitive-array", _op_null_item))
    else:
        ops.append(("empty-object", _op_empty_object))
        ops.append(("object-as-string", _op_object_as_string))
        ops.append(("primitive-ext-on-complex", _op_ext_on_complex))
        if site.tree is not None and not site.resource:
            ops.append(("unknown-element", _op_unknown_element))
            ops.append(("missing-required", _op_missing_required))
            ops.append(("unknown-primitive-ext-key", _op_unknown_underscore))
        if many:
            ops.append(("null-in-array", _op_null_item))
    if many:
        ops.append(("single-for-array", _op_single_for_array))
        ops.append(("empty-array", _op_empty_array))
    else:
        ops.append(("array-for-single", _op_array_for_single))
        ops.append(("null", _op_null))
    if site.child.choice:
        ops.append(("bad-choice-suffix", _op_bad_choice_suffix))
        ops.append(("choice-type-not-allowed", _op_choice_not_allowed))
        ops.append(("two-choice-types", _op_two_choices))
        ops.append(("bare-choice-name", _op_bare_choice))
    if site.type_name == "Extension":
        ops.append(("extension-without-url", _op_ext_no_url))
        ops.append(("extension-url-not-string", _op_ext_url_type))
    if site.resource:
        ops.append(("contained-wrong-resourceType", _op_wrong_resource_type))
        ops.append(("contained-datatype-as-resource", _op_datatype_resource_type))
        ops.append(("contained-no-resourceType", _op_no_resource_type))
        ops.append(("contained-abstract-type", _op_abstract_resource_type))
        ops.append(("contained-unknown-element", _op_unknown_element))
    return ops


def _set(res: Any, site: Site, value: Any) -> bool:
    parent, key = _parent(res, site.path)
    parent[key] = value
    return True


def _op_bad_lexical(res: Any, site: Site, rng: random.Random) -> bool:
    choices = BAD_LEXICAL.get(site.type_name)
    if not choices:
        choices = [12, True]
    return _set(res, site, rng.choice(choices))


def _op_primitive_as_object(res: Any, site: Site, rng: random.Random) -> bool:
    return _set(res, site, {"value": _get(res, site.path)})


def _op_primitive_ext_shape(res: Any, site: Site, rng: random.Random) -> bool:
    if site.in_array:
        return False
    parent, key = _parent(res, site.path)
    parent[f"_{key}"] = rng.choice(["text", [], {}, {"url": "x"}, {"value": "x"},
                                    {"extension": [{"valueString": "no url"}]}])
    return True


def _op_null_item(res: Any, site: Site, rng: random.Random) -> bool:
    if not site.in_array:
        return False
    return _set(res, site, None)


def _op_empty_object(res: Any, site: Site, rng: random.Random) -> bool:
    return _set(res, site, {})


def _op_object_as_string(res: Any, site: Site, rng: random.Random) -> bool:
    return _set(res, site, "text")


def _op_ext_on_complex(res: Any, site: Site, rng: random.Random) -> bool:
    parent, key = _parent(res, _key_path(site))
    parent[f"_{key}"] = {"extension": [{"url": "http://example.org/x", "valueString": "x"}]}
    return True


def _op_unknown_element(res: Any, site: Site, rng: random.Random) -> bool:
    _get(res, site.path)[UNKNOWN] = rng.choice(["x", 1, {"a": "b"}, ["x"]])
    return True


def _op_missing_required(res: Any, site: Site, rng: random.Random) -> bool:
    assert site.tree is not None
    value = _get(res, site.path)
    for name, child in site.tree.children.get(site.el_path, {}).items():
        if child.min > 0:
            keys = [k for k in value if k == name or (child.choice and k.startswith(name)
                                                       and k[len(name):][:1].isupper())]
            if keys:
                for k in keys:
                    del value[k]
                    value.pop(f"_{k}", None)
                return bool(value)
    return False


def _op_unknown_underscore(res: Any, site: Site, rng: random.Random) -> bool:
    _get(res, site.path)[f"_{UNKNOWN}"] = {"id": "x"}
    return True


def _op_single_for_array(res: Any, site: Site, rng: random.Random) -> bool:
    parent, key = _parent(res, _key_path(site))
    items = parent[key]
    if not isinstance(items, list) or not items:
        return False
    parent[key] = items[0]
    return True


def _op_empty_array(res: Any, site: Site, rng: random.Random) -> bool:
    parent, key = _parent(res, _key_path(site))
    parent[key] = []
    return True


def _op_array_for_single(res: Any, site: Site, rng: random.Random) -> bool:
    return _set(res, site, [_get(res, site.path)])


def _op_null(res: Any, site: Site, rng: random.Random) -> bool:
    return _set(res, site, None)


def _rename(res: Any, site: Site, new_key: str) -> bool:
    parent, key = _parent(res, _key_path(site))
    if new_key in parent:
        return False
    renamed = {}
    for k, v in parent.items():
        if k == key:
            renamed[new_key] = v
        elif k == f"_{key}":
            renamed[f"_{new_key}"] = v
        else:
            renamed[k] = v
    parent.clear()
    parent.update(renamed)
    return True


def _op_bad_choice_suffix(res: Any, site: Site, rng: random.Random) -> bool:
    suffix = site.key[len(site.child.name):]
    return _rename(res, site, site.child.name + rng.choice([suffix.lower(), suffix + "x",
                                                            "Foo", suffix.upper()]))


# types tried for a choice element that does not allow them (value kept as it is)
_OTHER_TYPES = ("String", "Boolean", "Integer", "HumanName", "Quantity", "Reference",
                "CodeableConcept", "Period", "DateTime", "Markdown", "Annotation", "Uri")


def _op_choice_not_allowed(res: Any, site: Site, rng: random.Random) -> bool:
    allowed = {t[:1].upper() + t[1:] for t in site.child.types}
    others = [t for t in _OTHER_TYPES if t not in allowed]
    return bool(others) and _rename(res, site, site.child.name + rng.choice(others))


def _op_two_choices(res: Any, site: Site, rng: random.Random) -> bool:
    parent, key = _parent(res, _key_path(site))
    own = key[len(site.child.name):]
    for t in site.child.types:
        suffix = t[:1].upper() + t[1:]
        if suffix != own and site.child.name + suffix not in parent:
            parent[site.child.name + suffix] = "x" if t[:1].islower() else {"id": "x"}
            return True
    return False


def _op_bare_choice(res: Any, site: Site, rng: random.Random) -> bool:
    return _rename(res, site, site.child.name)


def _op_ext_no_url(res: Any, site: Site, rng: random.Random) -> bool:
    value = _get(res, site.path)
    if "url" not in value:
        return False
    del value["url"]
    return True


def _op_ext_url_type(res: Any, site: Site, rng: random.Random) -> bool:
    _get(res, site.path)["url"] = rng.choice([12, ["http://x"], {"value": "http://x"}, ""])
    return True


def _op_wrong_resource_type(res: Any, site: Site, rng: random.Random) -> bool:
    _get(res, site.path)["resourceType"] = "NotAResourceType"
    return True


def _op_datatype_resource_type(res: Any, site: Site, rng: random.Random) -> bool:
    _get(res, site.path)["resourceType"] = rng.choice(["HumanName", "Identifier", "string"])
    return True


def _op_no_resource_type(res: Any, site: Site, rng: random.Random) -> bool:
    del _get(res, site.path)["resourceType"]
    return True


def _op_abstract_resource_type(res: Any, site: Site, rng: random.Random) -> bool:
    _get(res, site.path)["resourceType"] = rng.choice(["DomainResource", "Resource"])
    return True


def _root_mutants(name: str, res: dict[str, Any], rng: random.Random) -> Iterator[Mutant]:
    m = copy.deepcopy(res)
    m[UNKNOWN] = "x"
    yield Mutant(f"{name}/unknown-element-at-root", "unknown-element", m)
    m = copy.deepcopy(res)
    m["id"] = rng.choice(["has space", "x" * 65, "a_b"])
    yield Mutant(f"{name}/bad-resource-id", "bad-id", m)
    m = copy.deepcopy(res)
    m["meta"] = {**(m.get("meta") or {}), "lastUpdated": "2020-01-01"}
    yield Mutant(f"{name}/meta-lastUpdated-not-instant", "bad-instant", m)


def mutants(checker: StructureChecker, seeds: list[tuple[str, dict[str, Any]]],
            seed: int = SEED) -> list[Mutant]:
    """For each seed resource: for every operator that applies to some value of it (from
    the element's definition: primitive type, complex type, cardinality, choice, extension,
    contained resource), one mutant at a site chosen at random (fixed seed)."""
    rng = random.Random(seed)
    out: list[Mutant] = []
    for name, res in seeds:
        by_op: dict[str, list[tuple[Site, Callable[[Any, Site, random.Random], bool]]]] = {}
        for site in sites(checker, res):
            for op, fn in _ops_for(site):
                by_op.setdefault(op, []).append((site, fn))
        out.extend(_root_mutants(name, res, rng))
        for op in sorted(by_op):
            candidates = by_op[op]
            for _ in range(3):  # a few tries: some sites do not lend themselves to it
                site, fn = rng.choice(candidates)
                m = copy.deepcopy(res)
                if fn(m, site, rng):
                    where = ".".join(str(s) for s in site.path)
                    out.append(Mutant(f"{name}/{op}@{where}", op, m))
                    break
    return out


# --- the differential ------------------------------------------------------------------------


@dataclass
class Differential:
    cases: Counter[str] = field(default_factory=Counter)  # by corpus
    misses: list[tuple[str, list[str]]] = field(default_factory=list)  # model rejects, we accept
    explained: list[tuple[str, str]] = field(default_factory=list)  # (case, reason)
    reverse: list[tuple[str, list[str]]] = field(default_factory=list)  # we reject, model not
    undetected: list[str] = field(default_factory=list)  # mutants both accept
    # the structural check alone (CM_FHIR_VALIDATE_BASE=0 leaves the base pass out for the
    # resources that claim no profile): model rejects, it accepts, unexplained
    structure_misses: list[tuple[str, list[str]]] = field(default_factory=list)
    both_reject: int = 0
    both_accept: int = 0
    used_reasons: set[str] = field(default_factory=set)
    by_operator: Counter[str] = field(default_factory=Counter)
    model_caught: Counter[str] = field(default_factory=Counter)  # mutants, by operator
    ours_caught: Counter[str] = field(default_factory=Counter)


def compare(ctx: FhirContext, corpus: str, cases: list[tuple[str, dict[str, Any]]],
            diff: Differential, operators: dict[str, str] | None = None) -> None:
    structure_only = dataclasses.replace(ctx, profile_validator=None)
    for name, res in cases:
        diff.cases[corpus] += 1
        if operators:
            diff.by_operator[operators[name]] += 1
        ms = model(res)
        us = ours(ctx, res)
        if operators:
            diff.model_caught[operators[name]] += bool(ms)
            diff.ours_caught[operators[name]] += bool(us)
        if ms and not ours(structure_only, res) and _explained(ms) is None:
            diff.structure_misses.append((name, [i.diagnostics[:160] for i in ms[:3]]))
        if ms and not us:
            reason = _explained(ms)
            if reason is None:
                diff.misses.append((name, [i.diagnostics[:160] for i in ms[:3]]))
            else:
                diff.explained.append((name, reason))
                diff.used_reasons.add(reason)
        elif us and not ms:
            diff.reverse.append((name, [i.diagnostics[:160] for i in us[:2]]))
        elif us and ms:
            diff.both_reject += 1
        else:
            diff.both_accept += 1
            if operators:
                diff.undetected.append(name)


def write_context(base: FhirContext) -> FhirContext:
    """The write path's checks as the server runs them, the model switched off."""
    from fhir_service.operations.validate import make_profile_validator

    settings = base.settings.replace(validate_with_model=False)
    ctx = dataclasses.replace(base, settings=settings)
    ctx.profile_validator = make_profile_validator(ctx)
    return ctx


def pick_seeds(examples: list[tuple[str, dict[str, Any]]], valid: set[str],
               per_type: int | None = SEEDS_PER_TYPE) -> list[tuple[str, dict[str, Any]]]:
    """Valid examples of ordinary size, ``per_type`` of each resource type (fixed seed)."""
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, res in examples:
        if name in valid and len(fhir.dumps(res)) <= SEED_MAX_BYTES:
            by_type.setdefault(res["resourceType"], []).append((name, res))
    rng = random.Random(SEED)
    seeds = []
    for rtype in sorted(by_type):
        group = by_type[rtype]
        seeds.extend(group if per_type is None or len(group) <= per_type
                     else rng.sample(group, per_type))
    return seeds


def run(base: FhirContext, core: Path,
        per_type: int | None = SEEDS_PER_TYPE) -> tuple[Differential, int]:
    ctx = write_context(base)
    diff = Differential()
    examples = list(official_examples(core))
    compare(ctx, "official examples", examples, diff)
    if VALIDATOR_CASES.is_dir():
        compare(ctx, "validator test cases", list(validator_case_resources()), diff)
    valid = {n for n, _ in examples} - {n for n, _ in diff.reverse} - \
        {n for n, _ in diff.misses} - {n for n, _ in diff.explained}
    seeds = pick_seeds(examples, valid, per_type)
    corpus = mutants(ctx.checker, seeds)
    compare(ctx, "mutants", [(m.name, m.resource) for m in corpus], diff,
            {m.name: m.operator for m in corpus})
    return diff, len(seeds)


def report(diff: Differential, n_seeds: int) -> str:
    lines = [f"cases: {dict(diff.cases)} (mutants from {n_seeds} valid examples)",
             f"both accept {diff.both_accept}, both reject {diff.both_reject}",
             f"model rejects, we accept: {len(diff.misses)} unexplained, "
             f"{len(diff.explained)} explained (R4B vs R4)",
             f"we reject, the model accepts: {len(diff.reverse)}",
             f"the structural check alone: model rejects, it accepts: "
             f"{len(diff.structure_misses)} unexplained"]
    for name, msgs in diff.misses:
        lines.append(f"  MISS {name}: {msgs}")
    for name, msgs in diff.structure_misses:
        lines.append(f"  STRUCTURE MISS {name}: {msgs}")
    for name, reason in diff.explained:
        lines.append(f"  explained {name}: {reason[:80]}")
    for name, msgs in diff.reverse:
        lines.append(f"  reverse {name}: {msgs[:1]}")
    for name in diff.undetected:
        lines.append(f"  undetected by both {name}")
    return "\n".join(lines)


# --- the test ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def differential(base_context: FhirContext) -> tuple[Differential, int]:
    """Examples and mutants come from the definitions package (always there); the validator
    cases from ../shared/testdata when present (test_the_validator_cases_are_compared)."""
    core = _core_dir(base_context)
    if core is None:
        pytest.skip("the R4 examples package (hl7.fhir.r4.core#4.0.1) is not in the cache")
    return run(base_context, core)


def _core_dir(ctx: FhirContext) -> Path | None:
    """The examples package the server loaded its definitions from (it holds every example)."""
    from fhir_service.conformance.package import core_package_dir

    path = core_package_dir(ctx.settings.cache_dir)
    return path if path.is_dir() else None


def test_the_model_catches_nothing_our_checks_miss(
        differential: tuple[Differential, int]) -> None:
    diff, n_seeds = differential
    print(report(diff, n_seeds))
    assert diff.cases["official examples"] >= 5000
    assert diff.cases["mutants"] >= 3000
    assert not diff.misses, "\n".join(f"{n}: {m}" for n, m in diff.misses)


def test_the_structural_check_alone_misses_nothing_either(
        differential: tuple[Differential, int]) -> None:
    """Also without the base pass (CM_FHIR_VALIDATE_BASE=0), the model would add nothing."""
    diff, _ = differential
    assert not diff.structure_misses, "\n".join(f"{n}: {m}" for n, m in diff.structure_misses)


def test_the_validator_cases_are_compared(differential: tuple[Differential, int]) -> None:
    from tests.conftest import require_testdata

    require_testdata("fhir-validator-cases")
    assert differential[0].cases["validator test cases"] >= 150


def test_every_explanation_is_used(differential: tuple[Differential, int]) -> None:
    diff, _ = differential
    stale = [r for _, r, witness in R4B_VS_R4 if witness is None and r not in diff.used_reasons]
    assert not stale, stale


def test_the_listed_r4b_differences_are_real(base_context: FhirContext) -> None:
    """Each witness is an element of the R4 definitions that the R4B model does not have."""
    for _, reason, witness in R4B_VS_R4:
        if witness is None:
            continue
        rtype, name = witness.split(".", 1)
        tree = base_context.checker.tree(rtype)
        assert tree is not None and base_context.checker._find_child(
            tree.children.get(rtype, {}), name)[0] is not None, witness
        cls = fhir.model_class(rtype)
        if cls is None:  # a datatype
            from fhir.resources.R4B import get_fhir_model_class

            cls = get_fhir_model_class(rtype)
        names = {f.alias or n for n, f in cls.model_fields.items()}
        assert name not in names, (witness, reason)


def test_the_mutants_cover_every_operator(differential: tuple[Differential, int]) -> None:
    diff, _ = differential
    assert len(diff.by_operator) >= 30, diff.by_operator


# --- the general rules the differential brought to the structural check ------------------------


@pytest.mark.parametrize(("resource", "expected"), [
    # json.html#choice: one type per choice element
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
      "valueString": "a", "valueBoolean": True}, "Only one of value[x]"),
    ({"resourceType": "Patient", "extension": [{"url": "http://x", "valueString": "a",
                                                "_valueCode": {"id": "a"}}]},
     "Only one of value[x]"),
    # FHIRPath System-typed elements (ids, Extension.url) carry no primitive extension
    ({"resourceType": "Patient", "id": "a", "_id": {"id": "b"}}, "'_id' is not allowed"),
    ({"resourceType": "Patient", "extension": [{"url": "http://x", "_url": {"id": "b"},
                                                "valueString": "a"}]}, "'_url' is not allowed"),
    # "Dates SHALL be valid dates"
    ({"resourceType": "Patient", "birthDate": "2021-02-29"}, "no such day"),
    ({"resourceType": "Patient", "meta": {"lastUpdated": "2020-04-31T10:00:00Z"}}, "no such day"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
      "effectiveDateTime": "2020-06-31"}, "no such day"),
    # json.html#primitive: null in a primitive array only beside its _name item
    ({"resourceType": "Patient", "name": [{"given": ["a", None]}]}, "null is not allowed"),
    ({"resourceType": "Patient", "name": [{"given": ["a", None], "_given": [{"id": "x"}, None]}]},
     "null is not allowed"),
    # the content of a primitive extension is an Element
    ({"resourceType": "Patient", "_gender": {"url": "http://x"}}, "Unknown element 'url'"),
    ({"resourceType": "Patient", "gender": "male", "_gender": {"extension": [{"valueCode": "x"}]}},
     "Missing required element 'url'"),
    # 32-bit integers
    ({"resourceType": "Patient", "multipleBirthInteger": 2147483648}, "32-bit"),
    ({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
      "valueInteger": -2147483649}, "32-bit integer"),
])
def test_general_rules(base_context: FhirContext, resource: dict[str, Any], expected: str) -> None:
    issues = base_context.checker.check_resource(resource)
    assert any(expected in i.diagnostics for i in issues), issues


@pytest.mark.parametrize("resource", [
    {"resourceType": "Patient", "birthDate": "2020-02-29", "multipleBirthInteger": 2147483647},
    {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
     "effectiveInstant": "2016-12-31T23:59:60Z", "valueString": "a",
     "_valueString": {"id": "b"}},  # a leap second; a value and its own extension
    {"resourceType": "Patient", "birthDate": "1970", "deceasedDateTime": "2020-02"},
    {"resourceType": "Patient", "name": [{"given": ["a", None], "_given": [None, {"id": "x"}]}]},
    {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
     "valueQuantity": {"value": 10**12}},  # decimals are not 32-bit
])
def test_valid_edges_stay_valid(base_context: FhirContext, resource: dict[str, Any]) -> None:
    assert base_context.checker.check_resource(resource) == []


if __name__ == "__main__":
    from fhir_service.context import build_context
    from fhir_service.settings import Settings

    base = build_context(Settings(database_url="sqlite://", demo=False, auth="off",
                                  audit=False, provenance=False))
    core = _core_dir(base)
    if core is None:
        sys.exit("no examples package")
    result, seeds = run(base, core, None if "--all-seeds" in sys.argv else SEEDS_PER_TYPE)
    print(report(result, seeds))
    print(f"{'operator':32} {'mutants':>7} {'model':>6} {'ours':>6}")
    for op, n in sorted(result.by_operator.items()):
        print(f"{op:32} {n:7} {result.model_caught[op]:6} {result.ours_caught[op]:6}")
