"""Start-up: the IG package is loaded (profiles, SearchParameters as data), its conformance
resources are served, the demo scenarios load idempotently, and `cm-fhir serve` starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from fhir_service.cli import install_conformance, load_demo


@pytest.fixture
def app_and_client(ctx: Any) -> Any:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    app = create_app(ctx.settings, ctx)
    with TestClient(app, base_url="http://test") as c:
        yield app, c


def test_ig_conformance_and_demo_are_idempotent(app_and_client: Any, ctx: Any) -> None:
    app, c = app_and_client
    if not ctx.settings.ig_packages:
        pytest.skip("the project's IG (profiles/) is absent")
    n_conf = install_conformance(app)
    n_demo = load_demo(app, ctx.settings)
    assert n_conf > 20 and n_demo > 20
    before = c.get("/fhir/_history?_count=0").json()["total"]
    install_conformance(app)
    load_demo(app, ctx.settings)
    assert c.get("/fhir/_history?_count=0").json()["total"] == before  # no new versions
    sd = c.get("/fhir/StructureDefinition/cm-care-plan").json()
    assert sd["url"].endswith("/StructureDefinition/cm-care-plan")
    assert c.get("/fhir/CodeSystem?url=" + sd["url"].replace(
        "StructureDefinition/cm-care-plan", "CodeSystem/cm-life-domain")).json()["total"] == 1


def test_ig_search_parameters_plug_in_as_data(app_and_client: Any, ctx: Any) -> None:
    app, c = app_and_client
    if not ctx.settings.ig_packages:
        pytest.skip("the project's IG (profiles/) is absent")
    load_demo(app, ctx.settings)
    episode = c.get("/fhir/EpisodeOfCare?identifier=https://ids.exemple-ghu-psy.fr/cjaad|"
                    "EP-2026-0042").json()["entry"][0]["resource"]
    plans = c.get(f"/fhir/CarePlan?episode-of-care=EpisodeOfCare/{episode['id']}"
                  "&_include=CarePlan:goal").json()
    assert plans["total"] == 1
    assert sum(1 for e in plans["entry"] if e["search"]["mode"] == "include") >= 3
    teams = c.get(f"/fhir/CareTeam?_has:EpisodeOfCare:team:_id={episode['id']}").json()
    assert [e["resource"]["id"] for e in teams["entry"]] == [episode["team"][0]["reference"].split("/")[1]]
    cs = c.get("/fhir/metadata").json()
    careplan = next(r for r in cs["rest"][0]["resource"] if r["type"] == "CarePlan")
    assert any(p.endswith("/cm-care-plan") for p in careplan["supportedProfile"])
    assert "episode-of-care" in {p["name"] for p in careplan["searchParam"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cm_fhir_serve_starts_with_demo_and_prints_url(tmp_path: Path) -> None:
    port = _free_port()
    exe = Path(sys.executable).with_name("cm-fhir")
    if not exe.exists():
        pytest.skip("the cm-fhir console script is not installed in this environment")
    env = {**os.environ, "CM_FHIR_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           "CM_FHIR_KEYS_DIR": str(tmp_path / "keys"), "COLUMNS": "200"}
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    token = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the start-up lines, up to the URL
            output.append(line)
            if line.startswith("ey"):
                token = line.strip()
            if "is serving FHIR R4 at" in line:
                break
        assert token, "".join(output)
        base = f"http://127.0.0.1:{port}/fhir"
        deadline = time.monotonic() + 90
        ok = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ok = requests.get(f"{base}/metadata", timeout=2).status_code == 200
            except requests.ConnectionError:
                ok = False
            if ok:
                break
            time.sleep(0.2)  # readiness poll of a separate process, bounded by the deadline
        assert ok, "the server did not answer /metadata"
        assert requests.get(f"{base}/CarePlan", timeout=5).status_code == 401
        plans = requests.get(f"{base}/CarePlan", headers={"Authorization": f"Bearer {token}"},
                             timeout=5).json()
        assert plans["total"] == 1  # the demo structure accompanies Diego, not Nadia
    finally:
        proc.terminate()
        output.append(proc.communicate(timeout=30)[0])
    assert f"http://127.0.0.1:{port}/fhir" in "".join(output)


def test_environment_settings_survive_cli_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI passes None for options left out, so CM_FHIR_* variables still apply."""
    from fhir_service.settings import Settings

    monkeypatch.setenv("CM_FHIR_REFERENTIAL_INTEGRITY", "false")
    monkeypatch.setenv("CM_FHIR_DEMO", "0")
    monkeypatch.setenv("CM_FHIR_MAX_COUNT", "77")
    s = Settings.from_env(referential_integrity=None, demo=None, database_url=None)
    assert (s.referential_integrity, s.demo, s.max_count) == (False, False, 77)
    s = Settings.from_env(referential_integrity=True)
    assert s.referential_integrity is True  # an explicit flag wins over the environment


def test_ig_documentation_is_served(client: Any, tmp_path: Path) -> None:
    from fhir_service.http.igdocs import DOCS, build

    if not (DOCS / "index.md").exists():
        pytest.skip("docs/ig is absent")
    page = client.get("/ig/index.html")
    assert page.status_code == 200 and "<table>" in page.text
    assert 'href="StructureDefinition-cm-care-plan.html"' in page.text
    assert client.get("/ig/StructureDefinition-cm-care-plan.html").status_code == 200
    assert client.get("/ig/../../etc/passwd").status_code == 404
    assert client.get("/ig/nothing.html").status_code == 404
    assert build(tmp_path) == len(list(DOCS.glob("*.md")))


def test_client_add_resolves_a_structure_by_finess(tmp_path: Path, ctx: Any) -> None:
    from typer.testing import CliRunner

    from fhir_service.cli import app

    env = {"CM_FHIR_DATABASE_URL": ctx.settings.database_url,
           "CM_FHIR_KEYS_DIR": str(tmp_path / "keys")}
    from fhir_service.app import create_app
    from fhir_service.request import FhirRequest

    org = (b'{"resourceType":"Organization","id":"cmp14","name":"CMP",'
           b'"identifier":[{"system":"https://finess.esante.gouv.fr","value":"750000029"}]}')
    router = create_app(ctx.settings, ctx).state.router
    router.dispatch(FhirRequest("PUT", ["Organization", "cmp14"], base_url="http://x", body=org))
    runner = CliRunner()
    r = runner.invoke(app, ["client", "add", "cmp-app", "--structure", "finess:750000029",
                            "--scopes", "system/*.rs"], env=env)
    assert r.exit_code == 0, r.output
    listed = runner.invoke(app, ["client", "list"], env=env)
    assert "Organization/cmp14" in listed.output
    bad = runner.invoke(app, ["client", "add", "x", "--structure", "finess:000"], env=env)
    assert bad.exit_code != 0
    token = runner.invoke(app, ["token", "cmp-app"], env=env)
    assert token.exit_code == 0 and token.output.startswith("ey")
