"""cm-fhir import / export on a local database (typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fhir_service.cli import app

from .conftest import EXAMPLES, NAMES, example


def test_import_then_export(tmp_path: Path, make_context: Any,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    # each command builds its context from the settings; the definitions are shared
    monkeypatch.setattr("fhir_service.context.build_context",
                        lambda settings: make_context(settings.database_url))
    runner = CliRunner()
    env = {"CM_FHIR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    files = [str(EXAMPLES / f"{name}.json") for name in NAMES]
    first = runner.invoke(app, ["import", *files], env=env)
    assert first.exit_code == 0, first.output
    rows = _rows(first.output)
    assert rows["Goal"] == ["8", "0", "0"]  # created, updated, unchanged
    assert rows["Patient"] == ["2", "0", "0"]
    assert "2 file(s) imported, 0 rejected" in first.output

    again = runner.invoke(app, ["import", files[0]], env=env)
    assert again.exit_code == 0, again.output
    assert _rows(again.output)["Goal"] == ["0", "0", "4"]
    assert "Provenance" not in _rows(again.output)  # nothing changed: no new Provenance

    broken = example(NAMES[0])
    broken["plan"]["goals"][0]["due"] = "2026-02-30"
    del broken["person"]["localId"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    rejected = runner.invoke(app, ["import", str(bad)], env=env)
    assert rejected.exit_code == 1
    outcome = json.loads(rejected.stdout)
    paths = {i["expression"][0] for i in outcome["issue"]}
    assert {"$.person.localId", "$.plan.goals[0].due"} <= paths

    sheet = runner.invoke(app, ["import", str(EXAMPLES / "goals.csv")], env=env)
    assert sheet.exit_code == 0, sheet.output
    assert _rows(sheet.output)["Goal"] == ["1", "2", "2"]  # G-5 new, G-2 and G-4 changed

    episode = _episode_id(make_context, env)
    out = tmp_path / "diego.json"
    exported = runner.invoke(app, ["export", "--episode", episode, "-o", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    goals = {g["localId"]: g for g in json.loads(out.read_text(encoding="utf-8"))["plan"]["goals"]}
    assert goals["G-2"]["status"] == "completed" and "G-5" in goals
    missing = runner.invoke(app, ["export", "--episode", "nope"], env=env)
    assert missing.exit_code == 1
    assert json.loads(missing.stdout)["resourceType"] == "OperationOutcome"


def _rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) == 4 and cells[1].isdigit():
            rows[cells[0]] = cells[1:]
    return rows


def _episode_id(make_context: Any, env: dict[str, str]) -> str:
    from fhir_service.request import FhirRequest
    from fhir_service.router import Router

    ctx = make_context(env["CM_FHIR_DATABASE_URL"])
    resp = Router(ctx).dispatch(FhirRequest("GET", ["EpisodeOfCare"], query=[
        ("identifier", "https://ids.exemple-ghu-psy.fr/cjaad|EP-2026-0042")]))
    return str(json.loads(resp.body)["entry"][0]["resource"]["id"])
