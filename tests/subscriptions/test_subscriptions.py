"""Subscriptions that notify (docs/subscriptions.md): both forms against a local listener,
payload levels, order and numbering, the owner's door, retries and the error state,
refusals, and the CapabilityStatement."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_service.security.principal import Principal, Scopes
from tests.security.test_access_matrix import call, principal
from tests.subscriptions.conftest import BACKPORT, TOPIC, topic_subscription, until

ORG0, ORG1 = principal("org-0"), principal("org-1")


def subscribe(router: Any, who: Principal, sub: dict[str, Any]) -> str:
    status, body = call(router, who, "POST", "Subscription", sub)
    assert status == 201, body
    assert body["status"] == "requested"
    return str(body["id"])


def change_goal(router: Any, who: Principal, gid: str, **changes: Any) -> None:
    status, goal = call(router, who, "GET", f"Goal/{gid}")
    assert status == 200, goal
    goal.update(changes)
    status, body = call(router, who, "PUT", f"Goal/{gid}", goal)
    assert status == 200, body


def of(received: list[Any], sub_id: str) -> list[Any]:
    return [r for r in received if r.body and r.json["entry"][0]["resource"]["parameter"][0]
            ["valueReference"]["reference"].endswith(f"/Subscription/{sub_id}")]


def test_topic_notifications_in_order_at_each_payload_level(world_router: Any,
                                                            listeners: Any) -> None:
    router, hook = world_router, listeners()
    subs = {content: subscribe(router, ORG0, topic_subscription(
        hook.url, "goal-changed", content, "Goal?patient=Patient/p0",
        headers=("Authorization: Bearer s3cret",)))
        for content in ("empty", "id-only", "full-resource")}
    until(router, lambda: sum(r.kind == "handshake" for r in hook.received if r.body) == 3)
    for sid in subs.values():  # the handshake made them active (a new version)
        assert call(router, ORG0, "GET", f"Subscription/{sid}")[1]["status"] == "active"
    change_goal(router, ORG0, "goal-p0", lifecycleStatus="on-hold")  # event 1
    change_goal(router, ORG0, "goal-p0", description={"text": "other words"})  # not a trigger
    change_goal(router, ORG0, "goal-p1", lifecycleStatus="on-hold")  # another person: filtered
    change_goal(router, ORG0, "goal-p0", achievementStatus={"text": "achieved"})  # event 2
    until(router, lambda: all(sum(len(r.numbers) for r in of(hook.events(), s)) >= 2
                              for s in subs.values()))
    for content, sid in subs.items():
        notes = of(hook.events(), sid)
        assert [n for r in notes for n in r.numbers] == [1, 2], content
        last = notes[-1]
        assert last.headers["authorization"] == "Bearer s3cret"
        assert last.headers["content-type"] == "application/fhir+json"
        assert last.json["type"] == "history"
        status = last.status
        assert status["status"] == ["active"]
        assert int(status["events-since-subscription-start"][0]) == last.numbers[-1]
        entries = last.json["entry"]
        parts = [p for r in notes for parts in r.status["notification-event"] for p in parts]
        if content == "empty":
            assert len(entries) == 1 and "topic" not in status
            assert not [p for p in parts if p["name"] == "focus"]
        else:
            assert status["topic"] == [TOPIC + "goal-changed"]
            focus = [p["valueReference"]["reference"] for p in parts if p["name"] == "focus"]
            assert [f.rsplit("/", 3)[-3:] for f in focus] == [
                ["goal-p0", "_history", v] for v in ("2", "4")]
            assert entries[1]["fullUrl"].endswith("/Goal/goal-p0")
            assert entries[1]["request"] == {"method": "PUT", "url": "Goal/goal-p0"}
            if content == "id-only":
                assert "resource" not in entries[1]
            else:
                assert entries[-1]["resource"]["achievementStatus"] == {"text": "achieved"}
    # $status and $events tell the same numbers
    sid = subs["id-only"]
    status, body = call(router, ORG0, "GET", f"Subscription/{sid}/$status")
    params = {p["name"]: p for p in body["entry"][0]["resource"]["parameter"]}
    assert params["events-since-subscription-start"]["valueString"] == "2"
    assert params["type"]["valueCode"] == "query-status"
    status, body = call(router, ORG0, "GET", f"Subscription/{sid}/$events?eventsSinceNumber=2")
    assert status == 200 and body["type"] == "history"
    assert [e["fullUrl"].rsplit("/", 1)[-1] for e in body["entry"][1:]] == ["goal-p0"]
    # another structure does not see that subscription's status (as for a missing id)
    hidden = call(router, ORG1, "GET", f"Subscription/{sid}/$status")
    missing = call(router, ORG1, "GET", "Subscription/nope/$status")
    assert hidden[0] == missing[0] == 404
    assert hidden[1]["issue"][0]["diagnostics"].replace(sid, "nope") == \
        missing[1]["issue"][0]["diagnostics"]


def test_r4_criteria_rest_hook_puts_the_resource_or_posts_nothing(world_router: Any,
                                                                  listeners: Any) -> None:
    router, full, bare = world_router, listeners(), listeners()
    base = {"resourceType": "Subscription", "status": "requested", "reason": "plans",
            "criteria": "CarePlan?patient=Patient/p0&status=active"}
    subscribe(router, ORG0, {**base, "channel": {"type": "rest-hook", "endpoint": full.url,
                                                 "payload": "application/fhir+json"}})
    subscribe(router, ORG0, {**base, "channel": {"type": "rest-hook", "endpoint": bare.url}})
    for plan in ("plan-p0", "plan-p1"):
        _, body = call(router, ORG0, "GET", f"CarePlan/{plan}")
        body["description"] = "revised"
        assert call(router, ORG0, "PUT", f"CarePlan/{plan}", body)[0] == 200
    until(router, lambda: bool(full.received) and bool(bare.received))
    got = full.received[0]
    assert (got.method, got.path) == ("PUT", "/hook/CarePlan/plan-p0")
    assert got.json["description"] == "revised" and got.json["meta"]["versionId"] == "2"
    assert (bare.received[0].method, bare.received[0].body) == ("POST", b"")
    router.ctx.subscriptions.run_once()
    assert len(full.received) == 1 and len(bare.received) == 1  # plan-p1 did not match


def test_a_partner_is_never_told_about_people_it_does_not_accompany(world_router: Any,
                                                                     listeners: Any) -> None:
    router, hook = world_router, listeners()
    sid = subscribe(router, ORG1, topic_subscription(hook.url, "goal-changed", "id-only"))
    crit = subscribe(router, ORG1, {
        "resourceType": "Subscription", "status": "requested", "reason": "all goals",
        "criteria": "Goal?lifecycle-status=on-hold",
        "channel": {"type": "rest-hook", "endpoint": hook.url + "/r4",
                    "payload": "application/fhir+json"}})
    until(router, lambda: any(r.kind == "handshake" for r in hook.received if r.body))
    change_goal(router, ORG0, "goal-p0", lifecycleStatus="on-hold")  # org-0's person
    router.ctx.subscriptions.run_once()
    router.ctx.subscriptions.run_once()
    assert hook.events() == [] and not [r for r in hook.received if "/r4" in r.path]
    change_goal(router, ORG1, "goal-p2", lifecycleStatus="on-hold")  # its own person
    until(router, lambda: bool(hook.events()) and any("/r4" in r.path for r in hook.received))
    (note,) = hook.events()
    assert note.numbers == [1]  # the hidden change was never an event: no gap either
    assert "goal-p2" in note.json["entry"][1]["fullUrl"]
    assert [r.path for r in hook.received if "/r4" in r.path] == ["/hook/r4/Goal/goal-p2"]
    status = call(router, ORG1, "GET", f"Subscription/{sid}/$status")[1]
    assert status["entry"][0]["resource"]["parameter"][4]["valueString"] == "1"
    assert call(router, ORG1, "GET", f"Subscription/{crit}")[0] == 200


def test_a_failing_endpoint_is_retried_then_the_subscription_is_in_error(world_router: Any,
                                                                         listeners: Any) -> None:
    router, hook = world_router, listeners()
    sid = subscribe(router, ORG0, topic_subscription(
        hook.url, "careplan-changed", "id-only", headers=("X-Api-Key: do-not-echo",)))
    until(router, lambda: bool(hook.received))
    hook.answer = 500
    status, plan = call(router, ORG0, "GET", "CarePlan/plan-p0")
    plan["description"] = "changed"
    assert call(router, ORG0, "PUT", "CarePlan/plan-p0", plan)[0] == 200
    until(router, lambda: call(router, ORG0, "GET", f"Subscription/{sid}")[1]["status"]
          == "error")
    attempts = hook.events()
    assert len(attempts) == 3  # CM_FHIR_SUBSCRIPTION_ATTEMPTS, each with the same number
    assert {tuple(a.numbers) for a in attempts} == {(1,)}
    assert attempts[-1].at - attempts[0].at >= 0.01 + 0.02  # backoff: 0.01 s, then doubled
    sub = call(router, ORG0, "GET", f"Subscription/{sid}")[1]
    assert "HTTP 500" in sub["error"] and "3 times" in sub["error"]
    status = call(router, ORG0, "GET", "Subscription/$status?status=error")[1]
    assert [e["resource"]["parameter"][0]["valueReference"]["reference"].rsplit("/", 1)[-1]
            for e in status["entry"]] == [sid]
    text = str(sub) + str(status)
    assert "do-not-echo" not in text and "X-Api-Key: ***" in str(sub)
    # in error, events are still counted (and kept for $events), not sent
    plan["description"] = "changed again"
    assert call(router, ORG0, "PUT", "CarePlan/plan-p0", plan)[0] == 200
    until(router, lambda: "2" in str(call(router, ORG0, "GET",
                                          f"Subscription/{sid}/$status")[1]))
    assert len(hook.events()) == 3
    # a redirect is a failure too, never followed
    hook.answer, hook.received[:] = 302, []
    sub["status"] = "requested"
    assert call(router, ORG0, "PUT", f"Subscription/{sid}", sub)[0] == 200
    until(router, lambda: call(router, ORG0, "GET", f"Subscription/{sid}")[1]["status"]
          == "error")
    assert "redirects are not followed" in call(router, ORG0, "GET",
                                                f"Subscription/{sid}")[1]["error"]
    assert len(hook.received) == 1


BAD = {
    "unknown topic": ({"criteria": TOPIC + "no-such-topic"}, "Subscription.criteria"),
    "filter not in topic": ({"_criteria": {"extension": [{
        "url": BACKPORT + "backport-filter-criteria", "valueString": "Goal?description=x"}]}},
        "Subscription.criteria.extension[0]"),
    "channel type": ({"channel": {"type": "websocket"}}, "Subscription.channel.type"),
    "plain http": ({"channel": {"endpoint": "http://partner.example.org/hook"}},
                   "Subscription.channel.endpoint"),
    "credentials in URL": ({"channel": {"endpoint": "https://u:p@partner.example.org/"}},
                           "Subscription.channel.endpoint"),
    "payload MIME": ({"channel": {"payload": "application/fhir+xml"}},
                     "Subscription.channel.payload"),
    "FHIR version": ({"channel": {"payload": "application/fhir+json;fhirVersion=5.0"}},
                     "Subscription.channel.payload"),
    "content level": ({"channel": {"_payload": {"extension": [{
        "url": BACKPORT + "backport-payload-content", "valueCode": "everything"}]}}},
        "Subscription.channel.payload.extension"),
    "bad criteria": ({"criteria": "CarePlan?nonsense=1", "meta": None},
                     "Subscription.criteria"),
    "criteria on AuditEvent": ({"criteria": "AuditEvent?patient=p0", "meta": None},
                               "Subscription.criteria"),
    "header": ({"channel": {"header": ["Host: evil"]}}, "Subscription.channel.header[0]"),
    "end in the past": ({"end": "2001-01-01T00:00:00Z"}, "Subscription.end"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_subscription_the_server_cannot_honour_is_refused(world_router: Any,
                                                            case: str) -> None:
    change, where = BAD[case]
    sub = topic_subscription("https://partner.example.org/hook", "goal-changed", "id-only")
    for key, value in change.items():
        sub[key] = {**sub[key], **value} if key == "channel" else value
        if value is None:
            del sub[key]
    status, body = call(world_router, ORG0, "POST", "Subscription", sub)
    assert 400 <= status < 500 and body["resourceType"] == "OperationOutcome", body
    assert where in [e for issue in body["issue"] for e in issue.get("expression", [])], body
    assert call(world_router, ORG0, "GET", "Subscription")[1].get("total", 0) == 0


def test_allow_list_and_scopes(make_context: Any) -> None:
    from fhir_service.operations import install_all
    from fhir_service.router import Router

    router = Router(make_context(subscription_endpoints="https://dac.example.org/"))
    install_all(router)
    sub = topic_subscription("https://elsewhere.example.org/hook", "goal-changed", "empty")
    status, body = call(router, ORG0, "POST", "Subscription", sub)
    assert status == 400 and "allow-list" in body["issue"][0]["diagnostics"]
    sub["channel"]["endpoint"] = "https://dac.example.org/hook"
    narrow = Principal("c", "org-0", scopes=Scopes.parse("system/Subscription.cruds"))
    status, body = call(router, narrow, "POST", "Subscription", sub)
    assert status == 403 and "Goal" in body["issue"][0]["diagnostics"]
    assert call(router, ORG0, "POST", "Subscription", sub)[0] == 201
    router.close()


def test_the_capability_statement_lists_the_topics(world_router: Any) -> None:
    from fhir_service.subscriptions.topics import TOPICS

    caps = call(world_router, None, "GET", "metadata")[1]
    sub = next(r for r in caps["rest"][0]["resource"] if r["type"] == "Subscription")
    listed = [e["valueCanonical"] for e in sub["extension"]]
    assert listed == sorted(TOPICS) and len(listed) == 5
    assert BACKPORT + "backport-subscription" in sub["supportedProfile"]
    assert {"status", "events"} <= {op["name"] for op in sub["operation"]}


def test_each_notification_is_audited_under_the_people_it_discloses(make_context: Any,
                                                                    listeners: Any) -> None:
    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from tests.security.test_trust import world

    router = Router(make_context(audit=True, provenance=False, subscription_http_loopback=True))
    install_all(router)
    world(router)
    hook = listeners()
    subscribe(router, ORG0, topic_subscription(hook.url, "goal-changed", "full-resource"))
    until(router, lambda: bool(hook.received))
    change_goal(router, ORG0, "goal-p1", lifecycleStatus="on-hold")
    until(router, lambda: bool(hook.events()))
    operator = Principal("ops", None, scopes=Scopes.parse("system/*.rs"), operator=True)
    status, found = call(router, operator, "GET", "AuditEvent?patient=Patient/p1&_count=100")
    assert status == 200
    events = [e["resource"] for e in found.get("entry", [])]
    # the notification: an operation of the owner client on the version it disclosed
    notes = [e for e in events if e["subtype"][0]["code"] == "operation"]
    assert len(notes) == 1, [e["subtype"] for e in events]
    text = str(notes[0])
    assert "client-org-0" in text and "Goal/goal-p1/_history/2" in text
    router.close()


def test_old_events_are_forgotten_pending_ones_kept(world_router: Any, listeners: Any) -> None:
    router, hook = world_router, listeners()
    sid = subscribe(router, ORG0, topic_subscription(hook.url, "goal-changed", "id-only"))
    until(router, lambda: bool(hook.received))
    change_goal(router, ORG0, "goal-p0", lifecycleStatus="on-hold")
    until(router, lambda: bool(hook.events()))
    hook.answer = 500
    change_goal(router, ORG0, "goal-p0", lifecycleStatus="active")  # event 2 stays pending
    service = router.ctx.subscriptions
    service.match()
    router.ctx.settings.subscription_events_days = 0.0
    assert service.prune() == 1  # event 1 (sent); event 2 is pending
    body = call(router, ORG0, "GET", f"Subscription/{sid}/$events")[1]
    numbers = [p["part"][0]["valueString"] for p in body["entry"][0]["resource"]["parameter"]
               if p["name"] == "notification-event"]
    assert numbers == ["2"]


def test_a_failed_handshake_is_the_error_state(world_router: Any, listeners: Any) -> None:
    router, hook = world_router, listeners()
    hook.answer = 404
    sid = subscribe(router, ORG0, topic_subscription(hook.url, "consent-changed", "empty"))
    until(router, lambda: call(router, ORG0, "GET", f"Subscription/{sid}")[1]["status"]
          == "error")
    assert [r.kind for r in hook.received] == ["handshake"]
    assert "handshake failed: HTTP 404" in call(router, ORG0, "GET",
                                                f"Subscription/{sid}")[1]["error"]


def test_heartbeats_only_when_asked(world_router: Any, listeners: Any) -> None:
    router, beating, quiet = world_router, listeners(), listeners()
    every = [{"url": BACKPORT + "backport-heartbeat-period", "valueUnsignedInt": 1}]
    subscribe(router, ORG0, topic_subscription(beating.url, "episode-changed", "empty",
                                               extension=every))
    subscribe(router, ORG0, topic_subscription(quiet.url, "episode-changed", "empty"))
    until(router, lambda: sum(r.kind == "heartbeat" for r in beating.received) >= 2)
    beat = next(r for r in beating.received if r.kind == "heartbeat")
    assert beat.status["status"] == ["active"] and len(beat.json["entry"]) == 1
    assert beat.status["events-since-subscription-start"] == ["0"]
    assert [r.kind for r in quiet.received] == ["handshake"]
