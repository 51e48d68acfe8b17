"""$evaluate-measure over a generated set of case files: every figure of every MeasureReport is
computed again here, in Python, from the generated data and the written definitions
(docs/indicators.md), for two structures (each sees only its people), a case manager, and a
territory. https://hl7.org/fhir/R4/measure-operation-evaluate-measure.html"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.operations import install_all
from fhir_service.operations.validate import validator_for
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes
from tests.measures.conftest import load, loaded_router

IG = "https://interop.cm-sante-mentale.fr/fhir/"
LIFE_DOMAIN = IG + "CodeSystem/cm-life-domain"
DOMAINS = ("sante", "loisirs", "scolarite-formation", "emploi", "vie-affective-sexualite",
           "organisation-quotidien", "hygiene-de-vie", "vie-sociale", "logement",
           "droits-demarches")
P_START, P_END = date(2026, 1, 1), date(2026, 6, 30)
GAP = 45
STRUCTURES = {"org-a": ("pr-a1", "pr-a2"), "org-a2": ("pr-a3",), "org-b": ("pr-b1", "pr-b2")}


# --- the generated world --------------------------------------------------------------------


def generate(seed: int, people: int = 40) -> dict[str, Any]:
    rng = random.Random(seed)
    world: dict[str, Any] = {"episodes": [], "referrals": {}, "goals": [], "encounters": []}
    for i in range(people):
        pid = f"p{i}"
        homes = ["org-a", "org-b"] if i < 3 else [rng.choice(list(STRUCTURES))]
        for n, org in enumerate(homes):
            status = rng.choice(["active", "active", "onhold", "finished", "planned",
                                 "cancelled", "waitlist"])
            ep: dict[str, Any] = {"id": f"ep-{i}-{n}", "patient": pid, "org": org,
                                  "status": status, "start": None, "end": None,
                                  "manager": None, "holds": [], "referral": None}
            if status not in ("planned", "waitlist") or rng.random() < 0.2:
                ep["start"] = date(2025, 10, 1) + timedelta(days=rng.randint(0, 300))
            if status == "finished" and ep["start"]:
                ep["end"] = ep["start"] + timedelta(days=rng.randint(0, 200))
            if rng.random() < 0.9:
                ep["manager"] = rng.choice(STRUCTURES[org])
            if ep["start"] and rng.random() < 0.45:
                hold = ep["start"] + timedelta(days=rng.randint(0, 160))
                ep["holds"].append((hold, hold + timedelta(days=rng.randint(5, 40))))
            if rng.random() < 0.85:
                anchor = ep["start"] or date(2026, 3, 1)
                authored = anchor - timedelta(days=rng.randint(-4, 120))
                with_time = rng.random() < 0.3
                ep["referral"] = f"sr-{i}-{n}"
                world["referrals"][ep["referral"]] = (pid, authored, with_time)
            world["episodes"].append(ep)
        for g in range(rng.randint(0, 4)):
            world["goals"].append({
                "id": f"goal-{i}-{g}", "patient": pid, "domain": rng.choice(DOMAINS),
                "lifecycle": rng.choice(["proposed", "planned", "accepted", "active",
                                         "on-hold", "completed", "cancelled", "rejected"]),
                "achievement": rng.choice([None, "in-progress", "improving", "achieved",
                                           "sustaining", "not-achieved", "not-attainable",
                                           "no-progress"]),
                "start": rng.choice([None, date(2025, 9, 1) + timedelta(
                    days=rng.randint(0, 400))])})
        for e in range(rng.randint(0, 3)):
            world["encounters"].append({
                "id": f"enc-{i}-{e}", "patient": pid,
                "status": rng.choice(["finished", "finished", "in-progress", "planned",
                                      "cancelled"]),
                "start": date(2025, 11, 1) + timedelta(days=rng.randint(0, 260)),
                "class": rng.choice(["AMB", "AMB", "HH", "IMP", "ACUTE"])})
    return world


def directory(world: dict[str, Any]) -> list[dict[str, Any]]:
    """The territory (a PTSM; A and its antenna partOf it; B apart), the case managers of
    STRUCTURES and the people of the world's episodes."""
    out: list[dict[str, Any]] = [
        {"resourceType": "Organization", "id": "org-t", "name": "Territoire (PTSM)"},
        {"resourceType": "Organization", "id": "org-a", "name": "CMP A",
         "partOf": {"reference": "Organization/org-t"}},
        {"resourceType": "Organization", "id": "org-a2", "name": "Antenne de A",
         "partOf": {"reference": "Organization/org-a"}},
        {"resourceType": "Organization", "id": "org-b", "name": "SAMSAH B"}]
    for managers in STRUCTURES.values():
        out += [{"resourceType": "Practitioner", "id": m, "name": [{"family": m}]}
                for m in managers]
    people = sorted({e["patient"] for e in world["episodes"]})
    return out + [{"resourceType": "Patient", "id": p, "name": [{"family": p}]} for p in people]


