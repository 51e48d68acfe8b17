"""A real HAPI FHIR JPA server (R4) as a partner in tests and benchmarks.

The server is our own small Spring Boot application on ``hapi-fhir-jpaserver-base`` 8.8.0
(``tools/hapi-jpa/``), built from Maven Central artifacts by ``tools/hapi-jpa/setup.sh`` into
``.cache/hapi-jpa/hapi-jpa.jar`` (a cold build downloads ~450 MB into ``.cache/m2``; later
builds are offline). It serves FHIR R4 on ``/fhir``, H2 in memory by default or PostgreSQL
given a JDBC URL, with rest-hook Subscriptions on and cached search results never reused.

Use in tests (the server is started once per session, on a free port of 127.0.0.1, and
stopped at the end of the session)::

    from tests import hapi

    hapi_base_url = hapi.hapi_base_url  # the fixture, in this module

    def test_something(hapi_base_url: str) -> None:
        requests.get(f"{hapi_base_url}/Patient?identifier=...")

``hapi_base_url`` is e.g. ``http://127.0.0.1:41234/fhir``. The session's tests share the
server's data: give each test its own identifiers (``unique_tag()``), or call
``expunge_everything(base)`` first. A test using the fixture is marked ``jvm`` by
tests/conftest.py: it runs in CI (``CI`` set) or with ``CM_FHIR_JVM_TESTS=1``. Outside CI it
skips with the reason when Java or Maven is missing or the build fails; in CI that is a
failure (CI must test against HAPI).

Anything else (a PostgreSQL-backed server, a second instance, the benchmark) uses the
context manager ``running_hapi(jdbc_url=...)``.

Environment: ``CM_FHIR_HAPI_START_TIMEOUT`` (seconds, default 300),
``HAPI_JPA_JAVA_OPTS`` (JVM options, default ``DEFAULT_JAVA_OPTS``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "tools" / "hapi-jpa" / "setup.sh"
START_TIMEOUT = float(os.environ.get("CM_FHIR_HAPI_START_TIMEOUT", "300"))
# C1 only: starts in ~35 s instead of ~90 s on 2 cores (benchmarks pass their own options)
DEFAULT_JAVA_OPTS = "-Xmx1g -XX:+UseParallelGC -XX:TieredStopAtLevel=1"
FHIR_JSON = "application/fhir+json"


class HapiUnavailable(RuntimeError):
    """The HAPI JPA server cannot be built or started here (the message says why)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_jar() -> Path:
    """Build the server's jar if needed (tools/hapi-jpa/setup.sh) and return its path."""
    missing = [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]
    if "java" in missing:
        raise HapiUnavailable("java is not installed (a JDK 17+ is needed for the HAPI FHIR JPA server)")
    if missing:
        # a jar built earlier is enough without javac/mvn
        check = subprocess.run(["bash", str(SETUP), "--check"], capture_output=True, text=True,
                               check=False, timeout=60)
        if check.returncode != 0:
            raise HapiUnavailable(f"{', '.join(missing)} not installed and the HAPI FHIR JPA server "
                                  "is not built (bash tools/hapi-jpa/setup.sh)")
    try:
        done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, check=False,
                              timeout=1800)
    except subprocess.TimeoutExpired as exc:
        raise HapiUnavailable("building the HAPI FHIR JPA server took more than 30 min") from exc
    if done.returncode != 0:
        raise HapiUnavailable("tools/hapi-jpa/setup.sh failed: " + done.stderr.strip()[-800:])
    jar = Path(done.stdout.strip().splitlines()[-1])
    if not jar.is_file():
        raise HapiUnavailable(f"tools/hapi-jpa/setup.sh printed {jar}, which is not a file")
    return jar


@dataclass
class HapiServer:
    """A running HAPI JPA server: ``base_url`` ends with /fhir."""

    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path
    _stopped: bool = field(default=False, repr=False)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Spring closes the context and the database
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_ready(server: HapiServer, timeout: float) -> None:
    """Poll GET /fhir/metadata until it answers 200, the process dies or the time is out."""
    deadline = time.monotonic() + timeout
    url = f"{server.base_url}/metadata"
    last = "no answer yet"
    while True:
        try:
            answer = requests.get(url, headers={"Accept": FHIR_JSON}, timeout=10)
            if answer.status_code == 200 and answer.json().get("resourceType") == "CapabilityStatement":
                return
            last = f"HTTP {answer.status_code}"
        except (requests.RequestException, ValueError) as exc:
            last = type(exc).__name__
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HapiUnavailable(f"HAPI did not answer {url} within {timeout:.0f} s ({last}); "
                                  f"log:\n{server.log_tail()}")
        try:  # the pause between two polls is also a wait on the process's end
            code = server.process.wait(timeout=min(0.5, remaining))
        except subprocess.TimeoutExpired:
            continue
        raise HapiUnavailable(f"HAPI exited with code {code} while starting; log:\n{server.log_tail()}")


