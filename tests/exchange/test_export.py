"""Bulk Data $export: the files hold exactly what searches through the door show the
requester, for two structures that accompany different people (system, Patient and Group
level); every line parses and validates; the status and files are the requester's only
(another client gets the answer of an unknown job, byte for byte); cancellation and expiry
remove the files; bad kick-offs are refused with an OperationOutcome naming the parameter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from fhir_service import fhir
from fhir_service.export import selection
from fhir_service.export.jobs import Exports
from fhir_service.interactions.common import validate_resource
from fhir_service.operations.export import exports_of
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes
from tests.exchange.records import routers, world
from tests.exchange.test_everything import DIRECTORY, searched
from tests.security.test_access_matrix import call, principal, put


@pytest.fixture
def router_factory(make_context: Any, tmp_path: Any) -> Iterator[Callable[..., Router]]:
    yield from routers(make_context, tmp_path)


Answer = tuple[int, Any, dict[str, str]]


def request(router: Router, who: Principal | None, method: str, path: str,
            headers: dict[str, str] | None = None) -> Answer:
    """(status, body: parsed JSON, raw bytes of a file, or None; headers)."""
    route, _, query = path.partition("?")
    req = FhirRequest(method, [s for s in route.split("/") if s],
                      query=parse_qsl(query, keep_blank_values=True),
                      headers={k.lower(): v for k, v in (headers or {}).items()},
                      base_url="http://test/fhir", principal=who)
    try:
        resp = router.handle(req)
    except FhirError as exc:
        return exc.status, exc.outcome(), dict(exc.headers)
    body = resp.body
    if body is not None and not isinstance(body, (bytes, dict)):
        return resp.status, b"".join(body), resp.headers
    if isinstance(body, bytes):
        body = orjson.loads(body)
    return resp.status, body, resp.headers


ASYNC = {"Prefer": "respond-async"}


def start(router: Router, who: Principal | None, path: str) -> str:
    status, body, headers = request(router, who, "GET", path, ASYNC)
    assert status == 202, body
    location = headers["Content-Location"]
    assert location.startswith("http://test/fhir/$export/status/")
    return location.rsplit("/", 1)[1]


def finish(router: Router, who: Principal | None, job: str) -> dict[str, Any]:
    assert exports_of(router.ctx).wait(job, 60)
    status, manifest, headers = request(router, who, "GET", f"$export/status/{job}")
    assert status == 200, manifest
    assert headers["Content-Type"] == "application/json" and "Expires" in headers
    return dict(manifest)


def local(url: str) -> str:
    return urlsplit(url).path.removeprefix("/fhir/")


def contents(router: Router, who: Principal | None,
             manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every resource of the output files, each line parsed and validated by the server's
    own validation (structure, base R4 and claimed profiles)."""
    found: dict[str, dict[str, Any]] = {}
    for item in manifest["output"]:
        status, raw, headers = request(router, who, "GET", local(item["url"]))
        assert status == 200 and headers["Content-Type"] == "application/fhir+ndjson"
        assert raw.endswith(b"\n")
        lines = raw.split(b"\n")[:-1]
        assert len(lines) == item["count"]
        for line in lines:
            resource = fhir.loads(line)
            assert resource["resourceType"] == item["type"]
            validate_resource(router.ctx, resource)  # raises FhirError if invalid
            key = f"{resource['resourceType']}/{resource['id']}"
            assert key not in found
            found[key] = resource
    return found


def search_all(router: Router, who: Principal, rtype: str) -> set[str]:
    keys: set[str] = set()
    path = f"{rtype}?_count=1000"
    while path:
        status, body = call(router, who, "GET", path)
        assert status == 200, body
        keys |= {f"{e['resource']['resourceType']}/{e['resource']['id']}"
                 for e in body.get("entry", [])}
        nxt = [link["url"] for link in body["link"] if link["relation"] == "next"]
        path = ""
        if nxt:
            path = local(nxt[0]) + "?" + urlsplit(nxt[0]).query
    return keys


def group(router: Router) -> None:
    """Group g-01 of p0 and p1 (which org-0 accompanies)."""
    members = [{"entity": {"reference": f"Patient/p{n}"}} for n in (0, 1)]
    status, body = call(router, None, "POST", "", {"resourceType": "Bundle",
                        "type": "transaction", "entry": [put({
                            "resourceType": "Group", "id": "g-01", "type": "person",
                            "actual": True, "member": members})]})
    assert status == 200, body


