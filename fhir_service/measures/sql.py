"""The indicators' populations in SQL, over the search indexes, under the caller's access rule.

Every ``resources`` alias a query reads carries ``access.condition(alias)`` (the caller's
rule from ``security/policy.py``, the same condition every search carries), so counts,
delays and gaps are computed over what the caller may see, by the database. Values come
from the index rows the R4 (and the guide's) SearchParameters fill at write time:

* EpisodeOfCare: ``status`` (token), ``date`` (period: low = start, high = end, exclusive),
  ``care-manager``, ``organization`` (managingOrganization), ``incoming-referral``
  (references), ``interruption`` (the guide's: statusHistory periods on hold), ``outcome``
  (the guide's: the cm-episode-outcome extension);
* ServiceRequest ``authored``; Goal ``lifecycle-status``, ``achievement-status``,
  ``category``, ``start-date``; Encounter ``status``, ``date``; Observation (ruptures)
  ``code``, ``status``, ``date``; Organization ``partof``;
* the people of a resource: ``res_patient`` (its Patient compartment).

Instants are epoch seconds (``search/extract.py``); an open period bound is infinite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, false, func, not_, null, or_, select, true

from fhir_service.store.schema import idx_date, idx_reference, idx_token, res_patient, resources

FINITE = 1e300  # |bound| below this: a real date (open bounds are stored as infinities)
IN_PROGRESS = ("active", "onhold", "finished")
GOAL_COUNTED = ("planned", "accepted", "active", "on-hold", "completed")
ACHIEVED = ("achieved", "sustaining")
NOT_ACHIEVED = ("not-achieved", "not-attainable")
NO_CONTACT = ("planned", "cancelled", "entered-in-error")
INPATIENT = ("IMP", "ACUTE", "NONAC")  # v3-ActCode: inpatient encounter, acute, non-acute
LIFE_DOMAIN = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain"
RUPTURE_KIND = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-rupture-kind"
EPISODE_OUTCOME = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-episode-outcome"
RUPTURE_RECORDED = ("final", "amended", "corrected")


@dataclass(frozen=True)
class Scope:
    """Whose figures: every episode the caller sees (no subject), one case manager's, or the
    episodes managed by a set of structures (one structure, or a territory: an Organization
    and every Organization that is ``partOf`` it, at any depth)."""

    practitioner: str | None = None
    organizations: tuple[str, ...] | None = None


class Queries:
    """The indicators' queries for one caller's session (``CallerSession``)."""

    def __init__(self, session: Any) -> None:
        self.conn = session.sql.conn
        self.access = session.access

    # --- building blocks ---------------------------------------------------------------------

    def visible(self, res: Any, rtype: str) -> Any:
        cond = self.access.condition(res)
        return and_(res.c.rtype == rtype, res.c.deleted == false(),
                    cond if cond is not None else true())

    @staticmethod
    def token_in(pk: Any, param: str, codes: Iterable[str]) -> Any:
        t = idx_token.alias()
        return exists(select(1).where(t.c.res_pk == pk, t.c.param == param,
                                      t.c.code.in_(list(codes))))

    @staticmethod
    def coded(pk: Any, param: str, system: str) -> Any:
        t = idx_token.alias()
        return exists(select(1).where(t.c.res_pk == pk, t.c.param == param,
                                      t.c.system == system))

    @staticmethod
    def scope(ep: Any, scope: Scope) -> Any:
        r = idx_reference.alias()
        if scope.practitioner is not None:
            return exists(select(1).where(r.c.res_pk == ep.c.pk, r.c.param == "care-manager",
                                          r.c.ref_type == "Practitioner",
                                          r.c.ref_id == scope.practitioner))
        if scope.organizations is not None:
            return exists(select(1).where(r.c.res_pk == ep.c.pk, r.c.param == "organization",
                                          r.c.ref_type == "Organization",
                                          r.c.ref_id.in_(list(scope.organizations))))
        return true()

    def in_progress_at(self, ep: Any, end: float) -> Any:
        """In progress at the end of the period (``end``: the instant just after it)."""
        d = idx_date.alias()
        return and_(
            self.token_in(ep.c.pk, "status", IN_PROGRESS),
            exists(select(1).where(d.c.res_pk == ep.c.pk, d.c.param == "date",
                                   d.c.low > -FINITE, d.c.low < end, d.c.high >= end)))

    def episodes(self, scope: Scope) -> tuple[Any, list[Any]]:
        ep = resources.alias("ep")
        return ep, [self.visible(ep, "EpisodeOfCare"), self.scope(ep, scope)]

    def count_by(self, ep: Any, conds: list[Any]) -> dict[tuple[str | None, str | None], int]:
        """Distinct episodes matching ``conds``, by (case manager id, structure id), in one
        statement (R4: at most one of each per episode; None when absent)."""
        cm, org = idx_reference.alias(), idx_reference.alias()
        stmt = (select(cm.c.ref_id, org.c.ref_id, func.count(func.distinct(ep.c.pk)))
                .select_from(ep.outerjoin(cm, and_(cm.c.res_pk == ep.c.pk,
                                                   cm.c.param == "care-manager"))
                             .outerjoin(org, and_(org.c.res_pk == ep.c.pk,
                                                  org.c.param == "organization")))
                .where(and_(*conds)).group_by(cm.c.ref_id, org.c.ref_id))
        return {(row[0], row[1]): int(row[2]) for row in self.conn.execute(stmt)}

    # --- subjects ----------------------------------------------------------------------------

    def territory(self, org_id: str, depth: int = 10) -> tuple[str, ...]:
        """An Organization and the visible Organizations ``partOf`` it, at any depth."""
        found = {org_id}
        frontier = {org_id}
        for _ in range(depth):
            org = resources.alias("org")
            r = idx_reference.alias()
            rows = self.conn.execute(
                select(org.c.rid).select_from(org.join(r, r.c.res_pk == org.c.pk))
                .where(self.visible(org, "Organization"), r.c.param == "partof",
                       r.c.ref_type == "Organization", r.c.ref_id.in_(sorted(frontier))))
            frontier = {row[0] for row in rows} - found
            if not frontier:
                break
            found |= frontier
        return tuple(sorted(found))

    # --- indicators --------------------------------------------------------------------------

    def caseload(self, scope: Scope, end: float) -> dict[tuple[str | None, str | None], int]:
        ep, conds = self.episodes(scope)
        return self.count_by(ep, [*conds, self.in_progress_at(ep, end)])

    def interruptions(self, scope: Scope, start: float, end: float
                      ) -> dict[tuple[str | None, str | None], int]:
        ep, conds = self.episodes(scope)
        d = idx_date.alias()
        hold = exists(select(1).where(d.c.res_pk == ep.c.pk, d.c.param == "interruption",
                                      d.c.low >= start, d.c.low < end))
        return self.count_by(ep, [*conds, hold])

    def referral_delays(self, scope: Scope, start: float, end: float
                        ) -> list[tuple[float, float, str | None, str | None]]:
        """(episode start, earliest referral date, case manager id, structure id) for each
        episode that started in the period and whose referral the caller sees, dated."""
        ep, conds = self.episodes(scope)
        d, ir, sa = idx_date.alias(), idx_reference.alias(), idx_date.alias()
        sr = resources.alias("sr")
        cm, org = idx_reference.alias(), idx_reference.alias()
        stmt = (
            select(ep.c.pk, d.c.low, func.min(sa.c.low), cm.c.ref_id, org.c.ref_id)
            .select_from(
                ep.join(d, and_(d.c.res_pk == ep.c.pk, d.c.param == "date"))
                .join(ir, and_(ir.c.res_pk == ep.c.pk, ir.c.param == "incoming-referral"))
                .join(sr, and_(sr.c.rid == ir.c.ref_id, ir.c.ref_type == "ServiceRequest"))
                .join(sa, and_(sa.c.res_pk == sr.c.pk, sa.c.param == "authored"))
                .outerjoin(cm, and_(cm.c.res_pk == ep.c.pk, cm.c.param == "care-manager"))
                .outerjoin(org, and_(org.c.res_pk == ep.c.pk, org.c.param == "organization")))
            .where(*conds, self.visible(sr, "ServiceRequest"), d.c.low >= start, d.c.low < end,
                   sa.c.low > -FINITE)
            .group_by(ep.c.pk, d.c.low, cm.c.ref_id, org.c.ref_id))
        return [(row[1], row[2], row[3], row[4]) for row in self.conn.execute(stmt)]

    def goals(self, scope: Scope, start: float, end: float
              ) -> dict[str, dict[str | None, int]]:
        """Goals achieved / not achieved / ongoing: {group: {life domain code: count}}."""
        g = resources.alias("g")
        ach = self.token_in(g.c.pk, "achievement-status", ACHIEVED)
        not_ach = or_(self.token_in(g.c.pk, "achievement-status", NOT_ACHIEVED),
                      and_(self.token_in(g.c.pk, "lifecycle-status", ("completed",)),
                           not_(ach)))
        sd = idx_date.alias()
        conds = [self.visible(g, "Goal"),
                 self.token_in(g.c.pk, "lifecycle-status", GOAL_COUNTED),
                 not_(exists(select(1).where(sd.c.res_pk == g.c.pk, sd.c.param == "start-date",
                                             sd.c.low >= end)))]
        if scope != Scope():
            ep, ep_conds = self.episodes(scope)
            d, ep_people, goal_people = idx_date.alias(), res_patient.alias(), res_patient.alias()
            people = (select(ep_people.c.patient_id)
                      .select_from(ep.join(ep_people, ep_people.c.res_pk == ep.c.pk)
                                   .join(d, and_(d.c.res_pk == ep.c.pk, d.c.param == "date")))
                      .where(*ep_conds, d.c.low > -FINITE, d.c.low < end, d.c.high > start))
            conds.append(exists(select(1).where(goal_people.c.res_pk == g.c.pk,
                                                goal_people.c.patient_id.in_(people))))
        out: dict[str, dict[str | None, int]] = {
            "goals-achieved": {}, "goals-not-achieved": {}, "goals-ongoing": {}}
        t = idx_token.alias()
        group = case((ach, "goals-achieved"), (not_ach, "goals-not-achieved"),
                     else_="goals-ongoing")
        stmt = (select(group, t.c.code, func.count(func.distinct(g.c.pk)))
                .select_from(g.outerjoin(t, and_(t.c.res_pk == g.c.pk, t.c.param == "category",
                                                 t.c.system == LIFE_DOMAIN)))
                .where(*conds).group_by(group, t.c.code))
        for name, domain, n in self.conn.execute(stmt):
            out[name][domain] = int(n)
        return out

    def last_contacts(self, scope: Scope, end: float
                      ) -> list[tuple[str, float, float | None, str | None]]:
        """For each episode in progress at the end of the period: (person, episode start,
        the person's latest contact started before the end or None, case manager id)."""
        ep, conds = self.episodes(scope)
        d, people, cm = idx_date.alias(), res_patient.alias(), idx_reference.alias()
        enc, ed, enc_people = resources.alias("enc"), idx_date.alias(), res_patient.alias()
        # each person's latest contact, once per person (not looked up per episode)
        last = (select(enc_people.c.patient_id.label("pid"), func.max(ed.c.low).label("at"))
                .select_from(enc.join(ed, and_(ed.c.res_pk == enc.c.pk, ed.c.param == "date"))
                             .join(enc_people, enc_people.c.res_pk == enc.c.pk))
                .where(self.visible(enc, "Encounter"), ed.c.low > -FINITE, ed.c.low < end,
                       not_(self.token_in(enc.c.pk, "status", NO_CONTACT)))
                .group_by(enc_people.c.patient_id).subquery("last_contact"))
        stmt = (select(people.c.patient_id, d.c.low, last.c.at, cm.c.ref_id)
                .select_from(ep.join(people, people.c.res_pk == ep.c.pk)
                             .join(d, and_(d.c.res_pk == ep.c.pk, d.c.param == "date"))
                             .outerjoin(last, last.c.pid == people.c.patient_id)
                             .outerjoin(cm, and_(cm.c.res_pk == ep.c.pk,
                                                 cm.c.param == "care-manager")))
                .where(*conds, self.in_progress_at(ep, end), d.c.low > -FINITE))
        return [(row[0], row[1], row[2], row[3]) for row in self.conn.execute(stmt)]

    def hospital_stays(self, scope: Scope, start: float, end: float
                       ) -> list[tuple[int, str, str | None]]:
        """(stay, person, case manager id) for each hospital stay (an Encounter of class
        inpatient, acute or non-acute, not planned, cancelled or entered in error) that
        started in the period while one of the person's episodes in scope was under way
        (started, not yet ended)."""
        rows = self.events_during(scope, start, end, "Encounter", lambda enc: [
            self.token_in(enc.c.pk, "class", INPATIENT),
            not_(self.token_in(enc.c.pk, "status", NO_CONTACT))])
        return [(pk, person, cm) for pk, person, cm, _ in rows]

    def ruptures(self, scope: Scope, start: float, end: float
                 ) -> list[tuple[int, str, str | None, str | None]]:
        """(rupture, person, case manager id, kind) for each recorded rupture (an Observation
        coded in cm-rupture-kind, final, amended or corrected) whose date (or the start of
        its period) is in the period while one of the person's episodes in scope was under
        way; one row per kind when an event has several codes of cm-rupture-kind."""
        return self.events_during(scope, start, end, "Observation", lambda obs: [
            self.token_in(obs.c.pk, "status", RUPTURE_RECORDED),
            self.coded(obs.c.pk, "code", RUPTURE_KIND)], label=("code", RUPTURE_KIND))

    def events_during(self, scope: Scope, start: float, end: float, rtype: str,
                      filters: Callable[[Any], list[Any]],
                      label: tuple[str, str] | None = None
                      ) -> list[tuple[int, str, str | None, str | None]]:
        """(event, person, case manager id, code) for each ``rtype`` resource matching
        ``filters`` whose ``date`` starts in the period while one of the person's episodes in
        scope was under way at that instant (started on or before it, not ended before); the
        code is that of ``label`` (search parameter, system), or None."""
        ep, conds = self.episodes(scope)
        d, people, cm = idx_date.alias(), res_patient.alias(), idx_reference.alias()
        ev, ed, ev_people = resources.alias("ev"), idx_date.alias(), res_patient.alias()
        code = idx_token.alias()
        joined = (ep.join(people, people.c.res_pk == ep.c.pk)
                  .join(d, and_(d.c.res_pk == ep.c.pk, d.c.param == "date"))
                  .join(ev_people, ev_people.c.patient_id == people.c.patient_id)
                  .join(ev, ev.c.pk == ev_people.c.res_pk)
                  .join(ed, and_(ed.c.res_pk == ev.c.pk, ed.c.param == "date"))
                  .outerjoin(cm, and_(cm.c.res_pk == ep.c.pk, cm.c.param == "care-manager")))
        if label is not None:
            joined = joined.outerjoin(code, and_(code.c.res_pk == ev.c.pk,
                                                 code.c.param == label[0],
                                                 code.c.system == label[1]))
        stmt = (select(ev.c.pk, people.c.patient_id, cm.c.ref_id,
                       code.c.code if label is not None else null()).distinct()
                .select_from(joined)
                .where(*conds, self.visible(ev, rtype), *filters(ev),
                       ed.c.low >= start, ed.c.low < end,
                       d.c.low > -FINITE, d.c.low <= ed.c.low, d.c.high > ed.c.low))
        return [(row[0], row[1], row[2], row[3]) for row in self.conn.execute(stmt)]

    def episode_outcomes(self, scope: Scope, start: float, end: float
                         ) -> tuple[dict[tuple[str | None, str | None], int],
                                    dict[str | None, int]]:
        """Episodes finished whose end day is in the period: counts by (case manager,
        structure), and by outcome (cm-episode-outcome code, None when absent)."""
        ep, conds = self.episodes(scope)
        d = idx_date.alias()
        ended = exists(select(1).where(d.c.res_pk == ep.c.pk, d.c.param == "date",
                                       d.c.high > start, d.c.high <= end))
        conds = [*conds, self.token_in(ep.c.pk, "status", ("finished",)), ended]
        t = idx_token.alias()
        stmt = (select(t.c.code, func.count(func.distinct(ep.c.pk)))
                .select_from(ep.outerjoin(t, and_(t.c.res_pk == ep.c.pk, t.c.param == "outcome",
                                                  t.c.system == EPISODE_OUTCOME)))
                .where(*conds).group_by(t.c.code))
        by_outcome = {row[0]: int(row[1]) for row in self.conn.execute(stmt)}
        return self.count_by(ep, conds), by_outcome
