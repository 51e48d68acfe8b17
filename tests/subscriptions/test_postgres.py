"""Several server processes on one PostgreSQL database share the subscription work: each
outbox row is numbered once (DELETE … RETURNING), each subscription is served by one
worker at a time (SKIP LOCKED claim and lease), so every event arrives once, in order,
with no gap. Two services with their own engines stand for two worker processes."""

from __future__ import annotations

import itertools
from typing import Any

from tests.pg import fresh_database
from tests.security.test_access_matrix import call, principal
from tests.subscriptions.conftest import topic_subscription

_names = itertools.count()



def test_two_workers_on_postgres_deliver_each_event_once_in_order(
        make_context: Any, pg_server: str, listeners: Any) -> None:
    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from tests.security.test_trust import world

    url = fresh_database(pg_server, f"cmfhir_subs_{next(_names)}")
    settings = {"audit": False, "provenance": False, "subscription_http_loopback": True,
                "subscription_poll": 0.02}
    first = Router(make_context(url, **settings))
    install_all(first)
    world(first)
    second = Router(make_context(url, **settings))
    install_all(second)
    hook = listeners()
    org0 = principal("org-0")
    status, sub = call(first, org0, "POST", "Subscription",
                       topic_subscription(hook.url, "careplan-changed", "id-only"))
    assert status == 201, sub
    services = [first.ctx.subscriptions, second.ctx.subscriptions]
    for service in services:
        service.start()
    try:
        hook.wait(lambda got: any(r.kind == "handshake" for r in got if r.body))
        for n in range(30):
            router = (first, second)[n % 2]  # writes through both processes
            _, plan = call(router, org0, "GET", "CarePlan/plan-p0")
            plan["description"] = f"v{n}"
            assert call(router, org0, "PUT", "CarePlan/plan-p0", plan)[0] == 200
        got = hook.wait(lambda got: sum(len(r.numbers) for r in got
                                        if r.body and r.kind == "event-notification") >= 30)
    finally:
        for service in services:
            service.stop()
    numbers = [n for r in got if r.body and r.kind == "event-notification" for n in r.numbers]
    assert numbers == list(range(1, 31))  # once each, in order, no gap
    first.close()
    second.close()
