"""A mutation corpus from the IG examples: each mutant breaks exactly one rule.

Kinds: remove a required element, break a cardinality, wrong code in a required binding,
wrong reference type (a literal ``Substance/…`` reference, and a contained Substance),
wrong fixed/pattern value, bad primitive format, a Coding with a local-reference system,
a wrong display for a code of a code system known locally; the invariants are
broken by the hand-made examples of ``tests/ig/invalid/`` (one per invariant).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhir_service import fhir
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator.engine import Node

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "profiles" / "fsh-generated" / "resources"
INVALID = ROOT / "tests" / "ig" / "invalid"
CONFORMANCE = {"StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter",
               "OperationDefinition", "ConceptMap", "ImplementationGuide"}
_DATES = ("date", "dateTime", "instant")


@dataclass
class Mutant:
    name: str  # example/kind
    kind: str
    resource: dict[str, Any]


def examples() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        data = fhir.loads(path.read_bytes())
        if data.get("resourceType") not in CONFORMANCE and data["resourceType"] != "Bundle":
            out.append((path.stem, data))
    return out


def _root(v: Validator, res: dict[str, Any]) -> Node | None:
    for url in (res.get("meta") or {}).get("profile", []):
        model = v.model(url)
        if model is not None:
            return model.root
    return None


def _children(root: Node) -> list[Node]:
    return list(root.children.values())


def mutants(v: Validator) -> list[Mutant]:
    corpus: list[Mutant] = []
    for name, res in examples():
        root = _root(v, res)
        if root is None:
            continue
        kids = _children(root)
        # 1. remove a required element
        for c in kids:
            if c.min >= 1 and not c.choice and c.name in res:
                m = copy.deepcopy(res)
                del m[c.name]
                corpus.append(Mutant(f"{name}/remove-{c.name}", "required", m))
                break
        # 2. break a cardinality: one more item than max (profile-restricted arrays)
        for c in kids:
            if c.array and c.max is not None and isinstance(res.get(c.name), list):
                m = copy.deepcopy(res)
                m[c.name] = m[c.name] + [copy.deepcopy(m[c.name][0])] * c.max
                corpus.append(Mutant(f"{name}/too-many-{c.name}", "cardinality", m))
                break
            if not c.array and c.name in res and not c.choice:
                m = copy.deepcopy(res)
                m[c.name] = [m[c.name], m[c.name]]
                corpus.append(Mutant(f"{name}/array-{c.name}", "cardinality", m))
                break
        # 3. wrong code in a required binding
        for c in kids:
            if (c.binding and c.binding[0] == "required" and c.type_codes == ("code",)
                    and isinstance(res.get(c.name), str)):
                m = copy.deepcopy(res)
                m[c.name] = "not-a-known-code"
                corpus.append(Mutant(f"{name}/bad-code-{c.name}", "binding", m))
                break
        # 4. wrong reference type
        for c in kids:
            value = res.get(c.name)
            first = value[0] if isinstance(value, list) and value else value
            if c.type_codes == ("Reference",) and isinstance(first, dict) and isinstance(
                    first.get("reference"), str) and any(t.targets for t in c.types) and not any(
                    p.endswith("/Resource") for t in c.types for p in t.targets):
                m = copy.deepcopy(res)
                target = m[c.name][0] if isinstance(m[c.name], list) else m[c.name]
                target["reference"] = "Substance/not-allowed-here"
                corpus.append(Mutant(f"{name}/ref-type-{c.name}", "reference", m))
                # the same, to a target at hand (contained): both validators resolve it
                m = copy.deepcopy(m)
                target = m[c.name][0] if isinstance(m[c.name], list) else m[c.name]
                target["reference"] = "#not-allowed-here"
                m.setdefault("contained", []).append(
                    {"resourceType": "Substance", "id": "not-allowed-here",
                     "code": {"text": "not a valid target"}})
                corpus.append(Mutant(f"{name}/ref-contained-{c.name}", "reference", m))
                break
        # 5. wrong fixed / pattern value (primitive)
        for c in kids:
            fixed = c.fixed or c.pattern
            if fixed is not None and isinstance(fixed[1], str) and c.name in res:
                m = copy.deepcopy(res)
                m[c.name] = "proposal" if fixed[1] != "proposal" else "plan"
                corpus.append(Mutant(f"{name}/fixed-{c.name}", "fixed", m))
                break
        # 6. bad primitive format
        for c in kids:
            if c.type_codes and c.type_codes[0] in _DATES and isinstance(res.get(c.name), str):
                m = copy.deepcopy(res)
                m[c.name] = "2026-13-45"
                corpus.append(Mutant(f"{name}/bad-date-{c.name}", "format", m))
                break
        # 7. a Coding element (not in a CodeableConcept, where it is a warning) whose system
        # is a local reference
        path = _first_coding(res, bare=True)
        if path is not None:
            m = copy.deepcopy(res)
            _at(m, path)["system"] = "local-system"
            corpus.append(Mutant(f"{name}/relative-system", "coding", m))
        # 8. a wrong display for a code of a code system known here (the first Coding)
        path = _first_coding(res)
        if path is not None:
            coding = _at(res, path)
            if v.terminology.check_code(str(coding.get("system")), str(coding.get("code"))):
                m = copy.deepcopy(res)
                _at(m, path)["display"] = "Not the display of this code"
                corpus.append(Mutant(f"{name}/wrong-display", "coding", m))
    for path in sorted(INVALID.glob("*.json")):
        corpus.append(Mutant(f"invalid/{path.stem}", "invariant",
                             json.loads(path.read_text(encoding="utf-8"))))
    return corpus


def _first_coding(obj: Any, path: tuple[Any, ...] = (),
                  bare: bool = False) -> tuple[Any, ...] | None:
    """Path of the first Coding (an object with system and code) outside the narrative;
    ``bare``: not one of a CodeableConcept's codings."""
    if isinstance(obj, dict):
        if isinstance(obj.get("system"), str) and isinstance(obj.get("code"), str) and (
            "value" not in obj and "unit" not in obj
        ) and not (bare and len(path) >= 2 and path[-2] == "coding"):
            return path
        items = [(k, v) for k, v in obj.items() if k not in ("text", "contained", "meta")]
    elif isinstance(obj, list):
        items = list(enumerate(obj))
    else:
        return None
    for k, v in items:
        found = _first_coding(v, (*path, k), bare)
        if found is not None:
            return found
    return None


def _at(obj: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        obj = obj[k]
    return obj

