"""Push a person's shared plan to a partner's FHIR server, pull the partner's changes back.

* **push**: one transaction of conditional PUTs per person (``plan.outbound``): all of the
  person's shared plan or nothing. The partner's ids and versions from the transaction
  response are recorded, so a second push reports ``unchanged`` for every resource whose
  versionId did not move (servers that skip an update of equal content, like HAPI and this
  one, make a second push change nothing there).
* **pull**: for each person pushed to that partner, for each shared type, the partner's
  resources of that person changed since the last pull (``_lastUpdated=ge<cursor>``), mapped
  back (``plan.inbound``) and written here through our router as the local client: its
  ownership rules and validation apply, and a refusal is reported, not fatal. Equal
  content is not written. The cursor is the partner's clock (its ``Date`` header) when the
  run began, stored only once the run is complete, so nothing changed during a run is
  missed and an interrupted run resumes where it stopped.
* Both resume a failed run: the state records the people (push) or the (person, type) pairs
  (pull) already done in the run under way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from fhir_service.sync.local import LocalStore
from fhir_service.sync.plan import (
    DIRECTORY_TYPES,
    PERSON_TYPES,
    PREFERRED_SYSTEMS,
    URI_SYSTEM,
    MappingError,
    comparable,
    directory_targets,
    inbound,
    key_of,
    match_identifier,
    outbound,
    relative_key,
)
from fhir_service.sync.remote import Remote, RemoteError, outcome_summary
from fhir_service.sync.state import SyncState

log = logging.getLogger("cm_fhir.sync")

# (stage, units done, units in all): after each person pushed, each (person, type) pulled
Progress = Callable[[str, int, int], None]

PATIENT_PARAM = {t: "patient" for t in PERSON_TYPES if t != "Patient"}


class UnknownPerson(Exception):
    """A person this client may not see, or that does not exist: one message for both."""


class SyncFailed(Exception):
    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message)
        self.report = report


def unknown_person(designation: str) -> UnknownPerson:
    return UnknownPerson(f"unknown person: {designation[:100]} (no Patient of that id or "
                         "identifier among the people this client's structure accompanies)")


def resolve_person(local: LocalStore, designation: str) -> str:
    """A Patient id from an id or ``system|value``, through the client's door."""
    if "|" in designation:
        system, _, value = designation.partition("|")
        found = local.by_identifier("Patient", system, value) if system and value else []
        if len(found) != 1:
            raise unknown_person(designation)
        return str(found[0]["id"])
    if local.read("Patient", designation) is None:
        raise unknown_person(designation)
    return designation


def everyone(local: LocalStore) -> list[str]:
    """The ids of every person the client's structure accompanies (``push --all``)."""
    return [str(p["id"]) for p in local.search("Patient", [("_elements", "id")])]


def collect(local: LocalStore, person: str) -> dict[str, dict[str, Any]]:
    """The person's shared plan as this client sees it: ``Type/id`` → content."""
    patient = local.read("Patient", person)
    if patient is None:
        raise unknown_person(person)
    found: dict[str, dict[str, Any]] = {key_of(patient): patient}
    for rtype, param in PATIENT_PARAM.items():
        for res in local.search(rtype, [(param, f"Patient/{person}")]):
            found[key_of(res)] = res
    queue = [k for res in list(found.values()) for k in directory_targets(res)]
    while queue:  # the directory they reference, transitively
        key = queue.pop()
        if key in found:
            continue
        rtype, rid = key.split("/", 1)
        target = local.read(rtype, rid) if rtype in (*DIRECTORY_TYPES, "RelatedPerson") \
            else None
        if target is None:
            continue  # not visible: stays a logical reference
        found[key] = target
        queue.extend(directory_targets(target))
    return found


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    persons: int = 0
    resumed: int = 0  # people (push) or (person, type) pairs (pull) done by an earlier run
    refused: list[str] = field(default_factory=list)  # pull: what our rules refused
    skipped: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (f"{self.persons} person(s): {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged")
        if self.refused:
            text += f", {len(self.refused)} refused"
        if self.resumed:
            text += f" ({self.resumed} done by the interrupted run, not repeated)"
        return text


