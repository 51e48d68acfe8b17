"""Fixtures of the subscription tests: a router with the access-matrix world (org-0
accompanies p0 and p1, org-1 accompanies p2 and p3), notification listeners, and a helper
that runs the delivery worker's rounds until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.subscriptions.listener import Listener

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
TOPIC = "https://interop.cm-sante-mentale.fr/fhir/SubscriptionTopic/"


@pytest.fixture
def world_router(make_context: Any) -> Any:
    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from tests.security.test_trust import world

    ctx = make_context(audit=False, provenance=True, subscription_http_loopback=True,
                       subscription_backoff=0.01, subscription_attempts=3)
    router = Router(ctx)
    install_all(router)
    world(router)
    yield router
    router.close()


@pytest.fixture
def listeners() -> Iterator[Callable[[], Listener]]:
    made: list[Listener] = []

    def make() -> Listener:
        made.append(Listener())
        return made[-1]

    yield make
    for listener in made:
        listener.close()


def until(router: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Run the worker's rounds (in this thread) until ``condition()`` holds."""
    service = router.ctx.subscriptions
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        service.run_once()


def topic_subscription(endpoint: str, topic: str, content: str, *filters: str,
                       headers: tuple[str, ...] = (), **channel: Any) -> dict[str, Any]:
    sub: dict[str, Any] = {
        "resourceType": "Subscription",
        "meta": {"profile": [BACKPORT + "backport-subscription"]},
        "status": "requested", "reason": "test", "criteria": TOPIC + topic,
        "channel": {"type": "rest-hook", "endpoint": endpoint,
                    "payload": "application/fhir+json",
                    "_payload": {"extension": [{"url": BACKPORT + "backport-payload-content",
                                                "valueCode": content}]}, **channel},
    }
    if filters:
        sub["_criteria"] = {"extension": [{"url": BACKPORT + "backport-filter-criteria",
                                           "valueString": f} for f in filters]}
    if headers:
        sub["channel"]["header"] = list(headers)
    return sub
