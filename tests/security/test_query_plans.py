"""No statement of the per-person paths walks a whole table (SQLite query plans).

Ingest once slowed from 1,300 to 200 resources/s by 150k resources: a transaction's
Provenance looked up its targets' people by ``history``'s own ``(rtype, rid)`` columns, which
have no index, so each transaction walked every version of the type (bench/README.md). Such
a statement is correct and fast on a test database; only its plan shows the flaw. Here every
statement run by writes (a transaction with provenance and audit on, an update, a delete),
reads, vreads, instance history and per-person searches with includes is captured with its
values bound and explained: none may SCAN a table of resources, versions, index or access
rows, nor search history by type alone (``ix_history_type``, for the type's whole history).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event

from tests.security.test_access_matrix import call, principal
from tests.security.test_trust import world

# tables that grow with the data; a scan of one of them is a cost per request that grows too
GROWING = re.compile(r"\b(SCAN) (resources|history|hist_patient|res_patient|res_owner|"
                     r"access_grants|idx_\w+|audit\w*|sub_\w+)\b")
TYPE_WIDE_HISTORY = "ix_history_type (rtype=?)"


@pytest.fixture
def captured(router_factory: Any) -> tuple[Any, list[str]]:
    """A router (audit and provenance on) whose SQLite connections report every statement
    they run, with its values bound (``set_trace_callback``): SQLAlchemy's and the store's
    raw-cursor statements alike."""
    router = router_factory()
    engine = router.ctx.repository.engine
    statements: list[str] = []

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    def checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        dbapi_conn.set_trace_callback(trace)

    event.listen(engine, "checkout", checkout)
    return router, statements


def test_per_person_paths_walk_no_whole_table(captured: tuple[Any, list[str]]) -> None:
    router, statements = captured
    world(router)  # a transaction of 4 people, their teams, episodes, plans, goals, consents
    org0 = principal("org-0")
    status, goal = call(router, org0, "GET", "Goal?patient=Patient/p0")
    assert status == 200 and goal["entry"], goal
    first = goal["entry"][0]["resource"]
    first["note"] = [{"text": "revu"}]
    assert call(router, org0, "PUT", f"Goal/{first['id']}", first)[0] == 200
    for path in (f"Goal/{first['id']}", f"Goal/{first['id']}/_history/1",
                 f"Goal/{first['id']}/_history", "Patient/p0",
                 "CarePlan?patient=Patient/p0&_include=CarePlan:goal",
                 "CareTeam?patient=Patient/p0&_include=CareTeam:participant",
                 "EpisodeOfCare?patient=Patient/p0&_include=EpisodeOfCare:incoming-referral",
                 "Goal?patient=Patient/p0&_revinclude=Provenance:target",
                 "Patient?identifier=urn:ipp:org-0|IPP-0"):
        assert call(router, org0, "GET", path)[0] == 200, path
    status, note = call(router, org0, "POST", "Observation", {
        "resourceType": "Observation", "status": "final", "code": {"text": "contact"},
        "subject": {"reference": "Patient/p0"}})
    assert status == 201, note
    assert call(router, org0, "DELETE", f"Observation/{note['id']}")[0] in (200, 204)
    assert statements, "no statement captured"
    engine = router.ctx.repository.engine
    bad: list[str] = []
    with engine.connect() as conn:
        for statement in set(statements):
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement).all()
            lines = [str(row[3]) for row in plan]
            if any(GROWING.search(line) or TYPE_WIDE_HISTORY in line for line in lines):
                bad.append(f"{' '.join(statement.split())[:300]}\n    " + "\n    ".join(lines))
    assert not bad, "statements that walk a growing table:\n" + "\n".join(bad)
