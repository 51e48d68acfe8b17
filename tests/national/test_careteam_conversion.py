"""Our CareTeam ⇄ ANS Cercle de Soins CareTeam: the conversions (golden files), their round
trips, what they refuse, the $convert operation and `cm-fhir convert`. Every output validates
with 0 errors against its target profile with our validator (the HL7 validator oracle:
tests/national/test_national_oracle.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fhir_service.cli import app
from fhir_service.conformance.registry import Registry
from fhir_service.national import PROFILES, convert
from fhir_service.operations.validate import validator_for

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUR_TEAM = ROOT / "profiles" / "fsh-generated" / "resources" / "CareTeam-diego-careteam.json"
CDS_TEAM = HERE / "examples" / "cds-careteam-dac.json"
H = {"Content-Type": "application/fhir+json"}
TEAM_FUNCTION = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registry(base_context: Any) -> Registry:
    return base_context.registry


def errors(registry: Registry, resource: dict[str, Any], profile: str) -> list[str]:
    return [f"{i.expression}: {i.diagnostics}" for i in
            validator_for(registry).validate(resource, [profile])
            if i.severity in ("error", "fatal")]


def dump(resource: Any) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def test_our_team_to_cds(registry: Registry, golden: Any) -> None:
    team = load(OUR_TEAM)
    result = convert(team, "cds-careteam", registry, "https://fhir.example.org/fhir")
    assert result.ok
    out = result.resource
    assert errors(registry, out, PROFILES["cds-careteam"]) == []
    # the person is the subject, not a member; nothing else is dropped
    assert [i.expression for i in result.issues if "subject" in i.diagnostics] == \
        [("CareTeam.participant[4]",)]
    members = [p["member"]["reference"] for p in out["participant"]]
    assert "Patient/diego-patient" not in members and len(members) == 5
    roles = {(c["system"].rsplit("/", 1)[-1], c["code"]) for p in out["participant"]
             for r in p["role"] for c in r["coding"]}
    assert ("TRE-R259-HL7ParticipationFunction", "ATTPHYS") in roles  # the case manager
    assert ("TRE-R260-HL7RoleClass", "CAREGIVER") in roles  # the aidant
    assert ("cm-team-function", "case-manager") in roles  # ours stays beside
    golden(HERE / "golden" / "diego-careteam.cds.json", dump(out), as_json=True)


def test_cds_team_to_ours(registry: Registry, golden: Any) -> None:
    team = load(CDS_TEAM)
    assert errors(registry, team, PROFILES["cds-careteam"]) == []
    result = convert(team, "cm-care-team", registry)
    assert result.ok
    out = result.resource
    assert errors(registry, out, PROFILES["cm-care-team"]) == []
    functions = [next(c["code"] for r in p["role"] for c in r["coding"]
                      if c["system"] == TEAM_FUNCTION) for p in out["participant"]]
    assert functions == ["case-manager", "medecin-generaliste", "aidant", "other", "other"]
    assert [i.expression for i in result.issues] == [("CareTeam.participant[3].role",),
                                                     ("CareTeam.participant[4].role",)]
    assert out["participant"][3]["role"][0]["text"] == "personne de confiance"
    golden(HERE / "golden" / "cds-careteam-dac.cm.json", dump(out), as_json=True)


def _codings(team: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(p["member"]["reference"], c["system"], c["code"]) for p in team["participant"]
            for r in p.get("role", []) for c in r.get("coding", [])}


def test_round_trips(registry: Registry) -> None:
    ours = load(OUR_TEAM)
    there = convert(ours, "cds-careteam", registry).resource
    back = convert(there, "cm-care-team", registry).resource
    kept = [p for p in ours["participant"] if not p["member"]["reference"].startswith("Patient/")]
    strip = {"meta", "text"}
    # every member but the person comes back with its function, period and member
    assert [(p["member"], p["period"]) for p in back["participant"]] == \
        [(p["member"], p["period"]) for p in kept]
    assert {k: v for k, v in back.items() if k not in strip | {"participant"}} == \
        {k: v for k, v in ours.items() if k not in strip | {"participant"}}
    assert {c for c in _codings(ours) if not c[0].startswith("Patient/")} <= _codings(back)
    cds = load(CDS_TEAM)
    again = convert(convert(cds, "cm-care-team", registry).resource, "cds-careteam",
                    registry).resource
    assert _codings(cds) <= _codings(again)
    assert {k: v for k, v in again.items() if k not in ("participant", "meta")} == \
        {k: v for k, v in cds.items() if k not in ("participant", "meta")}
    assert [(p["member"], p["period"]) for p in again["participant"]] == \
        [(p["member"], p["period"]) for p in cds["participant"]]


def test_refusals(registry: Registry) -> None:
    cds = load(CDS_TEAM)
    no_referent = copy.deepcopy(cds)
    no_referent["participant"].pop(0)
    result = convert(no_referent, "cm-care-team", registry)
    assert result.resource is None
    assert "case manager" in result.issues[-1].diagnostics
    ended = copy.deepcopy(no_referent)
    ended["status"] = "inactive"  # cm-team-1 binds active teams only
    assert convert(ended, "cm-care-team", registry).ok
    ours = load(OUR_TEAM)
    for p in ours["participant"]:
        p.pop("period")
    ours.pop("period", None)
    result = convert(ours, "cds-careteam", registry)
    assert result.resource is None
    with pytest.raises(ValueError, match="known targets"):
        convert(ours, "https://example.org/StructureDefinition/x", registry)


@pytest.fixture
def client(make_context: Any) -> Any:
    """A server that stores a team without its members (the DAC's team is stored alone)."""
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(referential_integrity=False)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        yield c


def test_convert_operation(client: Any) -> None:
    team = load(OUR_TEAM)
    r = client.post("/fhir/CareTeam/$convert?target=cds-careteam", json=team, headers=H)
    assert r.status_code == 200, r.text
    parts = {p["name"]: p["resource"] for p in r.json()["parameter"]}
    assert parts["return"]["meta"]["profile"] == [PROFILES["cds-careteam"]]
    assert [i["expression"] for i in parts["outcome"]["issue"]
            if "subject" in i.get("diagnostics", "")] == [["CareTeam.participant[4]"]]
    cds = load(CDS_TEAM)
    r = client.put(f"/fhir/CareTeam/{cds['id']}", json=cds, headers=H)
    assert r.status_code == 201, r.text
    r = client.get(f"/fhir/CareTeam/{cds['id']}/$convert?target={PROFILES['cm-care-team']}")
    assert r.status_code == 200, r.text
    out = r.json()["parameter"][0]["resource"]
    assert out["meta"]["profile"][0] == PROFILES["cm-care-team"]
    assert client.get("/fhir/CareTeam/nope/$convert?target=cm-care-team").status_code == 404
    bad = copy.deepcopy(cds)
    bad["participant"].pop(0)
    r = client.post("/fhir/CareTeam/$convert?target=cm-care-team", json=bad, headers=H)
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"
    r = client.post("/fhir/CareTeam/$convert?target=nowhere", json=cds, headers=H)
    assert r.status_code == 400 and "known targets" in r.text
    r = client.post("/fhir/CareTeam/$convert", json=cds, headers=H)
    assert r.status_code == 400
    assert client.get(f"/fhir/CareTeam/{cds['id']}").json()["meta"]["profile"] == \
        cds["meta"]["profile"]  # nothing stored


def test_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cds.json"
    result = runner.invoke(app, ["convert", str(OUR_TEAM), "--to", "cds-careteam",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load(out)["meta"]["profile"] == [PROFILES["cds-careteam"]]
    assert "participant[4]" in result.output  # the warning (stderr is mixed in here)
    bad = load(CDS_TEAM)
    bad["participant"].pop(0)
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(bad), encoding="utf-8")
    assert runner.invoke(app, ["convert", str(src), "--to", "cm-care-team"]).exit_code == 1
    assert runner.invoke(app, ["convert", str(src), "--to", "nowhere"]).exit_code == 2
    assert runner.invoke(app, ["convert", str(tmp_path / "no.json"), "--to",
                               "cm-care-team"]).exit_code == 2