def start_hapi(jdbc_url: str | None = None, *, jdbc_user: str | None = None,
               jdbc_password: str | None = None, port: int | None = None, pool: int | None = None,
               java_opts: str | None = None, reuse_cached_searches_ms: int = 0,
               timeout: float = START_TIMEOUT) -> HapiServer:
    """Build if needed, start on 127.0.0.1 (a free port unless given) and wait until
    /fhir/metadata answers. ``jdbc_url`` None: H2 in memory. The caller stops it."""
    jar = ensure_jar()
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix="cm-fhir-hapi-"))
    log_path = workdir / "hapi.log"
    args = ["java", *(java_opts or os.environ.get("HAPI_JPA_JAVA_OPTS") or DEFAULT_JAVA_OPTS).split(),
            "-jar", str(jar), "--port", str(port), "--address", "127.0.0.1",
            "--jdbc-url", jdbc_url or f"jdbc:h2:mem:hapi{port}"]
    if jdbc_user:
        args += ["--jdbc-user", jdbc_user]
    if jdbc_password:
        args += ["--jdbc-password", jdbc_password]
    if pool:
        args += ["--pool", str(pool)]
    if reuse_cached_searches_ms:
        args += ["--reuse-cached-searches-ms", str(reuse_cached_searches_ms)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAPI_JPA_")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
    server = HapiServer(f"http://127.0.0.1:{port}/fhir", port, process, log_path, workdir)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_hapi(jdbc_url: str | None = None, **options: Any) -> Iterator[HapiServer]:
    """``start_hapi`` as a context manager: the server is stopped on leaving."""
    server = start_hapi(jdbc_url, **options)
    try:
        yield server
    finally:
        server.stop()


def unavailable(reason: str) -> NoReturn:
    """Skip outside CI, fail in CI (CI must run the tests against HAPI)."""
    if os.environ.get("CI"):
        pytest.fail(f"HAPI FHIR JPA server unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"HAPI FHIR JPA server unavailable: {reason}")


# -- the session's shared server ----------------------------------------------------------------
# The fixture below may be imported into several test modules; each import is a fixture of its
# own for pytest, so the server is shared here and stopped when the last user is torn down.

class _Shared:
    lock = threading.Lock()
    server: HapiServer | None = None
    error: str | None = None
    users = 0


def _acquire() -> HapiServer:
    with _Shared.lock:
        if _Shared.error is not None:
            raise HapiUnavailable(_Shared.error)
        if _Shared.server is None:
            try:
                _Shared.server = start_hapi()
            except HapiUnavailable as exc:
                _Shared.error = str(exc)
                raise
        _Shared.users += 1
        return _Shared.server


def _release() -> None:
    with _Shared.lock:
        _Shared.users -= 1
        if _Shared.users == 0 and _Shared.server is not None:
            _Shared.server.stop()
            _Shared.server = None


@pytest.fixture(scope="session")
def hapi_base_url() -> Iterator[str]:
    """Base URL (…/fhir) of a HAPI FHIR JPA server (R4, H2) shared by the session."""
    try:
        server = _acquire()
    except HapiUnavailable as exc:
        unavailable(str(exc))
    try:
        yield server.base_url
    finally:
        _release()


# -- helpers for tests ----------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Check ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: its wait is the pause between two checks
    while True:
        if condition():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pause.wait(min(interval, remaining))


def unique_tag() -> str:
    """A value unique to the calling test (for identifiers and names on the shared server)."""
    return uuid.uuid4().hex[:12]


def expunge_everything(base_url: str) -> None:
    """Remove every resource and its history from the server (``$expunge`` is enabled)."""
    body = {"resourceType": "Parameters",
            "parameter": [{"name": "expungeEverything", "valueBoolean": True}]}
    answer = requests.post(f"{base_url}/$expunge", json=body,
                           headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}, timeout=300)
    answer.raise_for_status()
