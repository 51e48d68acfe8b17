"""cm-fhir sync push|pull (fhir_service/sync/): a person's shared plan sent to a partner's FHIR
server and the partner's changes brought back, through our door as a registered client.

The partner is first a second instance of this server (uvicorn on a free 127.0.0.1 port,
SMART Backend Services with our client's key), then a real HAPI FHIR JPA server
(tests/hapi.py: open, H2; the tests using it are marked jvm and run in CI or with
CM_FHIR_JVM_TESTS=1).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fhir_service import fhir
from fhir_service.app import create_app
from fhir_service.cli import load_demo
from fhir_service.context import Clock
from fhir_service.request import FhirRequest
from fhir_service.security.principal import Scopes
from fhir_service.sync import engine
from fhir_service.sync.local import LocalStore
from fhir_service.sync.plan import IDENTIFIER_SYSTEM, comparable, generated_text, inbound
from fhir_service.sync.remote import Remote, SmartBackendAuth
from fhir_service.sync.state import StateBusy, SyncState
from tests.hapi import expunge_everything, hapi_base_url  # noqa: F401  (the fixture)

FINESS = "https://finess.esante.gouv.fr"
CJAAD_FINESS = "750000011"  # the young-adult centre accompanying Diego (demo)
DAC_FINESS = "690000017"  # the DAC accompanying Nadia (demo), not Diego
DIEGO_INS = ("urn:oid:1.2.250.1.213.1.4.10", "104037511445612")
PLAN_TYPES = ("Patient", "CareTeam", "EpisodeOfCare", "CarePlan", "Goal", "Consent")


class PartnerServer:
    """uvicorn on 127.0.0.1 in a thread; stop() and start() again on the same port (a partner
    that goes down and comes back)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.sock: socket.socket | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def start(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        # lifespan off: the app (and its audit trail) outlives a stop, as a restarted
        # server would find its database
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                    lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.thread.is_alive():
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)  # (polling a condition, bounded)
        raise RuntimeError("the partner server did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.sock is not None:
            self.sock.close()
        self.server = self.thread = self.sock = None


def _dispatch(app: Any, method: str, segments: list[str], query: list[tuple[str, str]] | None
              = None, body: dict[str, Any] | None = None, principal: Any = None) -> Any:
    resp = app.state.router.dispatch(FhirRequest(
        method, segments, query=query or [], body=fhir.dumps(body) if body else b"",
        headers={"content-type": "application/fhir+json"}, base_url="http://localhost/fhir",
        principal=principal))
    data = resp.body
    return resp.status, (fhir.loads(data) if isinstance(data, bytes) and data else data)


def _org_id(app: Any, finess: str) -> str:
    status, bundle = _dispatch(app, "GET", ["Organization"],
                               [("identifier", f"{FINESS}|{finess}")])
    assert status == 200 and len(bundle["entry"]) == 1
    return str(bundle["entry"][0]["resource"]["id"])


@pytest.fixture
def local_app(make_context: Any, tmp_path: Path) -> Iterator[Any]:
    """Our server (in process): the demo people, a client for the structure accompanying
    Diego (cjaad) and one for the DAC, which does not accompany him."""
    ctx = make_context(auth="embedded", keys_dir=tmp_path / "local-keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    app = create_app(ctx.settings, ctx)
    load_demo(app, ctx.settings)
    clients = app.state.security.clients
    clients.add("cjaad", "CJAAD", _org_id(app, CJAAD_FINESS), None, "system/*.cruds")
    clients.add("dac", "DAC", _org_id(app, DAC_FINESS), None, "system/*.cruds")
    yield app
    app.state.router.close()


@pytest.fixture
def partner_key(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """Our key pair for the partner: the private key in a file (as `--key`), its JWKS."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "partner-key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "sync-1", "alg": "RS384", "use": "sig"})
    return path, {"keys": [jwk]}


@pytest.fixture
def partner(make_context: Any, tmp_path: Path, partner_key: Any) -> Iterator[PartnerServer]:
    """A second instance of our server as the partner: the CJAAD registered there (same
    FINESS), and us as its client `cm-fhir-cjaad` (SMART Backend Services, our JWKS)."""
    ctx = make_context(auth="embedded", keys_dir=tmp_path / "partner-keys", audit=False,
                       provenance=True, rate_limit_per_second=0.0)
    ctx.clock = Clock()  # real time: its Date header and lastUpdated agree (pull's cursor)
    app = create_app(ctx.settings, ctx)
    status, org = _dispatch(app, "POST", ["Organization"], body={
        "resourceType": "Organization", "name": "Centre jeunes adultes (partner's copy)",
        "identifier": [{"system": FINESS, "value": CJAAD_FINESS}]})
    assert status == 201
    app.state.security.clients.add("cm-fhir-cjaad", "cm-fhir CJAAD", org["id"], None,
                                   "system/*.cruds", jwks=partner_key[1])
    server = PartnerServer(app)
    server.start()
    server.app_ctx = ctx  # type: ignore[attr-defined]
    yield server
    server.stop()
    app.state.router.close()


def _remote(partner: PartnerServer, key_file: Path) -> Remote:
    return Remote(partner.base, auth="smart", timeout=(5.0, 60.0),
                  smart=SmartBackendAuth(partner.base, "cm-fhir-cjaad", key_file, kid="sync-1"))


def _partner_token(partner: PartnerServer) -> str:
    security = partner.app.state.security
    token, _ = security.tokens.mint(security.clients.get("cm-fhir-cjaad"),
                                    Scopes.parse("system/*.cruds"), minutes=5)
    return str(token)


def _partner_get(partner: PartnerServer, path: str, **params: str) -> Any:
    resp = requests.get(f"{partner.base}/{path}", params=params, timeout=30, headers={
        "Authorization": f"Bearer {_partner_token(partner)}", "Accept": "application/fhir+json"})
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()


def _diego(local_app: Any) -> str:
    _status, bundle = _dispatch(local_app, "GET", ["Patient"],
                               [("identifier", "|".join(DIEGO_INS))])
    return str(bundle["entry"][0]["resource"]["id"])


def _remote_versions(partner: PartnerServer, state: SyncState) -> dict[str, str]:
    """versionId of every resource the state maps, read from the partner."""
    out = {}
    for mine, theirs in state.data["ids"].items():
        res = _partner_get(partner, theirs)
        out[mine] = res["meta"]["versionId"]
    return out


# --- against a second instance of our server -----------------------------------------------


def test_push_reads_back_equal_and_a_second_push_changes_nothing(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    remote = _remote(partner, partner_key[0])
    state = SyncState(tmp_path / "state.json", remote.base, "cjaad")
    diego = _diego(local_app)
    plan = engine.collect(local, diego)
    types = {k.split("/")[0] for k in plan}
    assert set(PLAN_TYPES) <= types and {"Practitioner", "PractitionerRole",
                                         "Organization"} <= types

    report = engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    assert report.persons == 1 and report.created + report.updated == len(plan)
    with state.locked():
        assert set(state.data["ids"]) == set(plan)
        assert state.data["push_run"] is None
        # every resource reads back from the partner equal to ours once mapped back
        reverse = {t: m for m, t in state.data["ids"].items()}
        for mine, theirs in state.data["ids"].items():
            copy = _partner_get(partner, theirs)
            back = inbound(copy, mine, IDENTIFIER_SYSTEM, reverse.get, remote.base,
                           plan[mine])
            assert comparable(back) == comparable(plan[mine]), mine.split("/")[0]
        # a role had no identifier: the partner's copy carries ours, ours does not
        role = next(k for k in plan if k.startswith("PractitionerRole/"))
        assert "identifier" not in plan[role]
        assert _partner_get(partner, state.data["ids"][role])["identifier"] == [
            {"system": IDENTIFIER_SYSTEM, "value": role}]
        before = _remote_versions(partner, state)

    again = engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(plan))
    with state.locked():
        assert _remote_versions(partner, state) == before


def test_a_person_the_client_does_not_accompany_is_an_unknown_person(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    remote = _remote(partner, partner_key[0])
    diego = _diego(local_app)
    messages = []
    for client, person in (("dac", diego), ("dac", "no-such-person"),
                           ("dac", "|".join(DIEGO_INS)), ("dac", "urn:x|nobody")):
        state = SyncState(tmp_path / "state.json", remote.base, client)
        with pytest.raises(engine.UnknownPerson) as caught:
            engine.push(LocalStore.for_client(local_app, client), remote, state, [person],
                        IDENTIFIER_SYSTEM)
        messages.append(str(caught.value).replace(person[:100], "<person>"))
    assert len(set(messages)) == 1, messages
    # nothing reached the partner
    assert _partner_get(partner, "Patient").get("total", 0) == 0


def test_pull_brings_back_a_change_made_on_the_partner(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    remote = _remote(partner, partner_key[0])
    state = SyncState(tmp_path / "state.json", remote.base, "cjaad")
    diego = _diego(local_app)
    engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    first = engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM)
    assert (first.created, first.updated, first.refused) == (0, 0, [])
    assert first.unchanged > 0

    goal_key = next(k for k in state.data["ids"] if k.startswith("Goal/"))
    local_goal = local.read(*goal_key.split("/"))
    theirs = _partner_get(partner, state.data["ids"][goal_key])
    theirs["lifecycleStatus"] = "completed"
    theirs["achievementStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
        "code": "achieved"}]}
    resp = requests.put(f"{partner.base}/{state.data['ids'][goal_key]}", data=fhir.dumps(theirs),
                        timeout=30, headers={"Authorization": f"Bearer {_partner_token(partner)}",
                                             "Content-Type": "application/fhir+json"})
    assert resp.status_code == 200, resp.text[:300]

    report = engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM)
    assert (report.updated, report.created, report.refused) == (1, 0, [])
    mine = local.read(*goal_key.split("/"))
    assert mine["lifecycleStatus"] == "completed"
    assert mine["achievementStatus"]["coding"][0]["code"] == "achieved"
    assert int(mine["meta"]["versionId"]) == int(local_goal["meta"]["versionId"]) + 1
    # written as our client: its Provenance names it
    _status, provs = _dispatch(local_app, "GET", ["Provenance"], [("target", goal_key)])
    agents = [a.get("who", {}) for e in provs["entry"] for a in e["resource"]["agent"]]
    assert any("cjaad" in json.dumps(a) for a in agents)

    # nothing changed since: a pull changes nothing here, a push nothing there
    quiet = engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM)
    assert (quiet.updated, quiet.created, quiet.refused) == (0, 0, [])
    assert local.read(*goal_key.split("/"))["meta"]["versionId"] == mine["meta"]["versionId"]
    back = engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    assert (back.created, back.updated) == (0, 0)


def _second_person(local_app: Any) -> str:
    """Another person the CJAAD accompanies (an episode it manages), with a goal."""
    cjaad = _org_id(local_app, CJAAD_FINESS)
    principal = LocalStore.for_client(local_app, "cjaad").principal
    status, answer = _dispatch(local_app, "POST", [], principal=principal, body={
        "resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:9f0b1c2e-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Patient", "gender": "female",
                          "identifier": [{"system": "https://ids.exemple-ghu-psy.fr/cjaad",
                                          "value": "IPP-SYNC-2"}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "EpisodeOfCare", "status": "active",
                          "patient": {"reference": "urn:uuid:9f0b1c2e-0000-4000-8000-000000000001"},
                          "managingOrganization": {"reference": f"Organization/{cjaad}"},
                          "identifier": [{"system": "https://ids.exemple-ghu-psy.fr/cjaad",
                                          "value": "EP-SYNC-2"}]},
             "request": {"method": "POST", "url": "EpisodeOfCare"}},
            {"resource": {"resourceType": "Goal", "lifecycleStatus": "active",
                          "description": {"text": "Reprendre une activité"},
                          "subject": {"reference": "urn:uuid:9f0b1c2e-0000-4000-8000-000000000001"}},
             "request": {"method": "POST", "url": "Goal"}}]})
    assert status == 200, answer
    location = answer["entry"][0]["response"]["location"]
    return str(location.split("/")[1])


def test_a_failed_push_resumes_with_the_people_not_sent(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    remote = _remote(partner, partner_key[0])
    state = SyncState(tmp_path / "state.json", remote.base, "cjaad")
    diego, other = _diego(local_app), _second_person(local_app)
    seen: list[tuple[int, int]] = []

    def partner_goes_down(stage: str, done: int, total: int) -> None:
        seen.append((done, total))
        if done == 1:
            partner.stop()  # after the first person's transaction

    with pytest.raises(engine.SyncFailed) as failed:
        engine.push(local, remote, state, [diego, other], IDENTIFIER_SYSTEM, partner_goes_down)
    assert "run the same command again to resume" in str(failed.value)
    assert seen == [(0, 2), (1, 2)]
    with state.locked():
        assert state.data["push_run"] == {"persons": [diego, other], "done": [diego]}
        assert state.data["persons"] == [diego]

    partner.start()
    resumed = engine.push(local, remote, state, [], IDENTIFIER_SYSTEM)
    plan = engine.collect(local, other)
    assert (resumed.resumed, resumed.persons) == (1, 1)
    assert resumed.created == len(plan) - 1  # the CJAAD's Organization was there already
    with state.locked():
        assert state.data["push_run"] is None
        assert state.data["persons"] == [diego, other]
        assert set(plan) <= set(state.data["ids"])
    # nothing pending: a push without people does nothing
    assert engine.push(local, remote, state, [], IDENTIFIER_SYSTEM).persons == 0


def _partner_put(partner: PartnerServer, resource: dict[str, Any]) -> None:
    resp = requests.put(f"{partner.base}/{resource['resourceType']}/{resource['id']}",
                        data=fhir.dumps(resource), timeout=30,
                        headers={"Authorization": f"Bearer {_partner_token(partner)}",
                                 "Content-Type": "application/fhir+json"})
    assert resp.status_code == 200, resp.text[:300]


def test_a_failed_pull_resumes_and_keeps_its_cursor_until_done(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    remote = _remote(partner, partner_key[0])
    state = SyncState(tmp_path / "state.json", remote.base, "cjaad")
    diego = _diego(local_app)
    engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM)
    cursor = state.data["pull_cursor"]
    assert cursor is not None
    ids = state.data["ids"]
    goal_key = next(k for k in ids if k.startswith("Goal/"))
    plan_key = next(k for k in ids if k.startswith("CarePlan/"))
    goal = _partner_get(partner, ids[goal_key])
    goal["lifecycleStatus"] = "cancelled"
    _partner_put(partner, goal)
    careplan = _partner_get(partner, ids[plan_key])
    careplan["description"] = "Plan revu en réunion de concertation"
    _partner_put(partner, careplan)

    def partner_goes_down(stage: str, done: int, total: int) -> None:
        if done == 3:  # Patient, RelatedPerson, CareTeam pulled
            partner.stop()

    with pytest.raises(engine.SyncFailed):
        engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM, partner_goes_down)
    with state.locked():
        assert state.data["pull_cursor"] == cursor  # not moved by an unfinished run
        assert len(state.data["pull_run"]["done"]) == 3
    assert local.read(*goal_key.split("/"))["lifecycleStatus"] != "cancelled"

    partner.start()
    report = engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM)
    assert report.resumed == 3 and report.updated == 2 and report.refused == []
    assert local.read(*goal_key.split("/"))["lifecycleStatus"] == "cancelled"
    assert local.read(*plan_key.split("/"))["description"] == careplan["description"]
    with state.locked():
        assert state.data["pull_run"] is None
        assert state.data["pull_cursor"] >= cursor


def test_pull_reports_what_our_rules_refuse_and_goes_on(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    """The CMP accompanies Diego (his consent names it) but does not own the CJAAD's goals:
    pulled on its behalf, the partner's change to one is refused here, and reported."""
    local_app.state.security.clients.add("cmp14", "CMP", _org_id(local_app, "750000029"),
                                         None, "system/*.cruds")
    cjaad = LocalStore.for_client(local_app, "cjaad")
    cmp14 = LocalStore.for_client(local_app, "cmp14")
    remote = _remote(partner, partner_key[0])
    diego = _diego(local_app)
    engine.push(cjaad, remote, SyncState(tmp_path / "state.json", remote.base, "cjaad"),
                [diego], IDENTIFIER_SYSTEM)
    state = SyncState(tmp_path / "state.json", remote.base, "cmp14")
    assert cmp14.read("Patient", diego) is not None
    with state.locked():
        assert state.data["ids"] == {}  # (the CMP's pulls map by identifier)
    goals = _partner_get(partner, "Goal", _count="50")["entry"]
    goal = next(e["resource"] for e in goals if e["resource"]["identifier"][0]["value"] == "G-1")
    goal["lifecycleStatus"] = "on-hold"
    _partner_put(partner, goal)

    report = engine.pull(cmp14, remote, state, [diego], IDENTIFIER_SYSTEM)
    assert report.updated == 0 and report.persons == 1
    assert len(report.refused) == 1 and report.refused[0].startswith("Goal (the partner's ")
    assert " 403 " in report.refused[0]
    local_goal = cjaad.by_identifier("Goal", "https://ids.exemple-ghu-psy.fr/cjaad", "G-1")[0]
    assert local_goal["lifecycleStatus"] != "on-hold"
    assert report.unchanged > 5  # the rest was mapped back by identifier, equal
    with state.locked():
        assert state.data["pull_run"] is None and state.data["pull_cursor"]


def test_no_token_or_patient_data_in_logs(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    remote = _remote(partner, partner_key[0])
    state = SyncState(tmp_path / "state.json", remote.base, "cjaad")
    diego = _diego(local_app)
    with caplog.at_level("DEBUG"):
        engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
        engine.pull(local, remote, state, [], IDENTIFIER_SYSTEM)
    token = remote.smart._token  # type: ignore[union-attr]
    assert token and caplog.records
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (token, DIEGO_INS[1], "Martin", "IPP-204511", "2004-03-12"):
        assert secret not in text
    saved = (tmp_path / "state.json").read_text()
    assert (tmp_path / "state.json").stat().st_mode & 0o077 == 0
    for secret in (token, DIEGO_INS[1], "Martin", "IPP-204511"):
        assert secret not in saved


def test_cli_push_and_pull(local_app: Any, partner: PartnerServer, partner_key: Any,
                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from fhir_service.cli import app

    settings = local_app.state.ctx.settings
    for name, value in {"DATABASE_URL": settings.database_url, "AUTH": "embedded",
                        "KEYS_DIR": str(settings.keys_dir), "AUDIT_INDEXER": "thread",
                        "AUDIT_JOURNAL": str(tmp_path / "cli-audit"), "DEMO": "false",
                        "SYNC_STATE": str(tmp_path / "cli-state.json")}.items():
        monkeypatch.setenv(f"CM_FHIR_{name}", value)
    diego = _diego(local_app)
    common = ["--client", "cjaad", "--remote", partner.base, "--remote-auth", "smart",
              "--remote-client-id", "cm-fhir-cjaad", "--key", str(partner_key[0]),
              "--kid", "sync-1"]
    runner = CliRunner()
    first = runner.invoke(app, ["sync", "push", diego, *common])
    assert first.exit_code == 0, first.output
    assert "1 person(s):" in first.output and " 0 unchanged" in first.output
    assert (tmp_path / "cli-state.json").exists()
    again = runner.invoke(app, ["sync", "push", diego, *common])
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated" in again.output
    pulled = runner.invoke(app, ["sync", "pull", *common])
    assert pulled.exit_code == 0, pulled.output
    assert "0 created, 0 updated" in pulled.output
    unknown = runner.invoke(app, ["sync", "push", "nobody", *common])
    hidden = runner.invoke(app, ["sync", "push", diego, *common[:1], "dac", *common[2:]])
    assert unknown.exit_code == hidden.exit_code == 2
    assert "unknown person" in unknown.output
    assert unknown.output.replace("nobody", "X").splitlines()[-2:] == \
        hidden.output.replace(diego, "X").splitlines()[-2:]
    for output in (first.output, again.output, pulled.output):
        assert DIEGO_INS[1] not in output and "Martin" not in output

    # --all: every person the client accompanies (Diego again, unchanged, and a new one)
    _second_person(local_app)
    everyone = runner.invoke(app, ["sync", "push", "--all", *common])
    assert everyone.exit_code == 0, everyone.output
    assert "2 person(s):" in everyone.output and "0 updated" in everyone.output
    # a client whose scopes do not cover the plan's types: a one-line error, no traceback
    local_app.state.security.clients.add("narrow", "narrow", _org_id(local_app, CJAAD_FINESS),
                                         None, "system/Patient.rs")
    narrow = runner.invoke(app, ["sync", "push", diego, *common[:1], "narrow", *common[2:]])
    assert narrow.exit_code == 2, narrow.output
    assert "answered 403" in narrow.output and "Traceback" not in narrow.output


def test_push_does_not_overwrite_what_the_partner_changed_unless_forced(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    remote = _remote(partner, partner_key[0])
    state = SyncState(tmp_path / "state.json", remote.base, "cjaad")
    diego = _diego(local_app)
    engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    goal_key = next(k for k in state.data["ids"] if k.startswith("Goal/"))
    theirs = _partner_get(partner, state.data["ids"][goal_key])
    theirs["lifecycleStatus"] = "on-hold"
    _partner_put(partner, theirs)
    changed = _partner_get(partner, state.data["ids"][goal_key])["meta"]["versionId"]

    with pytest.raises(engine.SyncFailed) as stopped:
        engine.push(local, remote, state, [diego], IDENTIFIER_SYSTEM)
    assert "the partner changed 1 resource(s) of this person (Goal)" in str(stopped.value)
    assert _partner_get(partner, state.data["ids"][goal_key])["meta"]["versionId"] == changed

    forced = engine.push(local, remote, state, [], IDENTIFIER_SYSTEM, force=True)
    assert (forced.resumed, forced.updated) == (0, 1)
    again = _partner_get(partner, state.data["ids"][goal_key])
    assert again["lifecycleStatus"] == local.read(*goal_key.split("/"))["lifecycleStatus"]


def test_bearer_token_and_refused_credentials(
        local_app: Any, partner: PartnerServer, partner_key: Any, tmp_path: Path) -> None:
    """A static bearer token works too; refused credentials stop the run with the partner's
    status, never echoing a token or an assertion; two runs never share the state file."""
    local = LocalStore.for_client(local_app, "cjaad")
    diego = _diego(local_app)
    token = _partner_token(partner)
    bearer = Remote(partner.base, auth="bearer", bearer_token=token)
    state = SyncState(tmp_path / "state.json", bearer.base, "cjaad")
    assert engine.push(local, bearer, state, [diego], IDENTIFIER_SYSTEM).persons == 1

    wrong = Remote(partner.base, auth="bearer", bearer_token=token[:-4] + "AAAA")
    with pytest.raises(engine.SyncFailed) as failed:
        engine.push(local, wrong, state, [diego], IDENTIFIER_SYSTEM)
    assert "answered 401" in str(failed.value) and token[:-4] not in str(failed.value)

    other_key = tmp_path / "other-key.pem"
    other_key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                          .private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    smart = _remote(partner, other_key)  # a key the partner does not know
    with pytest.raises(engine.SyncFailed) as refused:
        engine.pull(local, smart, state, [], IDENTIFIER_SYSTEM)
    assert "token endpoint refused the client assertion (401 invalid_client)" in \
        str(refused.value)
    with state.locked():
        assert state.data["pull_run"] is not None  # (resumed by the next pull)
        with pytest.raises(StateBusy):
            engine.push(local, bearer, SyncState(state.path, bearer.base, "cjaad"), [diego],
                        IDENTIFIER_SYSTEM)
    assert engine.pull(local, bearer, state, [], IDENTIFIER_SYSTEM).refused == []


# --- against a real HAPI FHIR JPA server (marker jvm) ---------------------------------------


def _hapi_get(base: str, path: str, **params: str) -> Any:
    resp = requests.get(f"{base}/{path}", params=params, timeout=60,
                        headers={"Accept": "application/fhir+json"})
    assert resp.status_code == 200, resp.text[:300]
    return resp.json()


def _hapi_put(base: str, path: str, resource: dict[str, Any]) -> Any:
    resp = requests.put(f"{base}/{path}", data=fhir.dumps(resource), timeout=60,
                        headers={"Content-Type": "application/fhir+json",
                                 "Accept": "application/fhir+json"})
    assert resp.status_code in (200, 201), resp.text[:500]
    return resp.json()


@pytest.fixture
def hapi(hapi_base_url: str) -> Remote:  # noqa: F811  (the fixture imported above)
    """The session's HAPI server, emptied for this test (the demo's identifiers are fixed)."""
    expunge_everything(hapi_base_url)
    return Remote(hapi_base_url, auth="none", timeout=(10.0, 300.0))


def test_hapi_accepts_every_push_reads_back_equal_and_a_second_push_changes_nothing(
        local_app: Any, hapi: Remote, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    state = SyncState(tmp_path / "state.json", hapi.base, "cjaad")
    diego, other = _diego(local_app), _second_person(local_app)
    plans = {p: engine.collect(local, p) for p in (diego, other)}
    report = engine.push(local, hapi, state, [diego, other], IDENTIFIER_SYSTEM)
    distinct = {k for plan in plans.values() for k in plan}
    assert report.persons == 2 and report.created == len(distinct)
    assert report.updated + report.unchanged == sum(map(len, plans.values())) - len(distinct)
    with state.locked():
        ids = dict(state.data["ids"])
    assert set(ids) == distinct
    reverse = {t: m for m, t in ids.items()}
    versions = {}
    for mine, theirs in ids.items():
        copy = _hapi_get(hapi.base, theirs)
        versions[mine] = copy["meta"]["versionId"]
        ours = next(plan[mine] for plan in plans.values() if mine in plan)
        back = inbound(copy, mine, IDENTIFIER_SYSTEM, reverse.get, hapi.base, ours)
        assert comparable(back) == comparable(ours), mine.split("/")[0]
    # found there by the business identifiers, references resolved by HAPI
    patient = _hapi_get(hapi.base, "Patient", identifier="|".join(DIEGO_INS))["entry"]
    assert [e["resource"]["id"] for e in patient] == [ids[f"Patient/{diego}"].split("/")[1]]
    goals = _hapi_get(hapi.base, "Goal", patient=ids[f"Patient/{diego}"], _count="100")
    assert len(goals["entry"]) == sum(k.startswith("Goal/") for k in plans[diego])

    again = engine.push(local, hapi, state, [diego, other], IDENTIFIER_SYSTEM)
    assert (again.created, again.updated) == (0, 0)
    assert {m: _hapi_get(hapi.base, t)["meta"]["versionId"] for m, t in ids.items()} == versions


def test_hapi_changes_come_back_with_pull(local_app: Any, hapi: Remote, tmp_path: Path) -> None:
    local = LocalStore.for_client(local_app, "cjaad")
    state = SyncState(tmp_path / "state.json", hapi.base, "cjaad")
    diego = _diego(local_app)
    engine.push(local, hapi, state, [diego], IDENTIFIER_SYSTEM)
    first = engine.pull(local, hapi, state, [], IDENTIFIER_SYSTEM)
    assert (first.created, first.updated, first.refused) == (0, 0, [])
    ids = dict(state.data["ids"])
    goal_key = next(k for k in ids if k.startswith("Goal/"))
    goal = _hapi_get(hapi.base, ids[goal_key])
    goal["lifecycleStatus"] = "completed"  # (our profile: then achievementStatus is required)
    goal["achievementStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": "achieved"}]}
    _hapi_put(hapi.base, ids[goal_key], goal)
    added = {"resourceType": "Goal", "lifecycleStatus": "proposed",
             "description": {"text": "Objectif proposé par le partenaire"},
             "subject": {"reference": ids[f"Patient/{diego}"]}}
    resp = requests.post(f"{hapi.base}/Goal", data=fhir.dumps(added), timeout=60,
                         headers={"Content-Type": "application/fhir+json"})
    assert resp.status_code == 201, resp.text[:300]
    hapi_goal = resp.json()

    report = engine.pull(local, hapi, state, [], IDENTIFIER_SYSTEM)
    assert (report.updated, report.created, report.refused) == (1, 1, [])
    assert local.read(*goal_key.split("/"))["lifecycleStatus"] == "completed"
    url = f"{hapi.base}/Goal/{hapi_goal['id']}"
    new = local.by_identifier("Goal", "urn:ietf:rfc:3986", url)
    assert len(new) == 1 and new[0]["subject"] == {"reference": f"Patient/{diego}"}
    assert new[0]["description"] == added["description"]

    # pushed back: the partner's goal is written by id (it gains its identifier), no copy;
    # the completed goal changes there only if our narrative, generated anew, describes it
    back = engine.push(local, hapi, state, [diego], IDENTIFIER_SYSTEM)
    narrated = generated_text(local.read(*goal_key.split("/")))
    assert (back.created, back.updated) == (0, 2 if narrated else 1)
    there = _hapi_get(hapi.base, f"Goal/{hapi_goal['id']}")
    assert there["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": url}]
    total = _hapi_get(hapi.base, "Goal", patient=ids[f"Patient/{diego}"], _summary="count")
    assert total["total"] == sum(k.startswith("Goal/") for k in ids) + 1
    quiet = engine.pull(local, hapi, state, [], IDENTIFIER_SYSTEM)
    assert (quiet.created, quiet.updated, quiet.refused) == (0, 0, [])
    assert engine.push(local, hapi, state, [diego], IDENTIFIER_SYSTEM).updated == 0


def test_hapi_a_failed_push_resumes(local_app: Any, hapi: Remote, tmp_path: Path) -> None:
    """HAPI refuses the second person's transaction (two records there carry its identifier:
    the conditional PUT matches both); once the partner has merged them, the push resumes
    with that person only."""
    local = LocalStore.for_client(local_app, "cjaad")
    state = SyncState(tmp_path / "state.json", hapi.base, "cjaad")
    diego, other = _diego(local_app), _second_person(local_app)
    twin = {"resourceType": "Patient", "identifier": [
        {"system": "https://ids.exemple-ghu-psy.fr/cjaad", "value": "IPP-SYNC-2"}]}
    created = [requests.post(f"{hapi.base}/Patient", data=fhir.dumps(twin), timeout=60,
                             headers={"Content-Type": "application/fhir+json"}).json()["id"]
               for _ in range(2)]
    with pytest.raises(engine.SyncFailed) as failed:
        engine.push(local, hapi, state, [diego, other], IDENTIFIER_SYSTEM)
    assert "412" in str(failed.value) or "409" in str(failed.value) or "400" in str(failed.value)
    with state.locked():
        assert state.data["push_run"]["done"] == [diego]
    resp = requests.delete(f"{hapi.base}/Patient/{created[1]}", timeout=60)
    assert resp.status_code in (200, 204), resp.text[:300]

    resumed = engine.push(local, hapi, state, [], IDENTIFIER_SYSTEM)
    assert (resumed.resumed, resumed.persons) == (1, 1)
    with state.locked():
        assert state.data["ids"][f"Patient/{other}"] == f"Patient/{created[0]}"
        assert state.data["push_run"] is None
