"""The native evaluator of simple SearchParameter expressions gives the same index values as
fhirpathpy, for every parameter of every official R4 resource (and our IG examples)."""

from __future__ import annotations

import json
import re
from typing import Any

from fhir_service import fhir
from fhir_service.conformance.package import core_package_dir
from fhir_service.fhirpath.paths import compile_native
from fhir_service.search.extract import _EXTRACTORS, IndexRows
from fhir_service.search.params import compile_expression

# fhirpathpy's ofType on primitive types (uri, string…) depends on global state it keeps
# between evaluations (subtypes such as canonical match once other code has run), so those
# expressions are checked on their own below; the native evaluator matches the exact type.
_PRIMITIVE_OFTYPE = re.compile(r"ofType\([a-z]")


def test_native_oftype_on_primitives_matches_the_exact_type() -> None:
    fn = compile_native("ConceptMap.source.ofType(uri) | ConceptMap.source.ofType(canonical)")
    assert fn is not None
    only_uri = compile_native("ConceptMap.source.ofType(uri)")
    assert only_uri is not None
    uri = {"resourceType": "ConceptMap", "sourceUri": "http://a"}
    canonical = {"resourceType": "ConceptMap", "sourceCanonical": "http://b"}
    assert only_uri(uri) == ["http://a"] and only_uri(canonical) == []
    assert fn(canonical) == ["http://b"]


def _rows(param: Any, values: list[Any]) -> list[tuple[Any, ...]]:
    out = IndexRows()
    for value in values:
        _EXTRACTORS[param.type](param.code, value, out)
    return sorted({row for table in vars(out).values() for row in table}, key=repr)


def test_native_paths_match_fhirpathpy(base_context: Any) -> None:
    folder = core_package_dir()
    index = json.loads((folder / ".index.json").read_text())
    files = [folder / f["filename"] for f in index["files"]]
    ig = base_context.settings.ig_packages[0] / "fsh-generated" / "resources" \
        if base_context.settings.ig_packages else None
    if ig is not None and ig.exists():
        files += sorted(ig.glob("*.json"))
    compiled: dict[str, Any] = {}
    native_count = checked = 0
    mismatches = []
    for path in files:
        resource = fhir.loads(path.read_bytes())
        rtype = resource.get("resourceType")
        if rtype not in base_context.params.types():
            continue
        for param in base_context.params.indexed(rtype):
            native = compile_native(param.expression)
            if native is None or _PRIMITIVE_OFTYPE.search(param.expression):
                continue
            if param.expression not in compiled:
                compiled[param.expression] = compile_expression(param.expression)
            native_count += 1
            expected = _rows(param, compiled[param.expression](resource))
            got = _rows(param, native(resource))
            checked += bool(expected)
            if expected != got:
                mismatches.append((path.name, param.code, expected[:3], got[:3]))
    assert native_count > 100_000 and checked > 10_000
    assert not mismatches, mismatches[:10]
