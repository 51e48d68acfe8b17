"""SQL implementation of the repository (SQLAlchemy Core): SQLite embedded, PostgreSQL.

SQLite runs in WAL mode; a write session takes the database write lock at its start
(``BEGIN IMMEDIATE``) so read-check-write sequences (``If-Match``, conditional create) are
atomic. On PostgreSQL a write session locks the rows it is about to change
(``SELECT … FOR UPDATE``) and serialises conditional creates with a transaction advisory lock.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    create_engine,
    event,
    false,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from fhir_service.search.extract import IndexRows
from fhir_service.search.query import SearchQuery
from fhir_service.store.repository import AccessFilter, SearchPage, Stored
from fhir_service.store.schema import (
    INDEX_COLUMNS,
    INDEX_TABLES,
    hist_patient,
    history,
    idx_reference,
    refs,
    resources,
)
from fhir_service.store.sqlaccess import AccessRows, by_type
from fhir_service.store.sqlsearch import FilterCompiler, sort_expression

_RES_COLS = (
    resources.c.pk,
    resources.c.rtype,
    resources.c.rid,
    resources.c.version,
    resources.c.updated,
    resources.c.deleted,
    resources.c.content,
)


# the types whose versions carry access grants (security/policy.py grants_of)
_GRANTING = frozenset({"CareTeam", "Consent", "EpisodeOfCare"})


def _stored(row: Any, method: str = "PUT") -> Stored:
    return Stored(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6], method)


def make_engine(url: str) -> Engine:
    # hide_parameters: a database error's message (logged with an unhandled error) shows the
    # statement but never its parameters, which are patient data (identifiers, names)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            import contextlib
            import os

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # created private (0600) before SQLite opens it; SQLite gives its -wal and -shm
            # files the database file's mode
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8,
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-16384")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("cm_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        _flush_before_statements(engine)
        return engine
    engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True,
                           hide_parameters=True)
    _flush_before_statements(engine)
    return engine


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes, outside a repository session (accounts, clients, codes):
    on SQLite it starts with ``BEGIN IMMEDIATE``, so that a read followed by a write cannot
    fail with "database is locked" when another connection committed in between (WAL's busy
    snapshot, which the busy timeout does not wait out); elsewhere a plain transaction."""
    with engine.connect().execution_options(cm_write=True) as conn, conn.begin():
        yield conn


def _flush_before_statements(engine: Engine) -> None:
    """A write session defers its plain inserts (index, reference, people, grant and owner
    rows) and sends them in one ``executemany`` per table (``SqlSession.flush``): before any
    statement SQLAlchemy runs on that connection, they are sent, so every read of the
    transaction sees them."""

    @event.listens_for(engine, "before_cursor_execute")
    def _flush(conn: Connection, *_args: Any) -> None:
        flush = conn.info.get("cm_flush")
        if flush is not None:
            flush()


@functools.lru_cache(maxsize=4)
def _write_sql(mark: str) -> dict[str, Any]:
    """The write path's statements, as plain SQL for the DBAPI cursor (no SQLAlchemy
    compilation per statement: measured ~100 µs each, a third of a resource's write)."""

    def insert_sql(table: str, cols: tuple[str, ...]) -> str:
        names = ", ".join(f'"{c}"' for c in cols)
        return f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(cols))})"

    out: dict[str, Any] = {
        "get": "SELECT pk, rtype, rid, version, updated, deleted, content FROM resources "
               f"WHERE rtype = {mark} AND rid = {mark}",
        "insert_resource": "INSERT INTO resources (rtype, rid, version, updated, deleted, "
                           f"content) VALUES ({', '.join([mark] * 6)}) RETURNING pk",
        "update_resource": f"UPDATE resources SET version = {mark}, updated = {mark}, "
                           f"deleted = {mark}, content = {mark} WHERE pk = {mark}",
        "insert_history": "INSERT INTO history (res_pk, rtype, rid, version, updated, method, "
                          f"content) VALUES ({', '.join([mark] * 7)}) RETURNING hpk",
        "refs": insert_sql("refs", ("res_pk", "target_type", "target_id")),
        "res_patient": insert_sql("res_patient", ("res_pk", "patient_id")),
        "hist_patient": insert_sql("hist_patient", ("hpk", "patient_id")),
        "access_grants": insert_sql("access_grants", ("source_pk", "patient_id", "org_id",
                                                      "kind", "start", "end")),
        "res_owner": insert_sql("res_owner", ("res_pk", "org_id")),
        "lock": f"SELECT pg_advisory_xact_lock({mark})",
        "clear": [f"DELETE FROM {t.name} WHERE res_pk = {mark}" for t in INDEX_TABLES.values()]
        + [f"DELETE FROM {t} WHERE res_pk = {mark}" for t in ("refs", "res_patient")]
        + [f"DELETE FROM access_grants WHERE source_pk = {mark}"],
    }
    for ptype, table in INDEX_TABLES.items():
        out[f"idx_{ptype}"] = insert_sql(table.name, ("res_pk", "rtype", *INDEX_COLUMNS[ptype]))
    return out


