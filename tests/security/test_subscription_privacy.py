"""A Subscription is its structure's own configuration: its endpoint and criteria may name a
person (``Goal?patient=Patient/p0``), so another structure gets, for every route, the answer
it would get for a Subscription that does not exist (security/policy.py, OWNER_ONLY)."""

from __future__ import annotations

from typing import Any

from tests.security.test_access_matrix import call, principal
from tests.security.test_trust import entries, same, world

SUBSCRIPTION = {
    "resourceType": "Subscription", "status": "requested", "reason": "follow p0's goals",
    "criteria": "Goal?patient=Patient/p0",
    "channel": {"type": "rest-hook", "endpoint": "https://partner.example.fr/hooks/p0",
                "payload": "application/fhir+json"},
}


def test_another_structure_cannot_learn_of_a_subscription(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    owner, other = principal("org-0"), principal("org-1")
    status, created = call(router, owner, "POST", "Subscription", SUBSCRIPTION)
    assert status == 201, created
    sid = created["id"]
    assert call(router, owner, "GET", f"Subscription/{sid}")[0] == 200
    assert entries(call(router, owner, "GET", "Subscription")) == [f"Subscription/{sid}"]
    # the other structure: as for a Subscription that does not exist, on every route
    for path in (f"Subscription/{sid}", f"Subscription/{sid}/_history",
                 f"Subscription/{sid}/_history/1", f"Subscription?_id={sid}",
                 "Subscription?url=https://partner.example.fr/hooks/p0",
                 "Subscription?criteria=Goal?patient=Patient/p0", "Subscription"):
        hidden = call(router, other, "GET", path)
        missing = call(router, other, "GET", path.replace(sid, "nosuchsub"))
        assert same(hidden, missing, sid, "nosuchsub"), path
    assert entries(call(router, other, "GET", "Subscription")) == []
    # nor through the Backport operations, which ask the caller's door too
    for path in (f"Subscription/{sid}/$status", f"Subscription/{sid}/$events"):
        assert call(router, owner, "GET", path)[0] == 200, path
        hidden = call(router, other, "GET", path)
        assert hidden[0] == 404, path
        assert same(hidden, call(router, other, "GET", path.replace(sid, "nosuchsub")),
                    sid, "nosuchsub"), path
    for query in ("", f"?id={sid}", "?status=requested,active,error,off"):
        assert len(call(router, owner, "GET", f"Subscription/$status{query}")[1]["entry"]) == 1
        assert call(router, other, "GET", f"Subscription/$status{query}")[1]["total"] == 0
    # nor take it over or remove it
    changed = {**SUBSCRIPTION, "id": sid,
               "channel": {**SUBSCRIPTION["channel"], "endpoint": "https://evil.example.fr/x"}}
    # (an update of a hidden id is refused as an id already taken, docs/security.md; a delete
    # answers as for a missing one)
    assert call(router, other, "PUT", f"Subscription/{sid}", changed)[0] == 409
    assert same(call(router, other, "DELETE", f"Subscription/{sid}"),
                call(router, other, "DELETE", "Subscription/nosuchsub"), sid, "nosuchsub")
    status, still = call(router, owner, "GET", f"Subscription/{sid}")
    assert status == 200 and still["channel"]["endpoint"] == "https://partner.example.fr/hooks/p0"