def _location(entry: dict[str, Any]) -> tuple[str | None, str | None, str]:
    response = entry.get("response") or {}
    location = str(response.get("location") or "")
    status = str(response.get("status") or "")
    parts = location.split("?", 1)[0].rstrip("/").split("/")
    version = None
    if "_history" in parts:
        i = parts.index("_history")
        version = parts[i + 1] if i + 1 < len(parts) else None
        parts = parts[:i]
    key = "/".join(parts[-2:]) if len(parts) >= 2 else None
    if version is None:
        etag = str(response.get("etag") or "")
        version = etag.removeprefix("W/").strip('"') or None
    return key, version, status


class PartnerChanged(RemoteError):
    """The partner changed resources we would overwrite since our last push or pull."""


def push(local: LocalStore, remote: Remote, state: SyncState, persons: list[str],
         own_system: str, progress: Progress | None = None, details: bool = False,
         force: bool = False) -> Report:
    """Push the shared plan of ``persons`` (ids or ``system|value``; none: resume the
    interrupted run). A person some of whose resources the partner changed since our last
    push or pull is not pushed (the run stops: pull first) unless ``force``."""
    report = Report()
    with state.locked():
        data = state.data
        run = data["push_run"]
        ids = [resolve_person(local, p) for p in persons]
        if run and (not ids or set(ids) == set(run["persons"])):
            ids = list(run["persons"])
            done = list(run["done"])
        elif not ids:
            return report  # nothing asked, nothing pending
        else:
            done = []
        data["push_run"] = run = {"persons": ids, "done": done}
        state.save()
        report.resumed = len(done)
        if progress:
            progress("push", len(done), len(ids))
        for person in ids:
            if person in done:
                continue
            try:
                _push_person(local, remote, state, person, own_system, report, details,
                             force)
            except RemoteError as exc:
                state.save()
                raise SyncFailed(f"push stopped at person {len(done) + 1} of {len(ids)}: {exc}; "
                                 "run the same command again to resume", report) from None
            done.append(person)
            if person not in data["persons"]:
                data["persons"].append(person)
            report.persons += 1
            state.save()
            if progress:
                progress("push", len(done), len(ids))
        data["push_run"] = None
        state.save()
    return report


def _partner_changes(remote: Remote, state: SyncState, keys: list[str]) -> list[str]:
    """Our keys whose copy on the partner is at another version than the one we last pushed
    or pulled (a change there that a push would overwrite)."""
    by_type: dict[str, dict[str, str]] = {}
    for key in keys:
        theirs, version = state.remote_of(key), state.data["versions"].get(key)
        if theirs and version:
            by_type.setdefault(theirs.split("/", 1)[0], {})[theirs.split("/", 1)[1]] = key
    changed = []
    for rtype, ids in by_type.items():
        rids = sorted(ids)
        for start in range(0, len(rids), 50):
            found, _ = remote.search_all(rtype, [("_id", ",".join(rids[start:start + 50])),
                                                 ("_count", "50")])
            for res in found:
                mine = ids.get(str(res.get("id")))
                now = str((res.get("meta") or {}).get("versionId") or "")
                if mine and now and now != state.data["versions"].get(mine):
                    changed.append(mine)
    return changed


