"""What a newcomer meets first: ``cm-fhir validate --ig`` with a partner's loose files, the
``serve`` output and help, progress bars, loading the guide's examples, the
CapabilityStatement, ``fhirVersion`` negotiation, the token endpoint and token lifetimes."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from fhir_service.cli import app

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "newcomer"
IG = ROOT / "profiles" / "fsh-generated" / "resources"
CASEFILES = ROOT / "mappings" / "examples"
PARTNER = "http://partner.example/fhir/StructureDefinition/"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TOKEN_URL = "http://test/auth/token"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _patient(tmp_path: Path, name: str = "p.json", **content: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"resourceType": "Patient", "meta": {"profile": [
        PARTNER + "partner-patient", PARTNER + "partner-patient-xml"]}, **content}))
    return path


def _issues(result: Any) -> list[str]:
    (entry,) = json.loads(result.stdout)
    return [i.get("diagnostics", "") for i in entry["outcome"]["issue"]
            if i["severity"] in ("error", "fatal")]


@pytest.fixture
def secure(make_context: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    application = create_app(ctx.settings, ctx)
    with TestClient(application, base_url="http://test") as client:
        yield application, client


@pytest.fixture
def open_client(make_context: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    ctx = make_context(auth="off")
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as client:
        yield client


def _register(application: Any) -> Any:
    from tests.security.conftest import ClientKey

    key = ClientKey()
    application.state.security.clients.add("partner", "Partner", None, None, "system/*.rs",
                                           jwks=key.jwks())
    return key


def _token_request(client: Any, key: Any, scope: str) -> Any:
    return client.post("/auth/token", data={
        "grant_type": "client_credentials", "scope": scope, "client_assertion_type": ASSERTION,
        "client_assertion": key.assertion("partner", TOKEN_URL)})


# --- 1. validate --ig: loose JSON and XML conformance files and folders -----------------------

def test_validate_with_a_loose_structure_definition_file(tmp_path: Path) -> None:
    runner = CliRunner()
    ig = str(HERE / "ig-json" / "StructureDefinition-partner-patient.json")
    bad = runner.invoke(app, ["validate", "--ig", ig, "--format", "json",
                              str(_patient(tmp_path))])
    assert bad.exit_code == 1, bad.output
    assert "Traceback" not in bad.output
    assert any("Patient.gender" in d and "partner-patient)" in d for d in _issues(bad))
    ok = runner.invoke(app, ["validate", "--ig", ig, "--format", "json",
                             str(_patient(tmp_path, gender="female"))])
    # the XML profile is not loaded: the claim is reported, but not as an error
    assert ok.exit_code == 0, ok.output


def test_validate_with_a_folder_of_xml_conformance_files(tmp_path: Path) -> None:
    """A folder without package.json, holding a FHIR XML StructureDefinition and a JSON file
    that is no FHIR resource (skipped), is loaded as the HL7 validator's -ig loads one."""
    runner = CliRunner()
    folder = tmp_path / "partner"
    shutil.copytree(HERE / "ig-xml", folder)
    result = runner.invoke(app, ["validate", "--ig", str(folder), "--ig",
                                 str(HERE / "ig-json"), "--format", "json",
                                 str(_patient(tmp_path))])
    assert result.exit_code == 1, result.output
    issues = _issues(result)
    assert any("Patient.birthDate" in d and "partner-patient-xml)" in d for d in issues)
    assert any("Patient.gender" in d for d in issues)
    ok = runner.invoke(app, ["validate", "--ig", str(folder / "StructureDefinition-partner-"
                                                         "patient.xml"),
                             "--ig", str(HERE / "ig-json"),
                             str(_patient(tmp_path, gender="male", birthDate="2001-02-03"))])
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("kind", ["missing", "not json", "junk tgz", "a patient", "empty folder",
                                  "broken xml"])