class SqlSession(AccessRows):
    """One database session: reads and searches (each under the access rule it is given),
    writes with their index rows; the access and ownership rows are in ``AccessRows``."""

    def __init__(self, conn: Connection, compiler: FilterCompiler, write: bool) -> None:
        self.conn = conn
        self._hpk: dict[int, int] = {}  # resource pk -> history row of its last write here
        self.compiler = compiler
        self.is_write = write
        self.postgres = conn.dialect.name == "postgresql"
        self._sql = _write_sql("?" if conn.dialect.paramstyle == "qmark" else "%s")
        self._cur: Any = None
        self._pending: dict[str, list[tuple[Any, ...]]] = {}  # insert SQL -> rows (flush)
        self._new: set[int] = set()  # resources created by this session
        self._got: dict[tuple[str, str], Stored | None] = {}  # write session: current rows
        self._exists: set[tuple[str, str]] = set()  # write session: references found…
        self._exists_for: Any = None  # …under this access rule
        self._memo: dict[tuple[str, str], Any] = {}  # directory look-ups (sqlaccess.py)
        self._directory: set[int] = set()  # Organizations and roles written here
        self._owned: set[int] = set()  # new resources whose owner row is queued
        # (history row, type) of each version written by the session, for the subscriptions'
        # outbox: made once here, never reset (SqlRepository.write_session reads it;
        # tests/subscriptions/test_topics.py::test_every_version_a_session_writes_reaches_the_outbox)
        self.written: list[tuple[int, str]] = []
        self._locked: set[tuple[str, str]] = set()  # PostgreSQL: advisory locks held
        self._grant_memo: dict[tuple[str, ...], bool] = {}  # (sqlaccess.py: has_grant…)

    # --- the write path's plain statements ----------------------------------------------

    def _cursor(self) -> Any:
        if self._cur is None:
            self._cur = self.conn.connection.cursor()
        return self._cur

    def _defer(self, key: str, rows: list[tuple[Any, ...]]) -> None:
        """Queue inserts that nothing reads before the next statement (``flush``)."""
        sql = self._sql[key]
        pending = self._pending.get(sql)
        if pending is None:
            self._pending[sql] = rows
        else:
            pending.extend(rows)

    def flush(self) -> None:
        """Send the queued inserts, one ``executemany`` per table."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        cur = self._cursor()
        for sql, rows in pending.items():
            cur.executemany(sql, rows)

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None

    def _grants_changed(self) -> None:
        self._grant_memo.clear()
        if self._exists_for is not None and not self._exists_for.unrestricted:
            self._exists.clear()

    def _changed(self, rtype: str, rid: str, pk: int | None = None) -> None:
        """Forget what this session remembered about ``rtype/rid``."""
        self._got.pop((rtype, rid), None)
        if rtype in ("Organization", "PractitionerRole"):
            self._memo.clear()
            if pk is not None:
                self._directory.add(pk)

    # --- reads -------------------------------------------------------------------------------

    def get(self, rtype: str, rid: str) -> Stored | None:
        key = (rtype, rid)
        if key in self._got:  # (write sessions: the rows they change, they forget)
            return self._got[key]
        cur = self._cursor()  # (resources rows are never deferred: no flush needed)
        cur.execute(self._sql["get"], key)
        row = cur.fetchone()
        stored = _stored(row) if row else None
        if self.is_write:
            self._got[key] = stored
        return stored

    def get_version(self, rtype: str, rid: str, version: int) -> Stored | None:
        row = self.conn.execute(
            select(
                history.c.res_pk, history.c.rtype, history.c.rid, history.c.version,
                history.c.updated, history.c.content.is_(None), history.c.content,
                history.c.method,
            )
            # through resources' (rtype, rid) key, then history's (res_pk, version): history
            # has no (rtype, rid) index, and a filter on its own columns walked every version
            # of the type (vread cost grew with the database)
            .select_from(history.join(resources, resources.c.pk == history.c.res_pk))
            .where(resources.c.rtype == rtype, resources.c.rid == rid,
                   history.c.version == version)
        ).first()
        return _stored(row, row[7]) if row else None

    def fetch(self, pks: Iterable[int]) -> list[Stored]:
        pks = list(pks)
        if not pks:
            return []
        rows = self.conn.execute(select(*_RES_COLS).where(resources.c.pk.in_(pks))).all()
        by_pk = {r[0]: _stored(r) for r in rows}
        return [by_pk[pk] for pk in pks if pk in by_pk]

    def _conditions(self, query: SearchQuery, access: AccessFilter) -> list[Any]:
        res = resources
        conds: list[Any] = [res.c.deleted == false()]
        if query.resource_type:
            conds.append(res.c.rtype == query.resource_type)
        for filt in query.filters:
            conds.append(self.compiler.condition(filt, res, query.resource_type, access))
        if (extra := access.condition(res)) is not None:
            conds.append(extra)
        return conds

    def max_pk(self) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(resources.c.pk), 0))).scalar_one())

    def search(self, query: SearchQuery, access: AccessFilter) -> SearchPage:
        """One page of matches (rows included), the total when asked, and the snapshot bound
        (highest key) that the next pages keep, so later writes shift nothing."""
        res = resources
        conds = self._conditions(query, access)
        if query.snapshot is not None:
            conds.append(res.c.pk <= query.snapshot)
        stmt = select(*_RES_COLS).where(and_(*conds))
        if query.sort:
            order = []
            for code, desc, ptype in query.sort:
                expr = sort_expression(code, ptype, res, desc)
                order.append(expr.desc() if desc else expr.asc())
            order.append(res.c.pk.asc())
            stmt = stmt.order_by(*order).offset(query.offset)
        else:
            if query.cursor is not None:
                stmt = stmt.where(res.c.pk > query.cursor)
            stmt = stmt.order_by(res.c.pk.asc())
        rows: list[Stored] = []
        if query.count > 0:
            rows = [_stored(r) for r in self.conn.execute(stmt.limit(query.count + 1))]
        has_more = len(rows) > query.count
        rows = rows[: query.count]
        # same transaction, so the bound is consistent with the page just read
        snapshot = query.snapshot if query.snapshot is not None else (
            self.max_pk() if has_more else 0)
        if snapshot and query.snapshot is None:
            conds.append(res.c.pk <= snapshot)
        # The total: exact for free when the first page holds everything; otherwise counted
        # only when asked (_total=accurate|estimate, _summary=count): a count over a large
        # match set costs more than the page itself (measured: 24 vs 542 pages/s at 100k).
        total: int | None = None
        first_page = query.cursor is None and query.offset == 0
        if first_page and not has_more and query.count > 0:
            total = len(rows)
        elif query.total in ("accurate", "estimate") or query.count == 0:
            total = int(self.conn.execute(select(func.count()).where(and_(*conds))).scalar_one())
        return SearchPage([r.pk for r in rows], total, has_more, snapshot, rows)

    def count(self, query: SearchQuery, access: AccessFilter) -> int:
        conds = self._conditions(query, access)
        return int(self.conn.execute(select(func.count()).where(and_(*conds))).scalar_one())

    def include_targets(
        self, pks: list[int], param: str | None, source_type: str, target_type: str | None
    ) -> list[tuple[str, str]]:
        if not pks:
            return []
        ref = idx_reference
        # only conditions the (res_pk) index serves: an "IS NOT NULL" here turns the plan into
        # a range scan of ix_ref_lookup (no statistics to tell SQLite otherwise)
        conds = [ref.c.res_pk.in_(pks), ref.c.rtype == source_type]
        if param and param != "*":
            conds.append(ref.c.param == param)
        rows = self.conn.execute(select(ref.c.ref_type, ref.c.ref_id, ref.c.res_pk)
                                 .where(and_(*conds)))
        found = {(r[0], r[1]) for r in rows if r[0] is not None and r[1] is not None
                 and (target_type is None or r[0] == target_type)}
        return sorted(found)

    def revinclude_sources(
        self, keys: list[tuple[str, str]], source_type: str, param: str | None
    ) -> list[int]:
        if not keys:
            return []
        ref = idx_reference
        conds = [ref.c.rtype == source_type, by_type(ref.c.ref_type, ref.c.ref_id, keys)]
        if param and param != "*":
            conds.append(ref.c.param == param)
        rows = self.conn.execute(select(ref.c.res_pk).where(and_(*conds)).distinct())
        return sorted(r[0] for r in rows)

    def lookup(self, keys: list[tuple[str, str]], access: AccessFilter) -> list[Stored]:
        if not keys:
            return []
        conds = [by_type(resources.c.rtype, resources.c.rid, keys)]
        if (extra := access.condition(resources)) is not None:
            conds.append(extra)
        # neither ORDER BY pk nor "deleted = 0" in SQL: either makes SQLite walk the whole
        # type through (rtype, deleted, pk) instead of using the unique (rtype, rid) index
        # (measured: 145 ms against 1 ms at 400k resources)
        rows = self.conn.execute(select(*_RES_COLS).where(and_(*conds)))
        return sorted((s for s in map(_stored, rows) if not s.deleted), key=lambda s: s.pk)

    def filter_visible(self, pks: list[int], access: AccessFilter) -> list[int]:
        if not pks or (extra := access.condition(resources)) is None:
            return pks
        rows = self.conn.execute(select(resources.c.pk).where(resources.c.pk.in_(pks), extra))
        keep = {r[0] for r in rows}
        return [pk for pk in pks if pk in keep]

    def history(
        self,
        rtype: str | None,
        rid: str | None,
        since: float | None,
        before: float | None,
        count: int,
        offset: int,
        snapshot: int | None,
        access: AccessFilter,
    ) -> tuple[list[Stored], int, int]:
        h = history
        conds: list[Any] = []
        if (extra := access.version_condition(h)) is not None:  # by each version's people
            conds.append(extra)
        if rtype:
            conds.append(h.c.rtype == rtype)
        if rid:
            conds.append(h.c.rid == rid)
        if since is not None:
            conds.append(h.c.updated >= since)
        if before is not None:
            conds.append(h.c.updated < before)
        if snapshot is None:
            snapshot = int(self.conn.execute(select(func.coalesce(func.max(h.c.hpk), 0))).scalar_one())
        conds.append(h.c.hpk <= snapshot)
        where = and_(*conds)
        total = int(self.conn.execute(select(func.count()).select_from(h).where(where)).scalar_one())
        rows = self.conn.execute(
            select(h.c.res_pk, h.c.rtype, h.c.rid, h.c.version, h.c.updated,
                   h.c.content.is_(None), h.c.content, h.c.method)
            .where(where)
            .order_by(h.c.hpk.desc())
            .limit(count)
            .offset(offset)
        ).all()
        return [_stored(r, r[7]) for r in rows], total, snapshot

    def referencing(self, rtype: str, rid: str, limit: int = 5) -> list[tuple[str, str]]:
        """Current resources referencing ``rtype/rid`` (referential integrity), but for the
        records the server keeps about it (Provenance, AuditEvent): they never block a
        delete, and history keeps both."""
        rows = self.conn.execute(
            select(resources.c.rtype, resources.c.rid)
            .select_from(refs.join(resources, resources.c.pk == refs.c.res_pk))
            .where(refs.c.target_type == rtype, refs.c.target_id == rid,
                   resources.c.deleted == false(),
                   resources.c.rtype.notin_(("Provenance", "AuditEvent")))
            .limit(limit)
        ).all()
        return [(r[0], r[1]) for r in rows if (r[0], r[1]) != (rtype, rid)]

    def existing(self, keys: list[tuple[str, str]], access: AccessFilter
                 ) -> set[tuple[str, str]]:
        """The keys that name a current resource the caller may see, or a person nobody
        accompanies yet (whom any structure may reference while setting itself up)."""
        found: set[tuple[str, str]] = set()
        referenceable = access.referenceable(resources)  # (security/policy.py)
        if self.is_write:  # found earlier in this transaction (forgotten on deletes and on
            # grant changes, which change what a restricted caller may reference)
            if access is not self._exists_for:
                self._exists_for, self._exists = access, set()
            found = {k for k in keys if k in self._exists}
            keys = [k for k in keys if k not in found]
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            conds = [by_type(resources.c.rtype, resources.c.rid, chunk)]
            if referenceable is not None:
                conds.append(referenceable)
            rows = self.conn.execute(
                select(resources.c.rtype, resources.c.rid, resources.c.deleted).where(*conds))
            found.update((r[0], r[1]) for r in rows if not r[2])
        if self.is_write:
            self._exists.update(found)
        return found

    # --- writes ------------------------------------------------------------------------------

    def lock(self, rtype: str, rid: str) -> None:
        """Serialise writers on one resource (SQLite: the write lock is already held)."""
        if self.postgres and (rtype, rid) not in self._locked:  # (reads nothing: the
            # deferred inserts may wait)
            key = zlib.crc32(f"{rtype}/{rid}".encode()) - (1 << 31)
            self._cursor().execute(self._sql["lock"], (key,))
            self._locked.add((rtype, rid))

    def prepare_writes(self, keys: list[tuple[str, str]]) -> None:
        """Before a transaction writes ``keys``: on PostgreSQL their locks are taken in one
        statement, in one order for every writer (no deadlock between two transactions
        touching the same resources), and their current rows are read in one statement (the
        write rules' look-ups of them then cost no round trip)."""
        keys = sorted(set(keys) - self._got.keys())
        if not keys:
            return
        if self.postgres:
            todo = sorted({zlib.crc32(f"{t}/{i}".encode()) - (1 << 31)
                           for t, i in keys if (t, i) not in self._locked})
            if todo:
                self._cursor().execute(
                    "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k",
                    (todo,))
                self._cursor().fetchall()
                self._locked.update(keys)
        for n in range(0, len(keys), 500):
            chunk = keys[n:n + 500]
            rows = self.conn.execute(select(*_RES_COLS).where(
                by_type(resources.c.rtype, resources.c.rid, chunk)))
            found = {(r[1], r[2]): _stored(r) for r in rows}
            for key in chunk:
                self._got[key] = found.get(key)

    def lock_type(self, rtype: str) -> None:
        """Serialise conditional creates of one type (PostgreSQL)."""
        if self.postgres:
            key = zlib.crc32(f"type:{rtype}".encode()) - (1 << 31)
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def write(
        self,
        rtype: str,
        rid: str,
        version: int,
        updated: float,
        content: bytes,
        method: str,
        rows: IndexRows,
        refs_out: list[tuple[str, str]],
        existing_pk: int | None = None,
    ) -> Stored:
        cur = self._cursor()
        sql = self._sql
        if existing_pk is None:
            cur.execute(sql["insert_resource"], (rtype, rid, version, updated, False, content))
            pk = cur.fetchone()[0]
            self._new.add(pk)
        else:
            pk = existing_pk
            self._clear_index(pk)
            if rtype in _GRANTING:
                self._grants_changed()
            cur.execute(sql["update_resource"], (version, updated, False, content, pk))
        self._changed(rtype, rid, pk)
        cur.execute(sql["insert_history"], (pk, rtype, rid, version, updated, method, content))
        self._hpk[pk] = cur.fetchone()[0]
        self.written.append((self._hpk[pk], rtype))
        self._insert_index(pk, rtype, rows, refs_out)
        return Stored(pk, rtype, rid, version, updated, False, content, method)

    def append_many(self, items: list[tuple[str, str, float, bytes, IndexRows, list[str]]]
                    ) -> None:
        """Insert new resources (version 1) in bulk with their index and patient rows: the
        audit trail's path (one statement per table for a whole batch)."""
        if not items:
            return
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        cur = self.conn.connection.cursor()
        try:
            pks = []
            for rtype, rid, updated, content, _, _ in items:
                cur.execute(
                    "INSERT INTO resources (rtype, rid, version, updated, deleted, content) "
                    f"VALUES ({mark}, {mark}, 1, {mark}, {mark}, {mark}) RETURNING pk",
                    (rtype, rid, updated, False, content))
                row = cur.fetchone()
                assert row is not None
                pks.append(row[0])
            cur.executemany(
                "INSERT INTO history (res_pk, rtype, rid, version, updated, method, content) "
                f"VALUES ({mark}, {mark}, {mark}, 1, {mark}, 'POST', {mark})",
                [(pk, it[0], it[1], it[2], it[3]) for pk, it in zip(pks, items, strict=True)])
            for ptype, table in INDEX_TABLES.items():
                cols = INDEX_COLUMNS[ptype]
                rows = [(pk, it[0], *row) for pk, it in zip(pks, items, strict=True)
                        for row in getattr(it[4], ptype)]
                if rows:
                    names = ", ".join(("res_pk", "rtype", *cols))
                    marks = ", ".join([mark] * (len(cols) + 2))
                    cur.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                                    rows)
            patients = [(pk, p) for pk, it in zip(pks, items, strict=True) for p in it[5]]
            if patients:
                cur.executemany(
                    f"INSERT INTO res_patient (res_pk, patient_id) VALUES ({mark}, {mark})",
                    patients)
        finally:
            cur.close()

    def delete(self, pk: int, rtype: str, rid: str, version: int, updated: float) -> None:
        self._changed(rtype, rid, pk)
        self._exists.clear()
        self._grant_memo.clear()
        people = self.current_patients(pk)  # (the deletion stays theirs)
        self.conn.execute(
            update(resources)
            .where(resources.c.pk == pk)
            .values(version=version, updated=updated, deleted=True, content=None)
        )
        hpk = self.conn.execute(
            insert(history).values(
                res_pk=pk, rtype=rtype, rid=rid, version=version, updated=updated,
                method="DELETE", content=None,
            ).returning(history.c.hpk)
        ).scalar_one()
        self.written.append((hpk, rtype))
        if people:
            self.conn.execute(insert(hist_patient),
                              [{"hpk": hpk, "patient_id": p} for p in sorted(people)])
        self._clear_index(pk)

    def _clear_index(self, pk: int) -> None:
        self.flush()
        cur = self._cursor()
        for sql in self._sql["clear"]:
            cur.execute(sql, (pk,))

    def _insert_index(
        self, pk: int, rtype: str, rows: IndexRows, refs_out: list[tuple[str, str]]
    ) -> None:
        for ptype in INDEX_TABLES:
            values = getattr(rows, ptype)
            if values:
                self._defer(f"idx_{ptype}", [(pk, rtype, *v) for v in values])
        if refs_out:
            self._defer("refs", [(pk, t, i) for t, i in set(refs_out)])


