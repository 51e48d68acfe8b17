"""uri ``:above`` / ``:below`` and the date ``ap`` margin (https://hl7.org/fhir/R4/search.html#uri,
#prefix), on SQLite and PostgreSQL; and the search-parameter registry's caches."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fhir_service.context import FhirContext
from fhir_service.search.extract import date_range
from fhir_service.store.sqlsearch import DAY, date_margin, uri_above
from tests import test_search_chains as chains

# the same clients (SQLite, PostgreSQL) as the chain tests (pg_server: tests/conftest.py)
db_client = chains.db_client
_put, _ids = chains._put, chains._ids


VALUE_SETS = {
    "vs-123": "http://acme.org/fhir/ValueSet/123",
    "vs-1234": "http://acme.org/fhir/ValueSet/1234",  # not on a segment boundary of …/123
    "vs-dir": "http://acme.org/fhir/ValueSet/",
    "fhir-root": "http://acme.org/fhir/",
    "fhir-bare": "http://acme.org/fhir",
    "host": "http://acme.org",
    "upper": "http://acme.org/FHIR/ValueSet/123",
    "other": "http://other.org/fhir/ValueSet/123",
    "urn": "urn:oid:1.2.250.1.213.1.1",
}


def _value_sets(client: Any) -> None:
    for rid, url in VALUE_SETS.items():
        _put(client, {"resourceType": "ValueSet", "id": rid, "status": "active", "url": url})


def test_uri_above(db_client: Any) -> None:
    _value_sets(db_client)
    # the spec's example: the stored URI is a prefix of the searched one, on path segments
    assert _ids(db_client, "ValueSet?url:above=http://acme.org/fhir/ValueSet/123/_history/5") \
        == ["fhir-bare", "fhir-root", "host", "vs-123", "vs-dir"]
    assert _ids(db_client, "ValueSet?url:above=http://acme.org/fhir/ValueSet/123") == [
        "fhir-bare", "fhir-root", "host", "vs-123", "vs-dir"]
    assert _ids(db_client, "ValueSet?url:above=urn:oid:1.2.250.1.213.1.1") == ["urn"]


def test_uri_below_is_case_sensitive(db_client: Any) -> None:
    _value_sets(db_client)
    # below: a prefix of the stored URI, case-sensitive (URIs are, RFC 3986 §6.2.2.1 but for
    # the scheme and host)
    assert _ids(db_client, "ValueSet?url:below=http://acme.org/fhir/ValueSet") == [
        "vs-123", "vs-1234", "vs-dir"]
    assert _ids(db_client, "ValueSet?url:below=http://acme.org/FHIR") == ["upper"]
    assert _ids(db_client, "ValueSet?url:below=HTTP://ACME.ORG/fhir/ValueSet") == []
    assert _ids(db_client, "ValueSet?url:below=http://acme.org/fhir/valueset") == []
    # LIKE's wildcards are plain characters
    assert _ids(db_client, "ValueSet?url:below=http://acme.org/fhir/Value_et") == []
    assert _ids(db_client, "ValueSet?url:below=http://acme.org/%25") == []


def test_uri_above_prefixes() -> None:
    assert uri_above("http://a.org/fhir/ValueSet/1/_history/5") == sorted({
        "http://a.org", "http://a.org/", "http://a.org/fhir", "http://a.org/fhir/",
        "http://a.org/fhir/ValueSet", "http://a.org/fhir/ValueSet/", "http://a.org/fhir/ValueSet/1",
        "http://a.org/fhir/ValueSet/1/", "http://a.org/fhir/ValueSet/1/_history",
        "http://a.org/fhir/ValueSet/1/_history/", "http://a.org/fhir/ValueSet/1/_history/5"})
    # never the scheme alone; a query or fragment is not a path
    assert not {"http:", "http:/", "http://"} & set(uri_above("http://a.org/x"))
    assert uri_above("http://a.org/x/y?v=1/2") == [
        "http://a.org", "http://a.org/", "http://a.org/x", "http://a.org/x/", "http://a.org/x/y",
        "http://a.org/x/y?v=1/2"]
    assert uri_above("urn:uuid:0f7c") == ["urn:uuid:0f7c"]


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).strftime("%Y-%m-%d")


def test_date_ap_is_ten_percent_of_the_gap_to_now(db_client: Any) -> None:
    # due dates around a day 100 days away: the margin is about 10 days, not 10 % of the
    # epoch value (5.7 years, which matched them all)
    _put(db_client, {"resourceType": "Patient", "id": "p"})
    for offset in (91, 89, 109, 111, 100):
        _put(db_client, {"resourceType": "Goal", "id": f"due{offset}", "lifecycleStatus": "active",
                         "description": {"text": "g"}, "subject": {"reference": "Patient/p"},
                         "target": [{"dueDate": _day(offset)}]})
    assert _ids(db_client, f"Goal?target-date=ap{_day(100)}") == ["due100", "due109", "due91"]
    # a day around today: one day at least
    for offset in (0, 1, 2, 3, -2):
        _put(db_client, {"resourceType": "Goal", "id": f"now{offset}".replace("-", "m"),
                         "lifecycleStatus": "active", "description": {"text": "g"},
                         "subject": {"reference": "Patient/p"},
                         "target": [{"dueDate": _day(offset)}]})
    assert _ids(db_client, f"Goal?target-date=ap{_day(1)}") == ["now0", "now1", "now2"]


def test_date_margin() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC).timestamp()
    low, high = date_range("2026-03-01") or (0.0, 0.0)
    assert date_margin(low, high, now) == pytest.approx(0.1 * (now - high))
    future = date_range("2036-12-06")
    assert future is not None
    assert date_margin(*future, now=now) == pytest.approx(0.1 * (future[0] - now))
    # the range holds now, or is hours away: one day
    assert date_margin(*(date_range("2026") or (0.0, 0.0)), now=now) == DAY
    assert date_margin(*(date_range("2026-12-06T15:00:00Z") or (0.0, 0.0)), now=now) == DAY
    assert date_margin(low, high) == pytest.approx(0.1 * (time.time() - high), rel=1e-3)


def test_the_registry_computes_its_lists_once(base_context: FhirContext) -> None:
    from fhir_service.search.params import SearchParamRegistry

    params = base_context.params
    assert params.indexed("Patient") is params.indexed("Patient")
    assert "Patient" in params.types() and "Nothing" not in params.types()
    assert list(params.types()) == list(params.types())
    # a definition added afterwards is seen: the cache is dropped
    fresh = SearchParamRegistry.from_definitions([], ["Patient"])
    assert fresh.indexed("Patient") == ()
    fresh.add({"resourceType": "SearchParameter", "url": "http://cm.test/sp/nick", "code": "nick",
               "base": ["Patient"], "type": "string", "expression": "Patient.name.given"})
    assert [p.code for p in fresh.indexed("Patient")] == ["nick"]
