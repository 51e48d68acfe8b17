"""Who is calling: the principal behind a request, and SMART scopes.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html — SMART v2 scopes
``system/CarePlan.rs``, ``system/*.cruds`` (c create, r read, u update, d delete, s search),
with the v1 forms accepted: ``system/CarePlan.read`` (= rs), ``.write`` (= cud), ``.*``.
``user/`` scopes are read like ``system/`` ones: access is decided per structure, not per
user. ``patient/`` scopes are not granted by this service.
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
        """The requested scopes this set covers (token requests get no more than allowed)."""
        kept = []
        for scope in requested.raw:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            rtype, letters = parsed
            allowed = "".join(c for c in "cruds" if c in letters and self.allows(rtype, c))
            if allowed:
                kept.append(f"system/{rtype}.{allowed}")
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
