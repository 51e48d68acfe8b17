"""The sign-in suite's database-bound tests on PostgreSQL: accounts, lock-out, one-time codes
(claimed by an atomic update, also under a race) and the role check run through the same
engine as the data (skips with a reason when PostgreSQL is absent; CI installs it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fhir_service.context import FhirContext
from tests.pg import postgres_contexts
from tests.security.test_smart_launch import (  # noqa: F401 (collected here too)
    launch_app,
    test_a_code_for_another_client_or_redirect_is_refused_and_spent,
    test_a_code_is_used_once,
    test_a_code_raced_by_two_token_requests_is_exchanged_once,
    test_a_practitioner_of_another_structure_sees_nothing_of_the_person,
    test_a_role_that_ended_gives_nothing,
    test_an_expired_code_is_refused,
    test_guessing_a_password_locks_the_account,
    test_refresh_tokens_are_used_once_and_keep_checking_the_role,
    test_sign_in_gives_the_practitioners_view_with_an_id_token,
)


@pytest.fixture
def make_context(make_context: Callable[..., FhirContext], pg_server: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Any:
    return postgres_contexts(make_context, pg_server, tmp_path_factory, "cmfhir_signin")


def test_the_sign_in_suite_really_runs_on_postgresql(launch_app: Any) -> None:  # noqa: F811
    app, _ = launch_app
    assert app.state.ctx.repository.engine.dialect.name == "postgresql"
