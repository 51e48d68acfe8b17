"""Audit trail: an AuditEvent for every access to patient data.

Shaped after IHE Basic Audit Log Patterns (BALP, https://profiles.ihe.net/ITI/BALP/):
``type`` rest, ``subtype`` the RESTful interaction, ``action`` C/R/U/D/E, ``outcome``, agents
for the client software (source), the practitioner (``fhirUser``) and the structure, the
server as destination, entities for the people concerned (``Patient``, role 1), the
resources read or written, and the query of a search (base64). Denied attempts are
audited too.

The events are built in ``audit_events.py``, journaled by ``audit_journal.py``; this module
is the trail: the group-commit writer, the indexer (a child process, ``audit_index.py``) and
recovery.

Durability: the event is committed before the response leaves the server, so no access
happens without its record, even if the process dies right after. With a journal (the
default beside a SQLite database, ``CM_FHIR_AUDIT_JOURNAL`` elsewhere), "committed" means
appended to an append-only file of JSON lines and ``fdatasync``-ed, one group commit for all
the requests waiting; a background thread then stores the events as indexed AuditEvent
resources in large batches, and the journal segments it has finished are deleted. At
start-up, segments left by a crashed process are replayed (events already stored are
skipped, a torn last line is ignored). Without a journal the events are stored directly,
in group-committed database transactions.

The events are stored resources, indexed like any other, so ``AuditEvent?patient=…`` tells
who looked at a person's plan; only operators can read them, and their requests first wait
for the pending journal to be indexed (:meth:`AuditTrail.flush`), so their answers are
complete.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from fhir_service import fhir
from fhir_service.context import instant
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.search.extract import extract
from fhir_service.security.audit_events import build_event, classify
from fhir_service.security.audit_index import IndexerProcess
from fhir_service.security.audit_journal import AuditJournal, journal_directory, read_segment
from fhir_service.security.policy import DIRECTORY_TYPES, PROTECTED_TYPES, system_access
from fhir_service.store.repository import Stored

if TYPE_CHECKING:
    from fhir_service.context import FhirContext

log = logging.getLogger("cm_fhir.audit")

@dataclass
class _Entry:
    """One AuditEvent ready to be journaled or stored."""
    rid: str
    updated: float
    event: dict[str, Any]
    content: bytes
    patients: list[str]


@dataclass
class _Pending:
    req: FhirRequest
    status: int
    touched: list[Stored]
    message: str
    done: threading.Event | None = None  # for callers on other threads
    error: BaseException | None = None
    future: asyncio.Future[None] | None = None  # for callers on the event loop
    # built by the caller already (event-loop callers: the writer thread then only writes)
    prepared: _Entry | None = None
    timer: asyncio.TimerHandle | None = None  # the time limit of its batch


def _resolve_all(items: list[_Pending]) -> None:
    for item in items:
        if item.timer is not None:
            item.timer.cancel()  # (and releases the batch it holds)
        if item.future is not None and not item.future.done():
            item.future.set_result(None)


@dataclass
class _Journaled:
    seq: int
    segment: Path
    rid: str
    updated: float
    content: bytes  # the AuditEvent as stored (parsed again when indexed: less memory)
    patients: list[str]


class AuditTrail:
    """Writes AuditEvents with group commit: concurrent requests hand their record to one
    writer thread, which journals (or stores) a batch at once; each request returns only
    once its own record is durable (an audit failure fails the request: no unrecorded
    access). With a journal, an indexer thread turns journaled events into indexed
    AuditEvent resources in the background."""

    def __init__(self, ctx: FhirContext) -> None:
        self.ctx = ctx
        self._queue: list[_Pending] = []
        self._loop_batches: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.journal: AuditJournal | None = None
        directory = journal_directory(ctx.settings)
        # indexer state (journal mode)
        self._icond = threading.Condition()
        self._iqueue: list[_Journaled] = []
        self._iseq = 0  # last sequence number journaled
        self._indexed = 0  # last sequence number stored and indexed
        self._ifailed: BaseException | None = None
        self._last_append = 0.0
        self._ifirst = 0.0  # when the oldest event waiting to be indexed was journaled
        self._flushing = 0  # callers waiting in flush()
        self._ithread: threading.Thread | None = None
        self._stopping = False  # close(): the threads finish what they hold and end
        self._segments: dict[Path, int] = {}  # segment -> events not yet indexed
        self._closed: set[Path] = set()
        self._process: IndexerProcess | None = None
        if directory is not None and ctx.settings.audit:
            self.journal = AuditJournal(directory,
                                        sync=getattr(ctx.settings, "audit_fsync", True))
            self.recover()
            if getattr(ctx.settings, "audit_indexer", "thread") == "process":
                self._process = IndexerProcess(
                    getattr(ctx.repository, "url", ctx.settings.database_url),
                    [p.definition for p in ctx.params.indexed("AuditEvent")])

    # --- recording --------------------------------------------------------------------

    def needed(self, req: FhirRequest, touched: list[Stored]) -> bool:
        principal = req.principal
        if principal is None or principal.system or not self.ctx.settings.audit:
            return False
        _, rtype = classify(req)
        return rtype != "AuditEvent" and (
            rtype in PROTECTED_TYPES or bool(req.probed) or req.audit_query is not None or any(
                s.rtype in PROTECTED_TYPES or self.ctx.policy is None or bool(s.patients)
                or s.rtype not in DIRECTORY_TYPES for s in touched))

    def _enqueue(self, *items: _Pending) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cm-fhir-audit",
                                                daemon=True)
                self._thread.start()
            self._queue.extend(items)
            self._cond.notify()

    async def record_async(self, req: FhirRequest, status: int, touched: list[Stored],
                           message: str = "") -> None:
        """Same as :meth:`record` for callers on the event loop: awaits the commit.

        When the people concerned are known already (reads look them up for the access
        check), the event is built here and the records of the requests answered within
        ``GATHER_S`` are handed to the writer thread together, which then only appends them
        to the journal and syncs it (system calls, during which the interpreter is free):
        another thread doing Python work would take the interpreter from the event loop at
        each of its database calls."""
        if not self.needed(req, touched):
            return
        touched = [s for s in touched if s.rtype != "AuditEvent"]
        loop = asyncio.get_running_loop()
        item = _Pending(req, status, touched, message, future=loop.create_future())
        assert item.future is not None
        if self.journal is not None and all(s.patients is not None for s in touched):
            item.prepared = self._entry(item, {s.pk: s.patients or () for s in touched})
            if item.prepared is None:
                return  # compartment types, but nobody's data
            self._gather(loop, item)  # (one time limit per batch, not one per request)
            await item.future
        else:
            self._enqueue(item)
            try:
                async with asyncio.timeout(self.TIME_LIMIT_S):
                    await item.future
            except TimeoutError:
                item.error = TimeoutError()
        if isinstance(item.error, TimeoutError):
            raise FhirError("internal", "The audit record could not be written in time")
        if item.error is not None:
            raise FhirError("internal", "The audit record could not be written") \
                from item.error

    def _gather(self, loop: asyncio.AbstractEventLoop, item: _Pending) -> None:
        """Collect the event loop's prepared records; one hand-over per ``GATHER_S``."""
        batch = self._loop_batches.get(loop)
        if batch is None:
            batch = self._loop_batches[loop] = []
            loop.call_later(self.GATHER_S, self._hand_over, loop)
        batch.append(item)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._loop_batches.pop(loop, None)
        if batch:
            # cancelled when the batch is answered (on this loop, so not before this returns)
            timer = loop.call_later(self.TIME_LIMIT_S, self._expire, batch)
            for item in batch:
                item.timer = timer
            self._enqueue(*batch)

    @staticmethod
    def _expire(batch: list[_Pending]) -> None:
        """The time limit of a batch handed over by the event loop: whoever still waits gets
        an error (their access is refused, since it has no durable record)."""
        for item in batch:
            if item.future is not None and not item.future.done():
                item.error = TimeoutError()
                item.future.set_result(None)

    def record(self, req: FhirRequest, status: int, touched: list[Stored],
               message: str = "") -> None:
        """Write the request's AuditEvent; returns once it is committed."""
        if not self.needed(req, touched):
            return
        item = _Pending(req, status, [s for s in touched if s.rtype != "AuditEvent"], message,
                        done=threading.Event())
        self._enqueue(item)
        assert item.done is not None
        if not item.done.wait(timeout=60):
            raise FhirError("internal", "The audit record could not be written in time")
        if item.error is not None:
            raise FhirError("internal", "The audit record could not be written") \
                from item.error

    GATHER_S = float(os.environ.get("CM_FHIR_AUDIT_GATHER_MS", "1")) / 1000
    TIME_LIMIT_S = 60.0  # a record not durable by then fails its request
    GATHER_MAX = 64

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if self._stopping:
                        return
                    self._cond.wait()
                # gather a little more: fewer, larger groups mean fewer hand-offs of the
                # interpreter between the event loop and this thread (each costs CPU);
                # records prepared on the event loop come gathered already
                if any(item.prepared is None for item in self._queue):
                    deadline = time.monotonic() + self.GATHER_S
                    while len(self._queue) < self.GATHER_MAX and \
                            (left := deadline - time.monotonic()) > 0:
                        self._cond.wait(left)
                batch, self._queue = self._queue, []
            try:
                self._write(batch)
            except BaseException as exc:
                log.exception("audit batch failed")
                for item in batch:
                    item.error = exc
            by_loop: dict[Any, list[_Pending]] = {}
            for item in batch:
                if item.done is not None:
                    item.done.set()
                if item.future is not None:
                    by_loop.setdefault(item.future.get_loop(), []).append(item)
            del batch
            for loop, items in by_loop.items():  # one wake-up per loop and batch
                loop.call_soon_threadsafe(_resolve_all, items)

    def _entry(self, item: _Pending, people: dict[int, Any]) -> _Entry | None:
        """The AuditEvent of one request (None when it touched only resources of a
        compartment type that belong to nobody)."""
        patients = sorted({p for s in item.touched for p in people.get(s.pk, ())}
                          | item.req.probed)
        interaction, rtype = classify(item.req)
        if not patients and rtype not in PROTECTED_TYPES and item.req.audit_query is None \
                and not any(s.rtype in PROTECTED_TYPES for s in item.touched):
            return None
        updated = self.ctx.clock.wall()  # an instant per event, not a unique one
        rid = self.ctx.new_id()
        event = build_event(item.req, interaction, rtype, item.status, patients,
                            [f"{s.rtype}/{s.rid}/_history/{s.version}" for s in item.touched],
                            item.message, updated)
        event = {"resourceType": "AuditEvent", "id": rid,
                 "meta": {"versionId": "1", "lastUpdated": instant(updated)},
                 **{k: v for k, v in event.items() if k != "resourceType"}}
        return _Entry(rid, updated, event, fhir.dumps(event), patients)

    def _entries(self, batch: list[_Pending]) -> list[_Entry]:
        """The AuditEvents of a batch: prepared by their callers, or built here (the people
        concerned are queried for the resources that do not carry them)."""
        todo = [item for item in batch if item.prepared is None]
        people: dict[int, Any] = {s.pk: s.patients for item in todo for s in item.touched
                                  if s.patients is not None}
        pks = sorted({s.pk for item in todo for s in item.touched if s.pk not in people})
        if pks:
            with self.ctx.repository.read_session() as session:
                people.update(session.patients_by_pk(pks))
        entries = [item.prepared for item in batch if item.prepared is not None]
        entries.extend(e for item in todo if (e := self._entry(item, people)) is not None)
        return entries

    def _write(self, batch: list[_Pending]) -> None:
        entries = self._entries(batch)
        if not entries:
            return
        if self.journal is None:
            with self.ctx.repository.write_session() as session:
                session.append_many(self._rows(
                    (e.rid, e.updated, e.content, e.event, e.patients) for e in entries))
            return
        lines = [b'{"u":%r,"p":%b,"r":%b}' % (e.updated, fhir.dumps(e.patients), e.content)
                 for e in entries]
        # only this thread appends: the journal order is the sequence order
        segment, closed = self.journal.append(lines)
        with self._icond:
            if not self._iqueue:
                self._ifirst = time.monotonic()
            for e in entries:
                self._iseq += 1
                self._iqueue.append(_Journaled(self._iseq, segment, e.rid, e.updated,
                                               e.content, e.patients))
            self._segments[segment] = self._segments.get(segment, 0) + len(entries)
            self._last_append = time.monotonic()
            if closed is not None:
                self._closed.add(closed)
                self._retire(closed)
            self._ensure_indexer()
            self._icond.notify_all()

    def _ensure_indexer(self) -> None:
        if self._ithread is None or not self._ithread.is_alive():
            self._ithread = threading.Thread(target=self._index_loop,
                                             name="cm-fhir-audit-index", daemon=True)
            self._ithread.start()

    def _rows(self, items: Any) -> list[tuple[str, str, float, bytes, Any, list[str]]]:
        params = self.ctx.params.indexed("AuditEvent")
        return [("AuditEvent", rid, updated, content, extract(event, params), patients)
                for rid, updated, content, event, patients in items]

    # --- background indexing (journal mode) -------------------------------------------

    # Indexing is deferred while requests keep coming (it would compete with them for the
    # interpreter): it runs once the trail has been quiet for INDEX_QUIET_S, when the backlog
    # reaches INDEX_BACKLOG events, or at once when someone waits in flush(). Batches are
    # small so that a request arriving meanwhile waits little.
    INDEX_QUIET_S = 0.05
    INDEX_BACKLOG = 20_000
    INDEX_BATCH = 250
    PROCESS_WAIT_S = 0.1

    def _index_due(self) -> float | None:
        """0 if indexing should run now, else how long to wait (None: until notified)."""
        if not self._iqueue:
            return None
        if self._flushing or len(self._iqueue) >= self.INDEX_BACKLOG:
            return 0.0
        if self._process is not None:  # no competition for the interpreter: index within
            # PROCESS_WAIT_S, in batches large enough to make each transaction worth it
            if len(self._iqueue) >= self.INDEX_BATCH:
                return 0.0
            return max(0.0, self.PROCESS_WAIT_S - (time.monotonic() - self._ifirst))
        return max(0.0, self.INDEX_QUIET_S - (time.monotonic() - self._last_append))

    def _index_loop(self) -> None:
        while True:
            with self._icond:
                while (wait := self._index_due()) != 0.0:
                    if self._stopping and not self._iqueue:
                        return
                    self._icond.wait(wait)
                size = self.INDEX_BATCH if not self._flushing else 2000
                batch, self._iqueue = self._iqueue[:size], self._iqueue[size:]
            try:
                if self._process is not None:
                    self._process.store([(j.rid, j.updated, j.content, j.patients)
                                         for j in batch])
                else:
                    rows = self._rows((j.rid, j.updated, j.content, orjson.loads(j.content),
                                       j.patients) for j in batch)
                    with self.ctx.repository.write_session() as session:
                        session.append_many(rows)
            except BaseException as exc:  # stays journaled; retried, recovered at start-up
                log.exception("audit indexing failed; retrying")
                with self._icond:
                    self._iqueue[:0] = batch
                    self._ifailed = exc
                    self._icond.notify_all()
                    self._icond.wait(timeout=1.0)
                continue
            with self._icond:
                self._indexed = batch[-1].seq
                self._ifailed = None
                for j in batch:
                    self._segments[j.segment] -= 1
                for segment in {j.segment for j in batch}:
                    self._retire(segment)
                self._icond.notify_all()

    def _retire(self, segment: Path) -> None:
        """Delete a segment once it is closed and all its events are indexed (lock held)."""
        if segment in self._closed and self._segments.get(segment, 0) == 0:
            assert self.journal is not None
            self.journal.release(segment)
            self._closed.discard(segment)
            self._segments.pop(segment, None)

    def pending(self) -> int:
        return self._iseq - self._indexed

    def close(self, timeout: float = 60.0) -> None:
        """Clean shutdown: the records handed over so far are written, the journal is indexed,
        and the writer and indexer threads end (they hold no database connection afterwards,
        so the repository can be closed). A record arriving later starts them again."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        try:
            if self._thread is not None:
                self._thread.join(timeout)
            self.flush(timeout)  # journal mode: every journaled event stored and indexed
            with self._icond:
                self._icond.notify_all()
            if self._ithread is not None:
                self._ithread.join(timeout)
            if self._process is not None:
                self._process.close()
            with self._icond:  # everything journaled is stored: the open segment goes too
                if self.journal is not None and self._indexed >= self._iseq and \
                        self.journal.path is not None:
                    self._segments.pop(self.journal.path, None)
                    self._closed.discard(self.journal.path)
                    self.journal.retire_open()
        finally:
            self._stopping = False

    def flush(self, timeout: float = 60.0) -> None:
        """Return once every event journaled so far is stored and indexed."""
        if self.journal is None or self._indexed >= self._iseq:
            return
        deadline = time.monotonic() + timeout
        with self._icond:
            target = self._iseq
            self._flushing += 1
            self._ensure_indexer()
            self._icond.notify_all()
            try:
                while self._indexed < target:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise FhirError("internal",
                                        "The audit trail could not be indexed in time")
                    self._icond.wait(timeout=left)
            finally:
                self._flushing -= 1

    def recover(self) -> int:
        """Store the events of segments left by a process that stopped (crash or not) before
        indexing them; returns how many were missing from the database."""
        assert self.journal is not None
        stored = 0
        for path, fd in self.journal.orphans():
            try:
                records = read_segment(fd)
                for i in range(0, len(records), 500):
                    chunk = records[i:i + 500]
                    with self.ctx.repository.write_session() as session:
                        have = session.existing([("AuditEvent", r["r"]["id"]) for r in chunk],
                                                    system_access())
                        items = [(r["r"]["id"], float(r["u"]), fhir.dumps(r["r"]), r["r"],
                                  [str(p) for p in r.get("p", [])])
                                 for r in chunk if ("AuditEvent", r["r"]["id"]) not in have]
                        session.append_many(self._rows(items))
                        stored += len(items)
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        if stored:
            log.warning("audit journal recovery stored %d events", stored)
        return stored
