"""Bulk export jobs: their state and files in a shared directory, their work in a thread.

**Where the state lives.** Each job is a folder ``<export dir>/<job id>/`` holding
``job.json`` (its state) and its NDJSON files. ``job.json`` is only ever replaced whole
(written to a temporary file in the folder, ``fsync``-ed, then ``os.replace``-d), so a worker
process reading it sees the previous state or the next one, never half of one. Every worker
process of the service therefore answers a job's status, download and cancellation, whichever
one started it: the directory must be shared by them (it is, by default, beside the SQLite
file; with PostgreSQL and several hosts, ``CM_FHIR_EXPORT_DIR`` must be a shared file
system). A job's work runs in a thread of the process that accepted it, which refreshes
``heartbeat`` in ``job.json`` at least every few seconds; a job whose heartbeat is older than
``STALE_SECONDS`` (its process ended) answers as failed.

**Cancellation** renames the folder away (atomic) and removes it: the running thread finds
its folder gone at its next state write and stops; nothing it wrote remains.

**Expiry.** A finished job's files are removed ``export_expiry_seconds`` after it ended, by
a sweep at start-up, at each kick-off, and periodically while the process has exports.

Files and folders are private (0600/0700): they hold people's data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fhir_service.context import instant
from fhir_service.export import selection
from fhir_service.outcomes import Issue, operation_outcome

log = logging.getLogger("cm_fhir.export")

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
FILE_NAME = re.compile(r"^[A-Z][A-Za-z]{1,63}-[0-9]{1,6}\.ndjson$")
PAGE = 1000  # resources read per database round trip (constant memory)
HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 300.0
UNFINISHED = ("queued", "in-progress")


def export_directory(settings: Any) -> Path:
    """``CM_FHIR_EXPORT_DIR``; by default beside a SQLite database file, else var/export."""
    from fhir_service.conformance.package import project_root

    configured = str(getattr(settings, "export_dir", "") or "")
    if configured:
        return Path(configured)
    url = str(settings.database_url)
    if url.startswith("sqlite:///") and ":memory:" not in url and len(url) > len("sqlite:///"):
        return Path(url[len("sqlite:///"):].split("?", 1)[0] + "-export")
    return project_root() / "var" / "export"


class Cancelled(Exception):
    """The job's folder is gone: it was cancelled (or expired)."""


