"""The topics our implementation guide publishes (profiles/input/fsh/subscription-topics.fsh,
compiled in profiles/fsh-generated) and the topics the server implements
(fhir_service/subscriptions/topics.py) are the same: canonical, resource, interactions,
filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir_service.subscriptions.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]
X = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic."


def _published() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((ROOT / "profiles" / "fsh-generated" / "resources").glob("Basic-*.json")):
        basic = json.loads(path.read_text(encoding="utf-8"))
        if basic.get("code", {}).get("coding", [{}])[0].get("code") != "SubscriptionTopic":
            continue
        ext = basic["extension"]
        url = next(e["valueUri"] for e in ext if e["url"] == X + "url")
        trigger = next(e["extension"] for e in ext if e["url"] == X + "resourceTrigger")
        out[url] = {
            "resource": next(e["valueUri"] for e in trigger
                             if e["url"] == X + "resourceTrigger.resource"),
            "interactions": tuple(e["valueCode"] for e in trigger
                                  if e["url"] == X + "resourceTrigger.supportedInteraction"),
            "filters": tuple(next(p["valueString"] for p in e["extension"]
                                  if p["url"] == X + "canFilterBy.filterParameter")
                             for e in ext if e["url"] == X + "canFilterBy"),
            "criteria": [e["valueString"] for e in trigger
                         if e["url"] == X + "resourceTrigger.fhirPathCriteria"],
        }
    return out


def test_the_guide_publishes_the_topics_the_server_implements() -> None:
    published = _published()
    assert sorted(published) == sorted(TOPICS)
    for url, topic in TOPICS.items():
        got = published[url]
        assert got["resource"] == f"http://hl7.org/fhir/StructureDefinition/{topic.rtype}"
        assert got["interactions"] == topic.interactions
        assert got["filters"] == topic.filters
        # an update trigger narrowed to some elements says which, in FHIRPath
        for name in topic.changed:
            assert got["criteria"] and f"%current.{name}" in got["criteria"][0], (url, name)
        if not topic.changed:
            assert got["criteria"] == []


def test_every_version_a_session_writes_reaches_the_outbox(make_context: Any) -> None:
    """The store's hook sees each version a transaction writes (the outbox's input)."""
    from fhir_service.operations import install_all
    from fhir_service.router import Router
    from fhir_service.store.schema import sub_outbox
    from tests.security.test_access_matrix import call, put

    router = Router(make_context())
    install_all(router)
    entries = [put({"resourceType": "Organization", "id": "o1", "name": "o"})] + [
        put({"resourceType": "Patient", "id": f"p{i}"}) for i in range(5)]
    status, _ = call(router, None, "POST", "", {"resourceType": "Bundle",
                                                 "type": "transaction", "entry": entries})
    assert status == 200
    with router.ctx.repository.read_session() as s:
        rows = s.conn.execute(sub_outbox.select()).all()
    assert sorted(r.rtype for r in rows) == ["Organization"] + ["Patient"] * 5
    router.close()
