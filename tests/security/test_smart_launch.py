"""Practitioner sign-in, SMART App Launch standalone with PKCE, tested as an attacker would:
code replay, a code for another client, a wrong verifier, an expired code, open redirects,
CSRF, brute force, scope down-grade, a structure without people, a role that ended."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from fhir_service.cli import load_demo
from fhir_service.request import FhirRequest

BASE = "http://test"
FHIR = f"{BASE}/fhir"
APP = "cm-fhir-app"
REDIRECT = f"{BASE}/app/"
PASSWORD = "correct horse battery staple"
DIEGO_CM_RPPS = "https://rpps.esante.gouv.fr|10000000001"  # David Durand, Diego's case manager


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def system(app: Any, method: str, path: str, body: dict[str, Any] | None = None,
           query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A request of the server itself (set-up of the directory)."""
    resp = app.state.router.dispatch(FhirRequest(
        method, path.split("/"), query=query or [],
        body=json.dumps(body).encode() if body else b"", base_url=FHIR,
        headers={"content-type": "application/fhir+json"}))
    assert resp.status < 300, resp.body
    return json.loads(resp.body) if resp.body else {}


@pytest.fixture
def launch_app(make_context: Any, tmp_path: Any) -> Any:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    load_demo(app, ctx.settings)
    launch = app.state.security.launch
    practitioner = launch.directory.practitioner_id(DIEGO_CM_RPPS)
    assert practitioner is not None
    launch.accounts.add("ddurand", practitioner, PASSWORD)
    with TestClient(app, base_url=BASE) as client:
        yield app, client


