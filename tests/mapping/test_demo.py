"""The demo is the import of the shared example case files; with authentication on, the
demo client (Diego's young-adult centre) runs the README's requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhir_service.cli import demo_token, install_conformance, load_demo

from .conftest import EXAMPLES


@pytest.fixture
def demo(make_context: Any, tmp_path: Path) -> Any:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True)
    app = create_app(ctx.settings, ctx)
    install_conformance(app)
    with TestClient(app, base_url="http://test") as client:
        yield app, client


def test_demo_is_the_import_of_the_case_files_and_is_idempotent(demo: Any) -> None:
    app, client = demo
    first = load_demo(app, app.state.ctx.settings)
    token, structure, _ = demo_token(app)
    h = {"Authorization": f"Bearer {token}"}
    total = client.get("/fhir/_history?_count=0", headers=h).json()["total"]
    # the same resources, unchanged (each first import's Provenance is the server's, sent
    # as X-Provenance: not a resource of the case file, not counted)
    assert load_demo(app, app.state.ctx.settings) == first
    assert client.get("/fhir/_history?_count=0", headers=h).json()["total"] == total
    org = client.get(f"/fhir/Organization/{structure}", headers=h).json()
    assert org["identifier"][1]["value"] == "750000011"  # the FINESS of Diego's centre
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == \
        ["diego-intervention-precoce.json", "nadia-coordination-dac.json"]


def test_readme_requests_with_the_demo_token(demo: Any) -> None:
    app, client = demo
    load_demo(app, app.state.ctx.settings)
    token, _, _ = demo_token(app)
    h = {"Authorization": f"Bearer {token}"}
    ipp = "https://ids.exemple-ghu-psy.fr/cjaad|IPP-204511"
    ep = "https://ids.exemple-ghu-psy.fr/cjaad|EP-2026-0042"
    teams = client.get(f"/fhir/CareTeam?patient:Patient.identifier={ipp}&_include=CareTeam:participant",
                       headers=h).json()
    assert "entry" in teams, teams
    assert [e["resource"]["resourceType"] for e in teams["entry"]].count("CareTeam") == 1
    goals = client.get(f"/fhir/Goal?patient:Patient.identifier={ipp}&lifecycle-status=active"
                       "&_sort=-target-date", headers=h).json()
    assert goals["total"] == 3
    episode = client.get(f"/fhir/EpisodeOfCare?identifier={ep}", headers=h).json()
    eid = episode["entry"][0]["resource"]["id"]
    plans = client.get(f"/fhir/CarePlan?episode-of-care.identifier={ep}", headers=h).json()
    assert plans["total"] == 1
    assert client.get("/fhir/EpisodeOfCare?care-manager.name=durand",
                      headers=h).json()["total"] == 1
    assert client.get("/fhir/Patient?name=nadia", headers=h).json()["total"] == 0
    casefile = client.get(f"/fhir/EpisodeOfCare/{eid}/$casefile", headers=h)
    assert casefile.status_code == 200 and casefile.json()["person"]["localId"] == "IPP-204511"
    sheet = client.post("/fhir/$import-casefile", content=(EXAMPLES / "goals.csv").read_bytes(),
                        headers={**h, "Content-Type": "text/csv"})
    assert sheet.status_code == 200, sheet.text
    assert client.get(f"/fhir/Goal?patient:Patient.identifier={ipp}&lifecycle-status=active",
                      headers=h).json()["total"] == 3  # G-2 completed, G-4 active, G-5 new
    nadia = client.get("/fhir/EpisodeOfCare?identifier=https://ids.exemple-dac-rhone.fr/"
                       "parcours|DAC-EP-5521").json()
    assert "entry" not in nadia or not nadia["entry"]  # no token: 401 outcome, no data
