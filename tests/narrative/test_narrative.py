"""Generated narratives: https://hl7.org/fhir/R4/narrative.html (docs/narratives.md)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from fhir_service.conformance.validator.xhtml import check_div
from fhir_service.narrative import RENDERERS, Narrator
from fhir_service.narrative.labels import french_date, french_period
from fhir_service.narrative.xhtml import GENERATED_CLASS, XHTML_NS
from fhir_service.operations.validate import validator_for

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "profiles" / "fsh-generated" / "resources"
IG = "https://interop.cm-sante-mentale.fr/fhir/"
H = {"Content-Type": "application/fhir+json"}


def ig_examples() -> list[dict[str, Any]]:
    """Every instance of the guide, Bundle entries included."""
    out: list[dict[str, Any]] = []
    for path in sorted(GENERATED.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["resourceType"] == "Bundle":
            out += [e["resource"] for e in data.get("entry", []) if "resource" in e]
        elif data["resourceType"] in RENDERERS:
            out.append(data)
    return out


def texts(div: str) -> str:
    return "".join(ET.fromstring(div).itertext())


@pytest.fixture(scope="module")
def narrator(base_context: Any) -> Narrator:
    return Narrator(base_context.registry, tuple(base_context.settings.ig_packages))


def test_every_profiled_type_has_a_renderer(base_context: Any) -> None:
    profiled = {sd["type"] for sd in base_context.registry.all_of("StructureDefinition")
                if str(sd.get("url", "")).startswith(IG) and sd.get("kind") == "resource"
                and sd.get("derivation") == "constraint"}
    assert profiled, "the guide's profiles are loaded"
    assert profiled <= set(RENDERERS), profiled - set(RENDERERS)


def test_french_dates() -> None:
    assert french_date("2026-03-09") == "9 mars 2026"
    assert french_date("2026-09-01") == "1er septembre 2026"
    assert french_date("2026-08") == "août 2026"
    assert french_date("2026") == "2026"
    assert french_date("2026-12-31T08:05:00+01:00") == "31 décembre 2026 à 8 h 05"
    assert french_date("not a date") == "not a date"
    assert french_period({"start": "2026-01-12"}) == "depuis le 12 janvier 2026"
    assert french_period({"start": "2026-01-12", "end": "2026-02-01"}) == \
        "du 12 janvier 2026 au 1er février 2026"


def test_every_example_gets_a_valid_narrative(base_context: Any, narrator: Narrator) -> None:
    """txt-1/txt-2 and the whole validator: a narrated example has exactly the issues of the
    example without narrative (none added), and its div passes the narrative checks."""
    validator = validator_for(base_context.registry, "error")
    examples = ig_examples()
    seen = set()
    for example in examples:
        narrated = narrator.apply(example)
        text = narrated["text"]
        assert text["status"] == "generated"
        assert check_div(text["div"]) == [], (example["resourceType"], example.get("id"))
        root = ET.fromstring(text["div"])
        assert root.tag == f"{{{XHTML_NS}}}div" and GENERATED_CLASS in root.get("class", "")
        before = sorted((i.severity, i.diagnostics) for i in validator.validate(example, []))
        after = sorted((i.severity, i.diagnostics) for i in validator.validate(narrated, []))
        assert after == before, (example["resourceType"], example.get("id"))
        seen.add(example["resourceType"])
    assert seen == set(RENDERERS)  # every renderer ran on at least one example


def test_narrative_says_the_data_in_french(narrator: Narrator, base_context: Any) -> None:
    """Displays from the guide's code systems, French statuses and dates, references by
    display; the expected words are read from the data and the CodeSystem, not typed here."""
    domains = json.loads((GENERATED / "CodeSystem-cm-life-domain.json").read_text("utf-8"))
    display = {c["code"]: c["display"] for c in domains["concept"]}
    goals = [e for e in ig_examples() if e["resourceType"] == "Goal"]
    assert goals
    for goal in goals:
        words = texts(narrator.apply(goal)["text"]["div"])
        assert goal["description"]["text"] in words
        assert display[goal["category"][0]["coding"][0]["code"]] in words
        assert french_date(goal["startDate"]) in words
        for target in goal.get("target", []):
            assert french_date(target["dueDate"]) in words
    episode = {"resourceType": "EpisodeOfCare", "status": "onhold",
               "patient": {"reference": "Patient/p1", "display": "Léa Dupont"},
               "careManager": {"reference": "Practitioner/x"},
               "managingOrganization": {"reference": "Organization/o",
                                        "identifier": {"value": "750000029"}},
               "period": {"start": "2026-02-03"},
               "type": [{"coding": [{"system": f"{IG}CodeSystem/cm-programme",
                                     "code": "intervention-precoce"}]}]}
    words = texts(narrator.apply(episode)["text"]["div"])
    assert "Léa Dupont" in words and "Practitioner/x" in words and "750000029" in words
    assert "suspendu" in words and "depuis le 3 février 2026" in words
    assert "Intervention précoce" in words


HOSTILE = [
    "</div><script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "&amp; &lt; &#x3C; &nbsp; ]]> <![CDATA[x]]>",
    "\" ' <b onclick='x'>gras</b>",
    "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>&e;",
    "fin\ufffe\uffff",
]


def test_hostile_strings_stay_text(client: Any, base_context: Any) -> None:
    """Every value is text in the narrative: no element, attribute or entity comes from the
    data; what a reader sees is the value itself (characters XML cannot carry replaced)."""
    validator = validator_for(base_context.registry, "error")
    for value in HOSTILE:
        body = {"resourceType": "Goal", "lifecycleStatus": "active",
                "description": {"text": value}, "subject": {"display": value},
                "note": [{"text": value}]}
        r = client.post("/fhir/Goal", json=body,
                        headers={**H, "Prefer": "return=representation"})
        assert r.status_code == 201, r.text
        div = r.json()["text"]["div"]
        assert check_div(div) == []
        root = ET.fromstring(div)
        tags = {el.tag.split("}")[-1] for el in root.iter()}
        assert tags <= {"div", "p", "b", "table", "tr", "th", "td", "ul", "li"}
        assert all(not a.startswith("on") and a != "src" for el in root.iter() for a in el.attrib)
        shown = value.replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd")
        assert shown in "".join(root.itertext())
        issues = [i for i in validator.validate(r.json(), [])
                  if i.severity in ("error", "fatal") and "arrative" in i.diagnostics]
        assert issues == []


def test_write_path_rules(client: Any) -> None:
    """Generated when absent, the client's own kept, regenerated when it is ours; an update
    of unchanged content without a narrative creates no version."""
    patient = {"resourceType": "Patient", "name": [{"family": "Martin", "given": ["Diego"]}],
               "birthDate": "2004-03-12", "gender": "male"}
    r = client.post("/fhir/Patient", json=patient, headers=H)
    assert r.status_code == 201
    stored = r.json()
    rid = stored["id"]
    words = texts(stored["text"]["div"])
    assert "Diego MARTIN" in words and "12 mars 2004" in words and "homme" in words

    # the same content without narrative: no new version (versionId semantics unchanged)
    same = client.put(f"/fhir/Patient/{rid}", json={**patient, "id": rid}, headers=H)
    assert same.status_code == 200 and same.json()["meta"]["versionId"] == "1"
    # the same content with the narrative read back: no new version either
    again = client.put(f"/fhir/Patient/{rid}", json={**stored}, headers=H)
    assert again.json()["meta"]["versionId"] == "1"

    # changed data sent back with our old narrative: the narrative follows the data
    changed = {**stored, "birthDate": "2004-03-13"}
    r = client.put(f"/fhir/Patient/{rid}", json=changed, headers=H)
    assert r.json()["meta"]["versionId"] == "2"
    assert "13 mars 2004" in texts(r.json()["text"]["div"])
    assert "12 mars 2004" not in texts(r.json()["text"]["div"])

    # a client's own narrative is kept as sent
    own = {"status": "additional",
           "div": f'<div xmlns="{XHTML_NS}"><p>Notre propre résumé</p></div>'}
    r = client.put(f"/fhir/Patient/{rid}", json={**patient, "id": rid, "text": own},
                   headers=H)
    assert r.json()["text"] == own
    own_generated = {"status": "generated", "div": f'<div xmlns="{XHTML_NS}"><p>Résumé</p></div>'}
    r = client.post("/fhir/Patient", json={**patient, "text": own_generated}, headers=H)
    assert r.json()["text"] == own_generated

    # types outside the guide's profiles are left alone
    # (Observation is one since cm-rupture: a Device is not)
    device = {"resourceType": "Device", "status": "active"}
    assert "text" not in client.post("/fhir/Device", json=device, headers=H).json()


def test_transaction_and_patch_get_narratives(client: Any) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:6f1c0d7e-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Patient", "name": [{"family": "Benali"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Goal", "lifecycleStatus": "active",
                      "description": {"text": "Garder mon appartement"},
                      "subject": {"reference": "urn:uuid:6f1c0d7e-0000-4000-8000-000000000001"}},
         "request": {"method": "POST", "url": "Goal"}}]}
    r = client.post("/fhir", json=bundle, headers=H)
    assert r.status_code == 200, r.text
    goal_url = r.json()["entry"][1]["response"]["location"].split("/_history")[0]
    goal = client.get(f"/fhir/{goal_url}").json()
    assert "Garder mon appartement" in texts(goal["text"]["div"])
    patch = [{"op": "replace", "path": "/lifecycleStatus", "value": "completed"},
             {"op": "add", "path": "/achievementStatus", "value": {"coding": [{
                 "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
                 "code": "achieved"}]}}]
    r = client.patch(f"/fhir/{goal_url}", json=patch,
                     headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code == 200, r.text
    words = texts(client.get(f"/fhir/{goal_url}").json()["text"]["div"])
    assert "terminé" in words and "atteint" in words


def test_narratives_can_be_turned_off(make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(narratives=False)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        r = c.post("/fhir/Patient", json={"resourceType": "Patient",
                                          "name": [{"family": "Martin"}]}, headers=H)
        assert r.status_code == 201 and "text" not in r.json()


def _mutants(resource: dict[str, Any], rng: Any, count: int) -> list[dict[str, Any]]:
    """Copies of ``resource`` with one value replaced by a value of another JSON type."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k != "resourceType":
                    paths.append((*path, k))
                    walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append((*path, i))
                walk(v, (*path, i))

    walk(resource, ())
    out = []
    for _ in range(count):
        copy = json.loads(json.dumps(resource))
        path = rng.choice(paths)
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = rng.choice([None, True, 0, 1.5, "", "x<y>&z", [], {}, [{}], [None],
                                     {"a": 1}, ["s"]])
        out.append(copy)
    return out


