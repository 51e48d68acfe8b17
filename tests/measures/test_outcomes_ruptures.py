"""Episodes ended by outcome (Measure cm-episode-outcomes) and recorded ruptures (the
rupture-event group of cm-ruptures) over generated data: every figure is computed again here
from the generated world and the written definitions (docs/indicators.md), for two
structures that each see only their people, a case manager and a territory; and every
evaluation leaves an AuditEvent attributable to the caller that names no person."""

from __future__ import annotations

import base64
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest

from fhir_service import fhir
from fhir_service.operations import install_all
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes
from tests.measures.conftest import indicators_csv, load, loaded_router, serving
from tests.measures.test_measures import (
    IG,
    P_END,
    P_START,
    STRUCTURES,
    count,
    directory,
    evaluate,
    group,
    strata,
    who,
)

OUTCOME = IG + "CodeSystem/cm-episode-outcome"
OUTCOME_EXT = IG + "StructureDefinition/cm-episode-outcome"
KIND = IG + "CodeSystem/cm-rupture-kind"
OUTCOMES = ("objectifs-atteints", "relais", "demenagement", "arret-personne", "perdu-de-vue",
            "deces", "autre")
KINDS = ("soins", "scolarite-formation", "emploi", "logement", "vie-sociale", "famille",
         "droits", "autre")
EPISODE_LINK = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"


def generate(seed: int, people: int = 50) -> dict[str, Any]:
    rng = random.Random(seed)
    world: dict[str, Any] = {"episodes": [], "ruptures": []}
    for i in range(people):
        pid = f"p{i}"
        homes = ["org-a", "org-b"] if i < 4 else [rng.choice(list(STRUCTURES))]
        for n, org in enumerate(homes):
            status = rng.choice(["active", "finished", "finished", "finished", "onhold",
                                 "cancelled", "planned"])
            start = date(2025, 9, 1) + timedelta(days=rng.randint(0, 250))
            end = None
            if status in ("finished", "cancelled"):
                end = start + timedelta(days=rng.randint(0, 200))
            outcome = None
            if status == "finished" or (status == "cancelled" and rng.random() < 0.5):
                outcome = rng.choice([*OUTCOMES, None, "foreign"])
            world["episodes"].append({
                "id": f"ep-{i}-{n}", "patient": pid, "org": org, "status": status,
                "start": None if status == "planned" else start,
                "end": end, "outcome": outcome,
                "manager": rng.choice(STRUCTURES[org]) if rng.random() < 0.9 else None})
        for r in range(rng.randint(0, 4)):
            kinds = [rng.choice(KINDS)]
            if rng.random() < 0.1:
                kinds.append(rng.choice([k for k in KINDS if k != kinds[0]]))
            world["ruptures"].append({
                "id": f"rupt-{i}-{r}", "patient": pid, "kinds": kinds,
                "status": rng.choice(["final", "final", "amended", "corrected", "preliminary",
                                      "entered-in-error"]),
                "date": date(2025, 10, 1) + timedelta(days=rng.randint(0, 330)),
                "as_period": rng.random() < 0.4,
                "episode": rng.choice([e["id"] for e in world["episodes"]
                                       if e["patient"] == pid] + [None])})
    return world


def resources(world: dict[str, Any]) -> list[dict[str, Any]]:
    out = directory(world)
    for ep in world["episodes"]:
        res: dict[str, Any] = {
            "resourceType": "EpisodeOfCare", "id": ep["id"], "status": ep["status"],
            "patient": {"reference": f"Patient/{ep['patient']}"},
            "managingOrganization": {"reference": f"Organization/{ep['org']}"}}
        if ep["outcome"]:
            system = "urn:other:outcomes" if ep["outcome"] == "foreign" else OUTCOME
            res["extension"] = [{"url": OUTCOME_EXT, "valueCodeableConcept": {
                "coding": [{"system": system, "code": ep["outcome"]}]}}]
        if ep["start"]:
            res["period"] = {"start": ep["start"].isoformat()}
            if ep["end"]:
                res["period"]["end"] = ep["end"].isoformat()
        if ep["manager"]:
            res["careManager"] = {"reference": f"Practitioner/{ep['manager']}"}
        out.append(res)
    for r in world["ruptures"]:
        obs: dict[str, Any] = {
            "resourceType": "Observation", "id": r["id"], "status": r["status"],
            "meta": {"profile": [IG + "StructureDefinition/cm-rupture"]},
            "code": {"coding": [{"system": KIND, "code": k} for k in r["kinds"]]},
            "subject": {"reference": f"Patient/{r['patient']}"}}
        if r["as_period"]:
            obs["effectivePeriod"] = {"start": r["date"].isoformat(),
                                      "end": (r["date"] + timedelta(days=30)).isoformat()}
        else:
            obs["effectiveDateTime"] = f"{r['date'].isoformat()}T10:00:00+00:00"
        if r["episode"]:
            obs["extension"] = [{"url": EPISODE_LINK,
                                 "valueReference": {"reference": f"EpisodeOfCare/{r['episode']}"}}]
        out.append(obs)
    return out


