"""What a Subscription must be for this server to honour it, checked when it is written.

A Subscription the server cannot honour is refused (400, 403 or 422 with an
OperationOutcome naming the element), never stored to sit in ``requested`` forever:
an unknown topic, a filter the topic does not define, a channel other than ``rest-hook``,
an endpoint that is not https (loopback http only when the setting allows it), outside the
allow-list or carrying credentials, a payload MIME type or FHIR version we do not send, a
content level we do not know, a criteria that is not a search on a type we notify about,
and scopes of the writing client that do not let it read what it subscribes to.

Two forms (docs/subscriptions.md):

* topic-based (Subscriptions R5 Backport IG STU 1.1 for R4): ``criteria`` is a topic
  canonical (``topics.py``), ``_criteria`` carries ``backport-filter-criteria`` extensions
  (ANDed), ``channel._payload`` the ``backport-payload-content`` (empty | id-only |
  full-resource; default id-only); notifications are history Bundles;
* criteria-based (R4): ``criteria`` is a search (``CarePlan?patient=Patient/1``); a
  notification is a POST without body, or with a payload the resource PUT at
  ``endpoint/Type/id`` (the R4 ``rest-hook`` definition).

Header values (``channel.header``) are secrets the server keeps in its own table: the stored
resource shows each header's name with the value ``***``, and an update that sends ``***``
back keeps the value it had.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fhir_service.outcomes import FhirError, Issue
from fhir_service.subscriptions.topics import TOPICS, Topic

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
PROFILE = BACKPORT + "backport-subscription"
EXT_FILTER = BACKPORT + "backport-filter-criteria"
EXT_CONTENT = BACKPORT + "backport-payload-content"
EXT_HEARTBEAT = BACKPORT + "backport-heartbeat-period"
EXT_TIMEOUT = BACKPORT + "backport-timeout"
EXT_MAX_COUNT = BACKPORT + "backport-max-count"
EXT_CHANNEL_TYPE = BACKPORT + "backport-channel-type"
CONTENTS = ("empty", "id-only", "full-resource")
MIME_TYPES = ("application/fhir+json", "application/json")
MASK = "***"
# types whose changes are not notified (written by the server itself, or subscriptions)
UNWATCHED = frozenset({"Subscription", "AuditEvent", "Provenance"})
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding",
                                "connection", "expect", "te", "upgrade", "trailer"})
_HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}):[ \t]*(.*)$")


@dataclass
class Plan:
    """A Subscription as the server will honour it (stored in ``sub_state.config``)."""

    kind: str  # topic | criteria
    rtype: str
    topic: str | None
    query: list[tuple[str, str]]  # search parameters (criteria, or the topic's filters)
    endpoint: str
    headers: list[tuple[str, str]] = field(default_factory=list)  # secrets
    content: str = "id-only"  # topic: empty | id-only | full-resource; criteria: empty|full
    mime: str = "application/fhir+json"
    heartbeat: int = 0  # seconds, 0: none
    timeout: float = 10.0
    max_count: int = 20
    end: str | None = None
    base: str = ""  # the server's base URL for fullUrl and references

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rtype": self.rtype, "topic": self.topic,
                "query": [list(q) for q in self.query], "endpoint": self.endpoint,
                "headers": [list(h) for h in self.headers], "content": self.content,
                "mime": self.mime, "heartbeat": self.heartbeat, "timeout": self.timeout,
                "max_count": self.max_count, "end": self.end, "base": self.base}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(data["kind"], data["rtype"], data.get("topic"),
                   [(k, v) for k, v in data.get("query", [])], data["endpoint"],
                   [(k, v) for k, v in data.get("headers", [])], data.get("content", "id-only"),
                   data.get("mime", "application/fhir+json"), int(data.get("heartbeat", 0)),
                   float(data.get("timeout", 10.0)), int(data.get("max_count", 20)),
                   data.get("end"), data.get("base", ""))

    @property
    def topic_def(self) -> Topic | None:
        return TOPICS.get(self.topic or "")


def _ext(element: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(element, dict):
        return []
    return [e for e in element.get("extension") or [] if isinstance(e, dict)
            and e.get("url") == url]


def _refuse(message: str, expression: str, category: str = "not-supported") -> FhirError:
    return FhirError(category, message, expression)


def endpoint_problem(url: str, settings: Any) -> str | None:
    """Why notifications may not be sent to ``url`` (None: they may)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "the endpoint is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "the endpoint must be an absolute https URL"
    if parts.username or parts.password:
        return "the endpoint may not carry credentials (use channel.header)"
    if parts.fragment:
        return "the endpoint may not have a fragment"
    if parts.scheme == "http":
        loopback = host == "localhost"
        with contextlib.suppress(ValueError):
            loopback = loopback or ipaddress.ip_address(host).is_loopback
        if not (loopback and settings.subscription_http_loopback):
            return ("the endpoint must use https (http is accepted only on the loopback "
                    "interface, when the server's CM_FHIR_SUBSCRIPTION_HTTP_LOOPBACK allows it)")
    allowed = [p.strip() for p in str(settings.subscription_endpoints or "").split(",")
               if p.strip()]
    if allowed and not any(url.startswith(p) for p in allowed):
        return "the endpoint is not among those this server may notify (its allow-list)"
    return None