def test_exports_hold_what_searches_show_the_requester(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    group(router)
    check_exports(router)


def check_exports(router: Router) -> None:
    ctx = router.ctx
    for org, people in (("org-0", ("p0", "p1")), ("org-1", ("p2", "p3"))):
        who = principal(org)
        # system level: every type, as searches show them
        manifest = finish(router, who, start(router, who, "$export"))
        assert manifest["requiresAccessToken"] is True and manifest["error"] == []
        assert manifest["request"] == "http://test/fhir/$export"
        exported = set(contents(router, who, manifest))
        expected = set().union(*(search_all(router, who, t) for t in ctx.params.types()))
        assert exported == expected, org
        assert not any(k.endswith(tuple(f"/{p}" for p in ("p0", "p1", "p2", "p3")
                                        if p not in people)) for k in exported)
        # Patient level: the data of every person the structure accompanies
        manifest = finish(router, who, start(router, who, "Patient/$export"))
        exported = set(contents(router, who, manifest))
        person_data = set().union(*(searched(router, who, p) for p in people))
        assert exported == {k for k in person_data if k.split("/")[0] not in DIRECTORY}, org
        if org == "org-0":
            assert "Task/task-p0-p2" not in exported and "Task/task-p0" in exported
            assert "Group/g-01" in exported  # (a group of people is their data)
    # Group level: its members' data; a group of people org-1 does not see is not known
    who = principal("org-0")
    manifest = finish(router, who, start(router, who, "Group/g-01/$export?_type=Goal,Patient"))
    assert set(contents(router, who, manifest)) == {
        "Patient/p0", "Patient/p1", "Goal/goal-p0", "Goal/goal-p1", "Goal/goal-ep-p0",
        "Goal/goal-org0"}
    outsider = principal("org-1")
    hidden = request(router, outsider, "GET", "Group/g-01/$export", ASYNC)
    missing = request(router, outsider, "GET", "Group/g-00/$export", ASYNC)
    assert hidden[0] == 404
    assert fhir.dumps(hidden[1]).replace(b"g-01", b"g-00") == fhir.dumps(missing[1])


def test_since_and_type_and_scopes(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    who = principal("org-0")
    goal = call(router, who, "GET", "Goal/goal-org0")[1]
    since = goal["meta"]["lastUpdated"]
    goal["lifecycleStatus"] = "active"
    assert call(router, who, "PUT", "Goal/goal-org0", goal)[0] == 200
    manifest = finish(router, who, start(router, who, f"$export?_type=Goal,CarePlan"
                                                      f"&_since={since}"))
    assert set(contents(router, who, manifest)) == {"Goal/goal-org0"}
    # without _type: only the types the token may read; naming another one is refused
    narrow = Principal("client-org-0", structure="org-0",
                       scopes=Scopes.parse("system/Goal.rs system/Patient.r"))
    manifest = finish(router, narrow, start(router, narrow, "Patient/$export"))
    assert {item["type"] for item in manifest["output"]} == {"Goal", "Patient"}
    status, body, _ = request(router, narrow, "GET", "$export?_type=Goal,CarePlan", ASYNC)
    assert status == 403 and body["issue"][0]["expression"] == ["_type"]
    assert "CarePlan" in body["issue"][0]["diagnostics"]
    nothing = Principal("client-org-0", structure="org-0", scopes=Scopes.parse(""))
    assert request(router, nothing, "GET", "$export", ASYNC)[0] == 403


def test_bad_kickoffs_are_refused_with_an_outcome(router_factory: Any) -> None:
    router = router_factory()
    who = principal("org-0")
    status, body, _ = request(router, who, "GET", "$export")  # no Prefer: respond-async
    assert status == 400 and body["resourceType"] == "OperationOutcome"
    for query, expression in (("_outputFormat=text/csv", "_outputFormat"),
                              ("_typeFilter=Goal%3Fstatus%3Dactive", "_typeFilter"),
                              ("_elements=id", "_elements"), ("patient=Patient/p0", "patient"),
                              ("_type=Nope", "_type"), ("_since=yesterday", "_since")):
        status, body, _ = request(router, who, "GET", f"$export?{query}", ASYNC)
        assert status == 400, query
        assert body["issue"][0]["expression"] == [expression], query
    assert request(router, who, "POST", "$export", ASYNC)[0] == 405
    # the three accepted output formats
    for fmt in ("application/fhir+ndjson", "application/ndjson", "ndjson"):
        finish(router, who, start(router, who, f"$export?_type=Goal&_outputFormat={fmt}"))
    # handling=lenient: ignored, and said so in the manifest's error file
    status, _, headers = request(router, who, "GET", "$export?_type=Goal&_typeFilter=x",
                                 {"Prefer": "respond-async, handling=lenient"})
    assert status == 202
    manifest = finish(router, who, headers["Content-Location"].rsplit("/", 1)[1])
    [error] = manifest["error"]
    status, raw, _ = request(router, who, "GET", local(error["url"]))
    outcome = fhir.loads(raw.splitlines()[0])
    assert outcome["issue"][0]["expression"] == ["_typeFilter"]


def test_another_client_gets_the_answer_of_an_unknown_job(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    owner = principal("org-0")
    job = start(router, owner, "$export?_type=Goal,Patient")
    manifest = finish(router, owner, job)
    files = [local(item["url"]) for item in manifest["output"]]
    assert files
    unknown = "0123456789abcdef0123456789abcdef"
    same_structure = Principal("another-client", structure="org-0",
                               scopes=Scopes.parse("system/*.cruds"))
    for who in (principal("org-1"), same_structure, principal("org-2")):
        for method, path in [("GET", f"$export/status/{job}"),
                             ("DELETE", f"$export/status/{job}"),
                             *[("GET", f) for f in files]]:
            theirs = request(router, who, method, path)
            none = request(router, who, method, path.replace(job, unknown))
            assert theirs[0] == 404, (method, path)
            assert fhir.dumps(theirs[1]).replace(job.encode(), unknown.encode()) == \
                fhir.dumps(none[1])
    # the owner still has everything; each download is audited under the people whose
    # data the file holds (AuditEvent?patient=), and only them
    auditor = Principal("auditor", scopes=Scopes.parse("system/*.rs"), operator=True)

    def audited(pid: str) -> int:
        return int(call(router, auditor, "GET", f"AuditEvent?patient={pid}&_summary=count")[1]
                   ["total"])

    before = {pid: audited(pid) for pid in ("p0", "p1", "p2")}
    assert request(router, owner, "GET", f"$export/status/{job}")[0] == 200
    for path in files:
        assert request(router, owner, "GET", path)[0] == 200
    after = {pid: audited(pid) for pid in ("p0", "p1", "p2")}
    assert after["p0"] == before["p0"] + len(files) and after["p1"] == before["p1"] + len(files)
    assert after["p2"] == before["p2"]
    # a token of the owner that may no longer read an exported type is refused
    narrower = Principal("client-org-0", structure="org-0", scopes=Scopes.parse(
        "system/Goal.rs"))
    assert request(router, narrower, "GET", f"$export/status/{job}")[0] == 403


def test_cancel_removes_the_job_and_its_files(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    who = principal("org-0")
    exports = exports_of(router.ctx)
    # a finished export: its files go
    job = start(router, who, "$export")
    finish(router, who, job)
    folder = exports.store.folder(job)
    assert any(folder.glob("*.ndjson"))
    status, body, _ = request(router, who, "DELETE", f"$export/status/{job}")
    assert status == 202 and body["resourceType"] == "OperationOutcome"
    assert not folder.exists()
    assert request(router, who, "GET", f"$export/status/{job}")[0] == 404
    # a queued one (every export slot taken): cancelled before it starts, it writes nothing
    taken = [exports.slots.acquire(timeout=5) for _ in range(router.ctx.settings.export_workers)]
    assert all(taken)
    try:
        job = start(router, who, "$export")
        status, body, headers = request(router, who, "GET", f"$export/status/{job}")
        assert status == 202 and body is None
        assert headers["X-Progress"] == "queued" and headers["Retry-After"].isdigit()
        assert request(router, who, "DELETE", f"$export/status/{job}")[0] == 202
    finally:
        for _ in taken:
            exports.slots.release()
    assert exports.wait(job, 30)
    assert not exports.store.folder(job).exists()
    assert not [p for p in exports.store.root.iterdir() if p.name.startswith(".removed-")]


def test_cancel_while_running_stops_the_job(router_factory: Any, monkeypatch: Any) -> None:
    router = router_factory()
    world(router)
    who = principal("org-0")
    exports = exports_of(router.ctx)
    reading, go_on = threading.Event(), threading.Event()
    real = selection.export_page

    def paused(*args: Any, **kwargs: Any) -> Any:
        page = real(*args, **kwargs)
        if page:  # the job holds a page to write: it is running
            reading.set()
            assert go_on.wait(30)
        return page

    monkeypatch.setattr(selection, "export_page", paused)
    job = start(router, who, "$export")
    assert reading.wait(30)
    folder = exports.store.folder(job)
    assert folder.exists()
    status, _, headers = request(router, who, "GET", f"$export/status/{job}")
    assert status == 202 and headers["X-Progress"].startswith("started")
    assert request(router, who, "DELETE", f"$export/status/{job}")[0] == 202
    go_on.set()
    assert exports.wait(job, 30)
    assert not folder.exists()
    assert not [p for p in exports.store.root.iterdir() if p.name.startswith(".removed-")]
    assert request(router, who, "GET", f"$export/status/{job}")[0] == 404


def test_expired_exports_are_removed(router_factory: Any) -> None:
    router = router_factory(export_expiry_seconds=600)
    world(router)
    who = principal("org-0")
    exports = exports_of(router.ctx)
    first = start(router, who, "$export?_type=Goal")
    files = [local(i["url"]) for i in finish(router, who, first)["output"]]
    second = start(router, who, "$export?_type=Patient")
    finish(router, who, second)
    # the periodic sweep, 10 minutes later: the first is gone, files and status
    record = exports.store.load(first)
    assert record is not None
    assert exports.store.sweep(float(record["expires"]) + 1) >= 1
    assert not exports.store.folder(first).exists()
    assert request(router, who, "GET", f"$export/status/{first}")[0] == 404
    assert request(router, who, "GET", files[0])[0] == 404
    # the clean-up at start: a process starting after the expiry removes the second
    later = Exports(router.ctx.settings, clock=lambda: time.time() + 601)
    assert later.store.root == exports.store.root
    assert not exports.store.folder(second).exists()


def test_over_http_the_files_stream_to_their_client_only(make_context: Any,
                                                         tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from tests.security.conftest import bearer, mint

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys",
                       export_dir=str(tmp_path / "export"))
    app = create_app(ctx.settings, ctx)
    world(app.state.router)
    security = app.state.security
    security.clients.add("cmp", "CMP", "org-0", None, "system/*.rs")
    security.clients.add("other", "Other", "org-1", None, "system/*.rs")
    with TestClient(app, base_url="http://test") as client:
        mine = bearer(mint(app, "cmp", "system/*.rs"))
        theirs = bearer(mint(app, "other", "system/*.rs"))
        answer = client.get("/fhir/$export?_type=Goal", headers={**mine, **ASYNC})
        assert answer.status_code == 202, answer.text
        status_url = answer.headers["content-location"]
        job = status_url.rsplit("/", 1)[1]
        assert exports_of(ctx).wait(job, 60)
        polled = client.get(status_url, headers=mine)
        assert polled.status_code == 200
        [item] = polled.json()["output"]
        got = client.get(item["url"], headers=mine)
        assert got.status_code == 200
        assert got.headers["content-type"] == "application/fhir+ndjson"
        ids = sorted(fhir.loads(line)["id"] for line in got.content.splitlines())
        assert ids == ["goal-ep-p0", "goal-org0", "goal-p0", "goal-p1"]
        unknown = "f" * 32
        for url in (status_url, item["url"]):
            other = client.get(url, headers=theirs)
            none = client.get(url.replace(job, unknown), headers=theirs)
            assert other.status_code == none.status_code == 404
            assert other.content.replace(job.encode(), unknown.encode()) == none.content
        assert client.get(item["url"]).status_code == 401  # no token, no file
        exports_of(ctx).close()


def test_any_worker_process_answers_for_any_job(make_context: Any, tmp_path: Any) -> None:
    """Two services on one database and one export directory, as two worker processes: the
    job one accepted is polled, downloaded and cancelled through the other (no memory
    shared: the state is job.json)."""
    from fhir_service.operations import install_all

    db = f"sqlite:///{tmp_path / 'shared.db'}"
    workers = []
    for _ in range(2):
        router = Router(make_context(db, audit=False, export_dir=str(tmp_path / "export")))
        install_all(router)
        workers.append(router)
    first, second = workers
    assert exports_of(first.ctx) is not exports_of(second.ctx)
    world(first)
    who = principal("org-0")
    job = start(first, who, "$export?_type=Goal")
    assert exports_of(first.ctx).wait(job, 60)
    manifest = finish(second, who, job)
    assert manifest == finish(first, who, job)
    assert len(contents(second, who, manifest)) == 4
    assert request(second, who, "DELETE", f"$export/status/{job}")[0] == 202
    assert request(first, who, "GET", f"$export/status/{job}")[0] == 404
    # a job whose process ended (its heartbeat stopped) answers as failed, then is swept
    exports = exports_of(second.ctx)
    dead = exports.store.create({"owner": {"client": who.client_id, "structure": "org-0"},
                                 "status": "in-progress", "heartbeat": time.time() - 3600,
                                 "types": ["Goal"], "request": "x", "progress": "1 written"})
    status, body, _ = request(first, who, "GET", f"$export/status/{dead}")
    assert status == 500 and "start a new one" in body["issue"][0]["diagnostics"]
    assert exports.sweep() == 1 and not exports.store.folder(dead).exists()
    for router in workers:
        router.close()



def test_everything_and_exports_on_postgresql(make_context: Any, pg_server: str,
                                              tmp_path: Any) -> None:
    from fhir_service.operations import install_all
    from tests.exchange.test_everything import walk
    from tests.pg import fresh_database
    from tests.security.test_trust import same

    db = fresh_database(pg_server, f"cmfhir_export_{time.time_ns()}")
    router = Router(make_context(db, audit=True, provenance=True,
                                 audit_journal=str(tmp_path / "journal"),
                                 export_dir=str(tmp_path / "export")))
    install_all(router)
    assert router.ctx.repository.engine.dialect.name == "postgresql"
    try:
        world(router)
        group(router)
        check_exports(router)
        for org, pid, hidden in (("org-0", "p0", "p2"), ("org-1", "p3", "p1")):
            who = principal(org)
            keys = walk(router, who, f"Patient/{pid}/$everything?_count=5")[0]
            assert set(keys) == searched(router, who, pid)
            assert same(call(router, who, "GET", f"Patient/{hidden}/$everything"),
                        call(router, who, "GET", "Patient/nobody/$everything"),
                        hidden=hidden, missing="nobody")
    finally:
        for job_id, _ in list(exports_of(router.ctx).store.jobs()):
            exports_of(router.ctx).wait(job_id, 30)
        router.close()


def test_hostile_inputs_get_an_outcome_never_a_crash(router_factory: Any) -> None:
    router = router_factory()
    world(router)
    who = principal("org-0")
    job = start(router, who, "$export?_type=Goal")
    finish(router, who, job)
    paths = [
        "Patient/p0/$everything?_count=-1", "Patient/p0/$everything?_count=99999999999999",
        "Patient/p0/$everything?_since=2020-02-30T00:00:00Z",
        "Patient/p0/$everything?_since=9999-99-99T99:99:99Z", "Patient/p0/$everything?_type=,,",
        "Patient/p0/$everything?_snapshot=-3", "Patient/%00/$everything",
        "Patient/" + "x" * 300 + "/$everything", "EpisodeOfCare/ep-p0/$everything?_type=Goal%00",
        "$export/status", "$export/status/" + "a" * 2000, "$export/status/../../etc/passwd",
        f"$export/status/{job}/more", f"$export/files/{job}", f"$export/files/{job}/job.json",
        f"$export/files/{job}/..%2Fjob.json", f"$export/files/{job}/Goal-1.ndjson/x",
        f"$export/files/{job}/Goal-99.ndjson", "$export/nope", "Group/%20/$export",
    ]
    for path in paths:
        for method in ("GET", "DELETE", "PUT"):
            status, body, _ = request(router, who, method, path, ASYNC)
            assert 400 <= status < 500, (method, path, status)
            assert body["resourceType"] == "OperationOutcome" and body["issue"], (method, path)
    # a cursor past everything: an empty page
    status, body, _ = request(router, who, "GET",
                              "Patient/p0/$everything?_cursor=99999999999999999999999")
    assert status == 200 and "entry" not in body and body["total"] > 0
    for query in ("_since=2020-01-01T00:00:00%2B14:00", "_type=Goal&_type=Goal"):
        finish(router, who, start(router, who, f"$export?{query}"))
    assert request(router, who, "GET", f"$export/status/{job}")[0] == 200  # (untouched)
