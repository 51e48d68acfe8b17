"""Our CareTeam (``cm-care-team``) ⇄ ANS Cercle de Soins CareTeam (``cds-ihe-careteam``).

To Cercle de Soins:
- the person is the subject, never a member (members are PractitionerRole, RelatedPerson or
  Organization there): participants whose member is a Patient are left out, with a warning
  naming each (their function and period in the team are not carried);
- roles: the ANS roles of ConceptMap ``cm-team-function-to-cds-role`` (TRE_R260 / TRE_R259)
  are added beside our function, which stays (the CDS binding is preferred);
- ``identifier`` (1..1 there): our first one; without any, the team's absolute URL as an
  ``urn:ietf:rfc:3986`` identifier; more than one: the others are not carried (warning);
- ``name`` and ``period.start`` (required there): when ours has none, "Cercle de soins" and
  the earliest member's start (warning);
- ``meta``: the CDS profile, and our ``lastUpdated`` (the CDS requires ``meta``).

From Cercle de Soins:
- each member gets a team function: ours when the role already carries one (a round trip),
  else the ConceptMap ``cm-cds-role-to-team-function``, else ``other`` with the role's
  display as text (warning); the original roles stay beside it;
- an active team needs exactly one current case manager (``cm-team-1``): when no member's
  role maps to it (TRE_R259 ATTPHYS) or several do, the conversion fails (error naming it);
- ``participant.onBehalfOf`` (not used here) is not carried (warning).
"""

from __future__ import annotations

import copy
from typing import Any

from fhir_service.conformance.registry import Registry
from fhir_service.national import CDS, IG, PROFILES, Conversion, map_code
from fhir_service.outcomes import Issue

TEAM_FUNCTION = f"{IG}/CodeSystem/cm-team-function"
TO_CDS = f"{IG}/ConceptMap/cm-team-function-to-cds-role"
FROM_CDS = f"{IG}/ConceptMap/cm-cds-role-to-team-function"
CDS_PROFILE = f"{CDS}/StructureDefinition/cds-ihe-careteam"
CM_PROFILE = PROFILES["cm-care-team"]


def _member_type(participant: dict[str, Any]) -> str | None:
    member = participant.get("member")
    if not isinstance(member, dict):
        return None
    if isinstance(member.get("type"), str):
        return member["type"]
    ref = member.get("reference")
    if isinstance(ref, str) and "/" in ref:
        return ref.split("/")[-2] if "/_history/" not in ref else ref.split("/")[-4]
    return None


def _with_profile(resource: dict[str, Any], drop: str, add: str) -> None:
    meta = resource.setdefault("meta", {})
    profiles = [p for p in meta.get("profile", []) if p.split("|")[0] != drop]
    if add not in profiles:
        profiles.insert(0, add)
    meta["profile"] = profiles
    for key in ("versionId", "source"):
        meta.pop(key, None)