def test_validate_with_a_bad_ig_says_why_in_one_line(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "ig"
    if kind == "not json":
        target = tmp_path / "StructureDefinition-x.json"
        target.write_text("{not json")
    elif kind == "junk tgz":
        target = tmp_path / "package.tgz"
        target.write_bytes(b"not a gzip file")
    elif kind == "a patient":
        target = _patient(tmp_path, "Patient-x.json")
    elif kind == "empty folder":
        target.mkdir()
    elif kind == "broken xml":
        target = tmp_path / "StructureDefinition-x.xml"
        target.write_text('<StructureDefinition xmlns="http://hl7.org/fhir"><id value="x"/>')
    result = CliRunner().invoke(app, ["validate", "--ig", str(target),
                                      str(_patient(tmp_path))])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in _plain(result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert target.name in lines[0]


def test_validate_bad_input_files_never_crash(tmp_path: Path) -> None:
    for name, content in {"list.json": "[]", "empty.json": "", "nul.json": "null",
                          "type.json": '{"resourceType": 5}', "x.xml": "<a/>",
                          "bin.json": "\udcff"}.items():
        (tmp_path / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(json.loads(result.stdout)) == 6
    nothing = CliRunner().invoke(app, ["validate", str(tmp_path / "void")])
    assert nothing.exit_code == 1 and "Cannot read the file" in nothing.output


# --- 2. serve: the "Try:" lines, the help; README ---------------------------------------------

def test_serve_try_lines_are_whole_and_the_demo_token_follows_the_setting(
        make_context: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import sys

    import uvicorn

    import fhir_service.context

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda application, **kw: served.append(application))
    monkeypatch.setattr(gc, "freeze", lambda: None)
    monkeypatch.setattr(sys, "setswitchinterval", lambda _interval: None)
    monkeypatch.setattr(fhir_service.context, "build_context", lambda settings: make_context(
        url=settings.database_url, auth=settings.auth, demo=settings.demo,
        keys_dir=settings.keys_dir, token_minutes=settings.token_minutes))
    env = {"CM_FHIR_KEYS_DIR": str(tmp_path / "keys"), "CM_FHIR_DEMO": None,
           "CM_FHIR_AUTH": None, "CM_FHIR_TOKEN_MINUTES": "15", "COLUMNS": "40"}
    result = CliRunner().invoke(app, ["serve", "--port", "8099", "--database",
                                      f"sqlite:///{tmp_path / 'serve.db'}"], env=env)
    assert result.exit_code == 0, result.output
    assert served
    token = result.stdout.strip()
    assert token.startswith("ey") and "\n" not in token  # the one line on standard output
    lines = result.stderr.splitlines()
    assert f"  export TOKEN={token}" in lines, result.stderr
    assert '  export H="Authorization: Bearer $TOKEN"' in lines
    assert "  curl -H \"$H\" 'http://127.0.0.1:8099/fhir/CarePlan?_include=CarePlan:goal'" \
        in lines
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60  # CM_FHIR_TOKEN_MINUTES, not 8 h
    assert "valid 15 minutes" in result.stderr


@pytest.mark.parametrize("command", ["serve", "validate", "token", "load", "import"])
def test_help_never_truncates_option_names(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "50"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    if command == "serve":
        for option in ("--host", "--port", "--database", "--demo", "--no-demo",
                       "--referential-integrity", "--no-referential-integrity", "--ig",
                       "--auth", "--workers"):
            assert re.search(rf"(?<![\w-]){option}(?![\w-])", result.output), option


def test_readme_tells_a_newcomer_what_the_makefile_and_tests_do() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=" in readme
    assert "--workers" in readme
    # an example inside a shell code block
    assert re.search(r"```sh\n(?:(?! *```).*\n)*? *cm-fhir validate \S", readme)
    assert "../shared" in readme and "skipped" in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PORT ?=" in makefile and "$(PORT)" in makefile


# --- 3. progress bars: import and validate of many files --------------------------------------

def test_import_of_many_files_shows_progress_and_the_summary(
        make_context: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fhir_service.context.build_context",
                        lambda settings: make_context(settings.database_url))
    files = []
    for i in range(12):
        for src in sorted(CASEFILES.glob("*.json")):
            dest = tmp_path / f"{i:02d}-{src.name}"
            shutil.copy(src, dest)
            files.append(str(dest))
    env = {"CM_FHIR_DATABASE_URL": f"sqlite:///{tmp_path / 'import.db'}", "FORCE_COLOR": "1",
           "COLUMNS": "120"}
    result = CliRunner().invoke(app, ["import", *files], env=env)
    assert result.exit_code == 0, result.output
    err = _plain(result.stderr)
    assert f"{len(files)}/{len(files)}" in err  # the progress bar's last frame
    assert f"{len(files)} file(s) imported, 0 rejected" in err


def test_validate_of_many_files_shows_progress_and_keeps_stdout_parseable(
        tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"p{i:02d}.json").write_text(json.dumps(
            {"resourceType": "Patient", "id": f"p{i}", "active": True}))
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--format", "json"],
                                env={"FORCE_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 30
    assert "30/30" in _plain(result.stderr)
    text = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert text.exit_code == 0 and "30 file(s) validated" in text.output


# --- 4. the implementation guide's examples, loaded as documented ------------------------------

@pytest.fixture
def requests_to(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cm-fhir load`` (which uses requests) talking to a TestClient."""
    import requests

    def bind(client: Any) -> None:
        def call(method: str) -> Any:
            def send(url: str, data: bytes, headers: dict[str, str], timeout: float) -> Any:
                return client.request(method, url.replace("http://test", ""), content=data,
                                      headers=headers)
            return send
        monkeypatch.setattr(requests, "post", call("POST"))
        monkeypatch.setattr(requests, "put", call("PUT"))

    return bind


def test_ig_examples_load_as_documented(make_context: Any, requests_to: Any) -> None:
    """profiles/README.md: a server without the demo, authentication off; the transaction
    Bundles first, then any stand-alone example."""
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from fhir_service.cli import install_conformance

    doc = (ROOT / "profiles" / "README.md").read_text(encoding="utf-8")
    assert "cm-fhir serve --no-demo --auth off" in doc
    assert "Bundle-diego-transaction.json" in doc and "Bundle-nadia-transaction.json" in doc
    ctx = make_context(auth="off", demo=False, audit=True, provenance=True)
    application = create_app(ctx.settings, ctx)
    install_conformance(application)
    examples = sorted(str(p) for p in IG.glob("*.json")
                      if json.loads(p.read_text())["resourceType"] in (
                          "Patient", "Goal", "CarePlan", "CareTeam", "EpisodeOfCare"))
    with TestClient(application, base_url="http://test") as client:
        requests_to(client)
        alone = CliRunner().invoke(app, ["load", "--url", "http://test/fhir",
                                         str(IG / "Goal-diego-goal-1.json")])
        assert alone.exit_code == 1 and "does not resolve" in alone.output  # as documented
        bundles = [str(IG / "Bundle-diego-transaction.json"),
                   str(IG / "Bundle-nadia-transaction.json")]
        result = CliRunner().invoke(app, ["load", "--url", "http://test/fhir", *bundles])
        assert result.exit_code == 0, result.output
        assert "2 loaded, 0 failed" in result.output
        after = CliRunner().invoke(app, ["load", "--url", "http://test/fhir", *examples])
        assert after.exit_code == 0, after.output
        assert client.get("/fhir/CarePlan/nadia-careplan").status_code == 200
        assert client.get("/fhir/Goal/diego-goal-1").json()["id"] == "diego-goal-1"


def test_ig_examples_are_refused_to_the_demo_client_for_the_documented_reasons(
        make_context: Any, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from fhir_service.cli import demo_token, install_conformance, load_demo

    ctx = make_context(auth="embedded", keys_dir=tmp_path / "keys", audit=True,
                       provenance=True, rate_limit_per_second=0.0)
    application = create_app(ctx.settings, ctx)
    install_conformance(application)
    load_demo(application, ctx.settings)
    token, _, _ = demo_token(application)
    with TestClient(application, base_url="http://test") as client:
        h = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        for name in ("diego", "nadia"):
            bundle = json.loads((IG / f"Bundle-{name}-transaction.json").read_text())
            r = client.post("/fhir", json=bundle, headers=h)
            assert r.status_code == 403 and "Provenance" in r.text, r.text
            bundle["entry"] = [e for e in bundle["entry"]
                               if e["resource"]["resourceType"] != "Provenance"]
            r = client.post("/fhir", json=bundle, headers=h)
            # Diego: the demo holds him already (his INS); Nadia: not accompanied
            assert r.status_code == {"diego": 409, "nadia": 403}[name], r.text


# --- 5. CapabilityStatement: canonical search parameters, rest.security ------------------------

def test_capability_statement_search_parameters_are_canonical(secure: Any) -> None:
    _, client = secure
    cs = client.get("/fhir/metadata").json()
    assert "SearchParameter/example" not in json.dumps(cs)
    rest = cs["rest"][0]
    for res in rest["resource"]:
        for p in res["searchParam"]:
            if p["name"].startswith("_"):
                assert p["definition"] == \
                    f"http://hl7.org/fhir/SearchParameter/Resource-{p['name'][1:]}", p
    condition = next(r for r in rest["resource"] if r["type"] == "Condition")
    subject = next(p for p in condition["searchParam"] if p["name"] == "subject")
    assert subject["definition"] == "http://hl7.org/fhir/SearchParameter/Condition-subject"
    assert all(r.get("searchInclude", ["x"]) for r in rest["resource"])  # never []


def test_capability_statement_declares_its_security(secure: Any, open_client: Any) -> None:
    application, client = secure
    cs = client.get("/fhir/metadata").json()
    security = cs["rest"][0]["security"]
    assert security["service"][0]["coding"] == [{
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
        "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}]
    assert security["description"]
    (oauth,) = [e for e in security["extension"] if e["url"] ==
                "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"]
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    assert uris["token"] == TOKEN_URL
    smart = client.get("/fhir/.well-known/smart-configuration").json()
    assert smart["token_endpoint"] == uris["token"]
    assert smart["authorization_endpoint"] == uris["authorize"]  # practitioners' sign-in
    authorize = client.get(uris["authorize"].replace("http://test", ""))
    assert authorize.status_code == 400 and "location" not in authorize.headers  # no client
    # the statement is valid R4 (oauth-uris requires authorize and token)
    from fhir_service.conformance.validator import Validator

    issues = Validator(application.state.ctx.registry).validate(cs, [])
    # the Subscriptions Backport IG's extensions (the topics a server offers) are the only
    # ones we cannot check: that IG is published on no registry this project reaches
    backport = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    errors = [i for i in issues if i.severity in ("error", "fatal")
              and not i.diagnostics.startswith(f"The extension {backport}")]
    assert not errors, errors[:5]
    off = open_client.get("/fhir/metadata").json()["rest"][0]["security"]
    assert "OFF" in off["description"] and "service" not in off and "extension" not in off


# --- 6. fhirVersion MIME parameter --------------------------------------------------------------

@pytest.mark.parametrize(("accept", "status"), [
    ("application/fhir+json; fhirVersion=3.0", 406),
    ("application/fhir+json;fhirVersion=5.0", 406),
    ('application/fhir+json; fhirVersion="1.0"', 406),
    ("application/fhir+json; fhirVersion=4.0", 200),
    ("application/fhir+json; fhirVersion=4.0.1", 200),
    ("application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0", 200),
    ("application/fhir+json", 200),
])
def test_accept_fhir_version(open_client: Any, accept: str, status: int) -> None:
    r = open_client.get("/fhir/metadata", headers={"Accept": accept})
    assert r.status_code == status, r.text
    if status == 406:
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert "fhirVersion" in outcome["issue"][0]["diagnostics"]
    r = open_client.get("/fhir/Patient", headers={"Accept": accept})
    assert r.status_code == status


def test_format_and_content_type_fhir_version(open_client: Any) -> None:
    r = open_client.get("/fhir/metadata?_format=application/fhir%2Bjson;fhirVersion=3.0")
    assert r.status_code == 406 and r.json()["resourceType"] == "OperationOutcome"
    body = json.dumps({"resourceType": "Patient", "active": True})
    r = open_client.post("/fhir/Patient", content=body, headers={
        "Content-Type": "application/fhir+json; fhirVersion=3.0"})
    assert r.status_code == 415, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    r = open_client.post("/fhir/Patient", content=body, headers={
        "Content-Type": "application/fhir+json; fhirVersion=4.0"})
    assert r.status_code == 201, r.text


# --- 7. token endpoint --------------------------------------------------------------------------

def test_token_request_must_be_form_encoded(secure: Any) -> None:
    application, client = secure
    key = _register(application)
    form = {"grant_type": "client_credentials", "scope": "system/CarePlan.rs",
            "client_assertion_type": ASSERTION,
            "client_assertion": key.assertion("partner", TOKEN_URL)}
    r = client.post("/auth/token", json=form)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "application/x-www-form-urlencoded" in r.json()["error_description"]
    r = client.post("/auth/token", content=json.dumps(form).encode(),
                    headers={"Content-Type": ""})
    assert r.status_code == 400 and "x-www-form-urlencoded" in r.json()["error_description"]
    assert client.post("/auth/token", data=form).status_code == 200


@pytest.mark.parametrize("scope", ["user/*.rs", "patient/*.rs", "user/CarePlan.read",
                                   "system/Foo.rs", "system/CarePlan.rs system/Foo.read",
                                   "launch", "system/CarePlan.sr"])
def test_token_request_refuses_scopes_it_never_grants(secure: Any, scope: str) -> None:
    application, client = secure
    key = _register(application)
    r = _token_request(client, key, scope)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_scope"
    assert scope.split()[-1] in r.json()["error_description"]


def test_token_request_grants_system_scopes(secure: Any) -> None:
    application, client = secure
    key = _register(application)
    r = _token_request(client, key, "system/CarePlan.rs system/Goal.cruds")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "system/CarePlan.rs system/Goal.rs"  # narrowed, still system/
    r = _token_request(client, key, "system/*.read")
    assert r.status_code == 200 and r.json()["scope"] == "system/*.rs"


def test_narrowing_keeps_the_scope_context() -> None:
    from fhir_service.security.principal import Scopes

    wide = Scopes.parse("system/*.cruds")
    assert wide.narrow(Scopes.parse("user/CarePlan.rs")).raw == ("user/CarePlan.rs",)


# --- 8. token lifetimes ------------------------------------------------------------------------

def test_token_minutes(make_context: Any, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fhir_service.app.build_context", lambda settings: make_context(
        url=settings.database_url, auth=settings.auth, keys_dir=settings.keys_dir,
        token_minutes=settings.token_minutes))
    runner = CliRunner()
    env = {"CM_FHIR_DATABASE_URL": f"sqlite:///{tmp_path / 'admin.db'}",
           "CM_FHIR_KEYS_DIR": str(tmp_path / "keys"), "CM_FHIR_TOKEN_MINUTES": "7",
           "CM_FHIR_AUTH": None}
    added = runner.invoke(app, ["client", "add", "partner", "--scopes", "system/*.rs"], env=env)
    assert added.exit_code == 0, added.output
    refused = runner.invoke(app, ["client", "add", "other", "--scopes", "user/*.rs"], env=env)
    assert refused.exit_code == 2 and "user/" in refused.output

    def lifetime(result: Any) -> int:
        assert result.exit_code == 0, result.output
        claims = jwt.decode(result.stdout.strip(), options={"verify_signature": False})
        return int(claims["exp"] - claims["iat"])

    assert lifetime(runner.invoke(app, ["token", "partner"], env=env)) == 7 * 60
    assert lifetime(runner.invoke(app, ["token", "partner", "--minutes", "5"], env=env)) == 300
    for minutes in ("0", "-3"):
        zero = runner.invoke(app, ["token", "partner", "--minutes", minutes], env=env)
        assert zero.exit_code == 2, zero.output
        assert "--minutes" in zero.output and "Traceback" not in zero.output
        assert not re.search(r"eyJ[\w-]+\.", zero.output)
    for scope in ("user/*.rs", "system/Foo.rs"):
        bad = runner.invoke(app, ["token", "partner", "--scopes", scope], env=env)
        assert bad.exit_code == 2 and scope in bad.output, bad.output


def test_mint_refuses_a_lifetime_under_one_minute(secure: Any) -> None:
    from fhir_service.security.principal import Scopes

    application, _ = secure
    _register(application)
    tokens = application.state.security.tokens
    client = application.state.security.clients.get("partner")
    with pytest.raises(ValueError, match="at least 1"):
        tokens.mint(client, Scopes.parse(""), minutes=0)
    _, lifetime = tokens.mint(client, Scopes.parse(""))
    assert lifetime == tokens.minutes * 60 == 3600


def test_load_reports_bad_files_and_an_unreachable_server_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/fhir"
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "outcome.json").write_text('{"note": "[/red] not a resource"}')
    files = [str(tmp_path / name) for name in ("broken.json", "missing", "outcome.json")]
    result = CliRunner().invoke(app, ["load", "--url", url, *files])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "0 loaded, 3 failed" in result.output
    (tmp_path / "p.json").write_text('{"resourceType": "Patient"}')
    down = CliRunner().invoke(app, ["load", "--url", url, str(tmp_path / "p.json")])
    assert down.exit_code == 2, down.output
    assert f"cannot reach {url}" in down.output
    assert "Traceback" not in down.output
