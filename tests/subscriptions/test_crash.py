"""At least once across a crash: a change committed while its notification cannot be
delivered is delivered after the server is killed (SIGKILL) and started again, with the same
event number; so is a change committed just before the kill (still in the outbox).

The server is ``cm-fhir serve`` in its own process on a temporary SQLite store, with
authentication off and no demo (the test writes its own data)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.subscriptions.conftest import topic_subscription
from tests.subscriptions.listener import Listener


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], port: int) -> Any:
    """``cm-fhir serve`` in its own process (killable), authentication off, no demo."""
    exe = Path(sys.executable).with_name("cm-fhir")
    if not exe.exists():
        pytest.skip("the cm-fhir console script is not installed in this environment")
    args = [str(exe), "serve", "--port", str(port), "--no-demo", "--auth", "off"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/fhir/metadata", timeout=2)
            return proc
        except requests.ConnectionError:
            time.sleep(0.1)  # readiness poll of a separate process, bounded
    raise AssertionError("the server did not start")


def _kill(proc: Any) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_kill_9_between_commit_and_delivery_loses_nothing(tmp_path: Path) -> None:
    hook = Listener()
    port = _free_port()
    env = {**os.environ, "CM_FHIR_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.db'}",
           "CM_FHIR_KEYS_DIR": str(tmp_path / "keys"), "COLUMNS": "200",
           "CM_FHIR_RATE_LIMIT_PER_SECOND": "0", "CM_FHIR_SUBSCRIPTION_HTTP_LOOPBACK": "true",
           "CM_FHIR_SUBSCRIPTION_BACKOFF": "0.1", "CM_FHIR_SUBSCRIPTION_ATTEMPTS": "1000",
           "CM_FHIR_AUDIT_INDEXER": "thread", "CM_FHIR_AUTH": "off", "CM_FHIR_DEMO": "false"}
    proc = _serve(env, port)
    try:
        base = f"http://127.0.0.1:{port}/fhir"
        http = requests.Session()
        http.headers.update({"Content-Type": "application/fhir+json"})
        assert http.put(f"{base}/Patient/p1", json={"resourceType": "Patient", "id": "p1"},
                        timeout=10).status_code == 201
        assert http.put(f"{base}/CarePlan/c1", json={
            "resourceType": "CarePlan", "id": "c1", "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/p1"}}, timeout=10).status_code == 201
        sub = http.post(f"{base}/Subscription", json=topic_subscription(
            hook.url, "careplan-changed", "id-only"), timeout=10)
        assert sub.status_code == 201, sub.text
        hook.wait(lambda got: any(r.kind == "handshake" for r in got if r.body))
        hook.answer = 503  # the partner is down: the notification stays pending
        plan = http.get(f"{base}/CarePlan/c1", timeout=10).json()
        plan["description"] = "first change"
        assert http.put(f"{base}/CarePlan/{plan['id']}", json=plan, timeout=10).ok
        first = hook.wait(lambda got: any(r.body and r.kind == "event-notification"
                                          for r in got))
        numbers = {n for r in first if r.body and r.kind == "event-notification"
                   for n in r.numbers}
        assert numbers == {1}
        plan = http.get(f"{base}/CarePlan/{plan['id']}", timeout=10).json()
        plan["description"] = "second change"
        assert http.put(f"{base}/CarePlan/{plan['id']}", json=plan, timeout=10).ok
    finally:
        _kill(proc)  # right after the second commit: its event may still be in the outbox
    with hook.cond:
        hook.answer, failed = 200, len(hook.received)
    proc = _serve(env, port)
    try:
        delivered: list[int] = []

        def both(got: list[Any]) -> bool:
            delivered[:] = [n for r in got[failed:] if r.body and r.kind == "event-notification"
                            for n in r.numbers]
            return {1, 2} <= set(delivered)

        hook.wait(both, timeout=60)
        assert sorted(set(delivered)) == [1, 2]  # the same numbers, nothing lost
        assert delivered == sorted(delivered)  # in order
    finally:
        _kill(proc)
        hook.close()