def _push_person(local: LocalStore, remote: Remote, state: SyncState, person: str,
                 own_system: str, report: Report, details: bool, force: bool = False) -> None:
    resources = collect(local, person)
    plan = outbound(resources, person, own_system, remote.base)
    if not force:
        changed = _partner_changes(remote, state, plan.keys)
        if changed:
            kinds = ", ".join(sorted({k.split("/", 1)[0] for k in changed}))
            raise PartnerChanged(f"the partner changed {len(changed)} resource(s) of this "
                                 f"person ({kinds}) since our last push or pull: pull first "
                                 "(or push with --force to overwrite them)")
    bundle, _ = remote.expect("POST", "", plan.bundle, details=details)
    entries = (bundle or {}).get("entry") or []
    if len(entries) != len(plan.keys):
        raise RemoteError(f"the transaction response has {len(entries)} entries for "
                          f"{len(plan.keys)} sent")
    for key, entry in zip(plan.keys, entries, strict=True):
        remote_key, version, status = _location(entry)
        if remote_key is None or remote_key.split("/", 1)[0] != key.split("/", 1)[0]:
            raise RemoteError("the transaction response does not say where an entry went")
        before = state.data["versions"].get(key) if state.remote_of(key) == remote_key \
            else None
        if status.startswith("201"):
            report.created += 1
        elif before is not None and before == version:
            report.unchanged += 1
        else:
            report.updated += 1
        state.record(key, remote_key, version)


# --- pull --------------------------------------------------------------------------------------


def _remote_instant(headers: dict[str, str]) -> str | None:
    try:
        when = parsedate_to_datetime(headers.get("Date") or headers.get("date") or "")
    except (TypeError, ValueError):
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class Puller:
    def __init__(self, local: LocalStore, remote: Remote, state: SyncState, own_system: str,
                 report: Report, details: bool) -> None:
        self.local = local
        self.remote = remote
        self.state = state
        self.own_system = own_system
        self.report = report
        self.details = details
        self.reverse = {theirs: mine for mine, theirs in state.data["ids"].items()}
        self.resolved: dict[str, str | None] = {}

    def local_key_for(self, resource: dict[str, Any]) -> str | None:
        """Ours for a partner's resource: recorded at push, else by identifier."""
        rkey = key_of(resource)
        if rkey in self.reverse:
            return self.reverse[rkey]
        rtype = resource["resourceType"]
        idents = [i for i in resource.get("identifier") or [] if isinstance(i, dict)
                  and isinstance(i.get("system"), str) and isinstance(i.get("value"), str)]
        rank = {s: n for n, s in enumerate(PREFERRED_SYSTEMS)}
        idents.sort(key=lambda i: rank.get(i["system"], len(rank)))
        for ident in idents:
            if ident["system"] == self.own_system:
                mine = relative_key(ident["value"])
                if mine and mine.startswith(rtype + "/") and \
                        self.local.read(*mine.split("/", 1)) is not None:
                    return mine
                continue
            found = self.local.by_identifier(rtype, ident["system"], ident["value"])
            if len(found) == 1:
                return key_of(found[0])
        return None

    def resolve(self, rkey: str) -> str | None:
        """Ours for a reference to the partner's ``rkey``."""
        if rkey in self.reverse:
            return self.reverse[rkey]
        if rkey not in self.resolved:
            rtype, rid = rkey.split("/", 1)
            status, data, _ = self.remote.request("GET", f"{rtype}/{rid}")
            self.resolved[rkey] = self.local_key_for(data) \
                if status == 200 and isinstance(data, dict) else None
        return self.resolved[rkey]

    def apply(self, resource: dict[str, Any]) -> None:
        rtype = resource["resourceType"]
        rkey = key_of(resource)
        what = f"{rtype} (the partner's {rkey})"
        local_key = self.local_key_for(resource)
        current = self.local.read(*local_key.split("/", 1)) if local_key else None
        if local_key and current is None:
            self.report.refused.append(f"{what}: matches nothing this client may see")
            return
        try:
            body = inbound(resource, local_key, self.own_system, self.resolve,
                           self.remote.base, current)
        except MappingError as exc:
            self.report.refused.append(f"{what}: {exc}")
            return
        if current is not None and comparable(current) == comparable(body):
            self.report.unchanged += 1
            self._record(local_key, resource)
            return
        if local_key is not None:
            status, outcome = self.local.update(rtype, local_key.split("/", 1)[1], body)
        else:
            match = match_identifier(body, self.own_system)
            if match.added:  # (inbound gives every new resource an identifier)
                self.report.refused.append(f"{what}: no identifier to match it by")
                return
            status, outcome = self.local.conditional_update(rtype, match.system, match.value,
                                                            body)
        if status in (200, 201):
            if status == 201:
                self.report.created += 1
            else:
                self.report.updated += 1
            if isinstance(outcome, dict) and outcome.get("id"):
                self._record(f"{rtype}/{outcome['id']}", resource)
        else:
            # our own server's messages never quote data (docs/security.md)
            self.report.refused.append(f"{what}: {status} {outcome_summary(outcome, True)}")

    def _record(self, local_key: str | None, resource: dict[str, Any]) -> None:
        if local_key is None:
            return
        rkey = key_of(resource)
        self.reverse[rkey] = local_key
        version = (resource.get("meta") or {}).get("versionId")
        self.state.record(local_key, rkey, str(version) if version is not None else None)


