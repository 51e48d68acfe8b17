"""The OpenAPI description (derived from the CapabilityStatement) and schemathesis over it:
0 5xx, every 4xx an OperationOutcome, with authentication off and on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security.conftest import mint
from tests.security.test_access_matrix import ORGS, build_world

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a test extra")
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.python import asgi  # noqa: E402

# the case-management types, the directory, and the system level: where the fuzz is spent
FUZZED_TAGS = ["Patient", "CarePlan", "Goal", "CareTeam", "EpisodeOfCare", "Consent",
               "Provenance", "Organization", "PractitionerRole", "QuestionnaireResponse",
               "ServiceRequest", "AuditEvent", "ValueSet", "system"]


def _seed(app: Any) -> None:
    router = app.state.router
    from tests.security.test_access_matrix import call

    relations = {(o, p): "none" for o in ORGS for p in range(2)}
    relations[("org-0", 0)] = "member"
    relations[("org-1", 1)] = "consent"
    status, _ = call(router, None, "POST", "", build_world(2, relations))
    assert status == 200


@pytest.fixture
def open_app(make_context: Any) -> Any:
    from fhir_service.app import create_app

    ctx = make_context(auth="off", audit=False, provenance=False)
    app = create_app(ctx.settings, ctx)
    _seed(app)
    return app


@pytest.fixture
def auth_app(make_context: Any, tmp_path: Any) -> Any:
    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    _seed(app)
    app.state.security.clients.add("fuzz", "org-0", None, None, "system/*.cruds")
    return app


def test_openapi_is_derived_from_the_capability_statement(open_app: Any) -> None:
    from fastapi.testclient import TestClient

    with TestClient(open_app, base_url="http://test") as c:
        doc = c.get("/openapi.json").json()
        caps = c.get("/fhir/metadata").json()
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": "/fhir"}]
    types = [r["type"] for r in caps["rest"][0]["resource"]]
    for t in types:
        assert {"get", "post"} <= set(doc["paths"][f"/{t}"])
        assert {"get", "put", "patch", "delete"} <= set(doc["paths"][f"/{t}/{{id}}"])
        assert "get" in doc["paths"][f"/{t}/{{id}}/_history/{{vid}}"]
    careplan = next(r for r in caps["rest"][0]["resource"] if r["type"] == "CarePlan")
    query = {p["name"] for p in doc["paths"]["/CarePlan"]["get"]["parameters"] if "name" in p}
    assert {sp["name"] for sp in careplan["searchParam"]} <= query
    # bodies have a schema from the StructureDefinition: required elements, JSON types
    goal = doc["components"]["schemas"]["Goal"]
    assert {"resourceType", "lifecycleStatus", "description", "subject"} <= set(
        goal["required"])
    assert goal["properties"]["resourceType"]["enum"] == ["Goal"]
    assert goal["properties"]["category"]["type"] == "array"
    assert "startDate" in goal["properties"] and "startCodeableConcept" in goal["properties"]
    # operations from their OperationDefinitions; no security scheme with auth off
    expand = doc["paths"]["/ValueSet/$expand"]["get"]["parameters"]
    assert "url" in {p["name"] for p in expand}
    assert "post" in doc["paths"]["/$import-casefile"]
    assert "get" not in doc["paths"]["/$import-casefile"]  # it changes state
    assert "post" in doc["paths"]["/EpisodeOfCare/{id}/$casefile"]
    assert "security" not in doc


def test_urls_no_route_matches_answer_an_operation_outcome(open_app: Any) -> None:
    """Found by schemathesis: a control character in the path matched no route and the
    framework answered its own JSON."""
    from fastapi.testclient import TestClient

    with TestClient(open_app, base_url="http://test") as c:
        r = c.delete("/fhir/Goal/%0Ax")
        assert r.status_code == 404
        assert r.json()["resourceType"] == "OperationOutcome"
        assert c.get("/nowhere").json()["resourceType"] == "OperationOutcome"


def _fuzz(app: Any, headers: dict[str, str],
          max_examples: int) -> list[tuple[str, int, GenerationMode]]:
    """Run schemathesis over the fuzzed part of the API, positive and negative cases (negative
    cases include requests stripped of their credentials); returns the (operation, status,
    mode) seen, after asserting each answer."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(tag=FUZZED_TAGS)
    strategy = st.one_of(schema.as_strategy(GenerationMode.POSITIVE),
                         schema.as_strategy(GenerationMode.NEGATIVE))
    seen: list[tuple[str, int, GenerationMode]] = []
    with asgi.get_client(app) as client:

        @settings(max_examples=max_examples, deadline=None, database=None,
                  phases=[Phase.generate], derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            response = case.call(session=client, headers=headers)
            label = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (label, response.text[:2000])
            if response.status_code >= 400 and response.content:
                body = response.json()
                assert body.get("resourceType") == "OperationOutcome", (label, body)
                assert body["issue"], label
            mode = case.meta.generation.mode if case.meta else GenerationMode.POSITIVE
            seen.append((case.operation.label, response.status_code, mode))

        run()
    return seen


def test_schemathesis_without_auth(open_app: Any) -> None:
    seen = _fuzz(open_app, {}, 200)
    # the fuzz spread over many operations (200 draws over ~200 operations reach 50-60
    # distinct ones; which exactly depends on the schema, so the bound leaves room)
    assert len({op for op, _, _ in seen}) >= 40
    assert any(s < 300 for _, s, _ in seen) and any(400 <= s < 500 for _, s, _ in seen)


def test_schemathesis_with_a_token(auth_app: Any) -> None:
    token = mint(auth_app, "fuzz", "system/*.cruds")
    seen = _fuzz(auth_app, {"Authorization": f"Bearer {token}"}, 150)
    assert len({op for op, _, _ in seen}) > 30
    assert any(s < 300 for _, s, _ in seen)
    # the token was accepted whenever it was sent (negative cases may drop it: then 401)
    assert not [op for op, s, mode in seen if s == 401 and mode == GenerationMode.POSITIVE]


@pytest.fixture
def anonymous(auth_app: Any) -> Iterator[Any]:
    yield auth_app


def test_schemathesis_without_a_token_is_refused_cleanly(anonymous: Any) -> None:
    seen = _fuzz(anonymous, {}, 50)
    assert {s for op, s, _ in seen if not op.endswith("/metadata")} <= {401}
