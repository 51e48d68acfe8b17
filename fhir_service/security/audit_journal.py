"""The audit journal: append-only segments of JSON lines, group-committed (``fdatasync``)
before the requests they record are answered, replayed at start-up (see
``security/audit.py``)."""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("cm_fhir.audit")

def journal_directory(settings: Any) -> Path | None:
    """Where the audit journal lives: ``CM_FHIR_AUDIT_JOURNAL`` (a directory, or ``off``),
    by default beside a SQLite database file; other databases write directly unless a
    directory is given."""
    configured = str(getattr(settings, "audit_journal", "") or "")
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured)
    url = str(settings.database_url)
    if url.startswith("sqlite:///") and ":memory:" not in url and len(url) > len("sqlite:///"):
        return Path(url[len("sqlite:///"):].split("?", 1)[0] + "-audit")
    return None


class AuditJournal:
    """Append-only segments of JSON lines (``audit-<ns>-<pid>-<n>.jsonl``), each batch
    written and ``fdatasync``-ed before its requests are answered. The open segment is held
    under an exclusive ``flock``, so a recovery (another process, or another trail of this
    one) never takes a segment that is still being written."""

    def __init__(self, directory: Path, segment_bytes: int = 8 << 20,
                 sync: bool = True) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.sync = sync
        # private: the events name people (segments are created 0600 by _rotate)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fd: int | None = None
        self.path: Path | None = None
        self._size = 0
        self._names = itertools.count(1)
        self._held: dict[Path, int] = {}  # closed segments, still locked until indexed

    def append(self, lines: list[bytes]) -> tuple[Path, Path | None]:
        """Write and sync ``lines``; returns (segment written, segment closed by a rotation)."""
        closed = None
        if self._fd is None or self._size >= self.segment_bytes:
            closed = self._rotate()
        assert self._fd is not None and self.path is not None
        data = memoryview(b"".join(line + b"\n" for line in lines))
        try:
            while data:
                n = os.write(self._fd, data)
                data = data[n:]
            if self.sync:
                os.fdatasync(self._fd)
        except OSError:
            # a partial line must not run into the next batch's first one: next segment
            self._size = self.segment_bytes
            raise
        self._size += sum(len(line) + 1 for line in lines)
        return self.path, closed

    def _rotate(self) -> Path | None:
        closed = self.path
        if self._fd is not None and closed is not None:
            self._held[closed] = self._fd  # stays locked: its events are not all indexed yet
        name = f"audit-{time.time_ns()}-{os.getpid()}-{next(self._names)}.jsonl"
        self.path = self.directory / name
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new segment's name is durable too
        finally:
            os.close(dir_fd)
        self._size = 0
        return closed

    def release(self, path: Path) -> None:
        """Delete a segment whose events are all stored, then drop its lock."""
        path.unlink(missing_ok=True)
        fd = self._held.pop(path, None)
        if fd is not None:
            os.close(fd)

    def retire_open(self) -> None:
        """Delete the open segment (a clean stop, every event of it stored): the next start,
        or another worker's, has nothing of this process to replay."""
        if self._fd is None or self.path is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd, self.path, self._size = None, None, 0

    def orphans(self) -> list[tuple[Path, int]]:
        """Segments no live writer holds, each with an open descriptor locked for us."""
        found = []
        for path in sorted(self.directory.glob("audit-*.jsonl")):
            if path == self.path or path in self._held:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            found.append((path, fd))
        return found


def read_segment(fd: int) -> list[dict[str, Any]]:
    """The records of a segment; a torn last line (a crash during its write, before any
    answer was sent) is dropped, so is an unreadable line elsewhere (logged)."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    lines = b"".join(chunks).split(b"\n")
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            if i < len(lines) - 1 and any(x.strip() for x in lines[i + 1:]):
                log.warning("unreadable audit journal line skipped")
            continue
        if isinstance(record, dict) and isinstance(record.get("u"), int | float) and \
                isinstance(record.get("r"), dict) and isinstance(record["r"].get("id"), str) \
                and isinstance(record.get("p", []), list):
            records.append(record)
        else:
            log.warning("audit journal line of an unexpected shape skipped")
    return records