def analyse(ctx: Any, resource: dict[str, Any], principal: Any, base_url: str,
            previous_headers: list[tuple[str, str]]) -> Plan:
    """The plan of a Subscription, or the FhirError that refuses it (every problem named)."""
    settings = ctx.settings
    issues: list[Issue] = []

    def problem(message: str, expression: str) -> None:
        issues.append(Issue("error", "not-supported", message, (expression,)))

    channel: dict[str, Any] = resource["channel"] if isinstance(resource.get("channel"), dict) \
        else {}
    ctype = channel.get("type")
    if ctype != "rest-hook":
        problem(f"Channel type '{str(ctype)[:40]}' is not supported: this server notifies "
                "by rest-hook only", "Subscription.channel.type")
    for ext in _ext(channel.get("_type"), EXT_CHANNEL_TYPE):
        coding = ext.get("valueCoding") or {}
        if coding.get("code") != "rest-hook":
            problem(f"Channel type '{str(coding.get('code'))[:40]}' is not supported: this "
                    "server notifies by rest-hook only", "Subscription.channel.type.extension")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        problem("A rest-hook Subscription needs channel.endpoint", "Subscription.channel.endpoint")
        endpoint = ""
    elif (why := endpoint_problem(endpoint, settings)) is not None:
        problem(f"Endpoint refused: {why}", "Subscription.channel.endpoint")
    payload = channel.get("payload")
    mime = "application/fhir+json"
    if payload is not None:
        mtype, _, params = str(payload).partition(";")
        version = dict(p.strip().partition("=")[::2] for p in params.split(";") if "=" in p)
        if mtype.strip() not in MIME_TYPES:
            problem(f"Payload type '{str(payload)[:60]}' is not supported: "
                    "application/fhir+json only", "Subscription.channel.payload")
        elif version.get("fhirVersion", "4.0") not in ("4.0", "4.0.1"):
            problem("Notifications are FHIR R4 (fhirVersion=4.0) only",
                    "Subscription.channel.payload")
        else:
            mime = str(payload)
    contents = _ext(channel.get("_payload"), EXT_CONTENT)
    headers: list[tuple[str, str]] = []
    old = dict((k.lower(), v) for k, v in previous_headers)
    for i, text in enumerate(channel.get("header") or []):
        match = _HEADER.match(text) if isinstance(text, str) else None
        if match is None or match.group(1).lower() in _FORBIDDEN_HEADERS or \
                any(c in match.group(2) for c in "\r\n"):
            problem("A channel header must be 'Name: value' (not Host, Content-Type or "
                    "Content-Length)", f"Subscription.channel.header[{i}]")
            continue
        name, value = match.group(1), match.group(2)
        if value == MASK:
            if name.lower() not in old:
                problem(f"Header {name} is masked ('{MASK}') but has no value to keep",
                        f"Subscription.channel.header[{i}]")
                continue
            value = old[name.lower()]
        headers.append((name, value))

    def number(url: str, kind: str, low: int, high: int, default: int) -> int:
        for ext in _ext(channel, url):
            value = ext.get(kind)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                problem(f"{url.rsplit('/', 1)[-1]} must be between {low} and {high}",
                        "Subscription.channel.extension")
                return default
            return value
        return default

    heartbeat = number(EXT_HEARTBEAT, "valueUnsignedInt", 1, 86_400, 0)
    timeout = number(EXT_TIMEOUT, "valueUnsignedInt", 1, 600,
                     int(settings.subscription_timeout))
    max_count = number(EXT_MAX_COUNT, "valuePositiveInt", 1, 1000, 20)
    end = resource.get("end")
    if isinstance(end, str):
        from fhir_service.search.extract import date_range

        rng = date_range(end)
        if rng is not None and rng[1] <= ctx.clock.wall():
            problem("The Subscription's end is in the past", "Subscription.end")

    criteria = resource.get("criteria")
    meta: dict[str, Any] = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
    topic_based = (isinstance(criteria, str) and criteria.startswith(("http://", "https://"))) \
        or PROFILE in (meta.get("profile") or [])
    query: list[tuple[str, str]] = []
    rtype = ""
    topic_url: str | None = None
    content = "id-only"
    if not isinstance(criteria, str) or not criteria:
        problem("Subscription.criteria is required", "Subscription.criteria")
    elif topic_based:
        topic = TOPICS.get(criteria)
        if topic is None:
            problem(f"Unknown subscription topic '{criteria[:200]}': the topics of this server "
                    "are listed in its CapabilityStatement (Subscription)", "Subscription.criteria")
        else:
            topic_url, rtype = topic.url, topic.rtype
            for i, ext in enumerate(_ext(resource.get("_criteria"), EXT_FILTER)):
                query += _filter(ctx, topic, ext.get("valueString"), problem,
                                 f"Subscription.criteria.extension[{i}]")
        if len(contents) > 1:
            problem("One payload content only", "Subscription.channel.payload.extension")
        for ext in contents:
            content = str(ext.get("valueCode"))
            if content not in CONTENTS:
                problem(f"Payload content '{str(content)[:40]}' is not supported: empty, id-only "
                        "or full-resource", "Subscription.channel.payload.extension")
        if payload is None:
            problem("A topic-based Subscription needs channel.payload "
                    "(application/fhir+json)", "Subscription.channel.payload")
    else:
        rtype, _, qs = criteria.partition("?")
        if rtype not in ctx.resource_types or rtype in UNWATCHED:
            problem(f"Criteria '{criteria[:200]}' is not a search on a resource type this "
                    "server notifies about (Type?parameters)", "Subscription.criteria")
        else:
            query = parse_qsl(qs, keep_blank_values=True)
            if any(k.startswith("_") and k not in ("_id", "_lastUpdated", "_tag",
                                                   "_profile", "_security") for k, _ in query):
                problem("Criteria may use search parameters only (no _include, _sort, "
                        "_count…)", "Subscription.criteria")
            else:
                try:
                    ctx.parser.parse(rtype, query, strict=True, base_url=base_url)
                except FhirError as exc:
                    problem(f"Criteria cannot be evaluated: {exc.message}",
                            "Subscription.criteria")
        content = "full-resource" if payload is not None else "empty"
        if contents:
            problem("backport-payload-content belongs to topic-based Subscriptions",
                    "Subscription.channel.payload.extension")
    if issues:
        raise FhirError("not-supported", issues[0].diagnostics or "", issues=issues)
    if principal is not None and not principal.system and \
            not (principal.can(rtype, "r") and principal.can(rtype, "s")):
        raise FhirError("forbidden", f"The token's scopes do not allow reading and searching "
                        f"{rtype}, which this Subscription would notify about", "Subscription")
    return Plan("topic" if topic_based else "criteria", rtype, topic_url, query, str(endpoint),
                headers, content, mime, heartbeat, float(min(timeout,
                                                             settings.subscription_timeout)),
                max_count, end if isinstance(end, str) else None,
                (settings.public_base_url or base_url).rstrip("/"))


