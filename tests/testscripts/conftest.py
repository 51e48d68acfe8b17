"""A real uvicorn server per test, on a free port of 127.0.0.1, for the TestScript runner."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import uvicorn

from fhir_service.app import create_app
from fhir_service.context import FhirContext


class BackgroundServer:
    """uvicorn on 127.0.0.1, on a port the OS picks, in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True, name=f"uvicorn-{self.port}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, attempts: int = 200, pause: float = 0.05) -> None:
        self.thread.start()
        with requests.Session() as s:
            for _ in range(attempts):  # bounded: ~10 s at most
                if not self.thread.is_alive():
                    break
                try:
                    if s.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                        return
                except requests.ConnectionError:
                    pass
                time.sleep(pause)
        self.stop()
        raise RuntimeError(f"the server on {self.url} did not become ready")

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def fhir_base(make_context: Callable[..., FhirContext]) -> Iterator[str]:
    # The examples reference resources that are not there (Organization/1, ...).
    ctx = make_context(referential_integrity=False)
    server = BackgroundServer(create_app(ctx.settings, ctx))
    server.start()
    try:
        yield f"{server.url}{ctx.settings.base_path}"
    finally:
        server.stop()


# Results of the official TestScripts, printed at the end of the run (also under -q).
RESULTS: list[Any] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("official R4 TestScripts")
    for result in RESULTS:
        terminalreporter.write_line(result.summary())
        for a in result.assertions:
            if a.outcome != "pass":
                terminalreporter.write_line(f"  [{a.outcome}] {a.key}: {a.message}")
