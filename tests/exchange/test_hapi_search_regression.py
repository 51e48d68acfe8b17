"""Search answers compared with a reference server, HAPI FHIR JPA 8.8.0, on the same data
(issue 16: "add such a comparison with a reference server to the test suite as a regression").

The Synthea bundles of ../shared/testdata/synthea-r4 are loaded into both servers (ours in
process, HAPI through tests/hapi.py). Searches are generated from the data: for each resource
type and search parameter of the table below, values taken from the loaded resources, in the
forms R4 defines for the parameter's type (token system|code, code, system|, :not; string
prefix, :exact, :contains; date at day, month and year precision with eq/ge/le/gt/lt/ap; quantity
with prefixes; references), plus _include/_revinclude. Both answers are paged to the end and
compared as sets of resources (server-assigned ids are mapped back to the bundles' fullUrls).

Identical answers are expected, except the differences listed in
``hapi_search_differences.json``: ``justified`` entries (ours follows the R4 rule quoted there),
and ``ours_wrong`` entries (known defects, with their issue). A difference that no entry
explains fails, and so does an entry that explains no difference any more (update the file).
Marked jvm (the HAPI server) and slow (loading both takes a minute or two).
"""

from __future__ import annotations

import bz2
import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from fhir_service.context import FhirContext
from fhir_service.store.sqlstore import SqlRepository
from tests import hapi
from tests.hapi import FHIR_JSON, expunge_everything

hapi_base_url = hapi.hapi_base_url  # the session's HAPI server (fixture)

pytestmark = pytest.mark.slow

SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "synthea-r4"
DIFFERENCES = Path(__file__).with_name("hapi_search_differences.json")
HEADERS = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}
PAGE = 200  # HAPI's largest page in tools/hapi-jpa
MAX_RESULTS = 3000

# (type, parameter, kind, values extractor): the extractor yields the values a search may use
Extract = Callable[[dict[str, Any]], list[Any]]


def _codings(*path: str) -> Extract:
    def get(res: dict[str, Any]) -> list[Any]:
        nodes: list[Any] = [res]
        for step in path:
            nxt: list[Any] = []
            for n in nodes:
                v = n.get(step) if isinstance(n, dict) else None
                nxt.extend(v if isinstance(v, list) else [v] if v is not None else [])
            nodes = nxt
        return [(c.get("system"), c.get("code")) for n in nodes for c in n.get("coding", [])
                if c.get("code")]
    return get


def _value(*path: str) -> Extract:
    def get(res: dict[str, Any]) -> list[Any]:
        nodes: list[Any] = [res]
        for step in path:
            nxt: list[Any] = []
            for n in nodes:
                v = n.get(step) if isinstance(n, dict) else None
                nxt.extend(v if isinstance(v, list) else [v] if v is not None else [])
            nodes = nxt
        return nodes
    return get


def _ref(field: str) -> Extract:
    def get(res: dict[str, Any]) -> list[Any]:
        v = res.get(field)
        return [v["reference"]] if isinstance(v, dict) and "reference" in v else []
    return get


PARAMETERS: list[tuple[str, str, str, Extract]] = [
    ("Patient", "gender", "code", _value("gender")),
    ("Patient", "birthdate", "date", _value("birthDate")),
    ("Patient", "family", "string", _value("name", "family")),
    ("Patient", "given", "string", _value("name", "given")),
    ("Patient", "address-city", "string", _value("address", "city")),
    ("Observation", "code", "token", _codings("code")),
    ("Observation", "category", "token", _codings("category")),
    ("Observation", "status", "code", _value("status")),
    ("Observation", "date", "date", _value("effectiveDateTime")),
    ("Observation", "value-quantity", "quantity", _value("valueQuantity")),
    ("Observation", "subject", "reference", _ref("subject")),
    ("Condition", "code", "token", _codings("code")),
    ("Condition", "clinical-status", "token", _codings("clinicalStatus")),
    ("Condition", "onset-date", "date", _value("onsetDateTime")),
    ("Condition", "subject", "reference", _ref("subject")),
    ("Encounter", "type", "token", _codings("type")),
    ("Encounter", "class", "coding", _value("class")),
    ("Encounter", "date", "date", _value("period", "start")),
    ("Encounter", "status", "code", _value("status")),
    ("Immunization", "vaccine-code", "token", _codings("vaccineCode")),
    ("Immunization", "date", "date", _value("occurrenceDateTime")),
    ("Procedure", "code", "token", _codings("code")),
    ("Procedure", "date", "date", _value("performedPeriod", "start")),
    ("DiagnosticReport", "code", "token", _codings("code")),
    ("DiagnosticReport", "category", "token", _codings("category")),
    ("CarePlan", "category", "token", _codings("category")),
    ("CarePlan", "status", "code", _value("status")),
    ("CareTeam", "status", "code", _value("status")),
    ("Organization", "name", "string", _value("name")),
]

INCLUDES = [
    "Observation?subject={ref}&_include=Observation:subject",
    "Observation?subject={ref}&_include=Observation:encounter",
    "Encounter?subject={ref}&_revinclude=Condition:encounter",
    "CarePlan?subject={ref}&_include=CarePlan:care-team",
    "Patient?_id={id}&_revinclude=Immunization:patient",
]


