"""Structured logs: JSON lines, the request id on every record of a request (500s included),
a level setting, and never a query parameter, a body or a token."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from fhir_service.logs import JsonFormatter, RequestIdFilter, configure


@pytest.fixture
def captured() -> Any:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_every_record_of_a_request_carries_its_id_even_a_500(client: Any, captured: Any,
                                                              monkeypatch: Any) -> None:
    from fhir_service.interactions import search

    def boom(_ctx: Any, req: Any, *_: Any) -> Any:
        logging.getLogger("cm_fhir.test").warning("deep inside the search")
        raise RuntimeError(f"Patient {req.query[0][1]} broke it")  # (a message quoting data)

    monkeypatch.setattr(search, "search_type", boom)
    r = client.get("/fhir/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|1800107501234",
                   headers={"X-Request-Id": "req-42"})
    assert r.status_code == 500
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]
    mine = [rec for rec in lines if rec.get("request_id") == "req-42"]
    assert {rec["logger"] for rec in mine} >= {"cm_fhir.test", "cm_fhir.http"}
    assert any(rec["level"] == "ERROR" for rec in mine)  # the 500 itself
    assert any(rec.get("event") == "request" and rec.get("status") == 500 for rec in mine)
    assert "1800107501234" not in captured.getvalue()  # neither the query nor the message


def test_a_record_outside_any_request_has_no_id(captured: Any) -> None:
    logging.getLogger("cm_fhir.test").warning("at start-up")
    record = json.loads(captured.getvalue().splitlines()[-1])
    assert record["message"] == "at start-up" and "request_id" not in record


def test_the_level_is_a_setting_and_a_bad_one_is_refused() -> None:
    configure("WARNING")
    assert logging.getLogger("cm_fhir").level == logging.WARNING
    configure("info")
    assert logging.getLogger("cm_fhir").level == logging.INFO
    with pytest.raises(ValueError, match="log level"):
        configure("loud")
