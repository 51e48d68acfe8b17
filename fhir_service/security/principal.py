"""Who is calling: the principal behind a request, and SMART scopes.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html — SMART v2 scopes
``system/CarePlan.rs``, ``system/*.cruds`` (c create, r read, u update, d delete, s search),
with the v1 forms accepted: ``system/CarePlan.read`` (= rs), ``.write`` (= cud), ``.*``.
In a token (ours, or an external issuer's) ``user/`` scopes are read like ``system/`` ones:
access is decided per structure, not per user. This service's token endpoint grants
``system/`` scopes only (:func:`requested_scope_problem`): the client-credentials grant of
SMART Backend Services has no user and no patient in context, so a requested ``user/`` or
``patient/`` scope is refused (``invalid_scope``), never turned into a ``system/`` one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_V2 = re.compile(r"^(system|user)/(\*|[A-Z][A-Za-z]+)\.(c?r?u?d?s?)$")
_V1 = re.compile(r"^(system|user)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)$")
_V1_LETTERS = {"read": "rs", "write": "cud", "*": "cruds"}


def parse_scope(scope: str) -> tuple[str, str] | None:
    """(resource type or '*', permission letters) of one scope, None if not a resource scope."""
    match = _V2.match(scope)
    if match and match.group(3):
        return match.group(2), match.group(3)
    match = _V1.match(scope)
    if match:
        return match.group(2), _V1_LETTERS[match.group(3)]
    return None


def requested_scope_problem(scope: str,
                            resource_types: frozenset[str] | set[str] | None = None) -> str | None:
    """Why ``scope``, requested with the client-credentials grant, cannot be granted (None if
    it can): SMART Backend Services grant ``system/`` scopes only, on a resource type this
    server knows (``resource_types``; not checked when None) or ``*``."""
    context, _, rest = scope.partition("/")
    if context in ("user", "patient") and rest:
        return (f"'{scope[:80]}': {context}/ scopes need a {context} in context, which the "
                "client-credentials grant (SMART Backend Services) does not have; request "
                f"system/{rest[:60]}")
    if not scope.startswith("system/") or parse_scope(scope) is None:
        return (f"'{scope[:80]}' is not a SMART system scope (system/<Type or *>.<cruds>, "
                "or v1 .read, .write, .*)")
    rtype = parse_scope(scope)[0]  # type: ignore[index]
    if resource_types is not None and rtype != "*" and rtype not in resource_types:
        return f"'{scope[:80]}': {rtype} is not a FHIR R4 resource type of this server"
    return None


@dataclass(frozen=True)
class Scopes:
    """Permission letters per resource type ('*' for all types)."""

    grants: tuple[tuple[str, str], ...] = ()
    raw: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Scopes:
        raw = tuple(s for s in text.split() if s)
        grants = tuple(g for g in (parse_scope(s) for s in raw) if g is not None)
        return cls(grants, raw)

    def allows(self, rtype: str, letter: str) -> bool:
        """``rtype`` '*' asks for every type, which only a '*' scope gives."""
        return any(t in ("*", rtype) and letter in letters for t, letters in self.grants)

    def narrow(self, requested: Scopes) -> Scopes:
        """The requested scopes this set covers (token requests get no more than allowed),
        each in its own context (a ``user/`` scope stays ``user/``)."""
        kept = []
        for scope in requested.raw:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            rtype, letters = parsed
            allowed = "".join(c for c in "cruds" if c in letters and self.allows(rtype, c))
            if allowed:
                kept.append(f"{scope.split('/', 1)[0]}/{rtype}.{allowed}")
        return Scopes.parse(" ".join(kept))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``system`` principals (internal loading, auth off) see all."""

    client_id: str
    structure: str | None = None  # Organization id
    practitioner: str | None = None  # Practitioner id
    scopes: Scopes = field(default_factory=Scopes)
    operator: bool = False
    system: bool = False
    token_id: str | None = None

    def can(self, rtype: str, letter: str) -> bool:
        return self.system or self.scopes.allows(rtype, letter)


SYSTEM = Principal("system", system=True)