def _pick(values: list[Any], n: int = 3) -> list[Any]:
    """Up to n distinct values spread over the sorted list (deterministic)."""
    unique = {json.dumps(v, sort_keys=True): v for v in values}
    distinct = [unique[k] for k in sorted(unique)]
    if len(distinct) <= n:
        return distinct
    return [distinct[0], distinct[len(distinct) // 2], distinct[-1]][:n]


def generate_queries(resources: list[dict[str, Any]]) -> list[str]:
    """Query templates; ``{ref:<fullUrl>}`` / ``{id:<fullUrl>}`` stand for each server's id."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    queries: list[str] = []
    for rtype, param, kind, extract in PARAMETERS:
        values = [v for r in by_type.get(rtype, []) for v in extract(r)]
        for v in _pick(values):
            queries.extend(f"{rtype}?{q}" for q in _forms(param, kind, v))
    # composite parameters (code and value together, on the same Observation)
    pairs = [((c.get("system"), c.get("code")), r["valueQuantity"]["value"])
             for r in by_type.get("Observation", []) if "value" in r.get("valueQuantity", {})
             for c in r.get("code", {}).get("coding", [])[:1]]
    for (system, code), value in _pick(pairs):
        for prefix in ("", "gt", "le"):
            queries.append(f"Observation?code-value-quantity={quote(system or '', safe='')}|"
                           f"{quote(code, safe='')}${prefix}{value}")
    # sorted searches (compared as sets: both must answer, with the same resources)
    queries += ["Patient?_sort=family", "Patient?gender=female&_sort=-birthdate",
                "Observation?category=vital-signs&_sort=code,-date", "Encounter?_sort=date",
                "Condition?_sort=onset-date", "Immunization?_sort=-date"]
    patients = sorted(r["_fullUrl"] for r in by_type.get("Patient", []))
    for template in INCLUDES:
        for p in patients[:3]:
            queries.append(template.format(ref=f"{{ref:{p}}}", id=f"{{id:{p}}}"))
    return queries


def _forms(param: str, kind: str, v: Any) -> list[str]:
    q = lambda s: quote(str(s), safe="")  # noqa: E731
    if kind == "token":
        system, code = v
        return [f"{param}={q(system)}|{q(code)}", f"{param}={q(code)}", f"{param}={q(system)}|",
                f"{param}:not={q(system)}|{q(code)}"]
    if kind == "coding":
        return [f"{param}={q(v.get('system', ''))}|{q(v['code'])}", f"{param}={q(v['code'])}"]
    if kind == "code":
        return [f"{param}={q(v)}", f"{param}:not={q(v)}"]
    if kind == "string":
        s = str(v)
        return [f"{param}={q(s[:3].lower())}", f"{param}:exact={q(s)}",
                f"{param}:contains={q(s[1:4])}"]
    if kind == "date":
        day, month, year = v[:10], v[:7], v[:4]
        return [f"{param}={day}", f"{param}=ge{day}", f"{param}=lt{day}", f"{param}={month}",
                f"{param}=gt{year}", f"{param}=le{year}", f"{param}=ap{day}"]
    if kind == "quantity":
        value = v.get("value")
        if value is None:
            return []
        unit = f"|{q(v['system'])}|{q(v['code'])}" if v.get("system") and v.get("code") else ""
        return [f"{param}={value}{unit}", f"{param}=gt{value}", f"{param}=le{value}{unit}"]
    if kind == "reference":
        return [f"{param}={{ref:{v}}}"]
    raise AssertionError(kind)


# -- loading ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Side:
    name: str
    get: Callable[[str], Any]  # absolute-or-relative URL -> JSON (200) or raises
    ids: dict[str, str]  # fullUrl -> Type/id on this server
    keys: dict[str, str]  # Type/id -> fullUrl

    def resolve(self, template: str) -> str:
        def sub(m: re.Match[str]) -> str:
            local = self.ids[m.group(2)]
            return local if m.group(1) == "ref" else local.split("/", 1)[1]
        return re.sub(r"\{(ref|id):([^}]+)\}", sub, template)

    def search(self, query: str) -> tuple[set[str], set[str]] | str:
        """(matches, includes) as fullUrls, or the error's text."""
        sep = "&" if "?" in query else "?"
        url: str | None = f"{query}{sep}_count={PAGE}"
        matches: set[str] = set()
        includes: set[str] = set()
        while url:
            status, bundle = self.get(url)
            if status != 200:
                return f"HTTP {status}"
            for e in bundle.get("entry", []):
                key = f"{e['resource']['resourceType']}/{e['resource']['id']}"
                target = includes if e.get("search", {}).get("mode") == "include" else matches
                target.add(self.keys.get(key, f"?{key}"))
            if len(matches) + len(includes) > MAX_RESULTS:
                return "too many results"
            url = next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"),
                       None)
        return matches, includes - matches


def _bundles() -> list[dict[str, Any]]:
    if not SYNTHEA.is_dir():
        pytest.skip(f"{SYNTHEA} is absent: the shared test data sits beside the project")
    files = sorted(SYNTHEA.glob("*.json.bz2"), key=lambda p: (not p.name.startswith("0-"), p.name))
    return [json.loads(bz2.decompress(p.read_bytes())) for p in files]


def _load(name: str, post: Callable[[dict[str, Any]], tuple[int, Any]],
          bundles: list[dict[str, Any]]) -> dict[str, str]:
    ids: dict[str, str] = {}
    for bundle in bundles:
        status, answer = post(bundle)
        assert status == 200, f"{name}: {status} {str(answer)[:800]}"
        for sent, got in zip(bundle["entry"], answer["entry"], strict=True):
            location = got["response"].get("location", "")
            assert got["response"]["status"][:3] in ("200", "201"), f"{name}: {got['response']}"
            local = "/".join(urlsplit(location).path.split("/_history/")[0].split("/")[-2:])
            ids[sent["fullUrl"]] = local
    return ids


@pytest.fixture(scope="module")
def sides(base_context: FhirContext, hapi_base_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Side, Side, list[str]]]:
    from fastapi.testclient import TestClient

    from fhir_service.app import create_app

    bundles = _bundles()
    resources = [{**e["resource"], "_fullUrl": e["fullUrl"]} for b in bundles for e in b["entry"]]
    queries = generate_queries(resources)

    url = f"sqlite:///{tmp_path_factory.mktemp('hapi-regression') / 'ours.db'}"
    settings = base_context.settings.replace(database_url=url)
    ctx = dataclasses.replace(base_context, settings=settings,
                              checker=copy.copy(base_context.checker),
                              repository=SqlRepository(url), operations={})
    try:
        with TestClient(create_app(settings, ctx), base_url="http://test") as client:
            def ours_post(bundle: dict[str, Any]) -> tuple[int, Any]:
                r = client.post("/fhir", json=bundle, headers=HEADERS)
                return r.status_code, r.json()

            def ours_get(target: str) -> tuple[int, Any]:
                parts = urlsplit(target)
                path = f"{parts.path}?{parts.query}" if parts.scheme else f"/fhir/{target}"
                r = client.get(path, headers=HEADERS)
                return r.status_code, r.json()

            expunge_everything(hapi_base_url)

            def hapi_post(bundle: dict[str, Any]) -> tuple[int, Any]:
                r = requests.post(hapi_base_url, json=bundle, headers=HEADERS, timeout=600)
                return r.status_code, r.json()

            def hapi_get(target: str) -> tuple[int, Any]:
                full = target if target.startswith("http") else f"{hapi_base_url}/{target}"
                r = requests.get(full, headers=HEADERS, timeout=300)
                return r.status_code, r.json()

            try:
                ours_ids = _load("ours", ours_post, bundles)
                hapi_ids = _load("HAPI", hapi_post, bundles)
                yield (Side("ours", ours_get, ours_ids, {v: k for k, v in ours_ids.items()}),
                       Side("HAPI", hapi_get, hapi_ids, {v: k for k, v in hapi_ids.items()}),
                       queries)
            finally:
                expunge_everything(hapi_base_url)  # the session's HAPI, clean for other tests
    finally:
        ctx.close()