def resources(world: dict[str, Any]) -> list[dict[str, Any]]:
    out = directory(world)
    for sid, (pid, authored, with_time) in world["referrals"].items():
        out.append({"resourceType": "ServiceRequest", "id": sid, "status": "completed",
                    "intent": "order", "subject": {"reference": f"Patient/{pid}"},
                    "authoredOn": f"{authored.isoformat()}T16:30:00Z" if with_time
                    else authored.isoformat()})
    for ep in world["episodes"]:
        res: dict[str, Any] = {"resourceType": "EpisodeOfCare", "id": ep["id"],
                               "status": ep["status"],
                               "patient": {"reference": f"Patient/{ep['patient']}"},
                               "managingOrganization": {"reference": f"Organization/{ep['org']}"}}
        if ep["start"]:
            res["period"] = {"start": ep["start"].isoformat()}
            if ep["end"]:
                res["period"]["end"] = ep["end"].isoformat()
        if ep["holds"]:
            res["statusHistory"] = [{"status": "active", "period": {
                "start": ep["start"].isoformat()}}] + [
                {"status": "onhold", "period": {"start": a.isoformat(), "end": b.isoformat()}}
                for a, b in ep["holds"]]
        if ep["manager"]:
            res["careManager"] = {"reference": f"Practitioner/{ep['manager']}"}
        if ep["referral"]:
            res["referralRequest"] = [{"reference": f"ServiceRequest/{ep['referral']}"}]
        out.append(res)
    for goal in world["goals"]:
        res = {"resourceType": "Goal", "id": goal["id"], "lifecycleStatus": goal["lifecycle"],
               "category": [{"coding": [{"system": LIFE_DOMAIN, "code": goal["domain"]}]}],
               "description": {"text": "objectif"},
               "subject": {"reference": f"Patient/{goal['patient']}"}}
        if goal["achievement"]:
            res["achievementStatus"] = {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                "code": goal["achievement"]}]}
        if goal["start"]:
            res["startDate"] = goal["start"].isoformat()
        out.append(res)
    for enc in world["encounters"]:
        out.append({"resourceType": "Encounter", "id": enc["id"], "status": enc["status"],
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                              "code": enc["class"]},
                    "subject": {"reference": f"Patient/{enc['patient']}"},
                    "period": {"start": enc["start"].isoformat()}})
    return out


# --- the definitions, computed again ----------------------------------------------------------


def seen_people(world: dict[str, Any], structure: str | None) -> set[str]:
    """Who a structure sees here: the people of the episodes it manages (not cancelled or
    entered in error; docs/security.md); None: the server itself, everyone."""
    return {e["patient"] for e in world["episodes"]
            if structure is None or (e["org"] == structure
                                     and e["status"] not in ("cancelled", "entered-in-error"))}


def in_progress(ep: dict[str, Any], day: date) -> bool:
    return (ep["status"] in ("active", "onhold", "finished") and ep["start"] is not None
            and ep["start"] <= day and (ep["end"] is None or ep["end"] >= day))


