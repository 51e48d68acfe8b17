"""Run our validator on the official validator test cases (fhir-test-cases, R4 subset) and
compare error / no-error verdicts with the reference Java validator's recorded outcomes.

``python -m tests.validator.cases`` prints the figures and rewrites
``tests/validator/validator-cases-report.md``; ``tests/validator/test_validator_cases.py``
compares the report it renders with that committed file (``make update-goldens`` rewrites it).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fhir_service import fhir
from fhir_service.conformance.package import core_package_dir
from fhir_service.conformance.registry import Registry, build_registry
from fhir_service.conformance.validator import Validator
from fhir_service.conformance.validator.xmlformat import XmlReader
from fhir_service.outcomes import FhirError, Issue

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT.parent / "shared" / "testdata" / "fhir-validator-cases"
REPORT = Path(__file__).with_name("validator-cases-report.md")


@dataclass
class Verdict:
    name: str
    module: str
    kind: str  # base | profile
    expected_error: bool
    our_error: bool
    java_messages: list[str]
    our_messages: list[str]

    @property
    def agrees(self) -> bool:
        return self.expected_error == self.our_error


@cache
def core_registry() -> Registry:
    return build_registry(core_package_dir())


def _overlay(extra: list[dict[str, Any]]) -> Registry:
    base = core_registry()
    reg = Registry()
    reg.packages = list(base.packages)
    reg._by_url = dict(base._by_url)
    reg._by_type_id = dict(base._by_type_id)
    reg._sd_by_type = dict(base._sd_by_type)
    for res in extra:
        reg.add_resource(copy.deepcopy(res))
    return reg


def _java_errors(name: str | dict[str, Any], cases: Path = CASES) -> tuple[bool, list[str]]:
    if isinstance(name, dict):  # inline expectation: {"errorCount": n, "output": [...]}
        n = int(name.get("errorCount", 0))
        return n > 0, [str(o)[:200] for o in name.get("output", [])][:n] or ["error"] * n
    outcome = json.loads((cases / "outcomes" / name).read_text(encoding="utf-8"))
    msgs = [
        (i.get("details", {}).get("text") or i.get("diagnostics") or "")[:200]
        for i in outcome.get("issue", [])
        if i.get("severity") in ("error", "fatal")
    ]
    return bool(msgs), msgs


_COMMENTS = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.DOTALL)


def _load(name: str, allow_comments: bool = False, cases: Path = CASES) -> Any:
    raw = (cases / name).read_bytes()
    if name.endswith(".xml"):
        return XmlReader(core_registry()).loads(raw)
    if allow_comments:  # the case allows JSON with comments (json5 module)
        raw = _COMMENTS.sub(lambda m: m.group(1) or "", raw.decode("utf-8")).encode()
    return fhir.loads(raw)


def _load_opt(name: str, cases: Path = CASES) -> Any:
    try:
        return _load(name, cases=cases)
    except (FhirError, OSError, ValueError):
        return None  # JSON5 supporting content: not read here


def _errors(issues: list[Issue]) -> list[str]:
    return [f"{i.diagnostics[:200]} @ {','.join(i.expression)}" for i in issues
            if i.severity in ("error", "fatal")]


def manifest_cases(cases: Path = CASES) -> list[dict[str, Any]]:
    """The manifest's test cases."""
    data = json.loads((cases / "manifest.json").read_text(encoding="utf-8"))
    return list(data["test-cases"])


