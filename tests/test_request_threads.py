"""Requests other than reads by id run in at most ``request_threads`` pool threads
(settings.py, http/adapter.py): the others wait on the event loop, and every one is answered.

The handler of each search is held on an event until the test has seen how many run at once:
with the limit, exactly ``request_threads`` run and the rest wait in the limiter; without it
(starlette's pool of 40), all of them would run together and the check fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_service.app import create_app
from fhir_service.context import FhirContext
from fhir_service.settings import Settings


@pytest.mark.parametrize("threads", [1, 2])
def test_searches_run_in_at_most_request_threads(
        make_context: Callable[..., FhirContext], threads: int) -> None:
    ctx = make_context(request_threads=threads)
    app = create_app(ctx.settings, ctx)
    router = app.state.router
    handle = router.handle
    lock = threading.Condition()
    running = 0
    most = 0
    release = threading.Event()

    def held(req: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            lock.notify_all()
        try:
            assert release.wait(30), "the test never released the held requests"
            return handle(req)
        finally:
            with lock:
                running -= 1

    router.handle = held
    sent = threads + 3
    with TestClient(app, base_url="http://test") as client, \
            ThreadPoolExecutor(sent) as pool:
        answers = [pool.submit(client.get, "/fhir/Patient", params={"name": f"n{i}"})
                   for i in range(sent)]
        deadline = time.monotonic() + 30
        waiting = 0
        with lock:
            # until the limit is reached and every other request waits for a thread (or, were
            # there no limit, until more than the limit run at once)
            while time.monotonic() < deadline:
                limiter = app.state.request_limiter
                waiting = limiter[0].statistics().tasks_waiting if limiter else 0
                if most > threads or (running == threads and waiting == sent - threads):
                    break
                lock.wait(0.05)
        observed = (most, waiting)
        release.set()
        statuses = [a.result(timeout=60).status_code for a in answers]
    assert observed == (threads, sent - threads)
    assert statuses == [200] * sent


def test_request_threads_is_a_positive_setting() -> None:
    assert Settings(request_threads=3).request_threads == 3
    with pytest.raises(ValueError, match="request_threads"):
        Settings(request_threads=0)
