"""Property tests (hypothesis): generated valid case files (contract version 1, and 2 with its
added fields) always import, and export back to the same case file (case file → FHIR →
case file), on a fresh store each."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fhir_service.mapping.codes import CodeTable
from fhir_service.mapping.service import CasefileService
from fhir_service.operations import install_all
from fhir_service.router import Router

from .conftest import ROOT
from .test_casefile_export import episode_id, normalised

CODES = ROOT / "mappings" / "casefile" / "codes"
WORDS = ["Marie", "Hélène", "l'école", "Œuvre", "ÇA", "à", "São", "Nguyễn", "vélo", "D'Artagnan",
         "rendez-vous", "CMP", "ß", "emploi", "2", "logement"]


def codes(name: str, exclude: tuple[str, ...] = ("entered-in-error",)) -> list[Any]:
    """The source codes of a table that translate and translate back to themselves."""
    table = CodeTable.from_concept_map(name, json.loads(
        (CODES / f"{name}.json").read_text(encoding="utf-8")))
    out = []
    for system, code in table.forward:
        value = {"system": system, "code": code} if table.qualified else code
        if code not in exclude and table.reverse(table.translate(value) or {}) == value:
            out.append(value)
    return out


text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
maybe_text = st.one_of(text, st.just(""), st.none())
local_id = st.from_regex(r"[A-Z]{1,3}-[0-9]{1,4}", fullmatch=True)


def _date(base: dt.date, days: int) -> str:
    return (base + dt.timedelta(days=days)).isoformat()


def _put(doc: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        doc[key] = value


@st.composite
def casefiles(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(0, 10**6))
    base = dt.date(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 3000)))
    source = f"https://ids.example.org/prop-{n}"
    ids = iter(draw(st.lists(local_id, min_size=40, max_size=40, unique=True)))
    structures = [{"localId": next(ids), "name": draw(text)}
                  for _ in range(draw(st.integers(1, 3)))]
    for s in structures:
        if draw(st.booleans()):
            s["finess"] = f"{n % 100:02d}{draw(st.integers(0, 9999999)):07d}"
        if draw(st.booleans()):
            s["category"] = draw(st.sampled_from(codes("organization-category")))
    s_ids = [s["localId"] for s in structures]
    person: dict[str, Any] = {"localId": next(ids), "family": draw(text),
                              "given": draw(st.lists(text, min_size=1, max_size=2))}
    ins = draw(st.sampled_from(["none", "QUAL", "PROV", "VALI"]))
    if ins == "QUAL":
        person["ins"] = {"nir": f"1{n % 10**6:06d}{draw(st.integers(0, 10**8 - 1)):08d}",
                         "status": "QUAL", "system": "urn:oid:1.2.250.1.213.1.4.10"}
    elif ins != "none":
        person["ins"] = {"status": ins}
    _put(person, "birthDate", draw(st.one_of(st.none(), st.just(_date(base, -9000)))))
    _put(person, "gender", draw(st.sampled_from([None, "", "male", "female", "other"])))
    _put(person, "birthFamily", draw(maybe_text))
    if draw(st.booleans()):
        person["telecom"] = [{"system": draw(st.sampled_from(["phone", "email"])),
                              "value": f"+3360000{n % 10000:04d}"}]
    if draw(st.booleans()):
        person["address"] = {"line": [draw(text)], "city": draw(text), "country": "FR"}
    related = [{"localId": next(ids), "family": draw(text),
                "relationship": draw(st.sampled_from(codes("related-person-role")))}
               for _ in range(draw(st.integers(0, 2)))]
    for r in related:
        _put(r, "kinship", draw(st.one_of(st.none(), st.sampled_from(codes("kinship")))))
    professionals = []
    for _ in range(draw(st.integers(1, 4))):
        p: dict[str, Any] = {"localId": next(ids), "family": draw(text),
                             "given": draw(st.lists(text, max_size=2)),
                             "structure": draw(st.sampled_from(s_ids))}
        if draw(st.booleans()):
            p["rpps"] = f"{n % 1000:03d}{draw(st.integers(0, 10**8 - 1)):08d}"
        _put(p, "profession", draw(st.one_of(st.none(), st.sampled_from(codes("profession")))))
        _put(p, "specialty", draw(st.one_of(st.none(), st.sampled_from(codes("specialty")))))
        professionals.append(p)
    p_ids = [p["localId"] for p in professionals]
    # a structure nothing in the file refers to is no part of the episode's export (the
    # export gathers structures by reference): only referenced ones
    used = {s_ids[0], *(p["structure"] for p in professionals)}
    structures = [s for s in structures if s["localId"] in used]
    s_ids = [s["localId"] for s in structures]
    status = draw(st.sampled_from(codes("episode-status")))
    start = _date(base, 10)
    episode: dict[str, Any] = {
        "localId": next(ids), "status": status,
        "programme": draw(st.sampled_from(codes("programme"))),
        "models": draw(st.lists(st.sampled_from(codes("case-management-model")), unique=True,
                                max_size=2)),
        "referral": {"date": _date(base, 0), "requester": draw(st.sampled_from(["person", *p_ids])),
                     "reason": draw(text)},
        "start": start, "caseManager": p_ids[0], "structure": s_ids[0]}
    if status == "finished" or draw(st.booleans()):
        episode["end"] = _date(base, 400)
    functions = [f for f in codes("team-function") if f != "case-manager"]
    team = [{"member": p_ids[0], "function": "case-manager", "start": start}]
    for member in [*p_ids[1:], *(r["localId"] for r in related), "person"]:
        entry = {"member": member, "function": draw(st.sampled_from(functions)),
                 "start": _date(base, draw(st.integers(10, 40)))}
        if draw(st.booleans()):
            entry["end"] = _date(base, 300)
        team.append(entry)
    goals = []
    for _ in range(draw(st.integers(0, 3))):
        g: dict[str, Any] = {"localId": next(ids), "domain": draw(st.sampled_from(codes("life-domain"))),
                             "description": draw(text),
                             "expressedBy": draw(st.sampled_from(["person", *p_ids])),
                             "status": draw(st.sampled_from(codes("goal-status"))),
                             "start": _date(base, 20)}
        _put(g, "priority", draw(st.one_of(st.none(), st.sampled_from(codes("goal-priority")))))
        if g["status"] == "completed" or draw(st.booleans()):
            g["achievement"] = draw(st.sampled_from(codes("goal-achievement")))
        _put(g, "due", draw(st.one_of(st.none(), st.just(_date(base, 200)))))
        _put(g, "note", draw(maybe_text))
        goals.append(g)
    actions = [{"localId": next(ids),
                "goals": draw(st.lists(st.sampled_from([g["localId"] for g in goals]), unique=True))
                if goals else [],
                "pillar": draw(st.sampled_from(codes("care-pillar"))), "description": draw(text),
                "status": draw(st.sampled_from(codes("action-status"))),
                "performer": draw(st.sampled_from(p_ids)), "scheduled": _date(base, 30)}
               for _ in range(draw(st.integers(0, 3)))]
    plan = {"localId": next(ids), "title": draw(text), "description": draw(maybe_text) or "",
            "status": draw(st.sampled_from(codes("plan-status"))), "created": _date(base, 20),
            "period": {"start": _date(base, 20)}, "author": p_ids[0],
            "agreedByPerson": draw(st.booleans()), "goals": goals, "actions": actions}
    doc: dict[str, Any] = {
        "casefileVersion": "1",
        "source": {"system": source, "name": structures[0]["name"],
                   "exportedAt": f"{_date(base, 30)}T10:00:00+01:00"},
        "person": person, "relatedPersons": related, "structures": structures,
        "professionals": professionals, "episode": episode, "team": team, "plan": plan}
    if draw(st.booleans()):
        doc["assessment"] = {"date": _date(base, 15), "domains": [
            {"domain": draw(st.sampled_from(codes("life-domain"))), "works": draw(text),
             "stuck": draw(maybe_text) or ""} for _ in range(draw(st.integers(1, 2)))]}
    if draw(st.booleans()):
        doc["consents"] = [{"localId": next(ids),
                            "structures": draw(st.lists(st.sampled_from(s_ids), min_size=1,
                                                        unique=True)),
                            "scope": "shared-care-plan", "date": _date(base, 20),
                            "status": draw(st.sampled_from(codes("consent-status")))}]
    if draw(st.booleans()):
        version_2(draw, doc, base)
    return {k: v for k, v in doc.items() if v is not None}


def version_2(draw: Any, doc: dict[str, Any], base: dt.date) -> None:
    """The fields contract version 2 adds (tests/mapping/test_seed_concepts.py), at random."""
    doc["casefileVersion"] = "2"
    episode, plan, team = doc["episode"], doc["plan"], doc["team"]
    if draw(st.booleans()):
        episode["referralModel"] = draw(st.sampled_from(codes("referral-model")))
    if draw(st.booleans()):
        history = [{"status": "waitlist", "start": _date(base, 0), "end": _date(base, 3)},
                   {"status": "planned", "start": _date(base, 3), "end": episode["start"]}]
        if episode["status"] in ("active", "onhold", "finished"):
            history.append({"status": episode["status"], "start": episode["start"]})
        episode["statusHistory"] = history
    if episode["status"] == "finished" and draw(st.booleans()):
        for member in team:  # an episode that ended: every membership ended with it
            member["end"] = episode["end"]
    _put(plan, "agreedOn", draw(st.one_of(st.none(), st.just(_date(base, 25)))))
    others = [m["member"] for m in team[1:] if m["member"] != "person"]
    if not plan["agreedByPerson"]:
        others.append("person")
    if others and draw(st.booleans()):
        plan["contributors"] = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
    for action in plan["actions"]:
        _put(action, "place", draw(st.one_of(st.none(),
                                             st.sampled_from(codes("intervention-place")))))
        if draw(st.booleans()):
            del action["scheduled"]
            action["scheduleText"] = draw(text)


@settings(max_examples=25, deadline=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=casefiles())
def test_generated_case_files_import_and_round_trip(doc: dict[str, Any], make_context: Any,
                                                    tmp_path: Path) -> None:
    ctx = make_context(f"sqlite:///{tmp_path / 'prop'}-{abs(hash(json.dumps(doc)))}.db")
    router = Router(ctx)
    install_all(router)
    service = CasefileService.for_context(ctx, router.dispatch)
    assert service.mset.schema.validate(doc) == []
    eid = episode_id(service, doc)
    exported = service.export(eid).document
    assert normalised(exported) == normalised(doc)
    again = service.import_json(exported)
    assert not again.changed, again.summary
