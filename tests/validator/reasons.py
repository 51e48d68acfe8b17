"""Why we still disagree with the Java validator on a case (keys: ``name`` or ``name/kind``).

Every disagreement in validator-cases-report.md has an entry; ``test_validator_cases.py``
fails when one is missing, and when an entry names a case we now agree on (so the list stays
true)."""

_LOINC = ("needs a terminology server: the Java validator checks the display of a LOINC code, "
          "and LOINC is not available offline (no LOINC CodeSystem in the R4 package)")
_CVX = ("needs a terminology server: the Java validator checks the display of a CVX code, and "
        "CVX is not available offline")
_ABSENT = ("the case's supporting file {} is not in the R4 JSON subset of the test data, so the "
           "{} it defines is unknown here and the code cannot be checked (reported as a warning)")

REASONS: dict[str, str] = {
    "sdoh-type-slice": _LOINC,
    "ips-nz-pj": _LOINC,
    "cvx": _CVX,
    "bundle-id-5": _CVX,
    "additional-bindings-observation-2/profile": _ABSENT.format(
        "additional-bindings-vs1.json", "value set of the additional binding"),
    "bb-obs-value-is-not-in-valueset/profile": _ABSENT.format("bb-vs.json", "value set"),
    "res-inv-example-bad/profile": (
        "the supporting profiles res-inv-profile-ep.json and res-inv-profile-org.json (with "
        "invariant uab-1 and the 'bundled' aggregation of Organization.endpoint) are not in the "
        "R4 JSON subset of the test data"),
    "res-inv-example-good/profile": (
        "Java's error is about its own set-up: it cannot resolve the profile "
        "user-access-endpoint named by res-inv-profile-ep.json, a file absent here; without "
        "that file we find nothing wrong"),
    "vs-params-4": (
        "not implemented: the rule that a cqf-expression on a ValueSet filter (the tooling "
        "extension valueset-parameter) is in text/fhirpath is the Java validator's own, "
        "published in no definition we load"),
}
