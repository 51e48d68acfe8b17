"""Indexing of journaled AuditEvents in a process of its own.

Storing an AuditEvent with its search index costs about as much interpreter time as the read
it records (index extraction, a dozen index rows, the history row). In the server's process
that work competes with requests for the one interpreter; here it runs on another core. The
server's indexer thread hands over batches through a pipe and waits for the answer (without
holding the interpreter); the child (``python -m fhir_service.security.audit_index``, not a
fork of the threaded server) stores them in one transaction each and answers ``ok``
(or the error). Events already stored are skipped, so a batch sent again after a crash of the
child is stored once.

The child needs nothing but the database URL and the AuditEvent SearchParameters (a few
dozen kilobytes of JSON): it loads no definitions. It ends when its stdin closes, so it never
outlives the server, even one killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import orjson

Item = tuple[str, float, bytes, list[str]]  # id, lastUpdated (epoch s), content, people


def encode(items: list[Item]) -> bytes:
    return orjson.dumps([[rid, updated, patients, content.decode()]
                         for rid, updated, content, patients in items])


def decode(data: bytes) -> list[Item]:
    return [(str(rid), float(updated), content.encode(), [str(p) for p in patients])
            for rid, updated, patients, content in orjson.loads(data)]


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    size = int.from_bytes(head, "big")
    data = stream.read(size)
    return data if len(data) == size else None


def _write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(len(data).to_bytes(4, "big") + data)
    stream.flush()


def main() -> None:
    """The child process (``python -m fhir_service.security.audit_index``): the first frame
    on stdin gives the database URL and the SearchParameters; each next one a batch, answered
    on stdout with ``ok`` or the error; an empty frame or the end of stdin stops it."""
    from fhir_service.search.extract import extract
    from fhir_service.search.params import SearchParamRegistry
    from fhir_service.security.policy import system_access
    from fhir_service.store.sqlstore import SqlRepository

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the
    # server stops us once its journal is indexed
    source, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries the answers only
    first = _read_frame(source)
    if first is None:
        return
    setup = orjson.loads(first)
    params = SearchParamRegistry.from_definitions(setup["definitions"], ["AuditEvent"]
                                                  ).indexed("AuditEvent")
    repository = SqlRepository(setup["url"])
    try:
        while (data := _read_frame(source)):
            try:
                items = decode(data)
                with repository.write_session() as session:
                    have = session.existing([("AuditEvent", rid) for rid, *_ in items], system_access())
                    session.append_many([
                        ("AuditEvent", rid, updated, content, extract(orjson.loads(content),
                                                                      params), patients)
                        for rid, updated, content, patients in items
                        if ("AuditEvent", rid) not in have])
                answer = b"ok"
            except Exception as exc:  # noqa: BLE001 - reported to the server, which retries
                answer = b"error: " + f"{type(exc).__name__}: {exc}"[:500].encode()
            try:
                _write_frame(answers, answer)
            except OSError:
                return  # the server is gone
    finally:
        repository.close()


class IndexerProcess:
    """The server's side: starts the child on first use (and again if it died)."""

    def __init__(self, url: str, definitions: list[dict[str, Any]]) -> None:
        self.setup = orjson.dumps({"url": url, "definitions": definitions})
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        proc = subprocess.Popen([sys.executable, "-m", "fhir_service.security.audit_index"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                close_fds=True)
        assert proc.stdin is not None
        _write_frame(proc.stdin, self.setup)
        self._proc = proc
        return proc

    def store(self, items: list[Item]) -> None:
        """Store ``items`` (stored and indexed when this returns; raises otherwise)."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                self._stop_child()
                proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                _write_frame(proc.stdin, encode(items))
                answer = _read_frame(proc.stdout)
            except OSError as exc:
                answer = None
                error: BaseException | None = exc
            else:
                error = None
            if answer is None:
                self._stop_child()
                raise RuntimeError("the audit indexing process stopped") from error
        if answer != b"ok":
            raise RuntimeError(answer.decode(errors="replace"))

    def _stop_child(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            _write_frame(proc.stdin, b"")
        with contextlib.suppress(OSError):  # (a dead child's pipe: the flush fails)
            proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self, timeout: float = 30.0) -> None:
        if self._lock.acquire(timeout=timeout):
            try:
                self._stop_child()
            finally:
                self._lock.release()
            return
        proc = self._proc  # stuck on a batch: its answer will never be awaited
        if proc is not None:
            proc.kill()


if __name__ == "__main__":
    main()
