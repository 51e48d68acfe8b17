"""House rules that keep the suite honest (issue "A house others can carry on").

* Operations and CLI commands are registered by explicit imports: every operation module is
  listed and installs something, every documented command answers ``--help``.
* A golden test without its golden file fails (it used to write it and pass); only the
  explicit ``--update-goldens`` path writes it.
* The markers ``make test-fast`` relies on are set from paths that exist.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fhir_service.context import FhirContext
from fhir_service.router import Router
from tests.conftest import MARKED, _updating_goldens, check_golden, pytest_configure

ROOT = Path(__file__).resolve().parents[1]

# the commands README.md documents
CLI_COMMANDS = ("serve", "load", "client", "token", "validate", "import", "export")


# -- explicit registries --------------------------------------------------------------------------


def test_every_operation_module_is_listed_and_installs_its_operations(ctx: FhirContext) -> None:
    from fhir_service import operations

    listed = operations.operation_modules()
    names = [m.__name__ for m in listed]
    on_disk = sorted(f"fhir_service.operations.{p.stem}"
                     for p in (ROOT / "fhir_service" / "operations").glob("*.py")
                     if p.stem != "__init__")
    assert sorted(names) == on_disk, "every module of fhir_service/operations/ is listed once"
    for module in listed:
        router = Router(dataclasses.replace(ctx, operations={}))
        module.install(router)
        assert router.operations, f"{module.__name__}.install added no operation"
        assert router.ctx.operations, f"{module.__name__}.install declared no operation"
        assert all(callable(h) for h in router.operations.values())
    everything = Router(dataclasses.replace(ctx, operations={}))
    assert operations.install_all(everything) == names
    assert {name for (_, _, name) in everything.operations} == set(everything.ctx.operations)


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_every_cli_command_exists(command: str) -> None:
    from typer.testing import CliRunner

    from fhir_service.cli import app

    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and command in result.output


def test_no_registry_skips_a_missing_module() -> None:
    """The silent "not written yet" registries are gone: nothing under fhir_service/ imports
    modules by name at run time."""
    found = [str(p.relative_to(ROOT)) for p in (ROOT / "fhir_service").rglob("*.py")
             if "importlib.import_module" in p.read_text(encoding="utf-8")]
    assert not found, found


# -- goldens -------------------------------------------------------------------------------------

# a real golden test (one of the quickest), run in a child pytest with its golden folder
# pointed at an empty temporary one
GOLDEN_TEST = ("tests/mapping/test_casefile_import.py::"
               "test_golden_transaction_and_invariants[nadia-coordination-dac]")
GOLDEN_NAME = "nadia-coordination-dac.transaction.json"
PLUGIN = '''
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _goldens_elsewhere(request, monkeypatch):
    if hasattr(request.module, "GOLDEN"):
        monkeypatch.setattr(request.module, "GOLDEN", Path(os.environ["HOUSE_RULES_GOLDEN_DIR"]))
'''


def _run_golden_test(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "house_rules_hide_goldens.py").write_text(PLUGIN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CM_FHIR_UPDATE_GOLDENS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    env["HOUSE_RULES_GOLDEN_DIR"] = str(tmp_path / "golden")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "house_rules_hide_goldens", GOLDEN_TEST, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_a_golden_test_without_its_golden_fails_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "golden").mkdir()
    done = _run_golden_test(tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"golden file {tmp_path / 'golden' / GOLDEN_NAME} is missing" in out, out
    assert "make update-goldens" in out, out
    assert list((tmp_path / "golden").iterdir()) == []


def test_only_the_explicit_option_or_variable_updates_goldens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def config(option: bool) -> Any:
        return SimpleNamespace(getoption=lambda name: option if name == "--update-goldens" else None)

    monkeypatch.delenv("CM_FHIR_UPDATE_GOLDENS", raising=False)
    assert not _updating_goldens(config(False))
    assert _updating_goldens(config(True))
    monkeypatch.setenv("CM_FHIR_UPDATE_GOLDENS", "1")
    assert _updating_goldens(config(False))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.UsageError):
        pytest_configure(config(False))


def test_a_golden_that_differs_fails_with_the_diff(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text("one\ntwo\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as failed:
        check_golden(path, "one\nthree\n")
    assert "-two" in str(failed.value) and "+three" in str(failed.value)
    assert path.read_text(encoding="utf-8") == "one\ntwo\n"
    check_golden(path, "one\ntwo\n")  # equal: passes
    check_golden(path, '{"a": [1, 2]}', as_json=True, update=True)  # the explicit path writes
    assert path.read_text(encoding="utf-8") == '{"a": [1, 2]}'
    check_golden(path, '{\n  "a": [1, 2]\n}\n', as_json=True)  # compared as JSON
    with pytest.raises(pytest.fail.Exception) as failed:
        check_golden(path, '{"a": [1, 3]}', as_json=True)
    assert "-    2" in str(failed.value) and "+    3" in str(failed.value)


# -- markers -------------------------------------------------------------------------------------


def test_marked_paths_exist() -> None:
    """A renamed folder or file would silently fall out of its marker (and into test-fast)."""
    for marker, patterns in MARKED.items():
        for pattern in patterns:
            rel, _, prefix = pattern.partition("::")
            path = ROOT / "tests" / rel
            assert path.exists(), f"{marker}: tests/{rel} does not exist"
            if prefix:
                assert f"def {prefix}" in path.read_text(encoding="utf-8"), \
                    f"{marker}: no test named {prefix}… in tests/{rel}"
