"""The server's subscription topics (fhir_service/subscriptions/topics.py) name what
exists: every filter is a search parameter of the topic's type, every element an update
must change is an element of that type; and the store's hook sees every version written
(the outbox's input)."""

from __future__ import annotations

from typing import Any

from fhir_service.subscriptions.topics import TOPICS


def test_topics_name_real_search_parameters_and_elements(ctx: Any) -> None:
    for topic in TOPICS.values():
        params = ctx.params.for_type(topic.rtype)
        for name in topic.filters:
            assert name in params and params[name].indexed, (topic.id, name)
        definition = ctx.registry.get("StructureDefinition", topic.rtype)
        paths = {e["path"] for e in definition["snapshot"]["element"]}
        for element in topic.changed:
            assert f"{topic.rtype}.{element}" in paths, (topic.id, element)


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