def pull(local: LocalStore, remote: Remote, state: SyncState, persons: list[str],
         own_system: str, progress: Progress | None = None, details: bool = False) -> Report:
    """Bring back the partner's changes to the people pushed there (or ``persons``) since
    the last pull; an interrupted pull resumes."""
    report = Report()
    with state.locked():
        data = state.data
        run = data["pull_run"]
        ids = [resolve_person(local, p) for p in persons] if persons else list(data["persons"])
        if run is None or (persons and set(ids) != set(run["persons"])):
            run = {"persons": ids, "since": data["pull_cursor"], "until": None, "done": []}
        else:
            ids = list(run["persons"])
        data["pull_run"] = run
        state.save()
        units = [(p, t) for p in ids for t in PERSON_TYPES]
        report.resumed = len(run["done"])
        puller = Puller(local, remote, state, own_system, report, details)
        if progress:
            progress("pull", len(run["done"]), len(units))
        try:
            for person in ids:
                remote_patient = _remote_patient(local, remote, state, person, own_system)
                for rtype in PERSON_TYPES:
                    unit = f"{person} {rtype}"
                    if unit in run["done"]:
                        continue
                    if remote_patient is not None:
                        _pull_unit(puller, remote, run, rtype, remote_patient)
                    run["done"].append(unit)
                    state.save()
                    if progress:
                        progress("pull", len(run["done"]), len(units))
                if remote_patient is None:
                    report.skipped.append(f"person {ids.index(person) + 1}: not on the partner")
                else:
                    report.persons += 1
        except RemoteError as exc:
            state.save()
            raise SyncFailed(f"pull stopped after {len(run['done'])} of {len(units)} steps: "
                             f"{exc}; run the same command again to resume", report) from None
        if run["until"] is not None:
            data["pull_cursor"] = run["until"]
        data["pull_run"] = None
        state.save()
    return report


def _remote_patient(local: LocalStore, remote: Remote, state: SyncState, person: str,
                    own_system: str) -> str | None:
    known = state.remote_of(f"Patient/{person}")
    if known:
        return known.split("/", 1)[1]
    patient = local.read("Patient", person)
    if patient is None:
        return None
    match = match_identifier(patient, own_system)
    found, _ = remote.search_all("Patient", [("identifier", f"{match.system}|{match.value}")])
    return str(found[0]["id"]) if len(found) == 1 else None


def _pull_unit(puller: Puller, remote: Remote, run: dict[str, Any], rtype: str,
               remote_patient: str) -> None:
    params = [("_id", remote_patient)] if rtype == "Patient" else \
        [(PATIENT_PARAM[rtype], f"Patient/{remote_patient}")]
    if run["since"]:
        params.append(("_lastUpdated", f"ge{run['since']}"))
    params.append(("_count", "100"))
    found, headers = remote.search_all(rtype, params)
    if run["until"] is None:
        run["until"] = _remote_instant(headers)
    for resource in found:
        puller.apply(resource)


__all__ = ["URI_SYSTEM", "PartnerChanged", "Report", "SyncFailed", "UnknownPerson", "collect", "pull", "push",
           "resolve_person"]
