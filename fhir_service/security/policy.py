"""Access policy: a structure sees the people it accompanies, and nothing else.

A structure (Organization) may see a person's data while one of its people is an active
participant of the person's CareTeam, or an active Consent names it, or it manages one of
the person's EpisodeOfCare. Otherwise that data does not exist for it: 404 on read, absent
from search, includes, history and counts.

Enforced in the query: at write time each resource's patients (Patient compartment, from the
official ``CompartmentDefinition/patient``) go to ``res_patient`` and each CareTeam, Consent
and EpisodeOfCare yields rows in ``access_grants`` (structure, patient, validity period);
every read and search then carries an ``EXISTS`` condition joining the two for the caller's
structure at the current time. A revoked consent or an ended membership takes effect on the
next request, since grants are rewritten in the same transaction as the resource.

Writes need the scope letter and, for data in a person's compartment, a grant for every
person involved — or, for a person nobody has a grant on yet (a new person), none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select

from fhir_service.conformance.registry import Registry
from fhir_service.outcomes import FhirError
from fhir_service.search.extract import IndexRows, date_range, parse_reference
from fhir_service.security.principal import Principal
from fhir_service.store.schema import access_grants, res_patient

# Case-management data: never visible without a grant, even when not linked to a person.
PROTECTED_TYPES = frozenset({
    "Patient", "RelatedPerson", "EpisodeOfCare", "CarePlan", "Goal", "CareTeam",
    "ServiceRequest", "QuestionnaireResponse", "Consent", "Provenance", "AuditEvent",
})
GRANT_SOURCES = ("CareTeam", "Consent", "EpisodeOfCare")


@dataclass(frozen=True)
class Grant:
    patient_id: str
    org_id: str
    kind: str
    start: float
    end: float | None


def _start(period: Any) -> float:
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        rng = date_range(period["start"])
        if rng:
            return rng[0]
    return float("-inf")


def _end(period: Any) -> float | None:
    if isinstance(period, dict) and isinstance(period.get("end"), str):
        rng = date_range(period["end"])
        if rng:
            return rng[1]
    return None


def _ref_id(ref: Any, rtype: str) -> str | None:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        t, i, _ = parse_reference(ref["reference"])
        if t == rtype:
            return i
    return None


class AccessFilter:
    """SQL conditions for one principal at one instant (see module docstring)."""

    def __init__(self, principal: Principal, now: float) -> None:
        self.principal = principal
        self.now = now

    def granted(self, pk_col: Any) -> Any:
        org = self.principal.structure
        if org is None:
            return None
        g, rp = access_grants, res_patient
        return exists(
            select(1)
            .select_from(rp.join(g, g.c.patient_id == rp.c.patient_id))
            .where(rp.c.res_pk == pk_col, g.c.org_id == org, g.c.start <= self.now,
                   or_(g.c.end.is_(None), g.c.end > self.now))
        )

    def condition_for(self, pk_col: Any, rtype_col: Any) -> Any:
        in_compartment = exists(select(1).where(res_patient.c.res_pk == pk_col))
        public = and_(not_(in_compartment), rtype_col.notin_(PROTECTED_TYPES))
        granted = self.granted(pk_col)
        visible = or_(public, granted) if granted is not None else public
        if self.principal.operator:
            return or_(rtype_col == "AuditEvent", and_(rtype_col != "AuditEvent", visible))
        return and_(rtype_col != "AuditEvent", visible)

    def condition(self, res: Any) -> Any:
        return self.condition_for(res.c.pk, res.c.rtype)


class AccessPolicy:
    def __init__(self, registry: Registry, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.compartment: dict[str, tuple[str, ...]] = {}
        definition = registry.get("CompartmentDefinition", "patient")
        if definition is None:
            raise RuntimeError("CompartmentDefinition/patient is missing from the definitions")
        for entry in definition.get("resource", []):
            if entry.get("param"):
                self.compartment[entry["code"]] = tuple(entry["param"])

    # --- filters ---------------------------------------------------------------------------

    def filter_for(self, principal: Principal | None) -> AccessFilter | None:
        if principal is None or principal.system:
            return None
        return AccessFilter(principal, self.now())

    # --- derived rows at write time ----------------------------------------------------------

    def patients_of(self, session: Any, resource: dict[str, Any], rows: IndexRows) -> list[str]:
        rtype = resource["resourceType"]
        if rtype == "Patient":
            return [resource["id"]]
        params = self.compartment.get(rtype, ())
        found = {r[2] for r in rows.reference if r[0] in params and r[1] == "Patient" and r[2]}
        if rtype == "Provenance":  # the people its targets belong to
            targets = []
            for target in resource.get("target", []):
                ref = target.get("reference") if isinstance(target, dict) else None
                t, i, _ = parse_reference(ref) if isinstance(ref, str) else (None, None, None)
                if t and i:
                    targets.append((t, i))
            found.update(session.patients_of_keys(targets))
        return sorted(found)

    def grants_of(self, session: Any, resource: dict[str, Any]) -> list[Grant]:
        rtype = resource["resourceType"]
        if rtype == "CareTeam":
            return self._careteam(session, resource)
        if rtype == "Consent":
            return self._consent(resource)
        if rtype == "EpisodeOfCare":
            return self._episode(resource)
        return []

    def _careteam(self, session: Any, team: dict[str, Any]) -> list[Grant]:
        patient = _ref_id(team.get("subject"), "Patient")
        if patient is None or team.get("status") != "active":
            return []
        team_start, team_end = _start(team.get("period")), _end(team.get("period"))
        grants = []
        for part in team.get("participant", []):
            orgs = set()
            member = part.get("member")
            if (org := _ref_id(member, "Organization")) is not None:
                orgs.add(org)
            if (role := _ref_id(member, "PractitionerRole")) is not None:
                org = session.role_organization(role)
                if org:
                    orgs.add(org)
            if (org := _ref_id(part.get("onBehalfOf"), "Organization")) is not None:
                orgs.add(org)
            start = max(team_start, _start(part.get("period")))
            ends = [e for e in (team_end, _end(part.get("period"))) if e is not None]
            end = min(ends) if ends else None
            grants.extend(Grant(patient, o, "careteam", start, end) for o in orgs)
        return grants

    def _consent(self, consent: dict[str, Any]) -> list[Grant]:
        patient = _ref_id(consent.get("patient"), "Patient")
        provision = consent.get("provision") or {}
        if patient is None or consent.get("status") != "active" or \
                provision.get("type", "permit") != "permit":
            return []
        start, end = _start(provision.get("period")), _end(provision.get("period"))
        return [Grant(patient, org, "consent", start, end)
                for actor in provision.get("actor", [])
                if (org := _ref_id(actor.get("reference"), "Organization")) is not None]

    def _episode(self, episode: dict[str, Any]) -> list[Grant]:
        patient = _ref_id(episode.get("patient"), "Patient")
        org = _ref_id(episode.get("managingOrganization"), "Organization")
        if patient is None or org is None or \
                episode.get("status") in ("entered-in-error", "cancelled"):
            return []
        return [Grant(patient, org, "episode", float("-inf"), None)]

    # --- write checks --------------------------------------------------------------------------

    def check_write(self, session: Any, principal: Principal | None, rtype: str, letter: str,
                    patients: set[str]) -> None:
        if principal is None or principal.system:
            return
        if not principal.can(rtype, letter):
            raise FhirError("forbidden", f"The token's scopes do not allow '{letter}' on {rtype}")
        if rtype == "AuditEvent":
            raise FhirError("forbidden", "AuditEvents are written by the server only")
        if not patients:
            return
        org = principal.structure
        now = self.now()
        for patient in sorted(patients):
            if org is not None and session.has_grant(org, patient, now):
                continue
            if not session.patient_has_grants(patient):
                continue  # a person nobody accompanies yet
            raise FhirError("forbidden", f"Your structure does not accompany the person of this "
                            f"{rtype}: writing it needs a care-team membership, a consent or "
                            "the management of the episode")
