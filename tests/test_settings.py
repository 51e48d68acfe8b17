"""Typed settings (pydantic-settings): the environment is read only by ``from_env``, values are
validated, and a wrong value is a clear start-up error naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fhir_service.settings import Settings, SettingsError


def test_constructor_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CM_FHIR_AUTH", "off")
    assert Settings().auth == "embedded"
    assert Settings.from_env().auth == "off"


def test_environment_values_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CM_FHIR_DEMO", "no")
    monkeypatch.setenv("CM_FHIR_TOKEN_MINUTES", "15")
    monkeypatch.setenv("CM_FHIR_IG_PACKAGES", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    monkeypatch.setenv("CM_FHIR_LOG_LEVEL", "debug")
    s = Settings.from_env(token_minutes=None)  # None: an option not given on the command line
    assert (s.demo, s.token_minutes, s.log_level) == (False, 15, "DEBUG")
    assert s.ig_packages == (tmp_path / "a", tmp_path / "b")
    assert Settings.from_env(token_minutes=5).token_minutes == 5  # options override


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("AUTH", "embeded", "'embedded', 'external' or 'off'"),
    ("AUDIT_INDEXER", "threads", "'process' or 'thread'"),
    ("TOKEN_MINUTES", "0", "greater than 0"),
    ("MAX_COUNT", "many", "valid integer"),
    ("DEMO", "perhaps", "valid boolean"),
])
def test_a_wrong_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                          value: str, expected: str) -> None:
    monkeypatch.setenv(f"CM_FHIR_{name}", value)
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    (line,) = err.value.lines
    assert line.startswith(f"CM_FHIR_{name} ") and expected in line and repr(value) in line


def test_assignment_and_replace_are_validated() -> None:
    s = Settings(demo=False)
    with pytest.raises(ValueError):
        s.auth = "none"  # type: ignore[assignment]
    with pytest.raises(ValueError):
        s.replace(audit_indexer="fork")
    assert s.replace(auth="off").auth == "off" and s.auth == "embedded"
    with pytest.raises(ValueError):
        Settings(no_such_setting=1)  # type: ignore[call-arg]


def test_environment_round_trip(tmp_path: Path) -> None:
    s = Settings(demo=False, auth="off", ig_packages=(tmp_path,), token_minutes=7)
    env = s.environment()
    assert env["CM_FHIR_DEMO"] == "false" and env["CM_FHIR_IG_PACKAGES"] == str(tmp_path)
    import os

    old = dict(os.environ)
    try:
        os.environ.update(env)
        assert Settings.from_env().model_dump() == s.model_dump()
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_the_cli_refuses_a_wrong_setting_in_one_line(tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("cm-fhir")
    run = subprocess.run([str(cli), "db", "current"], check=False, capture_output=True,
                         text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                           "CM_FHIR_AUTH": "embeded", "COLUMNS": "200"})
    assert run.returncode == 2
    assert "CM_FHIR_AUTH (auth)" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