def seen_people(world: dict[str, Any], structure: str | None) -> set[str]:
    """The people a structure accompanies here: those of the episodes it manages that are
    not cancelled (docs/security.md); None: the server itself, everyone."""
    return {e["patient"] for e in world["episodes"]
            if structure is None or (e["org"] == structure and e["status"] != "cancelled")}


def expected(world: dict[str, Any], people: set[str], orgs: set[str] | None = None,
             manager: str | None = None) -> dict[str, Any]:
    episodes = [e for e in world["episodes"] if e["patient"] in people
                and (orgs is None or e["org"] in orgs)
                and (manager is None or e["manager"] == manager)]
    ended = [e for e in episodes if e["status"] == "finished" and P_START <= e["end"] <= P_END]
    out: dict[str, Any] = {
        "ended": len(ended),
        "ended_by_outcome": Counter(
            "aucun" if e["outcome"] in (None, "foreign") else e["outcome"] for e in ended),
        "ended_by_manager": Counter(e["manager"] or "aucun" for e in ended)}
    during: dict[str, set[str]] = defaultdict(set)  # rupture -> case managers of its episodes
    for r in world["ruptures"]:
        if r["status"] not in ("final", "amended", "corrected") or not (
                P_START <= r["date"] <= P_END):
            continue
        for e in episodes:
            if e["patient"] == r["patient"] and e["start"] is not None \
                    and e["start"] <= r["date"] and (e["end"] is None or e["end"] >= r["date"]):
                during[r["id"]].add(e["manager"] or "aucun")
    counted = [r for r in world["ruptures"] if r["id"] in during]
    out["ruptures"] = len(counted)
    out["ruptures_by_kind"] = Counter(k for r in counted for k in set(r["kinds"]))
    out["ruptures_by_manager"] = Counter(m for managers in during.values() for m in managers)
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest, make_context: Any
           ) -> Iterator[tuple[Router, dict[str, Any]]]:
    world = generate(seed=20261207)
    router = loaded_router(request, make_context, resources(world))
    yield router, world
    router.close()


def figures(router: Router, principal: Principal | None, **params: str) -> dict[str, Any]:
    report = evaluate(router, principal, "cm-episode-outcomes", **params)
    ended = group(report, "episodes-ended")
    rupt = group(evaluate(router, principal, "cm-ruptures", **params), "rupture-event")
    return {
        "ended": count(ended),
        "ended_by_outcome": Counter({k: count(s) for k, s in strata(ended, "outcome").items()}),
        "ended_by_manager": Counter({k: count(s)
                                     for k, s in strata(ended, "case-manager").items()}),
        "ruptures": count(rupt),
        "ruptures_by_kind": Counter({k: count(s) for k, s in strata(rupt, "rupture-kind").items()}),
        "ruptures_by_manager": Counter({k: count(s)
                                        for k, s in strata(rupt, "case-manager").items()})}


def test_each_structure_counts_only_its_own_episodes(loaded: tuple[Router, dict[str, Any]]
                                                      ) -> None:
    router, world = loaded
    a_people, b_people = seen_people(world, "org-a"), seen_people(world, "org-b")
    assert a_people - b_people and b_people - a_people and a_people & b_people  # (the data)
    want_a, want_b = expected(world, a_people), expected(world, b_people)
    assert want_a != want_b and all(want_a[k] and want_b[k] for k in ("ended", "ruptures"))
    assert len(want_a["ended_by_outcome"]) > 3 and len(want_a["ruptures_by_kind"]) > 3
    assert figures(router, who("org-a")) == want_a
    assert figures(router, who("org-b")) == want_b
    # what only A accompanies is missing from B's figures (and the other way round)
    everyone = expected(world, seen_people(world, None))
    assert everyone["ended"] > want_b["ended"] and everyone["ruptures"] > want_b["ruptures"]
    assert everyone["ended"] > want_a["ended"] and everyone["ruptures"] > want_a["ruptures"]


def test_subjects_case_manager_and_territory(loaded: tuple[Router, dict[str, Any]]) -> None:
    router, world = loaded
    everyone = seen_people(world, None)
    assert figures(router, None) == expected(world, everyone)
    assert figures(router, None, subject="Practitioner/pr-b1") == expected(
        world, everyone, manager="pr-b1")
    assert figures(router, who("org-a"), practitioner="pr-a1") == expected(
        world, seen_people(world, "org-a"), manager="pr-a1")
    assert figures(router, None, subject="Organization/org-t") == expected(
        world, everyone, orgs={"org-t", "org-a", "org-a2"})
    # the token must allow searching Observations for the ruptures
    with pytest.raises(FhirError) as info:
        evaluate(router, who("org-a", "system/EpisodeOfCare.rs system/Encounter.rs"),
                 "cm-ruptures")
    assert info.value.status == 403


