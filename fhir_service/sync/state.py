"""The sync state file: per partner and local client, the ids matched there, the people
pushed, the pull cursor, and the run under way (so a failed push or pull resumes).

One JSON file (default ``var/sync/state.json``; ``--state`` or ``CM_FHIR_SYNC_STATE``),
created private (0600, its folder 0700), replaced atomically at each step (write a
temporary file, fsync, rename) under an exclusive lock (two syncs never interleave). It
holds ids and times only: no names, no content, no token.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir_service.conformance.package import project_root

FORMAT = 1


def default_state_path() -> Path:
    """Where the state lives when neither ``--state`` nor ``CM_FHIR_SYNC_STATE`` says."""
    return project_root() / "var" / "sync" / "state.json"


class SyncState:
    """The state of one (partner, client) pair inside the file."""

    def __init__(self, path: Path, remote: str, client: str) -> None:
        self.path = path
        self.key = f"{remote.rstrip('/')} {client}"
        self._all: dict[str, Any] = {"format": FORMAT, "remotes": {}}
        self._lock: Any = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[SyncState]:
        """Hold the lock for a whole run; the state is read at its start."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateBusy(f"another sync holds {lock_path}") from None
            self._lock = fd
            self.load()
            yield self
        finally:
            self._lock = None
            os.close(fd)  # (releases the lock)

    def load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {"format": FORMAT, "remotes": {}}
        except (OSError, ValueError) as exc:
            raise StateBusy(f"cannot read the sync state {self.path}: "
                            f"{type(exc).__name__}") from None
        if data.get("format") != FORMAT:
            raise StateBusy(f"{self.path} has an unknown format")
        self._all = data

    @property
    def data(self) -> dict[str, Any]:
        entry = self._all["remotes"].setdefault(self.key, {})
        entry.setdefault("ids", {})  # our Type/id -> the partner's Type/id
        entry.setdefault("versions", {})  # our Type/id -> the partner's versionId, last push
        entry.setdefault("persons", [])  # Patient ids pushed (what pull brings back)
        entry.setdefault("pull_cursor", None)  # the partner's instant the last pull started
        entry.setdefault("push_run", None)  # {"persons": [...], "done": [...]}
        entry.setdefault("pull_run", None)  # {"since", "until", "done": [...]}
        return entry

    def save(self) -> None:
        assert self._lock is not None, "save only inside locked()"
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._all, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    # --- the id map ------------------------------------------------------------------------

    def remote_of(self, local_key: str) -> str | None:
        return self.data["ids"].get(local_key)

    def local_of(self, remote_key: str) -> str | None:
        for mine, theirs in self.data["ids"].items():
            if theirs == remote_key:
                return mine
        return None

    def record(self, local_key: str, remote_key: str, version: str | None) -> None:
        data = self.data
        data["ids"][local_key] = remote_key
        if version is not None:
            data["versions"][local_key] = version


class StateBusy(Exception):
    pass
