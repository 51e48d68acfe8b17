"""A notification endpoint for the tests: an HTTP server on 127.0.0.1 (a free port) that
records what it receives and answers with the status it is told to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Received:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.at = time.time()

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def status(self) -> dict[str, Any]:
        """The SubscriptionStatus (Parameters) of a notification, by parameter name."""
        params = self.json["entry"][0]["resource"]["parameter"]
        out: dict[str, Any] = {}
        for p in params:
            value = next((v for k, v in p.items() if k.startswith("value")), p.get("part"))
            out.setdefault(p["name"], []).append(value)
        return out

    @property
    def kind(self) -> str:
        """handshake | heartbeat | event-notification ('' for an R4 criteria notification)."""
        data = self.json
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            return ""
        return str(self.status["type"][0])

    @property
    def numbers(self) -> list[int]:
        return [int(next(x["valueString"] for x in parts if x["name"] == "event-number"))
                for parts in self.status.get("notification-event", [])]


class Listener:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer = 200  # the status answered to every request
        self.cond = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with listener.cond:
                    code = listener.answer
                    listener.received.append(Received(
                        self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                        body))
                    listener.cond.notify_all()
                self.send_response(code)
                if code in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, predicate: Callable[[list[Received]], bool], timeout: float = 30.0
             ) -> list[Received]:
        """Wait until ``predicate(received)`` holds (or fail after ``timeout`` seconds)."""
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.received), timeout=timeout):
                raise AssertionError(f"the listener did not get what was expected within "
                                     f"{timeout} s; got {[(r.method, r.path) for r in self.received]}")
            return list(self.received)

    def events(self) -> list[Received]:
        with self.cond:
            return [r for r in self.received if r.body and r.kind == "event-notification"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