class JobStore:
    """Job folders in one directory (module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure_root(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def create(self, record: dict[str, Any]) -> str:
        self._ensure_root()
        while True:
            job_id = secrets.token_hex(16)
            try:
                self.folder(job_id).mkdir(mode=0o700)
                break
            except FileExistsError:  # (never in practice: 128 random bits)
                continue
        record["id"] = job_id
        if not self.save(job_id, record):
            raise OSError("the export folder vanished while it was created")
        return job_id

    def load(self, job_id: str) -> dict[str, Any] | None:
        if not JOB_ID.match(job_id):
            return None
        try:
            data = (self.folder(job_id) / "job.json").read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            record = json.loads(data)
        except ValueError:
            return None
        return record if isinstance(record, dict) else None

    def save(self, job_id: str, record: dict[str, Any]) -> bool:
        """Replace ``job.json`` whole; False when the job's folder is gone (cancelled)."""
        folder = self.folder(job_id)
        tmp = folder / f".job.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except (FileNotFoundError, NotADirectoryError):
            return False
        try:
            view = memoryview(orjson.dumps(record))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, folder / "job.json")
        except FileNotFoundError:
            return False
        return True

    def remove(self, job_id: str) -> bool:
        """Take the job away at once (an atomic rename), then delete its files."""
        if not JOB_ID.match(job_id):
            return False
        trash = self.root / f".removed-{job_id}-{secrets.token_hex(4)}"
        try:
            os.rename(self.folder(job_id), trash)
        except FileNotFoundError:
            return False
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def jobs(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return
        for name in names:
            if JOB_ID.match(name):
                yield name, self.load(name)

    def sweep(self, now: float) -> int:
        """Remove expired jobs, jobs whose process ended long ago, folders left half-made
        or half-removed; the number of jobs removed."""
        removed = 0
        for job_id, record in list(self.jobs()):
            if record is None:
                try:
                    age = now - self.folder(job_id).stat().st_mtime
                except FileNotFoundError:
                    continue
                expired = age > STALE_SECONDS
            elif record.get("status") in UNFINISHED:
                expired = now - float(record.get("heartbeat", 0)) > max(
                    STALE_SECONDS, float(record.get("expiry", 0)))
            else:
                expired = now >= float(record.get("expires") or 0)
            if expired and self.remove(job_id):
                removed += 1
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return removed
        for name in names:
            if name.startswith(".removed-"):
                shutil.rmtree(self.root / name, ignore_errors=True)
        return removed


@dataclass
class Plan:
    """What one export writes (fixed at kick-off)."""

    types: list[str]
    snapshot: int  # highest resource key at kick-off
    until: float  # the transaction time (the access rule's instant too)
    since: float | None
    persons_only: bool  # Patient and Group level
    people: list[str] | None  # Group level: its members
    base_url: str
    ignored: list[str] = field(default_factory=list)  # parameters ignored (handling=lenient)


class NdjsonWriter:
    """One type's files, ``<Type>-<n>.ndjson``, at most ``limit`` resources each, created
    only when there is something to write."""

    def __init__(self, folder: Path, rtype: str, limit: int) -> None:
        self.folder, self.rtype, self.limit = folder, rtype, limit
        self.files: list[tuple[str, int]] = []  # (name, count)
        self._out: Any = None
        self._count = 0
        self._people: set[str] = set()

    def write(self, content: bytes, people: Iterable[str] = ()) -> None:
        """One resource, and the people whose data it is (for the audit of downloads)."""
        if self._out is None or self._count >= self.limit:
            self._next()
        if b"\n" in content or b"\r" in content:  # (stored JSON is compact; never trust it)
            content = orjson.dumps(orjson.loads(content))
        self._out.write(content)
        self._out.write(b"\n")
        self._count += 1
        self._people.update(people)

    def _next(self) -> None:
        self.close()
        name = f"{self.rtype}-{len(self.files) + 1}.ndjson"
        fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out = os.fdopen(fd, "wb", buffering=1 << 20)
        self._count = 0
        self.files.append((name, 0))

    def close(self) -> None:
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None
            name, _ = self.files[-1]
            self.files[-1] = (name, self._count)
            write_people(self.folder / name, self._people)
            self._people = set()


def people_path(path: Path) -> Path:
    return path.with_name(path.name + ".people")


def write_people(path: Path, people: set[str]) -> None:
    """Beside a file, the people whose data it holds: each download is audited under them."""
    try:
        fd = os.open(people_path(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:  # the job was cancelled meanwhile
        return
    with os.fdopen(fd, "wb") as out:
        out.write(orjson.dumps(sorted(people)))


def read_people(path: Path) -> list[str]:
    try:
        people = orjson.loads(people_path(path).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return []
    return [p for p in people if isinstance(p, str)] if isinstance(people, list) else []


def file_url(base_url: str, job_id: str, name: str) -> str:
    return f"{base_url}/$export/files/{job_id}/{name}"


class Exports:
    """The export jobs of one service context: the shared job store, and this process's
    threads doing the work (at most ``export_workers`` at once; the others wait queued)."""

    def __init__(self, settings: Any, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.store = JobStore(export_directory(settings))
        self.slots = threading.BoundedSemaphore(settings.export_workers)
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.store.sweep(self.clock())  # clean-up at start

    # --- the work ------------------------------------------------------------------------

    def start(self, record: dict[str, Any], door: Any, plan: Plan) -> str:
        now = self.clock()
        record.update({"status": "queued", "created": now, "heartbeat": now,
                       "expiry": float(self.settings.export_expiry_seconds),
                       "progress": "queued"})
        job_id = self.store.create(record)
        done = threading.Event()
        with self._lock:
            self._done[job_id] = done
        threading.Thread(target=self._run, args=(job_id, door, plan, done), daemon=True,
                         name="cm-fhir-export").start()
        self._ensure_sweeper()
        return job_id

    def wait(self, job_id: str, timeout: float) -> bool:
        """Until this process's thread for the job has ended (True), or ``timeout``."""
        with self._lock:
            done = self._done.get(job_id)
        return done is None or done.wait(timeout)

    def _run(self, job_id: str, door: Any, plan: Plan, done: threading.Event) -> None:
        try:
            while not self.slots.acquire(timeout=HEARTBEAT_SECONDS):
                self._touch(job_id)  # queued: still alive
            try:
                self._export(job_id, door, plan)
            finally:
                self.slots.release()
        except Cancelled:
            pass
        except Exception as exc:  # noqa: BLE001 (the job fails; the message may quote data)
            log.error("export job failed: %s", type(exc).__qualname__)
            record = self.store.load(job_id)
            if record is not None:
                record.update({"status": "failed", "heartbeat": self.clock(),
                               "expires": self.clock() + self.settings.export_expiry_seconds,
                               "message": f"The export failed ({type(exc).__name__}); "
                                          "start a new one"})
                if self.store.save(job_id, record):  # (no half export left to download)
                    for path in self.store.folder(job_id).glob("*.ndjson*"):
                        path.unlink(missing_ok=True)
        finally:
            done.set()
            with self._lock:
                self._done.pop(job_id, None)

    def _touch(self, job_id: str) -> dict[str, Any]:
        record = self.store.load(job_id)
        if record is None:
            raise Cancelled
        record["heartbeat"] = self.clock()
        if not self.store.save(job_id, record):
            raise Cancelled
        return record

    def _export(self, job_id: str, door: Any, plan: Plan) -> None:
        record = self._touch(job_id)
        record.update({"status": "in-progress", "progress": f"started: {len(plan.types)} "
                                                            "types to export"})
        if not self.store.save(job_id, record):
            raise Cancelled
        folder = self.store.folder(job_id)
        output: list[dict[str, Any]] = []
        total = 0
        last = self.clock()
        for index, rtype in enumerate(plan.types):
            writer = NdjsonWriter(folder, rtype, self.settings.export_file_max_resources)
            try:
                after = 0
                while True:
                    with door.read_session() as session:
                        page = selection.export_page(
                            session, rtype, after, PAGE, plan.snapshot, plan.until, plan.since,
                            plan.people, plan.persons_only)
                    if not page:
                        break
                    if not folder.is_dir():  # cancelled: its folder was taken away
                        raise Cancelled
                    for stored in page:
                        if stored.content is not None:
                            writer.write(stored.content, stored.patients or ())
                    total += len(page)
                    after = page[-1].pk
                    page = []  # (freed before the next page is read: one page in memory)
                    if self.clock() - last >= HEARTBEAT_SECONDS / 2:
                        last = self.clock()
                        record.update({
                            "heartbeat": last,
                            "progress": f"{total} resources written; {rtype} "
                                        f"({index + 1} of {len(plan.types)} types)"})
                        if not self.store.save(job_id, record):
                            raise Cancelled
            finally:
                writer.close()
            output.extend({"type": rtype, "url": file_url(plan.base_url, job_id, name),
                           "count": count} for name, count in writer.files)
        errors: list[dict[str, Any]] = []
        if plan.ignored:
            name = "OperationOutcome-1.ndjson"
            outcome = operation_outcome([
                Issue("warning", "not-supported",
                      f"Parameter '{p}' is not supported and was ignored (Prefer: "
                      "handling=lenient)", (p,)) for p in plan.ignored])
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(outcome) + b"\n")
            errors.append({"type": "OperationOutcome",
                           "url": file_url(plan.base_url, job_id, name)})
        ended = self.clock()
        record.update({
            "status": "completed", "heartbeat": ended, "progress": f"{total} resources written",
            "expires": ended + self.settings.export_expiry_seconds,
            "manifest": {"transactionTime": instant(plan.until), "request": record["request"],
                         "requiresAccessToken": True, "output": output, "error": errors},
        })
        if not self.store.save(job_id, record):
            raise Cancelled

    # --- expiry ---------------------------------------------------------------------------

    def sweep(self) -> int:
        return self.store.sweep(self.clock())

    def _ensure_sweeper(self) -> None:
        with self._lock:
            if self._sweeper is not None and self._sweeper.is_alive():
                return
            interval = min(300.0, max(1.0, self.settings.export_expiry_seconds / 4))
            self._sweeper = threading.Thread(target=self._sweep_loop, args=(interval,),
                                             daemon=True, name="cm-fhir-export-sweep")
            self._sweeper.start()

    def _sweep_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except OSError as exc:
                log.warning("export sweep failed: %s", type(exc).__qualname__)

    def close(self) -> None:
        self._stop.set()
