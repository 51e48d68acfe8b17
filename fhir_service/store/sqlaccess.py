"""The access and ownership rows of the store (see security/policy.py): the people each
resource and each version belong to, the grants CareTeams, Consents and EpisodeOfCares
carry, and who owns what. A mixin of :class:`~fhir_service.store.sqlstore.SqlSession`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import and_, delete, false, insert, or_, select
from sqlalchemy.engine import Connection

from fhir_service.store.repository import AccessFilter, Stored
from fhir_service.store.schema import (
    access_grants,
    hist_patient,
    history,
    idx_reference,
    res_owner,
    res_patient,
    resources,
)


def by_type(rtype_col: Any, rid_col: Any, keys: Iterable[tuple[str, str]]) -> Any:
    """``(rtype, rid) IN keys`` written so that SQLite uses the (rtype, rid) index:
    SQLite plans a row-value IN list as a full scan (measured: 7.9 ms at 10k rows, against
    0.01 ms for this form)."""
    groups: dict[str, set[str]] = {}
    for rtype, rid in keys:
        groups.setdefault(rtype, set()).add(rid)
    return or_(*[and_(rtype_col == t, rid_col.in_(sorted(ids))) for t, ids in groups.items()])


class AccessRows:
    conn: Connection
    _hpk: dict[int, int]
    # (SqlSession's: deferred inserts, what a write session remembers)
    _defer: Callable[[str, list[tuple[Any, ...]]], None]
    _new: set[int]
    _grants_changed: Callable[[], None]
    _grant_memo: dict[tuple[str, ...], bool]
    _owned: set[int]
    _memo: dict[tuple[str, str], Any]
    _directory: set[int]

    fetch: Callable[[Iterable[int]], list[Stored]]  # (SqlSession's)

    # --- access control rows (see security/policy.py) ------------------------------------

    def set_access_rows(self, pk: int, patients: list[str], grants: list[Any]) -> None:
        """Rows of a freshly written version (the index was cleared by the write): its
        people, for the resource and for that version, and the grants it carries."""
        if patients:
            self._defer("res_patient", [(pk, p) for p in patients])
            hpk = self._hpk.get(pk)
            if hpk is not None:
                self._defer("hist_patient", [(hpk, p) for p in patients])
        if grants:
            self._grants_changed()  # (what may be referenced changes with the grants)
            self._defer("access_grants", [(pk, g.patient_id, g.org_id, g.kind, g.start, g.end)
                                          for g in grants])

    def replace_grants(self, pk: int, grants: list[Any]) -> None:
        self._grants_changed()
        self.conn.execute(delete(access_grants).where(access_grants.c.source_pk == pk))
        self.set_access_rows(pk, [], grants)

    def patients_by_pk(self, pks: list[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for i in range(0, len(pks), 500):
            rows = self.conn.execute(select(res_patient.c.res_pk, res_patient.c.patient_id)
                                     .where(res_patient.c.res_pk.in_(pks[i:i + 500])))
            for pk, patient in rows:
                out.setdefault(pk, []).append(patient)
        return out

    def current_patients(self, pk: int) -> set[str]:
        rows = self.conn.execute(select(res_patient.c.patient_id).where(res_patient.c.res_pk == pk))
        return {r[0] for r in rows}

    def patients_of_versions(self, keys: list[tuple[str, str, int | None]]) -> set[str]:
        """The people of given versions (a Provenance's targets): a version keeps its people
        after the resource moved or was deleted; without a version, the current people."""
        current = [(t, i) for t, i, v in keys if v is None]
        found = self.patients_of_keys(current)
        versions = {(t, i, v) for t, i, v in keys if v is not None}
        # one statement per 500 resources (a transaction's Provenance targets them all);
        # the versions are picked here
        named = sorted({(t, i) for t, i, _ in versions})
        for n in range(0, len(named), 500):
            rows = self.conn.execute(
                select(history.c.rtype, history.c.rid, history.c.version,
                       hist_patient.c.patient_id)
                # from resources' (rtype, rid) key to history's (res_pk, version) to the
                # version's people: history has no (rtype, rid) index, and filtering on its
                # own columns walked every version of the type in each transaction (ingest
                # slowed down as the database grew: 123 ms per call at 190k versions)
                .select_from(resources.join(history, history.c.res_pk == resources.c.pk)
                             .join(hist_patient, hist_patient.c.hpk == history.c.hpk))
                .where(by_type(resources.c.rtype, resources.c.rid, named[n:n + 500])))
            found.update(r[3] for r in rows if (r[0], r[1], r[2]) in versions)
        return found

    def patients_of_keys(self, keys: list[tuple[str, str]]) -> set[str]:
        if not keys:
            return set()
        rows = self.conn.execute(
            select(res_patient.c.patient_id)
            .select_from(res_patient.join(resources, resources.c.pk == res_patient.c.res_pk))
            .where(by_type(resources.c.rtype, resources.c.rid, keys))
        )
        return {r[0] for r in rows}

    # --- ownership rows (see security/policy.py, "who may change what") -----------------

    def owner_row(self, pk: int) -> tuple[bool, str | None]:
        """(whether an owner row exists, the owning structure)."""
        row = self.conn.execute(select(res_owner.c.org_id).where(res_owner.c.res_pk == pk)).first()
        return (True, row[0]) if row else (False, None)

    def set_owner(self, pk: int, org: str | None) -> None:
        if pk in self._directory:
            self._memo.clear()
        if pk in self._new and not self._defer_owner_conflict(pk):
            self._defer("res_owner", [(pk, org)])  # (a new resource has no row yet)
            return
        self.conn.execute(delete(res_owner).where(res_owner.c.res_pk == pk))
        self.conn.execute(insert(res_owner).values(res_pk=pk, org_id=org))

    def _defer_owner_conflict(self, pk: int) -> bool:
        """Whether a row for ``pk`` was already queued (then delete and insert now)."""
        if pk in self._owned:
            return True
        self._owned.add(pk)
        return False

    def organization_owner(self, org_id: str) -> str:
        """The structure managing an Organization: its owner row, else itself."""
        key = ("organization_owner", org_id)
        if key not in self._memo:  # (a write forgets them: SqlSession._changed)
            self._memo[key] = self._organization_owner(org_id)
        return self._memo[key]

    def _organization_owner(self, org_id: str) -> str:
        row = self.conn.execute(
            select(res_owner.c.org_id)
            .select_from(res_owner.join(resources, resources.c.pk == res_owner.c.res_pk))
            .where(resources.c.rtype == "Organization", resources.c.rid == org_id)).first()
        return row[0] if row and row[0] else org_id

    def role_owner(self, role_id: str) -> str | None:
        """The structure that owns a PractitionerRole: its owner row, else (written before
        owners were recorded) its organisation's."""
        key = ("role_owner", role_id)
        if key not in self._memo:
            self._memo[key] = self._role_owner(role_id)
        return self._memo[key]

    def _role_owner(self, role_id: str) -> str | None:
        row = self.conn.execute(
            select(res_owner.c.org_id)
            .select_from(res_owner.join(resources, resources.c.pk == res_owner.c.res_pk))
            .where(resources.c.rtype == "PractitionerRole", resources.c.rid == role_id)).first()
        if row is not None:
            return row[0]
        org = self.role_organization(role_id)
        return self.organization_owner(org) if org else None

    def role_organization(self, role_id: str) -> str | None:
        key = ("role_organization", role_id)
        if key not in self._memo:
            self._memo[key] = self._role_organization(role_id)
        return self._memo[key]

    def _role_organization(self, role_id: str) -> str | None:
        ref = idx_reference
        row = self.conn.execute(
            select(ref.c.ref_id)
            .select_from(ref.join(resources, resources.c.pk == ref.c.res_pk))
            .where(resources.c.rtype == "PractitionerRole", resources.c.rid == role_id,
                   resources.c.deleted == false(), ref.c.param == "organization",
                   ref.c.ref_type == "Organization")
        ).first()
        return row[0] if row else None

    def referencing_sources(self, source_type: str, target_type: str,
                            target_id: str) -> list[Stored]:
        ref = idx_reference
        pks = [r[0] for r in self.conn.execute(
            select(ref.c.res_pk).where(ref.c.rtype == source_type, ref.c.ref_type == target_type,
                                       ref.c.ref_id == target_id).distinct())]
        return [s for s in self.fetch(pks) if not s.deleted]

    def has_grant(self, org: str, patient: str, now: float) -> bool:
        """Remembered for the transaction (each entry of a bundle asks it for the same
        person), forgotten whenever the transaction changes grants."""
        key = ("grant", org, patient)
        if key not in self._grant_memo:
            g = access_grants
            self._grant_memo[key] = self.conn.execute(
                select(1).where(g.c.org_id == org, g.c.patient_id == patient,
                                g.c.start <= now, or_(g.c.end.is_(None), g.c.end > now))
                .limit(1)).first() is not None
        return self._grant_memo[key]

    def episode_managers(self, patients: set[str]) -> set[str]:
        """The structures managing an episode of these people (grants of kind episode)."""
        if not patients:
            return set()
        g = access_grants
        rows = self.conn.execute(select(g.c.org_id).where(
            g.c.patient_id.in_(sorted(patients)), g.c.kind == "episode").distinct())
        return {r[0] for r in rows}

    def patient_has_grants(self, patient: str) -> bool:
        key = ("any grant", patient)
        if key not in self._grant_memo:
            g = access_grants
            self._grant_memo[key] = self.conn.execute(
                select(1).where(g.c.patient_id == patient).limit(1)).first() is not None
        return self._grant_memo[key]

    def visible(self, pk: int, access: AccessFilter) -> bool:
        cond = access.condition(resources)
        if cond is None:
            return True
        return self.conn.execute(
            select(1).where(resources.c.pk == pk, cond)).first() is not None

