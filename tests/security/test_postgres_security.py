"""The access-policy and audit suites against PostgreSQL: the access rules are SQL conditions
added to every query and the audit trail writes through the same repository, so they must hold
on both databases the service supports. The tests of test_access_matrix.py and the
database-neutral ones of test_audit_provenance.py (the crash-recovery tests read the SQLite
file directly) run here unchanged with PostgreSQL-backed contexts (skips with a reason when
PostgreSQL is absent; CI installs it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fhir_service.context import FhirContext
from tests.pg import postgres_contexts
from tests.security.test_access_matrix import *  # noqa: F403
from tests.security.test_audit_provenance import (  # noqa: F401 (collected here too)
    test_auditor_searches_wait_for_the_journal,
    test_each_access_leaves_exactly_one_audit_event,
    test_indexing_in_a_process_of_its_own,
    test_provenance_on_every_change_and_none_on_no_change,
    test_reads_on_the_event_loop_are_audited_like_the_others,
    test_x_provenance_header_is_honoured,
    world,
)
from tests.security.test_trust import (  # noqa: F401 (collected here too)
    test_a_national_identifier_names_one_person,
    test_concurrent_transactions_with_one_if_none_exist_store_one_person,
    test_conditional_writes_on_a_hidden_persons_identifiers_create_no_duplicate,
    test_directory_data_is_changed_only_by_its_structure,
    test_every_answer_with_a_persons_data_is_audited_under_that_person,
    test_every_route_answers_for_a_hidden_person_as_for_a_missing_one,
    test_has_and_chains_through_hidden_people_answer_as_for_nobody,
    test_over_http_a_hidden_person_and_a_missing_one_get_the_same_answer,
    test_probing_is_recorded_under_the_person_probed,
    test_scopes_apply_to_every_type_a_search_reads_or_returns,
)


@pytest.fixture
def make_context(make_context: Callable[..., FhirContext], pg_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Any:
    return postgres_contexts(make_context, pg_server, tmp_path_factory, "cmfhir_sec")


def test_the_security_suites_really_run_on_postgresql(make_context: Any) -> None:
    ctx = make_context(audit=True)
    assert ctx.repository.engine.dialect.name == "postgresql"
