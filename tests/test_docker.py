"""docker/ without Docker: the image's start-up (docker/entrypoint.sh) run on 127.0.0.1 with a
temporary folder as its /data volume, and the compose file's wiring.

Checked: the server runs as configured and never as root (started as root, the entrypoint
gives the volume to an unprivileged user and drops to it), demo data is off unless
CM_FHIR_DEMO=true, the signing key, the audit journal and the SQLite database are written
under the volume (private to the service's user), the entrypoint's healthcheck answers once the
server does; compose: every service has a healthcheck, every dependency waits for
``service_healthy``, the service is configured to sync with the HAPI service, ports are bound
to loopback.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hapi import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
ENTRYPOINT = DOCKER / "entrypoint.sh"
START_TIMEOUT = 240.0
UNPRIVILEGED = "nobody"


# -- compose and Dockerfiles ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def test_every_service_is_checked_and_waited_for(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "hapi", "cm-fhir"} <= set(services)
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services
            assert how == {"condition": "service_healthy"}, f"{name} -> {needed}: {how}"
    assert set(services["cm-fhir"]["depends_on"]) == {"postgres", "hapi"}
    assert set(services["hapi"]["depends_on"]) == {"postgres"}


def test_service_syncs_with_hapi_on_postgres_with_its_data_on_a_volume(compose: dict[str, Any]) -> None:
    service = compose["services"]["cm-fhir"]
    env = service["environment"]
    assert env["CM_FHIR_SYNC_REMOTE"] == "http://hapi:8080/fhir"
    assert env["CM_FHIR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["CM_FHIR_DATABASE_URL"]
    assert env["CM_FHIR_DEMO"] == "${CM_FHIR_DEMO:-false}"  # off unless asked
    assert any(v.split(":")[1] == "/data" for v in service["volumes"])
    hapi = compose["services"]["hapi"]["environment"]
    assert hapi["HAPI_JPA_JDBC_URL"] == "jdbc:postgresql://postgres:5432/hapi"
    sync = compose["services"]["cm-fhir-sync"]
    assert sync["command"] == ["sync-loop"] and sync["environment"]["CM_FHIR_SYNC_REMOTE"] == \
        env["CM_FHIR_SYNC_REMOTE"]
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    # the database HAPI uses is made by the init script the postgres service mounts
    init = [v for v in compose["services"]["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init and (DOCKER / init[0].split(":")[0]).resolve().is_dir()
    assert "CREATE DATABASE hapi" in (DOCKER / "postgres-init" / "10-hapi.sh").read_text()


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "hapi.Dockerfile"])
def test_images_run_as_a_non_root_user(dockerfile: str) -> None:
    text = (DOCKER / dockerfile).read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, f"{dockerfile} sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK ", text, flags=re.MULTILINE)
    assert (DOCKER / f"{dockerfile}.dockerignore").exists()  # no .venv/.cache in the context


def test_service_image_starts_with_the_entrypoint_and_demo_off() -> None:
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in text
    assert 'CMD ["serve"]' in text
    assert "CM_FHIR_DEMO=false" in text
    assert "VOLUME /data" in text


# -- the entrypoint, run here ---------------------------------------------------------------------


@dataclass
class Runner:
    """How to run the entrypoint here: the command line for cm-fhir, and the user it ends as."""

    cmd: str
    env: dict[str, str]
    uid: int


def _runner() -> Runner:
    env = {"CM_FHIR_CACHE_DIR": str(ROOT / ".cache"), "PYTHONDONTWRITEBYTECODE": "1"}
    if os.geteuid() != 0:
        return Runner(f"{sys.executable} -m fhir_service.cli", env, os.geteuid())
    # root (CI, this machine): the entrypoint drops to an unprivileged user, who needs an
    # interpreter it may run and the project's packages
    try:
        uid = int(subprocess.run(["id", "-u", UNPRIVILEGED], capture_output=True, text=True,
                                 check=True).stdout)
    except (subprocess.CalledProcessError, ValueError):
        pytest.skip(f"running as root without a '{UNPRIVILEGED}' user to drop to")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is absent: the entrypoint cannot drop root here")
    paths = [sysconfig.get_paths()["purelib"], str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (os.path.realpath(sys.executable), f"/usr/bin/python{version}"):
        # through a shell, as the entrypoint does (setpriv's own exec may still bypass
        # permissions: the capabilities go at the next exec)
        probe = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                                "--", "bash", "-c", '"$0" -c "import fhir_service.cli"', python],
                               capture_output=True, env={**os.environ, **env}, check=False,
                               timeout=120)
        if probe.returncode == 0:
            return Runner(f"{python} -m fhir_service.cli", env, uid)
    pytest.skip(f"no Python {version} that user {UNPRIVILEGED} may run with the project's packages")


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    data: Path
    port: int
    env: dict[str, str]
    out: Path
    err: Path

    def output(self) -> tuple[str, str]:
        return (self.out.read_text(errors="replace"), self.err.read_text(errors="replace"))


def _healthy(env: dict[str, str]) -> bool:
    return subprocess.run(["bash", str(ENTRYPOINT), "healthcheck"], env=env, check=False,
                          capture_output=True, timeout=30).returncode == 0


@pytest.fixture()
def start_image() -> Iterator[Any]:
    started: list[Started] = []
    folders: list[Path] = []

    def start(**extra: str) -> Started:
        runner = _runner()
        top = Path(tempfile.mkdtemp(prefix="cm-fhir-docker-"))
        folders.append(top)
        top.chmod(0o755)  # the unprivileged user walks into its volume
        data = top / "data"
        port = free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **runner.env,
               "CM_FHIR_DATA": str(data), "CM_FHIR_HOST": "127.0.0.1", "CM_FHIR_PORT": str(port),
               "CM_FHIR_CMD": runner.cmd, "CM_FHIR_USER": UNPRIVILEGED,
               "CM_FHIR_AUDIT_INDEXER": "thread", **extra}
        out, err = top / "stdout", top / "stderr"
        with open(out, "wb") as o, open(err, "wb") as e:
            process = subprocess.Popen(["bash", str(ENTRYPOINT), "serve"], env=env, stdout=o,
                                       stderr=e, stdin=subprocess.DEVNULL, cwd=top)
        run = Started(process, data, port, env, out, err)
        started.append(run)
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(env):
            remaining = deadline - time.monotonic()
            try:  # the pause between two checks is a wait on the process's end
                code = process.wait(timeout=max(0.01, min(0.5, remaining)))
            except subprocess.TimeoutExpired:
                if remaining <= 0:
                    pytest.fail(f"not healthy within {START_TIMEOUT:.0f} s:\n{run.output()[1][-3000:]}")
                continue
            pytest.fail(f"the entrypoint exited with {code}:\n{run.output()[1][-3000:]}")
        assert run.process.pid and runner.uid == _uid_of(run.process.pid)
        return run

    yield start
    for run in started:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGTERM)
            try:
                run.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait(timeout=30)
    for top in folders:
        shutil.rmtree(top, ignore_errors=True)


def _status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {field} line")


def _uid_of(pid: int) -> int:
    return int(_status(pid, "Uid").split()[0])  # real uid


def _private_to(path: Path, uid: int, mode: int) -> None:
    info = path.stat()
    assert info.st_uid == uid, f"{path} belongs to {info.st_uid}, not {uid}"
    assert stat.S_IMODE(info.st_mode) & 0o077 == 0, f"{path} is {oct(info.st_mode)}"
    assert stat.S_IMODE(info.st_mode) & mode == mode


@pytest.mark.slow  # starts the server (~30 s)
def test_serves_as_configured_not_root_demo_off_state_on_the_volume(start_image: Any) -> None:
    run = start_image()
    uid = _uid_of(run.process.pid)
    assert uid != 0  # the server never runs as root
    assert int(_status(run.process.pid, "CapEff"), 16) == 0  # nor with root's capabilities
    base = f"http://127.0.0.1:{run.port}/fhir"
    meta = requests.get(f"{base}/metadata", timeout=30)
    assert meta.status_code == 200 and meta.json()["resourceType"] == "CapabilityStatement"
    # authentication is on (embedded issuer), whose key is on the volume
    assert requests.get(f"{base}/Patient", timeout=30).status_code == 401
    keys = run.data / "keys"
    _private_to(keys, uid, 0o700)
    key_files = [p for p in keys.iterdir() if p.is_file()]
    assert key_files, "no signing key written under the volume's keys/"
    for key in key_files:
        _private_to(key, uid, 0o600)
    assert (run.data / "cm-fhir.db").is_file()  # SQLite on the volume
    _private_to(run.data / "audit", uid, 0o700)  # the audit journal's folder
    for name in ("export", "sync"):
        _private_to(run.data / name, uid, 0o700)
    stdout, stderr = run.output()
    assert stdout.strip() == ""  # the demo token is the one line a demo start prints there
    assert "Demo scenarios loaded" not in stderr
    assert f"serving FHIR R4 at http://127.0.0.1:{run.port}/fhir" in stderr
    # a second look through the service's own CLI: no demo client was registered
    listed = subprocess.run(["bash", str(ENTRYPOINT), "client", "list"], env=run.env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "demo" not in listed.stdout


@pytest.mark.slow  # starts the server with the demo (~30 s)
def test_demo_only_when_asked(start_image: Any) -> None:
    run = start_image(CM_FHIR_DEMO="true")
    stdout, stderr = run.output()
    assert "Demo scenarios loaded" in stderr
    token = stdout.strip().splitlines()[-1]
    answer = requests.get(f"http://127.0.0.1:{run.port}/fhir/Patient",
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json().get("entry"), "the demo client sees no Patient"


def test_refuses_to_run_as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to check that the entrypoint will not serve as root")
    done = subprocess.run(["bash", str(ENTRYPOINT), "serve"], capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "CM_FHIR_USER": "root",
                               "CM_FHIR_DATA": tempfile.gettempdir() + "/cm-fhir-never"},
                          check=False, timeout=60)
    assert done.returncode == 2
    assert "refusing to run as root" in done.stderr


def test_sync_loop_needs_its_partner_and_client() -> None:
    top = Path(tempfile.mkdtemp(prefix="cm-fhir-docker-"))
    try:
        top.chmod(0o755)
        env = {"PATH": os.environ.get("PATH", ""), "CM_FHIR_DATA": str(top / "data"),
               "CM_FHIR_USER": UNPRIVILEGED, "CM_FHIR_CMD": "false"}
        # a copy the unprivileged user may read (run as root, the entrypoint re-executes itself
        # as that user, and the checkout may sit in a folder only root can enter)
        entrypoint = top / "entrypoint.sh"
        shutil.copy(ENTRYPOINT, entrypoint)
        entrypoint.chmod(0o755)
        no_remote = subprocess.run(["bash", str(entrypoint), "sync-loop"], env=env,
                                   capture_output=True, text=True, check=False, timeout=60)
        assert no_remote.returncode == 2 and "CM_FHIR_SYNC_REMOTE" in no_remote.stderr
        env["CM_FHIR_SYNC_REMOTE"] = "http://hapi:8080/fhir"
        no_client = subprocess.run(["bash", str(entrypoint), "sync-loop"], env=env,
                                   capture_output=True, text=True, check=False, timeout=60)
        assert no_client.returncode == 2 and "CM_FHIR_SYNC_CLIENT" in no_client.stderr
        # the volume's folders were made, private to the service's user
        assert stat.S_IMODE((top / "data" / "keys").stat().st_mode) == 0o700
    finally:
        shutil.rmtree(top, ignore_errors=True)
