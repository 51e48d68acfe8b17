"""A person's shared plan, and its mapping to and from a partner's server.

**What is pushed** (read through the door of the client on whose behalf we push): the
Patient; its RelatedPersons, CareTeams, EpisodeOfCares, CarePlans, Goals and Consents (each
found by its ``patient`` search parameter); and the directory resources these reference,
transitively (Practitioner, PractitionerRole, Organization, e.g. a role's practitioner and
organisation, an organisation's ``partOf``).

**How a resource is matched on the partner**: by one business identifier, the first of
``PREFERRED_SYSTEMS`` it carries (INS, FINESS, SIRET, RPPS, ADELI), else its first identifier
with a system and a value. A resource without one gets ours: system
``IDENTIFIER_SYSTEM`` (or the ``sync_identifier_system`` setting), value ``Type/id`` (its
id here; the ids this server assigns are random UUIDs or keyed HMACs, unique across
servers). It is added to the copy sent, never to our resource. A resource whose identifier
is the partner's own URL of it (``urn:ietf:rfc:3986``, set on what pull brought from the
partner, see below) is written there by id.

**References**: between pushed resources, to the entry's ``urn:uuid`` fullUrl (derived from
our identifier system and ``Type/id``, so stable), which the partner resolves to the
resource the conditional PUT matched or created; to anything else (a Condition, a
ServiceRequest…) a logical reference: ``identifier`` = our system | ``Type/id`` (the partner
cannot resolve it; pull turns it back into our literal reference).

**Back** (pull): the partner's ids map back to ours by the ids recorded at push, else by
identifier (looked up through the client's door); our added identifier and ``meta`` are
dropped; a resource the partner created, without identifier, gets one naming it there
(``urn:ietf:rfc:3986`` | its URL on the partner), so the next pull and push match it.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

IDENTIFIER_SYSTEM = "https://interop.cm-sante-mentale.fr/fhir/sid/resource-id"
URI_SYSTEM = "urn:ietf:rfc:3986"

# found by person, in this order (the person first)
PERSON_TYPES = ("Patient", "RelatedPerson", "CareTeam", "EpisodeOfCare", "CarePlan", "Goal",
                "Consent")
DIRECTORY_TYPES = ("Practitioner", "PractitionerRole", "Organization")
SHARED_TYPES = PERSON_TYPES + DIRECTORY_TYPES

PREFERRED_SYSTEMS = (
    "urn:oid:1.2.250.1.213.1.4.8",  # INS-NIR
    "urn:oid:1.2.250.1.213.1.4.9",  # INS-NIA
    "urn:oid:1.2.250.1.213.1.4.10",  # INS-NIR (test)
    "urn:oid:1.2.250.1.213.1.4.11",  # INS-NIA (test)
    "https://finess.esante.gouv.fr",
    "https://sirene.fr",
    "https://rpps.esante.gouv.fr",
    "https://adeli.esante.gouv.fr",
)

_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class MappingError(Exception):
    """A resource that cannot be mapped (the message names types and paths, never data)."""


@dataclass(frozen=True)
class Match:
    system: str
    value: str
    added: bool  # our identifier, added to the copy sent


def relative_key(reference: str, base: str | None = None) -> str | None:
    """``Type/id`` of a relative reference (or an absolute one on ``base``), else None."""
    if base and reference.startswith(base.rstrip("/") + "/"):
        reference = reference[len(base.rstrip("/")) + 1:]
    m = _RELATIVE.match(reference)
    return f"{m.group(1)}/{m.group(2)}" if m else None


def key_of(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def match_identifier(resource: dict[str, Any], own_system: str) -> Match:
    """The identifier a resource is matched by on the partner (see module docstring)."""
    identifiers = [i for i in resource.get("identifier") or []
                   if isinstance(i, dict) and isinstance(i.get("system"), str)
                   and isinstance(i.get("value"), str) and i["system"] and i["value"]]
    for system in PREFERRED_SYSTEMS:
        for ident in identifiers:
            if ident["system"] == system:
                return Match(system, ident["value"], False)
    if identifiers:
        return Match(identifiers[0]["system"], identifiers[0]["value"], False)
    return Match(own_system, key_of(resource), True)


def full_url(own_system: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{own_system}|{key}')}"


def condition_url(rtype: str, match: Match) -> str:
    return (f"{rtype}?identifier={quote(match.system, safe=':/')}|"
            f"{quote(match.value, safe=':/')}")


def references(node: Any) -> list[dict[str, Any]]:
    """Every Reference (a dict with a string ``reference`` or an ``identifier`` beside
    ``reference``-less ``display``/``type``) in a resource, contained resources excluded."""
    found: list[dict[str, Any]] = []

    def walk(value: Any, top: bool) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str) or (
                    isinstance(value.get("identifier"), dict) and not top
                    and set(value) <= {"identifier", "display", "type", "extension", "id"}):
                found.append(value)
                return
            for name, item in value.items():
                if name == "contained" and top:
                    continue
                walk(item, False)
        elif isinstance(value, list):
            for item in value:
                walk(item, False)

    walk(node, True)
    return found


def directory_targets(resource: dict[str, Any]) -> list[str]:
    keys = []
    for ref in references(resource):
        key = relative_key(ref.get("reference") or "")
        if key and key.split("/", 1)[0] in (*DIRECTORY_TYPES, "RelatedPerson"):
            keys.append(key)
    return keys


@dataclass
class PushPlan:
    """The transaction for one person and what each entry is."""

    person: str  # Patient id here
    keys: list[str] = field(default_factory=list)  # Type/id here, one per entry
    bundle: dict[str, Any] = field(default_factory=dict)


def outbound(resources: dict[str, dict[str, Any]], person: str, own_system: str,
             remote_base: str) -> PushPlan:
    """The transaction of conditional PUTs for ``resources`` (``Type/id`` → content)."""
    plan = PushPlan(person)
    entries = []
    for key, resource in resources.items():
        rtype = resource["resourceType"]
        body = copy.deepcopy(resource)
        body.pop("id", None)
        meta = {k: v for k, v in (body.pop("meta", None) or {}).items()
                if k in ("profile", "tag", "security")}
        if meta:
            body["meta"] = meta
        match = match_identifier(resource, own_system)
        if match.added:
            body["identifier"] = [*(body.get("identifier") or []),
                                  {"system": match.system, "value": match.value}]
        for ref in references(body):
            target = relative_key(ref.get("reference") or "")
            if target is None:
                continue
            if target in resources:
                ref["reference"] = full_url(own_system, target)
            else:  # outside the shared plan: a logical reference to our resource
                del ref["reference"]
                ref.setdefault("identifier", {"system": own_system, "value": target})
        remote_key = _remote_key_of(resource, remote_base)
        if remote_key is not None:  # it came from the partner: write it there by id
            body["id"] = remote_key.split("/", 1)[1]
            request = {"method": "PUT", "url": remote_key}
        else:
            request = {"method": "PUT", "url": condition_url(rtype, match)}
        entries.append({"fullUrl": full_url(own_system, key), "resource": body,
                        "request": request})
        plan.keys.append(key)
    plan.bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    return plan


def _remote_key_of(resource: dict[str, Any], remote_base: str) -> str | None:
    prefix = remote_base.rstrip("/") + "/"
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == URI_SYSTEM and \
                isinstance(ident.get("value"), str) and ident["value"].startswith(prefix):
            key = relative_key(ident["value"][len(prefix):])
            if key and key.split("/", 1)[0] == resource.get("resourceType"):
                return key
    return None


def inbound(remote: dict[str, Any], local_key: str | None, own_system: str,
            resolve: Callable[[str], str | None], remote_base: str,
            local_current: dict[str, Any] | None) -> dict[str, Any]:
    """Our form of a partner's resource: references mapped back (``resolve``: partner
    ``Type/id`` → ours, or None), our added identifier and ``meta`` dropped, ``id`` ours
    (absent for a new resource, which gets the partner's URL as identifier when it has
    none)."""
    rtype = remote["resourceType"]
    body = copy.deepcopy(remote)
    remote_id = body.pop("id", None)
    meta = body.pop("meta", None) or {}
    kept_meta = {k: v for k, v in meta.items() if k in ("profile", "tag", "security")}
    if kept_meta:
        body["meta"] = kept_meta
    elif local_current and isinstance(local_current.get("meta"), dict):
        kept = {k: v for k, v in local_current["meta"].items()
                if k in ("profile", "tag", "security")}
        if kept:
            body["meta"] = kept
    if generated_text(body):  # the partner's own narrative: ours stays (or is generated)
        del body["text"]
        if local_current and "text" in local_current:
            body["text"] = local_current["text"]
    local_had = {(i.get("system"), i.get("value"))
                 for i in (local_current or {}).get("identifier") or [] if isinstance(i, dict)}
    idents = [i for i in body.get("identifier") or []
              if not (isinstance(i, dict) and i.get("system") == own_system
                      and (i.get("system"), i.get("value")) not in local_had)]
    if idents:
        body["identifier"] = idents
    else:
        body.pop("identifier", None)
    for index, ref in enumerate(references(body)):
        target = ref.get("reference")
        if isinstance(target, str):
            if target.startswith("#"):
                continue
            rkey = relative_key(target, remote_base)
            if rkey is None:
                continue  # an absolute reference elsewhere: kept as it is
            mine = resolve(rkey)
            if mine is None:
                raise MappingError(f"{rtype}: reference #{index + 1} to the partner's "
                                   f"{rkey.split('/', 1)[0]} matches nothing here")
            ref["reference"] = mine
        else:
            ident = ref.get("identifier") or {}
            if ident.get("system") == own_system and isinstance(ident.get("value"), str) \
                    and relative_key(ident["value"]):
                del ref["identifier"]
                ref["reference"] = ident["value"]
    if local_key is not None:
        body["id"] = local_key.split("/", 1)[1]
    elif not body.get("identifier") and remote_id:
        body["identifier"] = [{"system": URI_SYSTEM,
                               "value": f"{remote_base.rstrip('/')}/{rtype}/{remote_id}"}]
    return _ordered(body)


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    """resourceType and id first (as served)."""
    head: dict[str, Any] = {k: body[k] for k in ("resourceType", "id", "meta") if k in body}
    return {**head, **{k: v for k, v in body.items() if k not in head}}


def generated_text(resource: dict[str, Any]) -> bool:
    text = resource.get("text")
    return isinstance(text, dict) and text.get("status") == "generated"


def comparable(resource: dict[str, Any]) -> dict[str, Any]:
    """The content that matters when comparing a resource with its copy: without ``id``,
    ``meta`` and a generated narrative (each server may generate its own, naming its ids)."""
    drop = ("id", "meta", "text") if generated_text(resource) else ("id", "meta")
    return {k: v for k, v in resource.items() if k not in drop}