def test_every_evaluation_is_audited_as_a_query_without_people(make_context: Any) -> None:
    """An answered, and a refused, $evaluate-measure each leave one AuditEvent: the client,
    its practitioner and structure as agents, the Measure and parameters as a query entity,
    and no Patient entity (a MeasureReport is aggregate data)."""
    router = Router(make_context(audit=True, provenance=False))
    install_all(router)
    world = generate(seed=5, people=8)
    load(router, resources(world))
    nurse = Principal("client-a", structure="org-a", practitioner="pr-a1",
                      scopes=Scopes.parse("system/*.rs"))
    evaluate(router, nurse, "cm-episode-outcomes", subject="Practitioner/pr-a1")
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "periodStart", "valueDate": "2026-01-01"},
        {"name": "periodEnd", "valueDate": "2026-06-30"}]}
    posted = router.handle(FhirRequest("POST", ["Measure", "cm-ruptures", "$evaluate-measure"],
                                       body=fhir.dumps(params), principal=nurse,
                                       base_url="http://test/fhir",
                                       headers={"content-type": "application/fhir+json"}))
    assert posted.status == 200
    with pytest.raises(FhirError):
        router.handle(FhirRequest("GET", ["Measure", "cm-caseload", "$evaluate-measure"],
                                  query=[("periodStart", "2026-01-01")], principal=nurse,
                                  base_url="http://test/fhir"))
    router.audit.flush()
    auditor = Principal("auditor", scopes=Scopes.parse("system/AuditEvent.rs"), operator=True)
    resp = router.handle(FhirRequest("GET", ["AuditEvent"], principal=auditor,
                                     query=[("_count", "100")]))
    events = [e["resource"] for e in fhir.loads(resp.body).get("entry", [])]
    assert len(events) == 3
    queries = []
    for event in events:
        assert event["subtype"][0]["code"] == "operation"
        who_ = {a["who"].get("reference") for a in event["agent"]}
        assert {"Practitioner/pr-a1", "Organization/org-a"} <= who_
        assert not [x for x in event.get("entity", [])
                    if x.get("what", {}).get("reference", "").startswith("Patient/")]
        (query,) = [x for x in event["entity"] if x.get("role", {}).get("code") == "24"]
        queries.append((event["outcome"], dict(parse_qsl(base64.b64decode(query["query"])
                                                        .decode()))))
    queries.sort(key=lambda q: (q[0], q[1]["measure"]))
    assert queries == [
        ("0", {"measure": "Measure/cm-episode-outcomes", "periodStart": "2026-01-01",
               "periodEnd": "2026-06-30", "subject": "Practitioner/pr-a1"}),
        ("0", {"measure": "Measure/cm-ruptures", "periodStart": "2026-01-01",
               "periodEnd": "2026-06-30"}),
        ("4", {"measure": "Measure/cm-caseload", "periodStart": "2026-01-01"})]
    # and no person's trail shows an aggregate
    person = world["episodes"][0]["patient"]
    resp = router.handle(FhirRequest("GET", ["AuditEvent"], principal=auditor,
                                     query=[("patient", f"Patient/{person}")]))
    assert fhir.loads(resp.body).get("total", 0) == 0 or not fhir.loads(resp.body).get("entry")
    router.close()


def test_the_csv_export_has_them(make_context: Any, tmp_path: Any) -> None:
    """``cm-fhir indicators`` (every Measure by default) writes the new figures: episodes
    ended by outcome and recorded ruptures by kind, as the data says."""
    world = generate(seed=11, people=30)
    with serving(make_context, resources(world)) as url:
        rows = indicators_csv(url, tmp_path / "indicators.csv", "--from", P_START.isoformat(),
                              "--to", P_END.isoformat())
    want = expected(world, seen_people(world, None))

    def by(measure: str, grp: str, stratifier: str) -> Counter[str]:
        return Counter({r["stratum"]: int(r["count"]) for r in rows
                        if r["measure"] == measure and r["group"] == grp
                        and r["stratifier"] == stratifier})

    assert by("cm-episode-outcomes", "episodes-ended", "") == Counter({"": want["ended"]})
    assert by("cm-episode-outcomes", "episodes-ended", "outcome") == want["ended_by_outcome"]
    assert by("cm-ruptures", "rupture-event", "") == Counter({"": want["ruptures"]})
    assert by("cm-ruptures", "rupture-event", "rupture-kind") == want["ruptures_by_kind"]
