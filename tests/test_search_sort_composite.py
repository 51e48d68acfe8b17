"""``_sort`` on every parameter type (both directions, missing values last, several keys,
offset paging) and composite search parameters (https://hl7.org/fhir/R4/search.html#composite),
on SQLite and on PostgreSQL (skipped with a reason when PostgreSQL is absent)."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from fhir_service.context import FhirContext

H = {"Content-Type": "application/fhir+json"}
_counter = itertools.count()



@pytest.fixture(params=["sqlite", "postgresql"])
def make_context(request: pytest.FixtureRequest,
                 make_context: Callable[..., FhirContext]) -> Any:
    if request.param == "sqlite":
        return make_context
    from tests.pg import fresh_database

    server = request.getfixturevalue("pg_server")

    def make(url: str | None = None, **overrides: Any) -> FhirContext:
        db = fresh_database(server, f"cmfhir_sortcomp_{next(_counter)}")
        return make_context(url or db, **overrides)

    return make


def put(client: Any, resource: dict[str, Any]) -> dict[str, Any]:
    r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource,
                   headers=H)
    assert r.status_code in (200, 201), r.text
    return r.json()


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode") == "match"]


def search(client: Any, url: str) -> dict[str, Any]:
    r = client.get(f"/fhir/{url}")
    assert r.status_code == 200, r.text
    return r.json()


def all_pages(client: Any, url: str) -> list[str]:
    """Every match, following the next links."""
    page = search(client, url)
    seen = ids(page)
    while nxt := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        page = client.get(nxt[0].replace("http://test", "")).json()
        seen += ids(page)
    return seen


# --- _sort -----------------------------------------------------------------------------------


@pytest.fixture
def people(client: Any) -> Any:
    """Patients (created in id order, so ties keep that order) with a value of each type,
    one of them without any."""
    rows = [
        # id, family, gender, birthDate, general practitioner
        ("p1", "Martin", "male", "1980-05-01", "Practitioner/b"),
        ("p2", "émile", "female", "1975", "Practitioner/a"),
        ("p3", "Benali", "female", "1990-01-01", None),
        ("p4", "dupont", None, None, "Organization/z"),
        ("p5", None, "other", "1980-05-01", "Practitioner/a"),
        ("p6", "Zola", "male", "2001-12-31", "Practitioner/c"),
    ]
    for gp in ("a", "b", "c"):
        put(client, {"resourceType": "Practitioner", "id": gp})
    put(client, {"resourceType": "Organization", "id": "z", "name": "Z"})
    for pid, family, gender, birth, gp in rows:
        patient: dict[str, Any] = {"resourceType": "Patient", "id": pid}
        if family:
            patient["name"] = [{"family": family}]
        if gender:
            patient["gender"] = gender
        if birth:
            patient["birthDate"] = birth
        if gp:
            patient["generalPractitioner"] = [{"reference": gp}]
        put(client, patient)
    put(client, {"resourceType": "Patient", "id": "p7", "name": [{"given": ["Sans"]}]})
    return client


def test_sort_string_both_directions_missing_last(people: Any) -> None:
    # case- and accent-insensitive order; p5 and p7 have no family name: last both ways
    assert ids(search(people, "Patient?_sort=family")) == ["p3", "p4", "p2", "p1", "p6",
                                                            "p5", "p7"]
    assert ids(search(people, "Patient?_sort=-family")) == ["p6", "p1", "p2", "p4", "p3",
                                                             "p5", "p7"]


def test_sort_token_date_reference(people: Any) -> None:
    # ties (same gender) keep creation order in both directions
    assert ids(search(people, "Patient?_sort=gender")) == ["p2", "p3", "p1", "p6", "p5",
                                                            "p4", "p7"]
    assert ids(search(people, "Patient?_sort=-gender")) == ["p5", "p1", "p6", "p2", "p3",
                                                             "p4", "p7"]
    # by the start ascending, by the end descending: 1975 is [1975-01-01, 1976-01-01)
    assert ids(search(people, "Patient?_sort=birthdate")) == ["p2", "p1", "p5", "p3", "p6",
                                                               "p4", "p7"]
    assert ids(search(people, "Patient?_sort=-birthdate")) == ["p6", "p3", "p1", "p5", "p2",
                                                                "p4", "p7"]
    # references by Type/id
    assert ids(search(people, "Patient?_sort=general-practitioner")) == [
        "p4", "p2", "p5", "p1", "p6", "p3", "p7"]
    assert ids(search(people, "Patient?_sort=-general-practitioner")) == [
        "p6", "p1", "p2", "p5", "p4", "p3", "p7"]


def test_sort_several_keys(people: Any) -> None:
    assert ids(search(people, "Patient?_sort=gender,-birthdate")) == [
        "p3", "p2", "p6", "p1", "p5", "p4", "p7"]
    assert ids(search(people, "Patient?_sort=-gender,family")) == [
        "p5", "p1", "p6", "p3", "p2", "p4", "p7"]
    assert ids(search(people, "Patient?_sort=birthdate,-_id")) == [
        "p2", "p5", "p1", "p3", "p6", "p7", "p4"]


def test_sort_number_quantity_uri_and_periods(client: Any) -> None:
    put(client, {"resourceType": "Patient", "id": "x"})
    for rid, prob in [("r1", 0.3), ("r2", None), ("r3", 0.05), ("r4", 0.9)]:
        prediction = [{"probabilityDecimal": prob}] if prob is not None else []
        put(client, {"resourceType": "RiskAssessment", "id": rid, "status": "final",
                     "subject": {"reference": "Patient/x"}}
            | ({"prediction": prediction} if prediction else {}))
    assert ids(search(client, "RiskAssessment?_sort=probability")) == ["r3", "r1", "r4", "r2"]
    assert ids(search(client, "RiskAssessment?_sort=-probability")) == ["r4", "r1", "r3", "r2"]

    for rid, value in [("o1", 120), ("o2", 95.5), ("o3", None), ("o4", 180)]:
        obs: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": "final",
                               "code": {"coding": [{"system": "http://loinc.org",
                                                    "code": "8480-6"}]}}
        if value is not None:
            obs["valueQuantity"] = {"value": value, "unit": "mmHg",
                                    "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
        put(client, obs)
    assert ids(search(client, "Observation?_sort=value-quantity")) == ["o2", "o1", "o4", "o3"]
    assert ids(search(client, "Observation?_sort=-value-quantity")) == ["o4", "o1", "o2", "o3"]

    for rid, url in [("q1", "http://b.example/q"), ("q2", None), ("q3", "http://a.example/q")]:
        put(client, {"resourceType": "Questionnaire", "id": rid, "status": "active"}
            | ({"url": url} if url else {}))
    assert ids(search(client, "Questionnaire?_sort=url")) == ["q3", "q1", "q2"]
    assert ids(search(client, "Questionnaire?_sort=-url")) == ["q1", "q3", "q2"]

    # Periods: ascending by their start, descending by their end (an open end is highest)
    periods = [("c1", "2026-01-01", "2026-12-31"), ("c2", "2025-06-01", None),
               ("c3", "2026-03-01", "2026-04-01"), ("c4", None, None)]
    for rid, start, end in periods:
        plan: dict[str, Any] = {"resourceType": "CarePlan", "id": rid, "status": "active",
                                "intent": "plan", "subject": {"reference": "Patient/x"}}
        if start:
            plan["period"] = {"start": start} | ({"end": end} if end else {})
        put(client, plan)
    assert ids(search(client, "CarePlan?_sort=date")) == ["c2", "c1", "c3", "c4"]
    assert ids(search(client, "CarePlan?_sort=-date")) == ["c2", "c1", "c3", "c4"]
    assert ids(search(client, "CarePlan?_sort=-date,_id&_count=2")) == ["c2", "c1"]


def test_sort_observations_by_code_then_latest(client: Any) -> None:
    put(client, {"resourceType": "Patient", "id": "x"})
    rows = [("a", "8480-6", "2026-01-03"), ("b", "8462-4", "2026-01-01"),
            ("c", "8480-6", "2026-02-01"), ("d", "8462-4", None), ("e", None, "2026-01-02"),
            ("f", "8462-4", "2026-03-01T08:00:00Z")]
    for rid, code, when in rows:
        resource = obs(rid, code or "x", subject={"reference": "Patient/x"})
        if code is None:
            resource["code"] = {"text": "no code"}
        if when:
            resource["effectiveDateTime"] = when
        put(client, resource)
    assert ids(search(client, "Observation?subject=Patient/x&_sort=code,-date")) == \
        ["f", "b", "d", "c", "a", "e"]
    assert ids(search(client, "Observation?_sort=-code,date")) == ["a", "c", "b", "f", "d", "e"]


def test_sort_composite_or_unknown_is_a_400(client: Any) -> None:
    for sort in ("code-value-quantity", "nonsense", "-nonsense", ""):
        r = client.get(f"/fhir/Observation?_sort={sort}")
        assert r.status_code == 400, (sort, r.text)
        assert r.json()["issue"][0]["expression"] == ["_sort"]


def test_offset_paging_over_a_sorted_result(client: Any) -> None:
    rng = random.Random(7)
    families = ["Durand", "durand", "Érard", "Bernard", "Petit", None, "Zidane", "Leroy"]
    expected_rows = []
    for i in range(41):
        family = rng.choice(families)
        birth = f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}" \
            if rng.random() > 0.2 else None
        patient: dict[str, Any] = {"resourceType": "Patient", "id": f"s{i:02d}"}
        if family:
            patient["name"] = [{"family": family}]
        if birth:
            patient["birthDate"] = birth
        put(client, patient)
        expected_rows.append((i, f"s{i:02d}", family, birth))

    def norm(s: str) -> str:
        from fhir_service.search.extract import normalize_string
        return normalize_string(s)

    def desc_key(value: str | None) -> tuple[int, list[int]]:
        return (value is None, [-ord(ch) for ch in value or ""])

    # family ascending, birthdate descending, then creation order; missing values last
    expected = [rid for _, rid, _, _ in sorted(
        expected_rows,
        key=lambda r: (r[2] is None, norm(r[2] or ""), desc_key(r[3]), r[0]))]
    for count in (1, 5, 7, 40, 41, 100):
        got = all_pages(client, f"Patient?_sort=family,-birthdate&_count={count}")
        assert len(got) == len(set(got)) == 41
        assert got == expected, count
    # and a write between two pages shifts nothing (snapshot bound of the first page)
    first = search(client, "Patient?_sort=-family&_count=10")
    put(client, {"resourceType": "Patient", "id": "late", "name": [{"family": "Zzz"}]})
    seen = ids(first)
    page = first
    while nxt := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        assert "_offset=" in nxt[0]
        page = client.get(nxt[0].replace("http://test", "")).json()
        seen += ids(page)
    assert len(seen) == len(set(seen)) == 41 and "late" not in seen


# --- composite parameters ----------------------------------------------------------------------


def obs(rid: str, code: str | None = None, value: dict[str, Any] | None = None,
        components: list[tuple[str, dict[str, Any]]] = (), **extra: Any) -> dict[str, Any]:
    """An Observation with a LOINC-like ``code``, a ``value[x]`` and ``(code, value[x])``
    components."""
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": rid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code or "85354-9"}]}}
    resource |= value or {}
    if components:
        resource["component"] = [
            {"code": {"coding": [{"system": "http://loinc.org", "code": c}]}} | v
            for c, v in components]
    return resource | extra


def mmhg(value: float) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": "mmHg",
                              "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}


def matches(client: Any, query: str) -> set[str]:
    return set(all_pages(client, f"{query}&_count=50"))


def test_components_match_within_one_component(client: Any) -> None:
    put(client, obs("bp1", components=[("8480-6", mmhg(120)), ("8462-4", mmhg(80))]))
    put(client, obs("bp2", components=[("8480-6", mmhg(95)), ("8462-4", mmhg(130))]))
    put(client, obs("single", "8480-6", mmhg(140)))
    q = "Observation?component-code-value-quantity="
    assert matches(client, q + "http://loinc.org|8480-6$gt100") == {"bp1"}
    # bp2's 130 belongs to its diastolic component, not to the systolic one
    assert matches(client, q + "8480-6$130") == set()
    assert matches(client, q + "8462-4$130") == {"bp2"}
    assert matches(client, q + "8480-6$80") == set()
    assert matches(client, q + "8480-6$lt100") == {"bp2"}
    assert matches(client, q + "8480-6$ge95") == {"bp1", "bp2"}
    assert matches(client, q + "8480-6$le95.0") == {"bp2"}
    assert matches(client, q + "8480-6$ne120") == {"bp2"}
    assert matches(client, q + "8480-6$120|http://unitsofmeasure.org|mm[Hg]") == {"bp1"}
    assert matches(client, q + "8480-6$120||mmHg") == {"bp1"}
    assert matches(client, q + "8480-6$120|http://unitsofmeasure.org|kPa") == set()
    assert matches(client, q + "http://snomed.info/sct|8480-6$120") == set()
    # OR within a parameter, AND across repetitions: each on a component of its own
    assert matches(client, q + "8480-6$130,8462-4$130") == {"bp2"}
    assert matches(client, f"{q}8480-6$120&{q[12:]}8462-4$80") == {"bp1"}
    assert matches(client, f"{q}8480-6$120&{q[12:]}8462-4$130") == set()
    # the Observation's own code and value are not components; combo sees both
    assert matches(client, q + "8480-6$140") == set()
    assert matches(client, "Observation?code-value-quantity=8480-6$140") == {"single"}
    assert matches(client, "Observation?code-value-quantity=8480-6$120") == set()
    combo = "Observation?combo-code-value-quantity="
    assert matches(client, combo + "8480-6$gt100") == {"bp1", "single"}
    assert matches(client, combo + "85354-9$120") == set()
    # :missing, the only modifier composites take
    assert matches(client, "Observation?component-code-value-quantity:missing=true") == \
        {"single"}
    assert matches(client, "Observation?component-code-value-quantity:missing=false") == \
        {"bp1", "bp2"}
    # a new version replaces the rows, a deletion removes them
    put(client, obs("bp1", components=[("8480-6", mmhg(99))]))
    assert matches(client, q + "8480-6$gt100") == set()
    assert matches(client, q + "8480-6$99") == {"bp1"}
    assert client.delete("/fhir/Observation/bp1").status_code == 204
    assert matches(client, q + "8480-6$99") == set()


def test_composites_of_every_component_type(client: Any) -> None:
    put(client, {"resourceType": "Patient", "id": "pat"})
    put(client, obs("concept", "44250-9", {"valueCodeableConcept": {
        "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}],
        "text": "Negative"}}, subject={"reference": "Patient/pat"}))
    put(client, obs("string", "8251-1", {"valueString": "Cost $5, paid by ÉMILE"}))
    put(client, obs("date", "21112-8", {"valueDateTime": "2024-03-15T10:30:00Z"}))
    put(client, obs("period", "21112-8", {"valuePeriod": {"start": "2020-01-01",
                                                          "end": "2020-06-30"}}))
    put(client, obs("panel", components=[
        ("44250-9", {"valueCodeableConcept": {"coding": [
            {"system": "http://snomed.info/sct", "code": "10828004"}]}}),
        ("8251-1", {"valueString": "other"})]))
    o = "Observation?"
    assert matches(client, o + "code-value-concept=44250-9$http://snomed.info/sct|260385009") \
        == {"concept"}
    assert matches(client, o + "code-value-concept=44250-9$10828004") == set()
    assert matches(client, o + "component-code-value-concept=44250-9$10828004") == {"panel"}
    assert matches(client, o + "combo-code-value-concept=44250-9$260385009,44250-9$10828004") \
        == {"concept", "panel"}
    # strings: starts with, ignoring case and accents; \$ is a dollar of the value
    assert matches(client, o + "code-value-string=8251-1$cost \\$5") == {"string"}
    assert matches(client, o + "code-value-string=8251-1$cost \\$6") == set()
    assert matches(client, o + "code-value-string=8251-1$Cost") == {"string"}
    assert matches(client, o + "code-value-string=8251-1$paid") == set()
    assert matches(client, o + "code-value-string=8251-1$other") == set()
    # dates and Periods, with prefixes
    assert matches(client, o + "code-value-date=21112-8$2024-03-15") == {"date"}
    assert matches(client, o + "code-value-date=21112-8$2024") == {"date"}
    assert matches(client, o + "code-value-date=21112-8$lt2021") == {"period"}
    assert matches(client, o + "code-value-date=21112-8$ge2020-03-01") == {"date", "period"}
    assert matches(client, o + "code-value-date=21112-8$eb2020-07-01") == {"period"}
    assert matches(client, o + "code-value-date=8251-1$2024") == set()
    # through a chain and _has
    assert matches(client, "Patient?_has:Observation:subject:code-value-concept="
                           "44250-9$260385009") == {"pat"}
    assert matches(client, "Patient?_has:Observation:subject:code-value-concept="
                           "44250-9$10828004") == set()


def test_composites_on_other_resources(client: Any) -> None:
    gender = {"coding": [{"system": "http://hl7.org/fhir/administrative-gender",
                          "code": "female"}]}
    put(client, {"resourceType": "Group", "id": "g", "type": "person", "actual": True,
                 "characteristic": [
                     {"code": {"text": "gender", "coding": [{"code": "gender"}]},
                      "valueCodeableConcept": gender, "exclude": False},
                     {"code": {"coding": [{"code": "owner"}]},
                      "valueCodeableConcept": {"coding": [{"code": "male"}]},
                      "exclude": False}]})
    assert matches(client, "Group?characteristic-value=gender$female") == {"g"}
    assert matches(client, "Group?characteristic-value=owner$male") == {"g"}
    assert matches(client, "Group?characteristic-value=gender$male") == set()

    doc = {"resourceType": "DocumentReference", "status": "current",
           "content": [{"attachment": {"contentType": "text/plain", "data": "aGk="}}]}
    put(client, doc | {"id": "d1"})
    put(client, doc | {"id": "d2", "relatesTo": [
        {"code": "replaces", "target": {"reference": "DocumentReference/d1"}}]})
    q = "DocumentReference?relationship="
    assert matches(client, q + "replaces$DocumentReference/d1") == {"d2"}
    assert matches(client, q + "replaces$http://test/fhir/DocumentReference/d1") == {"d2"}
    assert matches(client, q + "replaces$d1") == {"d2"}
    assert matches(client, q + "appends$DocumentReference/d1") == set()

    # a component taken from the resource (%resource.referenceSeq.chromosome), numbers
    chromosome = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                              "chromosome-human", "code": "1"}]}
    put(client, {"resourceType": "MolecularSequence", "id": "m", "coordinateSystem": 0,
                 "referenceSeq": {"chromosome": chromosome, "genomeBuild": "GRCh38",
                                  "windowStart": 100,
                                  "windowEnd": 500},
                 "variant": [{"start": 120, "end": 130}, {"start": 400, "end": 410}]})
    q = "MolecularSequence?chromosome-variant-coordinate="
    assert matches(client, q + "1$ge400$le410") == {"m"}
    assert matches(client, q + "1$120$130") == {"m"}
    assert matches(client, q + "1$120$410") == set()  # two different variants
    assert matches(client, q + "2$120$130") == set()
    assert matches(client, "MolecularSequence?chromosome-window-coordinate=1$lt200$gt400") \
        == {"m"}

    # useContext: a quantity component that may be a Range
    age = {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
           "code": "age"}
    put(client, {"resourceType": "Questionnaire", "id": "adults", "status": "active",
                 "useContext": [{"code": age, "valueRange": {
                     "low": {"value": 18, "unit": "a"}, "high": {"value": 65, "unit": "a"}}}]})
    put(client, {"resourceType": "Questionnaire", "id": "ten", "status": "active",
                 "useContext": [{"code": age, "valueQuantity": {"value": 10, "unit": "a"}}]})
    q = "Questionnaire?context-type-quantity="
    assert matches(client, q + "age$10") == {"ten"}
    assert matches(client, q + "age$gt50") == {"adults"}
    assert matches(client, q + "age$lt15") == {"ten"}
    assert matches(client, q + "age$ap40") == {"adults"}
    assert matches(client, q + "focus$10") == set()


def test_malformed_composite_values_are_400_naming_the_parameter(client: Any) -> None:
    for query in (
        "component-code-value-quantity=8480-6",  # one part
        "component-code-value-quantity=8480-6$1$2",  # three parts
        "component-code-value-quantity=8480-6$",  # an empty part
        "component-code-value-quantity=$120",
        "component-code-value-quantity=8480-6$abc",  # not a number
        "component-code-value-quantity=8480-6$gt",
        "code-value-date=21112-8$2024-13-45",  # not a date
        "code-value-quantity=8480-6\\$120",  # an escaped dollar separates nothing
        "code-value-quantity=8480-6$120,8480-6",
    ):
        r = client.get(f"/fhir/Observation?{query}")
        assert r.status_code == 400, (query, r.text)
        name = query.split("=", 1)[0]
        assert r.json()["issue"][0]["expression"] == [name], query
    for modifier in ("exact", "not", "text", "contains", "below"):
        r = client.get(f"/fhir/Observation?code-value-quantity:{modifier}=8480-6$1")
        assert r.status_code == 400, modifier
        assert r.json()["issue"][0]["expression"] == [f"code-value-quantity:{modifier}"]
    r = client.get("/fhir/Observation?code-value-quantity:missing=maybe")
    assert r.status_code == 400


def test_composites_are_in_the_capability_statement(client: Any) -> None:
    cs = client.get("/fhir/metadata").json()
    observation = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Observation")
    params = {p["name"]: p["type"] for p in observation["searchParam"]}
    for code in ("code-value-quantity", "component-code-value-quantity",
                 "combo-code-value-quantity", "code-value-concept", "code-value-date",
                 "code-value-string", "combo-code-value-concept",
                 "component-code-value-concept"):
        assert params.get(code) == "composite", code


# --- composite answers against a computation in Python over the same data --------------------


def _elements(resource: dict[str, Any], code: str) -> list[dict[str, Any]]:
    if code.startswith("component-"):
        return resource.get("component", [])
    if code.startswith("combo-"):
        return [resource, *resource.get("component", [])]
    return [resource]


def _codes(concept: dict[str, Any] | None) -> list[tuple[str | None, str | None]]:
    return [(c.get("system"), c.get("code")) for c in (concept or {}).get("coding", [])]


def _token_matches(query: str, concept: dict[str, Any] | None) -> bool:
    if "|" not in query:
        return any(code == query for _, code in _codes(concept))
    system, code = query.split("|", 1)
    return any(s == system and (not code or c == code) for s, c in _codes(concept))


def _number_matches(query: str, value: Any) -> bool:
    from decimal import Decimal

    prefix, text = (query[:2], query[2:]) if query[:2].isalpha() else ("eq", query)
    number = Decimal(text)
    half = Decimal(5) * Decimal(10) ** (number.as_tuple().exponent - 1)
    v = Decimal(str(value))
    eq = number - half <= v < number + half
    return {"eq": eq, "ne": not eq, "gt": v > number, "lt": v < number, "ge": v >= number,
            "le": v <= number}[prefix]


def _value_matches(kind: str, query: str, element: dict[str, Any]) -> bool:
    if kind == "quantity":
        q = element.get("valueQuantity")
        if not q or "value" not in q:
            return False
        number, _, unit = query.partition("|")
        if unit:
            system, _, code = unit.partition("|")
            if (system and q.get("system") != system) or (
                    code and code not in (q.get("code"), q.get("unit"))):
                return False
        return _number_matches(number, q["value"])
    if kind == "concept":
        return _token_matches(query, element.get("valueCodeableConcept"))
    from fhir_service.search.extract import normalize_string

    value = element.get("valueString")
    return value is not None and normalize_string(value).startswith(normalize_string(query))


def oracle(resources: list[dict[str, Any]], code: str, value: str) -> set[str]:
    kind = code.rsplit("-", 1)[1]
    token, part = value.split("$")
    return {r["id"] for r in resources if any(
        _token_matches(token, e.get("code")) and _value_matches(kind, part, e)
        for e in _elements(r, code))}


def queries_from(resources: list[dict[str, Any]], rng: random.Random, n: int
                 ) -> list[tuple[str, str]]:
    """Composite queries on the values present in the data (and some near them)."""
    found: set[tuple[str, str]] = set()
    for resource in resources:
        for element in [resource, *resource.get("component", [])]:
            codes = [c for c in _codes(element.get("code")) if c[0] and c[1]]
            if not codes:
                continue
            system, code = rng.choice(codes)
            token = rng.choice([code, f"{system}|{code}"])
            where = ["", "combo-"] if element is resource else ["component-", "combo-"]
            if (q := element.get("valueQuantity")) and "value" in q:
                for prefix in ("", "eq", "ne", "gt", "lt", "ge", "le"):
                    number = rng.choice([q["value"], q["value"] + 1, q["value"] - 0.5])
                    unit = rng.choice(["", f"|{q.get('system', '')}|{q.get('code', '')}",
                                       f"||{q.get('unit', '')}"])
                    for w in where:
                        found.add((f"{w}code-value-quantity", f"{token}${prefix}{number}{unit}"))
            for s, c in _codes(element.get("valueCodeableConcept")):
                if c:
                    for w in where:
                        found.add((f"{w}code-value-concept",
                                   f"{token}${rng.choice([c, f'{s}|{c}'])}"))
            if (text := element.get("valueString")) and element is resource:
                found.add(("code-value-string", f"{token}${text[:rng.randint(1, len(text))]}"))
    ordered = sorted(found)
    return rng.sample(ordered, min(n, len(ordered)))


def check_against_python(client: Any, n: int, seed: int) -> int:
    stored = [e["resource"] for e in search(client, "Observation?_count=1000")["entry"]]
    queries = queries_from(stored, random.Random(seed), n)
    assert len(queries) >= min(n, 50)
    nonempty = 0
    for code, value in queries:
        expected = oracle(stored, code, value)
        escaped = value.replace(",", "\\,")
        from urllib.parse import quote

        got = matches(client, f"Observation?{code}={quote(escaped)}")
        assert got == expected, (code, value)
        total = search(client, f"Observation?{code}={quote(escaped)}&_summary=count")["total"]
        assert total == len(expected), (code, value)
        nonempty += bool(expected)
    return nonempty


def test_official_observations_against_python(make_context: Any) -> None:
    from fastapi.testclient import TestClient

    from fhir_service import fhir
    from fhir_service.app import create_app
    from fhir_service.conformance.package import core_package_dir

    folder = core_package_dir()
    index = json.loads((folder / ".index.json").read_text())
    ctx = make_context(referential_integrity=False)
    loaded = 0
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as c:
        for entry in index["files"]:
            if entry["resourceType"] != "Observation":
                continue
            raw = (folder / entry["filename"]).read_bytes()
            resource = fhir.loads(raw)
            r = c.put(f"/fhir/Observation/{resource['id']}", content=raw, headers=H)
            loaded += r.status_code == 201
        assert loaded > 55
        # the blood pressure example, by the spec's own example value
        assert "blood-pressure" in matches(
            c, "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt100")
        assert check_against_python(c, 100, seed=1) > 30


def test_synthea_observations_against_python(make_context: Any) -> None:
    import bz2

    from fastapi.testclient import TestClient

    from fhir_service.app import create_app
    from tests.conftest import require_testdata

    folder = require_testdata("synthea-r4")
    # four patients and their Observations (vital signs with blood pressure components,
    # labs, surveys) in one transaction, without references to resources not loaded here
    entries = []
    for path in sorted(f for f in folder.glob("*.json.bz2") if not f.name.startswith("0-"))[:4]:
        bundle = json.loads(bz2.decompress(path.read_bytes()))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] not in ("Patient", "Observation"):
                continue
            for field in ("encounter", "performer", "hasMember", "derivedFrom",
                          "generalPractitioner", "managingOrganization"):
                resource.pop(field, None)
            entries.append({"fullUrl": entry["fullUrl"], "resource": resource, "request": {
                "method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}})
    ctx = make_context(referential_integrity=False)
    with TestClient(create_app(ctx.settings, ctx), base_url="http://test") as client:
        r = client.post("/fhir", json={"resourceType": "Bundle", "type": "transaction",
                                       "entry": entries}, headers=H)
        assert r.status_code == 200, r.text[:300]
        systolic = matches(client, "Observation?component-code-value-quantity="
                                   "http://loinc.org|8480-6$gt0")
        assert len(systolic) > 10
        assert check_against_python(client, 100, seed=2) > 30


def test_composite_components_fhirpathpy_evaluates_match_the_native_ones() -> None:
    """A component expression that is not a plain path is evaluated by fhirpathpy on the
    same elements (each part of a union expression in turn)."""
    from collections import defaultdict

    from fhir_service import fhir
    from fhir_service.conformance.package import core_package_dir
    from fhir_service.search.extract import extract
    from fhir_service.search.params import SearchParamRegistry

    definitions: list[dict[str, Any]] = [
        {"resourceType": "SearchParameter", "url": "urn:t:code", "code": "t-code",
         "type": "token", "base": ["Observation"], "expression": "Observation.component.code"},
        {"resourceType": "SearchParameter", "url": "urn:t:q", "code": "t-q",
         "type": "quantity", "base": ["Observation"],
         "expression": "Observation.component.value.as(Quantity)"}]
    for code, first in (("by-fhirpathpy", "code.coding.where(code.exists())"),
                        ("native", "code")):
        definitions.append({
            "resourceType": "SearchParameter", "url": f"urn:t:{code}", "code": code,
            "type": "composite", "base": ["Observation"],
            "expression": "Observation | Observation.component",
            "component": [{"definition": "urn:t:code", "expression": first},
                          {"definition": "urn:t:q", "expression": "value.as(Quantity)"}]})
    registry = SearchParamRegistry.from_definitions(definitions, ["Observation"])
    assert {p.code for p in registry.indexed("Observation")} >= {"by-fhirpathpy", "native"}
    resource = fhir.loads((core_package_dir() / "Observation-blood-pressure.json").read_bytes())
    resource["valueQuantity"] = {"value": 1, "unit": "x"}
    by_param: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for row in extract(resource, registry.indexed("Observation")).composite:
        by_param[row[0]].add(row[1:])
    assert len(by_param["native"]) == 9  # the Observation's own code and 8 of components
    assert by_param["by-fhirpathpy"] == by_param["native"]