def expected(world: dict[str, Any], people: set[str], orgs: set[str] | None = None,
             manager: str | None = None) -> dict[str, Any]:
    def in_scope(ep: dict[str, Any]) -> bool:
        return ep["patient"] in people and (orgs is None or ep["org"] in orgs) and \
            (manager is None or ep["manager"] == manager)

    episodes = [e for e in world["episodes"] if in_scope(e)]
    out: dict[str, Any] = {}
    current = [e for e in episodes if in_progress(e, P_END)]
    out["caseload"] = len(current)
    out["caseload_by_manager"] = Counter(e["manager"] for e in current)
    out["caseload_by_structure"] = Counter(e["org"] for e in current)

    delays = []
    for e in episodes:
        if e["start"] and P_START <= e["start"] <= P_END and e["referral"]:
            pid, authored, _ = world["referrals"][e["referral"]]
            if pid in people:
                delays.append(((e["start"] - authored).days, e["manager"]))
    kept = sorted(d for d, _ in delays if d >= 0)
    out["delay_n"], out["delay_excluded"] = len(delays), len(delays) - len(kept)
    out["median"] = statistics.median(kept) if kept else None
    out["p90"] = kept[math.ceil(0.9 * len(kept)) - 1] if kept else None
    by_manager: dict[Any, list[int]] = defaultdict(list)
    for d, m in delays:
        if d >= 0:
            by_manager[m].append(d)
    out["median_by_manager"] = {m: statistics.median(v) for m, v in by_manager.items()}

    scoped_people = people if orgs is None and manager is None else {
        e["patient"] for e in episodes
        if e["start"] and e["start"] <= P_END and (e["end"] is None or e["end"] >= P_START)}
    goals: dict[str, Counter[str]] = {k: Counter() for k in ("achieved", "not", "ongoing")}
    for g in world["goals"]:
        if g["patient"] not in scoped_people or g["lifecycle"] not in (
                "planned", "accepted", "active", "on-hold", "completed"):
            continue
        if g["start"] is not None and g["start"] > P_END:
            continue
        achieved = g["achievement"] in ("achieved", "sustaining")
        not_achieved = g["achievement"] in ("not-achieved", "not-attainable") or (
            g["lifecycle"] == "completed" and not achieved)
        key = "achieved" if achieved else "not" if not_achieved else "ongoing"
        goals[key][g["domain"]] += 1
    out["goals"] = goals

    out["interruptions"] = sum(
        1 for e in episodes if any(P_START <= a <= P_END for a, _ in e["holds"]))

    latest: dict[str, date] = {}
    for e in current:
        contacts = [c["start"] for c in world["encounters"]
                    if c["patient"] == e["patient"] and c["start"] <= P_END
                    and c["status"] not in ("planned", "cancelled", "entered-in-error")]
        seen = max([e["start"], *contacts])
        latest[e["patient"]] = max(latest.get(e["patient"], seen), seen)
    out["contact_gap"] = sum(1 for d in latest.values() if (P_END - d).days > GAP)

    stays: dict[str, set[Any]] = defaultdict(set)  # stay -> case managers of its episodes
    for c in world["encounters"]:
        if c["class"] not in ("IMP", "ACUTE", "NONAC") or c["status"] in (
                "planned", "cancelled", "entered-in-error") or not P_START <= c["start"] <= P_END:
            continue
        for e in episodes:
            if e["patient"] == c["patient"] and e["start"] and e["start"] <= c["start"] and (
                    e["end"] is None or e["end"] >= c["start"]):
                stays[c["id"]].add(e["manager"])
    out["stays"] = len(stays)
    out["hospitalised"] = len({c["patient"] for c in world["encounters"] if c["id"] in stays})
    out["stays_by_manager"] = Counter(m for managers in stays.values() for m in managers)
    return out


# --- the server -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest, make_context: Any) -> Iterator[tuple[Router,
                                                                               dict[str, Any]]]:
    """The generated world in a fresh store: SQLite, and PostgreSQL (the same SQL)."""
    world = generate(seed=20261206)
    router = loaded_router(request, make_context, resources(world))
    yield router, world
    router.close()


def who(structure: str, scopes: str = "system/*.rs") -> Principal:
    return Principal(f"client-{structure}", structure=structure, scopes=Scopes.parse(scopes))


