"""Identity of imported resources: ids nobody can compute without the server's secret, and
identity look-ups over the whole store that never tell a structure about data it may not see
(a person another structure accompanies is not duplicated, and not revealed either)."""

from __future__ import annotations

import json
import re
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest

from fhir_service import fhir
from fhir_service.mapping import forward
from fhir_service.mapping.forward import id_secret, map_document
from fhir_service.mapping.service import CasefileService
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.security.principal import Principal, Scopes

from .conftest import NAMES, TEST_ID_SECRET, example

ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
FINESS = "https://finess.esante.gouv.fr"
INS_SYSTEMS = ("urn:oid:1.2.250.1.213.1.4.8", "urn:oid:1.2.250.1.213.1.4.9",
               "urn:oid:1.2.250.1.213.1.4.10", "urn:oid:1.2.250.1.213.1.4.11")


# --- ids -----------------------------------------------------------------------------------


def _ids(service: CasefileService, secret: bytes, name: str = NAMES[0]) -> list[str]:
    mapped = map_document(service.mset, example(name), secret=secret)
    assert not mapped.problems
    return [u.key_id for u in mapped.units]


def test_ids_are_keyed_with_the_servers_secret(service: CasefileService,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mine = _ids(service, TEST_ID_SECRET)
    assert mine == _ids(service, TEST_ID_SECRET)  # stable: re-imports find their resources
    other = _ids(service, bytes(32))
    assert len(set(mine)) == len(mine) and not set(mine) & set(other)  # another server's
    for rid in mine:
        assert ID.match(rid) and uuid.UUID(rid).version == 8  # UUID-shaped, RFC 9562 v8
    # what anyone could compute from the source system and the local keys (the former
    # name-based UUIDv5) is none of them
    monkeypatch.setattr(forward, "uuid_for", lambda mset, secret, *parts: str(
        uuid.uuid5(uuid.UUID(mset.identity["namespace"]), "|".join(parts))))
    derivable = _ids(service, TEST_ID_SECRET)
    assert derivable[0] == "31996f2c-6911-5ab3-b51d-d2a7fcb23555"  # the former id, indeed
    assert not set(derivable) & set(mine)


def test_the_import_uses_the_secret_of_its_server(make_context: Any, tmp_path: Path) -> None:
    """Two servers (two keys directories) give the same file different ids; one server gives
    it the same ids every time."""
    results = []
    for n in (1, 2, 2):
        ctx = make_context(f"sqlite:///{tmp_path / f'ids{len(results)}.db'}",
                           keys_dir=tmp_path / f"keys{n}")
        router = Router(ctx)
        results.append(CasefileService.for_context(ctx, router.dispatch)
                       .import_json(example(NAMES[1])))
    urls = [[e["request"]["url"] for e in r.bundle["entry"]] for r in results]
    assert urls[1] == urls[2] and not set(urls[0]) & set(urls[1])


def test_the_id_secret_file(tmp_path: Path) -> None:
    class Settings:
        keys_dir = tmp_path / "var" / "keys"

    secret = id_secret(Settings)
    path = Settings.keys_dir / "id-secret"
    assert len(secret) == 32 and path.read_bytes() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(Settings.keys_dir.stat().st_mode) == 0o700
    assert id_secret(Settings) == secret  # read once, the same
    assert list(Settings.keys_dir.iterdir()) == [path]  # no temporary file left

    class Other:
        keys_dir = tmp_path / "other"

    Other.keys_dir.mkdir()
    (Other.keys_dir / "id-secret").write_bytes(b"k" * 40)  # an operator's own: kept as is
    assert id_secret(Other) == b"k" * 40

    class Short:
        keys_dir = tmp_path / "short"

    Short.keys_dir.mkdir()
    (Short.keys_dir / "id-secret").write_bytes(b"short")
    with pytest.raises(RuntimeError, match="at least 32"):
        id_secret(Short)


# --- identity across structures --------------------------------------------------------------


def _call(router: Router, who: Principal | None, method: str, path: str,
          body: Any = None) -> Any:
    route, _, query = path.partition("?")
    from urllib.parse import parse_qsl

    req = FhirRequest(method, [s for s in route.split("/") if s],
                      query=parse_qsl(query, keep_blank_values=True),
                      headers={"content-type": "application/fhir+json"},
                      body=fhir.dumps(body) if body is not None else b"",
                      base_url="http://localhost/fhir", principal=who)
    resp = router.dispatch(req)
    return fhir.loads(resp.body) if isinstance(resp.body, bytes) else resp.body


def _ins(result: Any) -> str:
    patient = next(e["resource"] for e in result.bundle["entry"]
                   if e["resource"]["resourceType"] == "Patient")
    ident = next(i for i in patient["identifier"] if i["system"] in INS_SYSTEMS)
    return f"{ident['system']}|{ident['value']}"


def _from_structure_b(doc: dict[str, Any]) -> dict[str, Any]:
    """Diego's case file as structure B (the SAMSAH, FINESS 690000033) would send it: its own
    source system, its own local identifier for the person, its own structure managing the
    episode; the same qualified INS."""
    raw = json.dumps(doc, ensure_ascii=False)
    raw = raw.replace(doc["source"]["system"], "https://ids.exemple-samsah.fr/dossiers")
    raw = raw.replace('"750000011"', '"690000033"').replace("S-CJAAD", "S-SAMSAH")
    out: dict[str, Any] = json.loads(raw)
    out["person"]["localId"] = "SAMSAH-9"
    out["source"]["name"] = out["structures"][0]["name"] = "SAMSAH exemple"
    return out


@pytest.fixture
def two_structures(ctx: Any, router: Router, service: CasefileService) -> dict[str, Any]:
    """Structure A (Diego's centre) accompanies Diego (the server imported its case file);
    structure B (org-b, a SAMSAH) is registered and accompanies nobody."""
    a_import = service.import_json(example(NAMES[0]))
    orgs = _call(router, None, "GET", f"Organization?identifier={FINESS}|750000011")
    a_org = orgs["entry"][0]["resource"]["id"]
    _call(router, None, "PUT", "Organization/org-b", {
        "resourceType": "Organization", "id": "org-b", "name": "SAMSAH exemple",
        "identifier": [{"system": FINESS, "value": "690000033"}]})

    def as_structure(org: str) -> CasefileService:
        who = Principal(f"client-{org}", structure=org, scopes=Scopes.parse("system/*.cruds"))
        return CasefileService.for_context(ctx, router.dispatch, principal=who,
                                           secret=TEST_ID_SECRET)

    return {"a": as_structure(a_org), "b": as_structure("org-b"), "a_org": a_org,
            "a_import": a_import, "ins": _ins(a_import)}


def _patients_with(router: Router, ins: str) -> list[dict[str, Any]]:
    bundle = _call(router, None, "GET", f"Patient?identifier={ins}")
    return [e["resource"] for e in bundle.get("entry", [])]


def _all_ids(router: Router) -> set[str]:
    bundle = _call(router, None, "GET", "_history?_count=1000")
    return {e["resource"]["id"] for e in bundle["entry"] if "resource" in e}


def test_a_person_another_structure_accompanies_is_neither_duplicated_nor_revealed(
        router: Router, two_structures: dict[str, Any]) -> None:
    world = two_structures
    before = _call(router, None, "GET", "_history?_count=0")["total"]
    hidden = _all_ids(router) - {"org-b"}  # everything A's import wrote, and the rest
    with pytest.raises(FhirError) as err:
        world["b"].import_json(_from_structure_b(example(NAMES[0])))
    assert err.value.status == 403
    [issue] = err.value.issues  # one clear problem, at the person
    assert issue.expression == ("$.person",)
    assert "does not accompany this person" in issue.diagnostics
    assert "care-team membership" in issue.diagnostics and "consent" in issue.diagnostics
    text = json.dumps(err.value.outcome(), ensure_ascii=False)
    leaked = {rid for rid in hidden if rid in text}
    assert not leaked, leaked
    assert example(NAMES[0])["source"]["system"] not in text  # nor the owning source
    assert "Martin" not in text and "IPP-204511" not in text  # nor its content
    # nothing written: no second Patient for the same INS, no version of anything
    assert len(_patients_with(router, world["ins"])) == 1
    assert _call(router, None, "GET", "_history?_count=0")["total"] == before


def test_the_structure_that_accompanies_the_person_imports_it(
        router: Router, two_structures: dict[str, Any]) -> None:
    world = two_structures
    doc = example(NAMES[0])
    doc["plan"]["goals"][1]["status"] = "completed"
    doc["plan"]["goals"][1]["achievement"] = "achieved"
    result = world["a"].import_json(doc)
    assert dict(result.summary["updated"]) == {"Goal": 1}
    assert len(_patients_with(router, world["ins"])) == 1
    assert result.response is not None  # written as A, which accompanies the person


def test_a_duplicate_is_reported_without_naming_what_was_found(
        ctx: Any, router: Router, two_structures: dict[str, Any]) -> None:
    world = two_structures
    system, value = world["ins"].split("|")
    twin = {"resourceType": "Patient", "id": "twin",
            "identifier": [{"system": system, "value": value}]}
    # the server refuses a second Patient with an INS now (tests/security/test_trust.py):
    # this twin is one written before that rule, stored below the write rules
    assert _status(router, "PUT", "Patient/twin", twin) == 409
    from fhir_service.interactions.common import prepare

    with ctx.repository.write_session() as session:
        done = prepare(ctx, twin, "twin", 1, ctx.clock(), "http://localhost/fhir")
        session.write("Patient", "twin", 1, ctx.clock(), done.content, "PUT", done.rows,
                      done.refs)
    with pytest.raises(FhirError) as err:
        world["b"].import_json(_from_structure_b(example(NAMES[0])))
    text = json.dumps(err.value.outcome(), ensure_ascii=False)
    assert "more than one recorded Patient" in text
    assert "twin" not in text and not {rid for rid in _all_ids(router) if rid in text}
    assert len(_patients_with(router, world["ins"])) == 2  # nothing more written


def _status(router: Router, method: str, path: str, body: Any) -> int:
    try:
        _call(router, None, method, path, body)
    except FhirError as exc:
        return exc.status
    return 200


def test_an_entitled_partner_imports_its_own_file_about_a_shared_person(
        router: Router, two_structures: dict[str, Any]) -> None:
    """Once the person's consent names structure B, B imports its own case file about them:
    the person gets B's local identifier (a contribution), B's episode, team and plan are
    B's; the professionals and structures A recorded are used as they are (directory data is
    changed only by the structure managing it)."""
    world = two_structures
    patient = _patients_with(router, world["ins"])[0]
    _call(router, None, "PUT", "Consent/consent-b", {
        "resourceType": "Consent", "id": "consent-b", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient['id']}"},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN"}]},
        "provision": {"type": "permit", "actor": [
            {"role": {"text": "structure"}, "reference": {"reference": "Organization/org-b"}}]}})
    practitioners = {e["resource"]["id"]: e["resource"]["meta"]["versionId"]
                     for e in _call(router, None, "GET", "Practitioner?_count=100")["entry"]}
    result = world["b"].import_json(_from_structure_b(example(NAMES[0])))
    assert result.response is not None
    [again] = _patients_with(router, world["ins"])  # one person
    assert {"system": "https://ids.exemple-samsah.fr/dossiers", "value": "SAMSAH-9"} in \
        again["identifier"] or any(i.get("value") == "SAMSAH-9" for i in again["identifier"])
    after = {e["resource"]["id"]: e["resource"]["meta"]["versionId"]
             for e in _call(router, None, "GET", "Practitioner?_count=100")["entry"]}
    assert {k: after[k] for k in practitioners} == practitioners  # A's records untouched