def test_renderers_never_fail_on_odd_shapes(narrator: Narrator) -> None:
    """Every renderer, on 40 mutants of every example (a value of another JSON type at a
    random place), returns a div that passes the narrative checks, without an exception."""
    import random

    rng = random.Random(14)
    for example in ig_examples():
        for mutant in _mutants(example, rng, 40):
            div = narrator.div(mutant)
            assert div is not None and check_div(div) == [], mutant


@pytest.mark.jvm
def test_narratives_are_valid_for_the_hl7_validator(narrator: Narrator) -> None:
    """The reference validator accepts the narrative of every example of the guide and of the
    hostile strings: 0 errors, and no issue on the narrative."""
    from tests.oracle.hl7_validator import HL7Validator, available
    from tests.oracle.ig import PACKAGE

    ok, reason = available()
    if not ok or not PACKAGE.exists():
        pytest.skip(f"HL7 validator or {PACKAGE.name} unavailable: {reason}")
    named = {f"{e['resourceType']}/{e.get('id')}": narrator.apply(e) for e in ig_examples()}
    for i, value in enumerate(HOSTILE):
        named[f"hostile {i}"] = narrator.apply({
            "resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": value},
            "subject": {"display": value}, "note": [{"text": value}]})
    with HL7Validator() as hl7:
        results = hl7.validate(list(named.values()), igs=[str(PACKAGE)], load_sources=False)
    problems = {name: [f"{i.expression}: {i.message}" for i in r.errors + r.warnings
                       if i.is_error or str(i.expression).split(".")[1:2] == ["text"]]
                for name, r in zip(named, results, strict=True)}
    assert {k: v for k, v in problems.items() if v} == {}
