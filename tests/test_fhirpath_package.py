"""FHIRPath has one home: ``fhir_service/fhirpath/`` (issue 16).

House rule: no module outside that package imports fhirpathpy; the rewrites of R4 expressions
live in ``fhirpath/rewrites.py`` only, and keep their meaning."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fhir_service.fhirpath import engine, paths, rewrites

PACKAGE = Path(__file__).resolve().parents[1] / "fhir_service"
HOME = PACKAGE / "fhirpath"


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_fhirpath_package_imports_fhirpathpy() -> None:
    offenders = []
    seen = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        names = _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        engine_imports = {n for n in names if n == "fhirpathpy" or n.startswith("fhirpathpy.")}
        if path.is_relative_to(HOME):
            seen += bool(engine_imports)
        elif engine_imports:
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {sorted(engine_imports)}")
    assert offenders == []
    assert seen >= 1  # the walk does see imports (engine.py has them)


def test_the_import_walk_finds_every_form() -> None:
    source = ("import fhirpathpy\nfrom fhirpathpy.parser import parse\n"
              "def f():\n    import fhirpathpy.models as m\n    from fhirpathpy import compile\n")
    assert _imports(ast.parse(source)) == {"fhirpathpy", "fhirpathpy.parser",
                                           "fhirpathpy.models"}


def test_no_copy_of_the_rewrites_left_behind() -> None:
    """The regular expressions of the rewrites exist once, in rewrites.py. (search/query.py
    also reads ``resolve() is X`` to narrow a parameter's targets: a reading, not a rewrite.)"""
    markers = [r"hasExtension\(", r"\.as\(", "reference.matches('^(.*/)?",
               "enableWhen.count() > 2", "_SYSTEM_TYPES"]
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME / "rewrites.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(PACKAGE.parent)}: {m}" for m in markers if m in text]
    assert found == []
    assert not (PACKAGE / "search" / "native.py").exists()  # moved to fhirpath/paths.py


@pytest.mark.parametrize(("expression", "rtype", "expected"), [
    ("Resource.meta.tag", "Patient", "Patient.meta.tag"),
    ("(Observation.value as Quantity)", "Observation", "Observation.value.ofType(Quantity)"),
    ("Condition.onset.as(Age) | Patient.name", "Condition", "Condition.onset.ofType(Age)"),
    ("Patient.name | Practitioner.name", "Organization", None),
    ("Patient.extension.hasExtension('u')", "Patient", "Patient.extension.extension('u').exists()"),
    ("Observation.subject.where(resolve() is Patient)", "Observation",
     "Observation.subject.where((type = 'Patient' or reference.matches("
     "'^(.*/)?Patient/[A-Za-z0-9\\\\-\\\\.]{1,64}(/_history/.*)?$')))"),
])
def test_search_rewrites(expression: str, rtype: str, expected: str | None) -> None:
    assert rewrites.search_expression_for_type(expression, rtype) == expected


def test_rewritten_search_paths_are_walked_natively() -> None:
    expression = rewrites.search_expression_for_type(
        "Observation.subject.where(resolve() is Patient) | Group.member", "Observation")
    assert expression is not None
    fn = paths.compile_native(expression)
    assert fn is not None
    observation = {"resourceType": "Observation",
                   "subject": {"reference": "http://x/fhir/Patient/p1"}}
    assert fn(observation) == [{"reference": "http://x/fhir/Patient/p1"}]
    observation["subject"] = {"reference": "Group/g"}
    assert fn(observation) == []
    # the general engine agrees on the rewritten expression
    assert engine.compile_expression(expression)(observation) == []


def test_invariant_rewrites_keep_the_meaning() -> None:
    assert rewrites.invariant_expression("hasExtension('u') or (a as String).exists()") == \
        "extension.where(url = 'u').exists() or a.ofType(string).exists()"
    assert rewrites.invariant_errata("bdl-8", "fullUrl.contains('/_history/').not()") == \
        "fullUrl.exists() implies fullUrl.contains('/_history/').not()"
    assert rewrites.invariant_errata("bdl-9", "fullUrl.contains('/_history/').not()") == \
        "fullUrl.contains('/_history/').not()"  # only the exact defective (key, expression)
    # fhirpathpy's extension(url) alone returns the first match: the rewrite returns both
    data = {"resourceType": "Basic",
            "extension": [{"url": "u", "valueString": "a"}, {"url": "u", "valueString": "b"}]}
    fn = engine.compile_expression(rewrites.invariant_expression("extension('u').count()"))
    assert fn(data) == [2]


def test_strict_parse_refuses_what_the_engine_parser_recovers_from() -> None:
    engine.strict_parse("name.where(use = 'official').given.first()")
    for bad in ("name.where(", "name given", "name.)"):
        with pytest.raises(ValueError):
            engine.strict_parse(bad)
