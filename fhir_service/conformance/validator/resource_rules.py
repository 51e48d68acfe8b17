"""Rules on a whole resource that no element definition expresses: ids, contained resources
(dom-2..dom-5), canonical URLs, Bundle entries and links, attachments
(https://hl7.org/fhir/R4/resource.html, https://hl7.org/fhir/R4/bundle.html)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from fhir_service.conformance.validator import definitions
from fhir_service.conformance.validator.common import _ABSOLUTE, _ID, _local_refs, _Run

if TYPE_CHECKING:
    from fhir_service.conformance.validator.engine import Validator


def domain_rules(
    validator: Validator, run: _Run, res: dict[str, Any], expr: str, root: dict[str, Any]
) -> None:
    rtype = res.get("resourceType")
    rid = res.get("id")
    if isinstance(rid, str) and not _ID.match(rid):  # contained resources' ids too
        run.add("error", "value", f"Invalid resource id '{rid[:80]}' ([A-Za-z0-9-.]{{1,64}})", f"{expr}.id")
    contained = res.get("contained")
    if isinstance(contained, list) and contained and validator.check_contained:
        refs = set(_local_refs(res))
        for i, c in enumerate(contained):
            if not isinstance(c, dict):
                continue
            loc = f"{expr}.contained[{i}]"
            if c.get("contained"):
                run.add(
                    "error",
                    "invariant",
                    "Constraint failed: dom-2: a contained resource must not contain resources",
                    loc,
                )
            meta: dict[str, Any] = c["meta"] if isinstance(c.get("meta"), dict) else {}
            if "versionId" in meta or "lastUpdated" in meta:
                run.add(
                    "error",
                    "invariant",
                    "Constraint failed: dom-4: a contained "
                    "resource must not have meta.versionId or meta.lastUpdated",
                    loc,
                )
            if "security" in meta:
                run.add(
                    "error",
                    "invariant",
                    "Constraint failed: dom-5: a contained resource must not have security labels",
                    loc,
                )
            if c.get("id") not in refs and "#" not in set(_local_refs(c)):
                run.add(
                    "error",
                    "invariant",
                    "Constraint failed: dom-3: the contained "
                    f"resource '{c.get('id')}' is not referenced from the rest of the "
                    "resource",
                    loc,
                )
    if rtype == "Bundle":
        bundle_rules(validator, run, res, expr)
    canonical_url(validator, run, res, expr, root)
    rules = definitions.RULES.get(rtype) if isinstance(rtype, str) else None
    if rules is not None:
        rules(validator, res, expr, lambda msg, at: run.add("error", "invalid", msg, at))


def bundle_rules(validator: Validator, run: _Run, bundle: dict[str, Any], expr: str) -> None:
    relations: set[str] = set()
    for i, link in enumerate(bundle.get("link", []) or []):
        relation = link.get("relation") if isinstance(link, dict) else None
        if isinstance(relation, str) and relation in relations:
            # a relation names one link (validator, next…: https://hl7.org/fhir/R4/http.html#paging)
            run.add(
                "error",
                "invalid",
                f"The link relationship type '{relation}' can only occur once",
                f"{expr}.link[{i}]",
            )
        elif isinstance(relation, str):
            relations.add(relation)
    seen: dict[str, int] = {}
    for i, entry in enumerate(bundle.get("entry", []) or []):
        if not isinstance(entry, dict):
            continue
        full = entry.get("fullUrl")
        res = entry.get("resource")
        loc = f"{expr}.entry[{i}]"
        if isinstance(full, str) and not _ABSOLUTE.match(full):
            run.add(
                "error", "invalid", f"The fullUrl must be an absolute URL (not '{full}')", f"{loc}.fullUrl"
            )
        if isinstance(full, str) and isinstance(res, dict):
            rid, rtype = res.get("id"), res.get("resourceType")
            # a RESTful fullUrl (.../Type/id, Type a resource type) names the resource's
            # type and id; other absolute URLs are not read
            tail = full.split("/_history/", 1)[0].rstrip("/").split("/")[-2:]
            restful = len(tail) == 2 and validator.registry.type_definition(tail[0]) is not None
            if full.startswith(("http://", "https://")) and rid and restful and tail != [rtype, rid]:
                run.add(
                    "error",
                    "invalid",
                    f"The fullUrl '{full}' does not match the resource {rtype}/{rid}",
                    f"{loc}.fullUrl",
                )
            key = (
                full
                + "|"
                + str(
                    (res.get("meta") or {}).get("versionId", "") if isinstance(res.get("meta"), dict) else ""
                )
            )
            if key in seen and bundle.get("type") not in ("history",):
                run.add(
                    "error",
                    "invariant",
                    f"Constraint failed: bdl-7: fullUrl must be unique in a bundle ('{full}')",
                    f"{loc}.fullUrl",
                )
            seen[key] = i


def canonical_url(
    validator: Validator, run: _Run, res: dict[str, Any], expr: str, root: dict[str, Any]
) -> None:
    """The url of a canonical resource is absolute
    (https://hl7.org/fhir/R4/references.html#canonical): a resource type with url, version
    and status elements is a canonical resource."""
    url = res.get("url")
    if not isinstance(url, str) or not isinstance(res.get("resourceType"), str):
        return
    model = validator.type_model(res["resourceType"])
    if model is None or not {"url", "version", "status"} <= model.root.children.keys():
        return
    if _ABSOLUTE.match(url) or url.startswith("#"):
        return
    where = "in contained resources " if root is not res else ""
    run.add(
        "error",
        "invalid",
        f"Canonical URLs {where}must be absolute URLs if they are not fragment references ('{url}')",
        f"{expr}.url",
    )


def check_attachment(validator: Validator, run: _Run, item: dict[str, Any], expr: str) -> None:
    """``size`` is the number of bytes of ``data`` when both are given
    (https://hl7.org/fhir/R4/datatypes.html#Attachment)."""
    data, size = item.get("data"), item.get("size")
    if not isinstance(data, str) or type(size) is not int:
        return
    try:
        actual = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return  # (the base64Binary check reports it)
    if actual != size:
        run.add(
            "error",
            "value",
            f"Stated Attachment Size {size} does not match actual attachment size {actual}",
            f"{expr}.size",
        )