def to_cds(team: dict[str, Any], registry: Registry, base_url: str = "") -> Conversion:
    out = copy.deepcopy(team)
    issues: list[Issue] = []
    _with_profile(out, CM_PROFILE, CDS_PROFILE)
    if "lastUpdated" not in out["meta"]:
        issues.append(Issue("warning", "incomplete", "The team has no meta.lastUpdated (must "
                            "support in Cercle de Soins): none is sent", ("CareTeam.meta",)))
    identifiers = out.get("identifier") or []
    if not identifiers:
        if out.get("id"):
            url = f"{base_url.rstrip('/')}/CareTeam/{out['id']}" if base_url else \
                f"urn:uuid:{out['id']}" if _looks_uuid(out["id"]) else None
            if url:
                out["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": url}]
        if not out.get("identifier"):
            return Conversion(None, [Issue("error", "required", "Cercle de Soins requires one "
                                           "identifier: the team has none and no id to make "
                                           "one from", ("CareTeam.identifier",))])
    elif len(identifiers) > 1:
        out["identifier"] = identifiers[:1]
        issues.append(Issue("warning", "incomplete", f"Cercle de Soins carries one identifier: "
                            f"{len(identifiers) - 1} other(s) not carried",
                            tuple(f"CareTeam.identifier[{i}]" for i in
                                  range(1, len(identifiers)))))
    participants = []
    for i, original in enumerate(team.get("participant", []) or []):
        where = f"CareTeam.participant[{i}]"
        if _member_type(original) == "Patient":
            issues.append(Issue("warning", "incomplete", "The person is the subject of a "
                                "Cercle de Soins, not a member: this participant (its "
                                "function and period in the team) is not carried", (where,)))
            continue
        part = copy.deepcopy(original)
        for role in part.get("role", []) or []:
            added = []
            for coding in role.get("coding", []) or []:
                if coding.get("system") == TEAM_FUNCTION and isinstance(coding.get("code"), str):
                    added.extend(map_code(registry, TO_CDS, TEAM_FUNCTION, coding["code"]))
            have = {(c.get("system"), c.get("code")) for c in role.get("coding", [])}
            role.setdefault("coding", []).extend(
                c for c in added if (c["system"], c["code"]) not in have)
        if not (part.get("period") or {}).get("start"):
            issues.append(Issue("error", "required", "Cercle de Soins requires the start of "
                                "each member's participation", (f"{where}.period.start",)))
        participants.append(part)
    if participants:
        out["participant"] = participants
    else:
        out.pop("participant", None)
    if not out.get("name"):
        out["name"] = "Cercle de soins"
        issues.append(Issue("warning", "incomplete", "The team has no name (required in "
                            "Cercle de Soins): 'Cercle de soins' is sent", ("CareTeam.name",)))
    period = out.setdefault("period", {})
    if not period.get("start"):
        starts = sorted(p["period"]["start"] for p in team.get("participant", []) or []
                        if (p.get("period") or {}).get("start"))
        if not starts:
            return Conversion(None, [*issues, Issue(
                "error", "required", "Cercle de Soins requires the team's start date: the team "
                "has no period.start and no member start", ("CareTeam.period.start",))])
        period["start"] = starts[0]
        issues.append(Issue("warning", "incomplete", "The team has no period.start (required in "
                            "Cercle de Soins): its earliest member start is sent",
                            ("CareTeam.period.start",)))
    out.pop("text", None)  # our narrative describes our shape (the person as a member)
    if any(i.severity == "error" for i in issues):
        return Conversion(None, issues)
    return Conversion(out, issues)


def _looks_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def from_cds(team: dict[str, Any], registry: Registry) -> Conversion:
    out = copy.deepcopy(team)
    issues: list[Issue] = []
    _with_profile(out, CDS_PROFILE, CM_PROFILE)
    participants = []
    for i, original in enumerate(team.get("participant", []) or []):
        where = f"CareTeam.participant[{i}]"
        part = copy.deepcopy(original)
        if "onBehalfOf" in part:
            part.pop("onBehalfOf")
            issues.append(Issue("warning", "incomplete", "onBehalfOf is not used here (members "
                                "are PractitionerRole resources, which carry the structure): "
                                "not carried", (f"{where}.onBehalfOf",)))
        roles = part.get("role") or []
        codings = [c for r in roles for c in r.get("coding", []) or []]
        ours = [c for c in codings if c.get("system") == TEAM_FUNCTION]
        if not ours:
            mapped = [m for c in codings if isinstance(c.get("system"), str)
                      and isinstance(c.get("code"), str)
                      for m in map_code(registry, FROM_CDS, c["system"], c["code"])]
            if mapped:
                first = roles[0] if roles else {}
                # no display: the HL7 validator checks it in the resource's language
                first.setdefault("coding", []).append(
                    {k: v for k, v in mapped[0].items() if k != "display"})
                if not roles:
                    roles.append(first)
            else:
                label = next((c.get("display") or c.get("code") for c in codings
                              if c.get("display") or c.get("code")), None)
                label = label or next((r.get("text") for r in roles if r.get("text")), None)
                if not roles:
                    roles.append({})
                roles[0].setdefault("coding", []).append(
                    {"system": TEAM_FUNCTION, "code": "other"})
                roles[0].setdefault("text", label or "Rôle non précisé")
                issues.append(Issue("warning", "incomplete", "No team function corresponds to "
                                    f"this member's role ({label or 'none given'}): 'other' "
                                    "with the role as text", (f"{where}.role",)))
            part["role"] = roles
        participants.append(part)
    out["participant"] = participants
    if out.get("status") == "active":
        current = [i for i, p in enumerate(participants) if not (p.get("period") or {}).get("end")
                   and any(c.get("system") == TEAM_FUNCTION and c.get("code") == "case-manager"
                           for r in p.get("role", []) for c in r.get("coding", []) or [])]
        if len(current) != 1:
            what = "no member" if not current else f"{len(current)} members"
            return Conversion(None, [*issues, Issue(
                "error", "business-rule", f"An active team has exactly one current case "
                f"manager (cm-team-1): {what} of this Cercle de Soins can be it. Give the case "
                "manager the role TRE_R259 ATTPHYS (or our team function case-manager)",
                ("CareTeam.participant",))])
    out.pop("text", None)
    return Conversion(out, issues)