def evaluate(router: Router, principal: Principal | None, measure: str,
             **params: str) -> dict[str, Any]:
    query = [("periodStart", P_START.isoformat()), ("periodEnd", P_END.isoformat()),
             *params.items()]
    req = FhirRequest("GET", ["Measure", measure, "$evaluate-measure"], query=query,
                      principal=principal, base_url="http://test/fhir")
    resp = router.handle(req)
    assert resp.status == 200
    body = resp.body if isinstance(resp.body, dict) else fhir.loads(resp.body)
    errors = [i for i in validator_for(router.ctx.registry, "error").validate(body, [])
              if i.severity in ("error", "fatal")]
    assert errors == [], errors
    return body


def group(report: dict[str, Any], code: str) -> dict[str, Any]:
    (found,) = [g for g in report["group"] if g["code"]["coding"][0]["code"] == code]
    return found


def count(part: dict[str, Any], code: str = "initial-population") -> int:
    (found,) = [p["count"] for p in part["population"] if p["code"]["coding"][0]["code"] == code]
    return int(found)


def strata(grp: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    (strat,) = [s for s in grp["stratifier"] if s["code"][0]["coding"][0]["code"] == kind]
    out = {}
    for stratum in strat.get("stratum", []):
        value = stratum["value"]
        key = value.get("text") or value["coding"][0]["code"]
        out[key.split("/")[-1]] = stratum
    return out


def check_all(router: Router, principal: Principal | None, want: dict[str, Any],
              **params: str) -> None:
    report = evaluate(router, principal, "cm-caseload", **params)
    assert report["type"] == "summary" and report["status"] == "complete"
    assert report["period"] == {"start": P_START.isoformat(), "end": P_END.isoformat()}
    caseload = group(report, "caseload")
    assert count(caseload) == want["caseload"]
    by_manager = {k: count(s) for k, s in strata(caseload, "case-manager").items()}
    assert by_manager == {("aucun" if m is None else m): n
                          for m, n in want["caseload_by_manager"].items()}
    by_org = {k: count(s) for k, s in strata(caseload, "structure").items()}
    assert by_org == dict(want["caseload_by_structure"])

    report = evaluate(router, principal, "cm-referral-delay", **params)
    for code, key in (("delay-median", "median"), ("delay-p90", "p90")):
        grp = group(report, code)
        assert count(grp) == want["delay_n"]
        assert count(grp, "measure-population-exclusion") == want["delay_excluded"]
        if want[key] is None:
            assert "measureScore" not in grp
        else:
            assert grp["measureScore"]["value"] == pytest.approx(want[key], abs=0.05)
            assert grp["measureScore"]["code"] == "d"
    medians = {k: s["measureScore"]["value"]
               for k, s in strata(group(report, "delay-median"), "case-manager").items()
               if "measureScore" in s}
    assert medians == pytest.approx({("aucun" if m is None else m): v
                                     for m, v in want["median_by_manager"].items()}, abs=0.05)

    report = evaluate(router, principal, "cm-goals-by-domain", **params)
    for code, key in (("goals-achieved", "achieved"), ("goals-not-achieved", "not"),
                      ("goals-ongoing", "ongoing")):
        grp = group(report, code)
        assert count(grp) == sum(want["goals"][key].values())
        assert {k: count(s) for k, s in strata(grp, "life-domain").items()} == \
            dict(want["goals"][key])

    report = evaluate(router, principal, "cm-ruptures", contactGapDays=str(GAP), **params)
    assert count(group(report, "interruption")) == want["interruptions"]
    assert count(group(report, "contact-gap")) == want["contact_gap"]

    report = evaluate(router, principal, "cm-hospitalisations", **params)
    stays = group(report, "hospital-stays")
    assert count(stays) == want["stays"]
    assert count(group(report, "hospitalised-people")) == want["hospitalised"]
    assert {k: count(s) for k, s in strata(stays, "case-manager").items()} == {
        ("aucun" if m is None else m): n for m, n in want["stays_by_manager"].items()}


def test_each_structure_counts_only_its_people(loaded: tuple[Router, dict[str, Any]]) -> None:
    router, world = loaded
    a_people, b_people = seen_people(world, "org-a"), seen_people(world, "org-b")
    assert a_people - b_people and b_people - a_people and a_people & b_people  # (the data)
    want_a, want_b = expected(world, a_people), expected(world, b_people)
    assert want_a != want_b
    for want in (want_a, want_b):  # (every indicator has something to count)
        assert all(want[k] for k in ("caseload", "delay_n", "interruptions", "contact_gap",
                                     "stays"))
    check_all(router, who("org-a"), want_a)
    check_all(router, who("org-b"), want_b)
    # B's figures leave out the people only A accompanies: none of A's case managers appear
    report = evaluate(router, who("org-b"), "cm-caseload")
    managers = set(strata(group(report, "caseload"), "case-manager"))
    only_a = {e["manager"] for e in world["episodes"] if e["patient"] in a_people - b_people}
    assert not managers & (only_a - {None} - set(STRUCTURES["org-b"]))


def test_subjects_case_manager_structure_and_territory(
        loaded: tuple[Router, dict[str, Any]]) -> None:
    router, world = loaded
    everyone = seen_people(world, None)
    check_all(router, None, expected(world, everyone))
    check_all(router, None, expected(world, everyone, manager="pr-a1"),
              subject="Practitioner/pr-a1")
    check_all(router, who("org-a"), expected(world, seen_people(world, "org-a"),
                                             manager="pr-a1"), practitioner="pr-a1")
    check_all(router, None, expected(world, everyone, orgs={"org-b"}),
              subject="Organization/org-b")
    # a territory: the Organization and those partOf it, at any depth
    check_all(router, None, expected(world, everyone, orgs={"org-t", "org-a", "org-a2"}),
              subject="Organization/org-t")
    report = evaluate(router, who("org-a"), "cm-caseload", subject="Organization/org-a")
    assert report["extension"] == [{"url": IG + "StructureDefinition/cm-report-structure",
                                    "valueReference": {"reference": "Organization/org-a"}}]
    report = evaluate(router, who("org-a"), "cm-caseload", subject="Practitioner/pr-a1")
    assert report["subject"] == {"reference": "Practitioner/pr-a1"}
    assert report["reporter"] == {"reference": "Organization/org-a"}


def test_type_level_and_bad_requests(loaded: tuple[Router, dict[str, Any]]) -> None:
    router, world = loaded
    query = [("measure", IG + "Measure/cm-caseload"), ("periodStart", "2026-01-01"),
             ("periodEnd", "2026-06-30")]
    resp = router.handle(FhirRequest("GET", ["Measure", "$evaluate-measure"], query=query,
                                     base_url="http://test/fhir"))
    body = resp.body if isinstance(resp.body, dict) else fhir.loads(resp.body)
    assert count(group(body, "caseload")) == expected(world, seen_people(world, None))["caseload"]

    # POST with a Parameters body: the same report
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "periodStart", "valueDate": "2026-01-01"},
        {"name": "periodEnd", "valueDate": "2026-06-30"},
        {"name": "subject", "valueString": "Practitioner/pr-a1"}]}
    posted = router.handle(FhirRequest("POST", ["Measure", "cm-caseload", "$evaluate-measure"],
                                       body=fhir.dumps(params), base_url="http://test/fhir",
                                       headers={"content-type": "application/fhir+json"}))
    got = posted.body if isinstance(posted.body, dict) else fhir.loads(posted.body)
    assert count(group(got, "caseload")) == expected(
        world, seen_people(world, None), manager="pr-a1")["caseload"]
    assert got["subject"] == {"reference": "Practitioner/pr-a1"}

    def refused(segments: list[str], query: list[tuple[str, str]],
                principal: Principal | None = None) -> tuple[int, dict[str, Any]]:
        with pytest.raises(FhirError) as info:
            router.handle(FhirRequest("GET", segments, query=query, principal=principal,
                                      base_url="http://test/fhir"))
        return info.value.status, info.value.outcome()

    inst = ["Measure", "cm-caseload", "$evaluate-measure"]
    status, outcome = refused(inst, [("periodEnd", "2026-06-30")])
    assert status == 400 and outcome["issue"][0]["expression"] == ["periodStart"]
    status, outcome = refused(inst, [("periodStart", "2026-13-01"), ("periodEnd", "2026-06-30")])
    assert status == 400 and outcome["issue"][0]["expression"] == ["periodStart"]
    status, outcome = refused(inst, [("periodStart", "2026-07-01"), ("periodEnd", "2026-06-30")])
    assert status == 400 and outcome["issue"][0]["expression"] == ["periodEnd"]
    status, outcome = refused(inst, [*query[1:], ("subject", "Patient/p1")])
    assert status == 400 and outcome["issue"][0]["expression"] == ["subject"]
    status, outcome = refused(inst, [*query[1:], ("reportType", "subject-list")])
    assert status == 400 and outcome["issue"][0]["expression"] == ["reportType"]
    status, _ = refused(["Measure", "nope", "$evaluate-measure"], query[1:])
    assert status == 404
    status, _ = refused(["Measure", "$evaluate-measure"], [("measure", IG + "Measure/x"),
                                                          *query[1:]])
    assert status == 404
    status, _ = refused(inst, [*query[1:], ("subject", "Practitioner/nobody")])
    assert status == 404
    # the token must allow searching the types the indicator reads
    status, _ = refused(["Measure", "cm-goals-by-domain", "$evaluate-measure"], query[1:],
                        who("org-a", "system/EpisodeOfCare.rs"))
    assert status == 403