def run_cases(cases: Path = CASES, selected: list[dict[str, Any]] | None = None
              ) -> list[Verdict]:
    """Run ``selected`` cases (default: all) of the suite in folder ``cases``."""
    manifest = manifest_cases(cases) if selected is None else selected
    verdicts = []
    for case in manifest:
        supporting = [_load_opt(f, cases)
                      for f in case.get("supporting", []) + case.get("profiles", [])
                      if (cases / f).exists()]
        profile = case.get("profile")
        # run options of the reference validator that a case sets
        options = {"html_in_markdown": "error" if case.get("noHtmlInMarkdown") else "warning",
                   "check_contained": case.get("validateContains") != "IGNORE"}
        validator = Validator(_overlay([s for s in supporting if isinstance(s, dict)]),
                              **options)
        try:
            resource = _load(case["file"], bool(case.get("allow-comments")), cases)
            base_issues = validator.validate(resource)
        except FhirError as exc:
            resource = None
            base_issues = exc.issues
        java_err, java_msgs = _java_errors(case["java"], cases)
        verdicts.append(Verdict(case["name"], case.get("module", ""), "base", java_err,
                                bool(_errors(base_issues)), java_msgs, _errors(base_issues)))
        if profile and "java" in profile:
            source = _load_opt(profile["source"], cases)
            url = (source or {}).get("url", "")
            extra = [_load_opt(f, cases) for f in profile.get("supporting", [])
                     if (cases / f).exists()]
            pv = Validator(_overlay([x for x in [*supporting, *extra, source]
                                     if isinstance(x, dict)]), **options)
            issues = (pv.validate(resource, [url]) if resource is not None and url
                      else base_issues)
            p_err, p_msgs = _java_errors(profile["java"], cases)
            verdicts.append(Verdict(case["name"], case.get("module", ""), "profile", p_err,
                                    bool(_errors(issues)), p_msgs, _errors(issues)))
    return verdicts


def summary(verdicts: list[Verdict]) -> dict[str, Any]:
    prof = [v for v in verdicts if v.kind == "profile" or v.module == "profile"]
    return {
        "total": len(verdicts),
        "agree": sum(v.agrees for v in verdicts),
        "agreement": sum(v.agrees for v in verdicts) / len(verdicts),
        "profile_total": len(prof),
        "profile_agree": sum(v.agrees for v in prof),
        "profile_agreement": sum(v.agrees for v in prof) / len(prof) if prof else 1.0,
        "false_errors": sum(v.our_error and not v.expected_error for v in verdicts),
        "missed_errors": sum(v.expected_error and not v.our_error for v in verdicts),
    }


def render_report(verdicts: list[Verdict], reasons: dict[str, str] | None = None) -> str:
    """The text of ``validator-cases-report.md`` for these verdicts (nothing is written)."""
    s = summary(verdicts)
    lines = [
        "# Our validator vs the reference (Java) validator on the official test cases",
        "",
        "Generated by `python -m tests.validator.cases` (or `make update-goldens`); "
        "`tests/validator/test_validator_cases.py` fails when it is out of date. Source: "
        "`../shared/testdata/fhir-validator-cases/` (fhir-test-cases, R4 JSON subset); a "
        "verdict is *error* when the outcome has at least one issue of severity error or fatal.",
        "",
        f"- verdicts compared: **{s['total']}** (each case against base R4, plus against its "
        "profile when the case has one)",
        f"- agreement overall: **{s['agree']}/{s['total']} = {s['agreement']:.1%}**",
        f"- agreement on profile cases (module `profile` or with a profile): "
        f"**{s['profile_agree']}/{s['profile_total']} = {s['profile_agreement']:.1%}**",
        f"- we report an error where Java does not: {s['false_errors']}; we miss an error "
        f"Java reports: {s['missed_errors']}",
        "",
        "## Disagreements",
        "",
        "| case | check | Java | ours | why |",
        "|---|---|---|---|---|",
    ]
    for v in verdicts:
        if v.agrees:
            continue
        java = "; ".join(v.java_messages[:2]) or "no error"
        ours = "; ".join(v.our_messages[:2]) or "no error"
        why = (reasons or {}).get(f"{v.name}/{v.kind}", (reasons or {}).get(v.name, ""))
        cells = [v.name, f"{v.module}/{v.kind}", java, ours, why]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ")[:300]
                                        for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(verdicts: list[Verdict], reasons: dict[str, str] | None = None) -> str:
    """Rewrite the committed report (explicitly: ``python -m tests.validator.cases``)."""
    text = render_report(verdicts, reasons)
    REPORT.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    from tests.validator.reasons import REASONS

    results = run_cases()
    print(json.dumps(summary(results), indent=2))
    write_report(results, REASONS)
