"""The single import point for FHIR models and FHIR JSON handling.

https://hl7.org/fhir/R4/json.html — FHIR R4 4.0.1 JSON. Decimals keep their exact text
(``200.00`` stays ``200.00``): we parse numbers with a fractional part or exponent into
:class:`decimal.Decimal` and write them back verbatim with ``orjson.Fragment``.
The ``fhir.resources`` R4B models are here for typed work (:func:`model_class`) and
:func:`validate_with_model`; writes no longer run them by default (``validate_with_model``
setting): the structural check and the profile validator catch everything they catch on R4
(tests/validator/test_model_differential.py).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from fhir_service.outcomes import FhirError, Issue

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number in FHIR")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate property '{key}'")
            seen.add(key)
    return obj


_decoder = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_pairs
)


def loads(data: bytes | str) -> Any:
    """Parse FHIR JSON; raises :class:`FhirError` (structure) with line/column on failure."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FhirError(
                "structure", f"The body is not valid UTF-8 (byte {exc.start})"
            ) from None
    else:
        text = data
    text = text.removeprefix("\ufeff")
    try:
        return _decoder.decode(text)
    except RecursionError:
        raise FhirError("structure", "The JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise FhirError(
            "structure", f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise FhirError("structure", f"Invalid JSON: {exc}") from None


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(str(obj))
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def dumps(obj: Any, pretty: bool = False) -> bytes:
    """Serialise to compact (or indented) JSON, decimals verbatim."""
    option = orjson.OPT_INDENT_2 if pretty else 0
    try:
        return orjson.dumps(obj, default=_default, option=option)
    except (orjson.JSONEncodeError, TypeError) as exc:
        if "surrogates" in str(exc):
            raise FhirError("value", "The content holds invalid Unicode (a lone surrogate "
                            "escape such as \\ud800)") from None
        raise


def pretty_bytes(raw: bytes) -> bytes:
    """Re-indent stored bytes without losing decimal text."""
    return dumps(loads(raw), pretty=True)


def canonical(resource: dict[str, Any]) -> bytes:
    """Canonical stored form: resourceType, id, meta first, then the rest in received order."""
    head = {k: resource[k] for k in ("resourceType", "id", "meta") if k in resource}
    rest = {k: v for k, v in resource.items() if k not in head}
    return dumps({**head, **rest})


def strip_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != "meta"}


def same_content(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal ignoring ``meta`` (versionId, lastUpdated, …) and key order."""
    return strip_meta(a) == strip_meta(b)


# --- models -------------------------------------------------------------------------------


@cache
def model_class(resource_type: str) -> Any | None:
    """The fhir.resources R4B model for a type, or None when R4B has none."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def pydantic_path(resource_type: str, loc: tuple[Any, ...]) -> str:
    parts = [resource_type]
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]"
        elif isinstance(item, str) and not item.startswith("function-after") and "[" not in item:
            parts.append(item)
    return ".".join(parts)


def validate_with_model(resource: dict[str, Any]) -> list[Issue]:
    """Validate with the R4B pydantic model; return issues (empty when valid, or when R4B has
    no model for the type). Not on the write path unless ``validate_with_model`` is set; R4B
    is not R4 for a few types and elements (Evidence, EvidenceVariable, Meta in the open
    types: see the differential test's ``R4B_VS_R4``)."""
    from pydantic import ValidationError

    rtype = resource["resourceType"]
    cls = model_class(rtype)
    if cls is None:
        return []
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            path = pydantic_path(rtype, tuple(err.get("loc", ())))
            msg = err.get("msg", "invalid")
            etype = err.get("type", "")
            code = "structure" if etype == "extra_forbidden" else "value"
            if etype == "extra_forbidden":
                msg = f"Unknown element '{path.rsplit('.', 1)[-1]}'"
            elif "required" in msg.lower() or etype == "missing":
                code = "required"
            issues.append(Issue("error", code, f"{path}: {msg}", (path,)))
        return issues
    except (ValueError, TypeError) as exc:  # model-level validators raising plain errors
        return [Issue("error", "value", f"{rtype}: {exc}", (rtype,))]
    return []