@pytest.mark.jvm
def test_reports_are_valid_for_the_hl7_validator(make_context: Any) -> None:
    """The MeasureReports of every Measure (no subject, a case manager, a territory) validate
    with 0 errors in the reference validator, the guide's package loaded."""
    from tests.oracle.hl7_validator import HL7Validator, available
    from tests.oracle.ig import PACKAGE

    ok, reason = available()
    if not ok or not PACKAGE.exists():
        pytest.skip(f"HL7 validator or {PACKAGE.name} unavailable: {reason}")
    router = Router(make_context(audit=False, provenance=False))
    install_all(router)
    world = generate(seed=3, people=20)
    load(router, resources(world))
    reports = {}
    for mid in ("cm-caseload", "cm-referral-delay", "cm-goals-by-domain", "cm-ruptures",
                "cm-hospitalisations", "cm-episode-outcomes"):
        for subject in ("", "Practitioner/pr-a1", "Organization/org-t"):
            params = {"subject": subject} if subject else {}
            reports[f"{mid} {subject}"] = json.loads(fhir.dumps(
                evaluate(router, who("org-a"), mid, **params)))
    router.close()
    with HL7Validator() as hl7:
        results = hl7.validate(list(reports.values()), igs=[str(PACKAGE)], load_sources=False)
    errors = {name: [f"{i.expression}: {i.message}" for i in r.errors]
              for name, r in zip(reports, results, strict=True) if r.errors}
    assert errors == {}


def test_the_measures_can_be_stored_and_read(client: Any) -> None:
    """As docs/indicators.md says: the guide's Measures load like any resource (then GET
    Measure/[id] serves them), and evaluating still works once they are stored."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "profiles" / "fsh-generated" / "resources"
    files = sorted(folder.glob("Measure-*.json"))
    assert len(files) == 6
    for path in files:
        measure = json.loads(path.read_text(encoding="utf-8"))
        r = client.put(f"/fhir/Measure/{measure['id']}", json=measure,
                       headers={"Content-Type": "application/fhir+json"})
        assert r.status_code in (200, 201), r.text
        assert client.get(f"/fhir/Measure/{measure['id']}").json()["url"] == measure["url"]
    r = client.get("/fhir/Measure/cm-caseload/$evaluate-measure",
                   params={"periodStart": "2026-01-01", "periodEnd": "2026-06-30"})
    assert r.status_code == 200 and r.json()["resourceType"] == "MeasureReport"