def _filter(ctx: Any, topic: Topic, value: Any, problem: Any, where: str
            ) -> list[tuple[str, str]]:
    """One backport-filter-criteria value: ``Type?a=1&b=2`` (or ``Type.a=1``, or ``a=1``)."""
    if not isinstance(value, str) or not value:
        problem("A filter criteria needs a valueString", where)
        return []
    text = value
    for sep in ("?", "."):
        head, found, rest = text.partition(sep)
        if found and head == topic.rtype:
            text = rest
            break
    else:
        if re.match(r"^[A-Z][A-Za-z]+[?.]", text):
            problem(f"Filter '{value[:200]}' is not on {topic.rtype}, the topic's resource", where)
            return []
    items = parse_qsl(text, keep_blank_values=True)
    if not items:
        problem(f"Filter '{value[:200]}' has no parameter", where)
        return []
    for name, _ in items:
        if name.split(":", 1)[0] not in topic.filters or ":" in name:
            problem(f"Filter parameter '{name[:60]}' is not defined by topic {topic.id} "
                    f"(it allows: {', '.join(topic.filters)})", where)
            return []
    try:
        ctx.parser.parse(topic.rtype, items, strict=True)
    except FhirError as exc:
        problem(f"Filter cannot be evaluated: {exc.message}", where)
        return []
    return items


def stored_form(resource: dict[str, Any], plan: Plan, status: str) -> dict[str, Any]:
    """The resource as stored and served: the server's status, no error text from the
    client, header values masked."""
    out = {k: v for k, v in resource.items() if k != "error"}
    out["status"] = status
    channel = dict(out.get("channel") or {})
    if plan.headers:
        channel["header"] = [f"{name}: {MASK}" for name, _ in plan.headers]
    else:
        channel.pop("header", None)
    out["channel"] = channel
    return out
