"""cm-fhir validate: exit codes and output formats."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fhir_service.cli import app
from tests.validator.mutations import EXAMPLES, INVALID


def test_validate_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(EXAMPLES / "CarePlan-diego-careplan.json")])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["validate", str(INVALID), "--format", "json"])
    assert bad.exit_code == 1
    out = json.loads(bad.stdout)
    assert len(out) == len(list(INVALID.glob("*.json")))
    assert all(any(i["severity"] == "error" for i in f["outcome"]["issue"]) for f in out)
    # issues with an expression carry the line and column of their element
    located = [i for f in out for i in f["outcome"]["issue"] if i.get("expression")]
    assert located and all(
        [e["url"].rsplit("-", 1)[-1] for e in i["extension"]] == ["line", "col"]
        and all(e["valueInteger"] >= 1 for e in i["extension"]) for i in located)
    (tmp_path / "broken.json").write_text("{not json")
    broken = runner.invoke(app, ["validate", str(tmp_path)])
    assert broken.exit_code == 1
    unknown = runner.invoke(app, ["validate", str(tmp_path), "--profile", "http://x.org/p"])
    assert unknown.exit_code == 2


def test_validate_command_reads_xml(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "ok.xml").write_text(
        '<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>')
    ok = runner.invoke(app, ["validate", str(tmp_path / "ok.xml")])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "bad.xml").write_text(
        '<Patient xmlns="http://hl7.org/fhir"><birthDate value="2026-13-45"/></Patient>')
    bad = runner.invoke(app, ["validate", str(tmp_path), "--format", "json"])
    assert bad.exit_code == 1
    out = {Path(f["file"]).name: f["outcome"] for f in json.loads(bad.stdout)}
    assert set(out) == {"ok.xml", "bad.xml"}
    assert any(i["severity"] == "error" and i["expression"] == ["Patient.birthDate"]
               for i in out["bad.xml"]["issue"])
