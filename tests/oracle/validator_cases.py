"""Run the offline HL7 validator over the official validator test cases and compare verdicts.

The cases are ``../shared/testdata/fhir-validator-cases/`` (134 R4 JSON cases from
FHIR/fhir-test-cases ``validator/``, with the reference Java validator's expected outcomes in
``outcomes/java/``). For every case we validate the file as the official test runner does
(``ValidationTests.java``: supporting resources and profiles loaded into the context, best
practice warnings ignored, example URLs allowed) and, for a case with ``profile``, once more
against that profile. The verdict compared is error / no error (an outcome with at least one
issue of severity error or fatal).

Run as a script for the full report (from the project root):

    .venv/bin/python -m tests.oracle.validator_cases [--json report.json] [-v]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.oracle.hl7_validator import PROJECT_ROOT, HL7Validator, OracleError

CASES_DIR = (PROJECT_ROOT / ".." / "shared" / "testdata" / "fhir-validator-cases").resolve()

# what the official runner sets for every case
BASE_OPTIONS = {"bestPracticeLevel": "Ignore", "allowExampleUrls": True}


# manifest flags -> InstanceValidatorParameters options
def _case_options(case: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    opts = dict(BASE_OPTIONS)
    unmapped = []
    if case.get("noHtmlInMarkdown"):
        opts["htmlInMarkdownCheck"] = "ERROR"
    if "no-experimental-content" in case:
        opts["noExperimentalContent"] = bool(case["no-experimental-content"])
    if "r5-bundle-relative-reference-policy" in case:
        opts["r5BundleRelativeReferencePolicy"] = case["r5-bundle-relative-reference-policy"]
    if "best-practice" in case:
        opts["bestPracticeLevel"] = case["best-practice"]
    if "security-checks" in case:
        opts["securityChecks"] = bool(case["security-checks"])
    for flag in ("allow-comments", "validateContains", "advisor", "ips", "ids-in-errors"):
        if flag in case:
            unmapped.append(flag)
    return opts, unmapped


@dataclass
class CaseRun:
    name: str
    kind: str  # base | profile
    module: str
    file: str
    igs: list[str]
    profiles: list[str]
    options: dict[str, Any]
    expected_errors: int
    unmapped_flags: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)  # absent from the shared copy
    # filled in by run()
    actual_errors: int | None = None
    error_messages: list[str] = field(default_factory=list)
    failure: str | None = None
    ms: int | None = None

    @property
    def expected_invalid(self) -> bool:
        return self.expected_errors > 0

    @property
    def actual_invalid(self) -> bool | None:
        return None if self.actual_errors is None else self.actual_errors > 0

    @property
    def agrees(self) -> bool:
        return self.actual_invalid is not None and self.actual_invalid == self.expected_invalid


def _expected_errors(ref: Any, cases_dir: Path) -> int:
    if isinstance(ref, dict):
        return int(ref.get("errorCount", 0))
    oo = json.loads((cases_dir / "outcomes" / ref).read_text(encoding="utf-8"))
    return sum(1 for i in oo.get("issue", []) if i.get("severity") in ("error", "fatal"))


def _url_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".xml":
        import xml.etree.ElementTree as ET

        url = ET.fromstring(text).find("{http://hl7.org/fhir}url")
        if url is None:
            raise ValueError(f"no url in {path}")
        return url.attrib["value"]
    return json.loads(text)["url"]


def load_runs(cases_dir: Path = CASES_DIR) -> list[CaseRun]:
    manifest = json.loads((cases_dir / "manifest.json").read_text(encoding="utf-8"))
    runs = []
    for case in manifest["test-cases"]:
        options, unmapped = _case_options(case)
        igs = [str(cases_dir / f) for f in case.get("supporting", []) + case.get("profiles", [])]
        runs.append(
            CaseRun(
                name=case["name"],
                kind="base",
                module=case.get("module", ""),
                file=str(cases_dir / case["file"]),
                igs=igs,
                profiles=[],
                options=options,
                expected_errors=_expected_errors(case["java"], cases_dir),
                unmapped_flags=unmapped,
            )
        )
        profile = case.get("profile")
        if profile:
            source = profile["source"]
            if source.startswith(("http://", "https://")):
                url, extra = source, []
            else:
                url, extra = _url_of(cases_dir / source), [str(cases_dir / source)]
            pigs = igs + extra + [str(cases_dir / f) for f in profile.get("supporting", [])]
            runs.append(
                CaseRun(
                    name=case["name"],
                    kind="profile",
                    module=case.get("module", ""),
                    file=str(cases_dir / case["file"]),
                    igs=pigs,
                    profiles=[url],
                    options=options,
                    expected_errors=_expected_errors(profile["java"], cases_dir),
                    unmapped_flags=unmapped,
                )
            )
    for r in runs:
        r.missing_files = [f for f in [r.file, *r.igs] if not Path(f).exists()]
    return runs


def run(validator: HL7Validator, runs: list[CaseRun], timeout: float = 120.0) -> list[CaseRun]:
    """Validate every run (one job each, so each case has its own context)."""
    for r in runs:
        if r.missing_files:
            r.failure = "not run: files missing from the test data: " + ", ".join(
                Path(f).name for f in r.missing_files
            )
            continue
        try:
            # the official runner validates the case file without loading it into the context
            res = validator.validate(
                [r.file],
                igs=r.igs,
                profiles=r.profiles,
                options=r.options,
                load_sources=False,
                timeout=timeout,
            )[0]
            r.actual_errors = len(res.errors)
            r.error_messages = [str(i) for i in res.errors][:5]
            r.ms = validator.last_job_ms
        except OracleError as e:
            r.failure = str(e).splitlines()[0][:300]
            if "timed out" in str(e) or "exited" in str(e):
                # the JVM is gone; the next job starts a new one
                pass
    return runs


def summary(runs: list[CaseRun]) -> dict[str, Any]:
    def block(rs: list[CaseRun]) -> dict[str, Any]:
        n = len(rs)
        runnable = [r for r in rs if not r.missing_files]
        agree = sum(1 for r in rs if r.agrees)
        return {
            "runs": n,
            "runnable": len(runnable),
            "agree": agree,
            # on the runs whose files are all present
            "agreement": round(agree / len(runnable), 4) if runnable else None,
            "false_errors": sum(1 for r in rs if r.actual_invalid is True and not r.expected_invalid),
            "missed_errors": sum(1 for r in rs if r.actual_invalid is False and r.expected_invalid),
            "failures": sum(1 for r in runnable if r.actual_invalid is None),
        }

    by_module: dict[str, list[CaseRun]] = {}
    for r in runs:
        by_module.setdefault(r.module, []).append(r)
    return {
        "overall": block(runs),
        "base": block([r for r in runs if r.kind == "base"]),
        "profile": block([r for r in runs if r.kind == "profile"]),
        "by_module": {m: block(rs) for m, rs in sorted(by_module.items())},
        "disagreements": [
            {
                "name": r.name,
                "kind": r.kind,
                "module": r.module,
                "expected_errors": r.expected_errors,
                "actual_errors": r.actual_errors,
                "unmapped_flags": r.unmapped_flags,
                "failure": r.failure,
                "errors": r.error_messages,
            }
            for r in runs
            if not r.agrees
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=Path, default=CASES_DIR)
    ap.add_argument("--json", type=Path, help="write the full report (summary + every run) here")
    ap.add_argument("--only", help="run only cases whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not (args.cases / "manifest.json").exists():
        print(f"no cases at {args.cases}", file=sys.stderr)
        return 2
    runs = load_runs(args.cases)
    if args.only:
        runs = [r for r in runs if args.only in r.name]
    t0 = time.monotonic()
    with HL7Validator() as v:
        start = v.start_seconds
        run(v, runs)
    total = time.monotonic() - t0
    s = summary(runs)
    s["timing"] = {
        "jvm_start_s": round(start or 0, 1),
        "total_s": round(total, 1),
        "mean_job_ms": round(sum(r.ms or 0 for r in runs) / max(1, len(runs))),
    }
    for key in ("overall", "base", "profile"):
        b = s[key]
        print(
            f"{key:8s} {b['agree']}/{b['runnable']} agree ({100 * (b['agreement'] or 0):.1f}%;"
            f" {b['runs'] - b['runnable']} not runnable),"
            f" false errors {b['false_errors']}, missed errors {b['missed_errors']}, failures {b['failures']}"
        )
    print("timing", s["timing"])
    if args.verbose:
        for m, b in s["by_module"].items():
            print(f"  module {m:14s} {b['agree']}/{b['runs']}")
        for d in s["disagreements"]:
            print(
                f"- {d['name']} [{d['kind']}, {d['module']}] expected {d['expected_errors']} errors,"
                f" got {d['actual_errors']} {d['unmapped_flags'] or ''} {d['failure'] or ''}"
            )
            for e in d["errors"][:3]:
                print(f"    {e[:220]}")
    if args.json:
        args.json.write_text(json.dumps({"summary": s, "runs": [asdict(r) for r in runs]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