class SqlRepository:
    """The store. Interactions never use it directly: they go through the door bound to
    their caller (``security/door.py``: ``for_caller``), which applies the access rule."""

    def __init__(self, url: str, local_base_urls: tuple[str, ...] = (),
                 auto_upgrade: bool | None = None) -> None:
        """``auto_upgrade``: bring an older schema to this release's at start (default: for
        SQLite, the embedded store; PostgreSQL needs ``cm-fhir db upgrade``)."""
        from fhir_service.security.policy import RawRule
        from fhir_service.store.migrate import ensure_schema

        self.url = url
        self.engine = make_engine(url)
        try:
            ensure_schema(self.engine, url.startswith("sqlite") if auto_upgrade is None
                          else auto_upgrade)
        except BaseException:
            self.engine.dispose()
            raise
        self.compiler = FilterCompiler(local_base_urls)
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        self._read_sql = (
            "SELECT pk, rtype, rid, version, updated, deleted, content FROM resources "
            f"WHERE rtype = {mark} AND rid = {mark}"
        )
        self._raw_needs_rollback = self.engine.dialect.name != "sqlite"
        self.rule = RawRule(self.engine.dialect.paramstyle)
        # called with each write session before it commits (subscriptions/outbox.py: the
        # outbox rows of the versions written, in the same transaction)
        self.outbox: Callable[[SqlSession], None] | None = None

    def version_visible(self, pk: int, version: int, rtype: str,
                        access: tuple[str | None, float, bool]) -> tuple[bool, tuple[str, ...]]:
        """The raw-SQL access rule for one version (vread): by that version's people."""
        conn = self.engine.raw_connection()
        try:
            return self.rule.version_visible(conn.cursor(), pk, version, rtype, access)
        finally:
            if self._raw_needs_rollback:
                conn.rollback()
            conn.close()

    def read_visible(self, rtype: str, rid: str, access: tuple[str | None, float, bool] | None
                     ) -> tuple[Stored | None, bool]:
        """Hot path of read-by-id with the raw-SQL form of the access rule
        (``security.policy.RawRule``; ``access`` = structure, instant, operator; None: no
        rule): (the current version or None, whether the caller may see it). Prepared
        statements on one pooled DBAPI connection, no explicit transaction. With a rule, the
        returned ``Stored`` carries the people it belongs to, so that the audit record needs
        no query of its own."""
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(self._read_sql, (rtype, rid))
            row = cur.fetchone()
            if row is None or access is None:
                return (_stored(row) if row else None), True
            visible, people = self.rule.visible(cur, row[0], rtype, access)
            return Stored(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6],
                          patients=people), visible
        finally:
            if self._raw_needs_rollback:
                conn.rollback()
            conn.close()

    def visible_raw(self, pk: int, rtype: str, access: tuple[str | None, float, bool]
                    ) -> tuple[bool, tuple[str, ...]]:
        """The raw-SQL access rule for one stored resource: (visible, its people)."""
        conn = self.engine.raw_connection()
        try:
            return self.rule.visible(conn.cursor(), pk, rtype, access)
        finally:
            if self._raw_needs_rollback:
                conn.rollback()
            conn.close()

    @contextmanager
    def read_session(self) -> Iterator[SqlSession]:
        with self.engine.connect() as conn, conn.begin():
            yield SqlSession(conn, self.compiler, write=False)

    @contextmanager
    def write_session(self) -> Iterator[SqlSession]:
        with self.engine.connect() as plain:
            conn = plain.execution_options(cm_write=True)
            with conn.begin():
                session = SqlSession(conn, self.compiler, write=True)
                conn.info["cm_flush"] = session.flush
                try:
                    yield session
                    if self.outbox is not None and session.written:
                        self.outbox(session)
                    session.flush()  # (before the commit)
                finally:
                    conn.info.pop("cm_flush", None)
                    session.close()

    def close(self) -> None:
        self.engine.dispose()


__all__ = ["SqlRepository", "SqlSession", "make_engine", "or_"]