class Flow:
    """The browser's side of the sign-in, step by step."""

    def __init__(self, client: Any, client_id: str = APP, redirect_uri: str = REDIRECT,
                 scope: str = "openid fhirUser user/*.rs", **extra: str) -> None:
        self.client = client
        self.verifier, challenge = pkce()
        self.state = secrets.token_urlsafe(16)
        self.params = {"response_type": "code", "client_id": client_id,
                       "redirect_uri": redirect_uri, "scope": scope, "state": self.state,
                       "aud": FHIR, "code_challenge": challenge,
                       "code_challenge_method": "S256", "nonce": "n-0S6", **extra}

    def authorize(self) -> Any:
        return self.client.get(f"/auth/authorize?{urlencode(self.params)}",
                               follow_redirects=False)

    def post(self, fields: dict[str, str], csrf: str | None = None) -> Any:
        csrf = self.client.cookies.get("cm_auth_csrf", "") if csrf is None else csrf
        body = urlencode({**self.params, "csrf": csrf, **fields})
        return self.client.post("/auth/authorize", content=body, follow_redirects=False,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    def login(self, username: str = "ddurand", password: str = PASSWORD) -> Any:
        page = self.authorize()
        assert page.status_code == 200, page.text
        return self.post({"step": "login", "username": username, "password": password})

    def approve(self, username: str = "ddurand", password: str = PASSWORD,
                role: str | None = None) -> str:
        """The code the app receives (after checking ``state``)."""
        page = self.login(username, password)
        assert page.status_code == 200, page.text
        ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        roles = re.findall(r'<option value="([^"]+)"', page.text)
        answer = self.post({"step": "consent", "ticket": ticket, "decision": "approve",
                            "role": role or roles[0]})
        assert answer.status_code == 303, answer.text
        location = urlsplit(answer.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == \
            self.params["redirect_uri"]
        query = parse_qs(location.query)
        assert query["state"] == [self.state]  # echoed exactly: the app checks it
        return query["code"][0]

    def exchange(self, code: str, verifier: str | None = None, **overrides: str) -> Any:
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self.params["redirect_uri"],
                "client_id": self.params["client_id"],
                "code_verifier": self.verifier if verifier is None else verifier, **overrides}
        return self.client.post("/auth/token", content=urlencode(form),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_gives_the_practitioners_view_with_an_id_token(launch_app: Any) -> None:
    app, client = launch_app
    config = client.get("/fhir/.well-known/smart-configuration").json()
    assert config["authorization_endpoint"] == f"{BASE}/auth/authorize"
    assert config["code_challenge_methods_supported"] == ["S256"]
    for capability in ("launch-standalone", "client-public", "permission-v2",
                       "sso-openid-connect"):
        assert capability in config["capabilities"]
    assert "authorization_code" in config["grant_types_supported"]
    flow = Flow(client)
    answer = flow.exchange(flow.approve())
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "openid fhirUser user/*.rs"
    practitioner = app.state.security.launch.directory.practitioner_id(DIEGO_CM_RPPS)
    key = app.state.security.tokens.key.public_key
    id_token = jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience=APP)
    assert id_token["fhirUser"] == f"{FHIR}/Practitioner/{practitioner}"
    assert id_token["nonce"] == "n-0S6" and id_token["sub"] == "ddurand"
    goals = client.get("/fhir/Goal?_count=50", headers=bearer(tokens["access_token"])).json()
    descriptions = {e["resource"]["description"]["text"] for e in goals.get("entry", [])}
    assert "Me coucher avant minuit cinq soirs par semaine" in descriptions  # Diego's goal
    # the token is a user's: a user/ scope, read-only
    refused = client.post("/fhir/Goal", headers={**bearer(tokens["access_token"]),
                                                 "Content-Type": "application/fhir+json"},
                          content=json.dumps({"resourceType": "Goal"}))
    assert refused.status_code == 403
    caps = client.get("/fhir/metadata").json()["rest"][0]["security"]
    assert "user/" in caps["description"]


def test_a_code_is_used_once(launch_app: Any) -> None:
    _, client = launch_app
    flow = Flow(client)
    code = flow.approve()
    assert flow.exchange(code).status_code == 200
    replay = flow.exchange(code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_a_code_for_another_client_or_redirect_is_refused_and_spent(launch_app: Any) -> None:
    app, client = launch_app
    app.state.security.launch.apps.add("other-app", "Autre", ["https://other.example/cb"],
                                       "openid fhirUser user/*.rs")
    flow = Flow(client)
    code = flow.approve()
    stolen = flow.exchange(code, client_id="other-app")
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert flow.exchange(code).json()["error"] == "invalid_grant"  # spent
    flow = Flow(client)
    code = flow.approve()
    moved = flow.exchange(code, redirect_uri=f"{BASE}/app/other")
    assert moved.json()["error"] == "invalid_grant"


def test_a_wrong_verifier_spends_the_code(launch_app: Any) -> None:
    _, client = launch_app
    flow = Flow(client)
    code = flow.approve()
    wrong = flow.exchange(code, verifier=pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert flow.exchange(code).json()["error"] == "invalid_grant"  # no second guess
    missing = Flow(client)
    assert missing.exchange(missing.approve(), verifier="").json()["error"] == \
        "invalid_request"


def test_an_expired_code_is_refused(launch_app: Any) -> None:
    app, client = launch_app
    launch = app.state.security.launch
    flow = Flow(client)
    request = launch.check_request(flow.params, BASE, FHIR)
    account = launch.accounts.get("ddurand")
    role = launch.directory.active_roles(account.practitioner)[0]
    old = launch.issue_code(request, "ddurand", account.practitioner, role,
                            now=time.time() - 61)
    assert flow.exchange(old).json()["error"] == "invalid_grant"
    fresh = launch.issue_code(request, "ddurand", account.practitioner, role)
    assert flow.exchange(fresh).status_code == 200


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/app/", f"{BASE}/app/evil", f"{BASE}/app/?next=x", f"{BASE}/app",
    f"{BASE.upper()}/app/", "",
])
def test_an_unregistered_redirect_uri_is_never_redirected_to(launch_app: Any,
                                                             redirect_uri: str) -> None:
    _, client = launch_app
    flow = Flow(client, redirect_uri=redirect_uri, response_type="token")
    for answer in (flow.authorize(), flow.post({"step": "login", "username": "ddurand",
                                                "password": PASSWORD})):
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert "pas été redirigé" in answer.text
    unknown = Flow(client, client_id="nobody").authorize()
    assert unknown.status_code == 400 and "location" not in unknown.headers


@pytest.mark.parametrize(("change", "error"), [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": ""}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"aud": "https://other.example/fhir"}, "invalid_request"),
    ({"scope": "openid system/*.rs"}, "invalid_scope"),
    ({"scope": "patient/*.rs"}, "invalid_scope"),
    ({"scope": "user/Foo.rs"}, "invalid_scope"),
    ({"scope": "openid fhirUser"}, "invalid_scope"),
])
def test_bad_requests_go_back_to_the_registered_uri_with_the_state(launch_app: Any,
                                                                   change: dict[str, str],
                                                                   error: str) -> None:
    _, client = launch_app
    flow = Flow(client)
    flow.params.update(change)
    answer = flow.authorize()
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == [error] and query["state"] == [flow.state]
    assert "code" not in query


def test_a_missing_state_is_refused(launch_app: Any) -> None:
    _, client = launch_app
    flow = Flow(client)
    del flow.params["state"]
    answer = flow.authorize()
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_request"]


def test_forms_need_the_csrf_cookie_and_a_ticket_bound_to_it(launch_app: Any) -> None:
    _, client = launch_app
    flow = Flow(client)
    assert flow.authorize().status_code == 200
    forged = flow.post({"step": "login", "username": "ddurand", "password": PASSWORD},
                       csrf="attacker-value")
    assert forged.status_code == 403 and "location" not in forged.headers
    page = flow.login()
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    # the ticket of this login, replayed with another browser's cookie: refused
    client.cookies.clear()
    client.cookies.set("cm_auth_csrf", "another-browser", domain="test.local", path="/auth")
    other = flow.post({"step": "consent", "ticket": ticket, "decision": "approve",
                       "role": "x"})
    assert other.status_code == 403 and "location" not in other.headers
    assert "ne correspond pas" in other.text  # (the cookie and form agreed: the ticket did not)
    # a ticket for another request (its challenge changed): refused
    client.cookies.clear()
    flow2 = Flow(client)
    page = flow2.login()
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    flow2.params["code_challenge"] = pkce()[1]
    swapped = flow2.post({"step": "consent", "ticket": ticket, "decision": "approve",
                          "role": "x"})
    assert swapped.status_code == 403 and "location" not in swapped.headers


def test_denying_sends_access_denied(launch_app: Any) -> None:
    _, client = launch_app
    flow = Flow(client)
    page = flow.login()
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    answer = flow.post({"step": "consent", "ticket": ticket, "decision": "deny"})
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"] and "code" not in query


def test_guessing_a_password_locks_the_account(launch_app: Any) -> None:
    app, client = launch_app
    flow = Flow(client)
    for _ in range(5):
        wrong = flow.login(password="not the password")
        assert wrong.status_code == 401
        assert "Identifiant ou mot de passe incorrect" in wrong.text
    locked = flow.login()  # the right password, too late
    assert locked.status_code == 401 and 'name="ticket"' not in locked.text
    assert app.state.security.launch.accounts.login("ddurand", PASSWORD).retry_after > 0
    # an unknown account, a wrong password and a locked account: the same page
    unknown = flow.login(username="nobody")
    assert unknown.status_code == 401

    def words(page: Any) -> str:
        return re.sub(r'name="(csrf|state|code_challenge|nonce|username)" value="[^"]*"', "",
                      page.text).replace('value="nobody"', 'value="ddurand"')

    assert words(unknown) == words(locked) == words(flow.login(password="wrong again"))


def test_logins_are_limited_per_address(make_context: Any, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    with TestClient(app, base_url=BASE) as client:
        answers = [Flow(client).login(username=f"user{i}").status_code for i in range(12)]
    assert answers[:10] == [401] * 10 and answers[10:] == [429, 429]


def test_scopes_are_narrowed_to_the_app_registration(launch_app: Any) -> None:
    _, client = launch_app
    flow = Flow(client, scope="openid user/Goal.cruds user/CarePlan.read")
    tokens = flow.exchange(flow.approve()).json()
    assert tokens["scope"] == "openid user/Goal.rs user/CarePlan.rs"
    h = {**bearer(tokens["access_token"]), "Content-Type": "application/fhir+json"}
    assert client.get("/fhir/Goal", headers=h).status_code == 200
    assert client.get("/fhir/CareTeam", headers=h).status_code == 403
    assert client.post("/fhir/Goal", headers=h, content="{}").status_code == 403
    assert "id_token" in tokens and "fhirUser" not in jwt.decode(
        tokens["id_token"], options={"verify_signature": False})


def _new_structure(app: Any, ident: str, role_period: dict[str, str] | None = None
                   ) -> tuple[str, str]:
    org = system(app, "POST", "Organization", {
        "resourceType": "Organization", "name": f"Structure {ident}",
        "identifier": [{"system": "https://finess.esante.gouv.fr", "value": ident}]})
    prac = system(app, "POST", "Practitioner", {
        "resourceType": "Practitioner", "name": [{"family": f"Autre{ident}"}],
        "identifier": [{"system": "https://rpps.esante.gouv.fr", "value": f"9{ident}"}]})
    role: dict[str, Any] = {"resourceType": "PractitionerRole", "active": True,
                            "practitioner": {"reference": f"Practitioner/{prac['id']}"},
                            "organization": {"reference": f"Organization/{org['id']}"}}
    if role_period:
        role["period"] = role_period
    made = system(app, "POST", "PractitionerRole", role)
    return prac["id"], made["id"]


def test_a_practitioner_of_another_structure_sees_nothing_of_the_person(launch_app: Any
                                                                        ) -> None:
    app, client = launch_app
    launch = app.state.security.launch
    other, _ = _new_structure(app, "990000001")
    launch.accounts.add("autre", other, PASSWORD)
    flow = Flow(client, scope="openid fhirUser user/Goal.rs user/Patient.rs")
    token = flow.exchange(flow.approve("autre")).json()["access_token"]
    h = bearer(token)
    assert client.get("/fhir/Goal", headers=h).json().get("total") == 0
    assert client.get("/fhir/Patient", headers=h).json().get("total") == 0
    # a goal of Diego's, by id: the answer for an id that does not exist, byte for byte
    mine = Flow(client)
    diego = mine.exchange(mine.approve()).json()["access_token"]
    goal_id = client.get("/fhir/Goal?_count=1", headers=bearer(diego)).json()[
        "entry"][0]["resource"]["id"]
    hidden = client.get(f"/fhir/Goal/{goal_id}", headers=h)
    missing = client.get(f"/fhir/Goal/{goal_id[:-1]}x", headers=h)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content.replace(goal_id.encode(), b"") == \
        missing.content.replace(f"{goal_id[:-1]}x".encode(), b"")


def test_a_role_that_ended_gives_nothing(launch_app: Any) -> None:
    app, client = launch_app
    launch = app.state.security.launch
    ended, _ = _new_structure(app, "990000002", {"start": "2020-01-01", "end": "2021-01-01"})
    launch.accounts.add("ancien", ended, PASSWORD)
    refused = Flow(client).login("ancien")
    assert refused.status_code == 403 and "Aucun rôle actif" in refused.text
    # a role that ends while the token lives: the next requests are refused
    current, role_id = _new_structure(app, "990000003")
    launch.accounts.add("partant", current, PASSWORD)
    flow = Flow(client)
    token = flow.exchange(flow.approve("partant")).json()["access_token"]
    assert client.get("/fhir/Goal", headers=bearer(token)).status_code == 200
    role = system(app, "GET", f"PractitionerRole/{role_id}")
    role["period"] = {"start": "2020-01-01", "end": "2021-01-01"}
    system(app, "PUT", f"PractitionerRole/{role_id}", role)
    launch._checked.clear()  # (the check is cached CACHE_SECONDS)
    launch.directory._roles.clear()
    after = client.get("/fhir/Goal", headers=bearer(token))
    assert after.status_code == 401


def test_a_deactivated_account_loses_access(launch_app: Any) -> None:
    app, client = launch_app
    launch = app.state.security.launch
    flow = Flow(client)
    token = flow.exchange(flow.approve()).json()["access_token"]
    launch.accounts.deactivate("ddurand")
    launch._checked.clear()
    assert client.get("/fhir/Goal", headers=bearer(token)).status_code == 401
    assert Flow(client).login().status_code == 401


def test_accounts_and_apps_are_made_by_the_cli(make_context: Any, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from fhir_service.app import create_app
    from fhir_service.cli import app as cli

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys")
    application = create_app(ctx.settings, ctx)
    prac, _ = _new_structure(application, "990000004")
    env = {"CM_FHIR_DATABASE_URL": ctx.settings.database_url,
           "CM_FHIR_KEYS_DIR": str(tmp_path / "keys")}
    runner = CliRunner()
    added = runner.invoke(cli, ["user", "add", "jdupont", "--practitioner",
                                "https://rpps.esante.gouv.fr|9990000004", "--password-stdin"],
                          input=f"{PASSWORD}\n", env=env)
    assert added.exit_code == 0, added.output
    assert f"Practitioner/{prac}" in added.output and "Structure 990000004" in added.output
    launch = application.state.security.launch
    assert launch.accounts.login("jdupont", PASSWORD).account.practitioner == prac
    assert launch.accounts.login("jdupont", "wrong password!").account is None
    short = runner.invoke(cli, ["user", "add", "x", "--practitioner", prac,
                                "--password-stdin"], input="short\n", env=env)
    assert short.exit_code == 2 and "12 characters" in short.output
    nobody = runner.invoke(cli, ["user", "add", "y", "--practitioner", "urn:x|nobody",
                                 "--password-stdin"], input=f"{PASSWORD}\n", env=env)
    assert nobody.exit_code == 2
    app_added = runner.invoke(cli, ["app", "add", "ehr-view", "--redirect-uri",
                                    "https://ehr.example/cb"], env=env)
    assert app_added.exit_code == 0, app_added.output
    assert launch.apps.get("ehr-view").redirect_uris == ("https://ehr.example/cb",)
    insecure = runner.invoke(cli, ["app", "add", "bad", "--redirect-uri",
                                   "http://ehr.example/cb"], env=env)
    assert insecure.exit_code == 2
    listed = runner.invoke(cli, ["user", "list"], env=env)
    assert f"jdupont\tPractitioner/{prac}\tactive" in listed.output
    # the stored password is an argon2id hash, never the password
    from sqlalchemy import select

    from fhir_service.store.schema import user_accounts

    with ctx.repository.engine.connect() as conn:
        stored = conn.execute(select(user_accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_external_mode_maps_the_user_claim_to_the_practitioners_role(make_context: Any
                                                                     ) -> None:
    """A hospital's OIDC provider signs the token; its ``preferred_username`` claim is the
    practitioner's RPPS number; their active role decides the structure."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ctx = make_context(auth="external", issuer="https://idp.chs.example",
                       audience=FHIR, external_user_claim="preferred_username",
                       external_authorize_url="https://idp.chs.example/authorize",
                       external_token_url="https://idp.chs.example/token",
                       rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    load_demo(app, ctx.settings)
    _new_structure(app, "990000005", {"start": "2020-01-01", "end": "2021-01-01"})
    tokens = app.state.security.tokens
    tokens._verification_key = lambda token: key.public_key()  # (the issuer's JWKS)
    now = int(time.time())

    def token(username: str) -> dict[str, str]:
        claims = {"iss": "https://idp.chs.example", "aud": FHIR, "sub": f"u-{username}",
                  "iat": now, "exp": now + 300, "scope": "user/*.rs", "azp": "dpi-viewer",
                  "preferred_username": username}
        return bearer(jwt.encode(claims, key, algorithm="RS256"))

    with TestClient(app, base_url=BASE) as client:
        config = client.get("/fhir/.well-known/smart-configuration").json()
        assert config["authorization_endpoint"] == "https://idp.chs.example/authorize"
        assert config["token_endpoint"] == "https://idp.chs.example/token"
        goals = client.get("/fhir/Goal", headers=token("10000000001")).json()  # Diego's CM
        assert goals["total"] == 4
        assert client.get("/fhir/Goal", headers=token("9990000005")).status_code == 401  # role ended
        assert client.get("/fhir/Goal", headers=token("00000000000")).status_code == 401


def test_the_demo_has_an_account_for_its_case_manager(launch_app: Any) -> None:
    from fhir_service.security.sign_in_cli import demo_account

    app, client = launch_app
    username, password = demo_account(app)
    assert demo_account(app)[1] != password  # a new password at each start
    assert app.state.security.launch.accounts.login(username, password).account is None
    username, password = demo_account(app)
    flow = Flow(client)
    assert flow.exchange(flow.approve(username, password)).status_code == 200


def test_a_code_raced_by_two_token_requests_is_exchanged_once(launch_app: Any) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from fhir_service.security.smart_launch import GrantError

    app, client = launch_app
    launch = app.state.security.launch
    flow = Flow(client)
    code = flow.approve()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": APP, "code_verifier": flow.verifier}
    start = threading.Barrier(8)

    def exchange(_: int) -> str:
        start.wait(timeout=30)
        try:
            launch.exchange(dict(form), BASE, FHIR)
            return "token"
        except GrantError as exc:
            return exc.error

    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(exchange, range(8)))
    assert answers == ["invalid_grant"] * 7 + ["token"]


def _refresh(client: Any, token: str, client_id: str = APP, **extra: str) -> Any:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id,
            **extra}
    return client.post("/auth/token", content=urlencode(form),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_refresh_tokens_are_used_once_and_keep_checking_the_role(launch_app: Any) -> None:
    app, client = launch_app
    launch = app.state.security.launch
    plain = Flow(client)
    assert "refresh_token" not in plain.exchange(plain.approve()).json()  # not asked for
    flow = Flow(client, scope="openid fhirUser online_access user/Goal.rs user/Patient.rs")
    first = flow.exchange(flow.approve()).json()
    assert first["scope"] == "openid fhirUser online_access user/Goal.rs user/Patient.rs"
    refreshed = _refresh(client, first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert client.get("/fhir/Goal", headers=bearer(second["access_token"])).status_code == 200
    key = app.state.security.tokens.key.public_key
    old = jwt.decode(first["refresh_token"], key, algorithms=["RS256"],
                     audience="cm-fhir:refresh")
    new = jwt.decode(second["refresh_token"], key, algorithms=["RS256"],
                     audience="cm-fhir:refresh")
    assert new["exp"] == old["exp"] and new["jti"] != old["jti"]  # same end, a new token
    # used once
    assert _refresh(client, first["refresh_token"]).json()["error"] == "invalid_grant"
    # not for another client, and spent by nobody else's try
    app.state.security.launch.apps.add("other-app", "Autre", ["https://other.example/cb"],
                                       "openid user/*.rs")
    assert _refresh(client, second["refresh_token"], client_id="other-app").json()[
        "error"] == "invalid_grant"
    # only narrowing
    wider = _refresh(client, second["refresh_token"], scope="user/*.rs")
    assert wider.json()["error"] == "invalid_scope"
    narrow = _refresh(client, second["refresh_token"], scope="online_access user/Goal.rs")
    assert narrow.status_code == 200
    narrowed = narrow.json()
    assert narrowed["scope"] == "online_access user/Goal.rs" and "id_token" not in narrowed
    assert client.get("/fhir/Patient", headers=bearer(narrowed["access_token"])
                      ).status_code == 403
    # neither an access token nor an id token is a refresh token
    assert _refresh(client, narrowed["access_token"]).json()["error"] == "invalid_grant"
    assert _refresh(client, first["id_token"]).json()["error"] == "invalid_grant"
    # the account deactivated: no more tokens
    launch.accounts.deactivate("ddurand")
    refused = _refresh(client, narrowed["refresh_token"]).json()
    assert refused["error"] == "invalid_grant" and "deactivated" in refused["error_description"]