def _explained(query: str, entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in entries if re.search(e["match"], query)), None)


def test_search_answers_match_hapi(sides: tuple[Side, Side, list[str]]) -> None:
    ours, ref, queries = sides
    known = json.loads(DIFFERENCES.read_text(encoding="utf-8"))
    entries = [*known["justified"], *known["ours_wrong"]]
    assert len(queries) > 200, f"only {len(queries)} queries generated"
    differing: list[tuple[str, str]] = []
    used: set[str] = set()
    for template in queries:
        a = ours.search(ours.resolve(template))
        b = ref.search(ref.resolve(template))
        if a == b:
            continue
        entry = _explained(template, entries)
        if entry is not None:
            used.add(entry["match"])
            continue
        differing.append((template, _describe(a, b)))
    unexplained = "\n".join(f"  {t}: {d}" for t, d in differing)
    assert not differing, (f"{len(differing)} of {len(queries)} searches differ from HAPI with no "
                           f"entry in {DIFFERENCES.name}:\n{unexplained}")
    stale = [e["match"] for e in entries if e["match"] not in used]
    assert not stale, f"entries of {DIFFERENCES.name} that explain no difference any more: {stale}"


def _describe(a: Any, b: Any) -> str:
    if isinstance(a, str) or isinstance(b, str):
        left = a if isinstance(a, str) else len(a[0])
        right = b if isinstance(b, str) else len(b[0])
        return f"ours {left} / HAPI {right}"
    only_ours, only_hapi = a[0] - b[0], b[0] - a[0]
    inc = "" if a[1] == b[1] else f"; includes ours {len(a[1])} / HAPI {len(b[1])}"
    return (f"ours {len(a[0])} / HAPI {len(b[0])} (only ours {len(only_ours)}, only HAPI "
            f"{len(only_hapi)}){inc}")
