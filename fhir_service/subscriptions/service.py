"""Subscriptions that notify: the outbox, the matcher and the delivery worker.

1. **Outbox, in the writer's transaction.** ``SqlRepository.outbox`` (``write_outbox``) runs
   in every write session just before it commits: one batched ``INSERT`` of the versions it
   wrote (history row, type). A change and its outbox row commit together or not at all.
2. **Matcher.** Reads outbox rows, and for each subscription watching that type decides,
   *as the subscription's owner* (``ctx.door(owner principal)``: the access rule of the
   client that wrote the Subscription, at the time of matching), whether the version is an
   event: the owner may see that version (by its own people), the topic's trigger holds
   (interaction, changed elements), the filters or the R4 criteria match. Then, in one
   transaction, it deletes the outbox rows it handled (``DELETE … RETURNING``: two
   processes never both handle one row) and numbers the events of each subscription
   (``events = events + n``) into ``sub_events``. Nothing is recorded for a change the owner
   may not see: no event, no number, no notification.
3. **Delivery.** A worker claims a subscription that has work (``due``) with a lease
   (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, then ``lease_until``), sends the
   handshake, its pending events in order (up to ``max-count`` per notification), or a
   heartbeat, marks them done, and on failure retries with exponential backoff; after
   ``CM_FHIR_SUBSCRIPTION_ATTEMPTS`` attempts the subscription goes to ``error`` with the
   reason. A crash between commit and delivery loses nothing: outbox rows and pending
   events stay in the database, and a notification sent again carries the same event
   numbers (at least once).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, event, insert, select, update

from fhir_service import fhir
from fhir_service.outcomes import FhirError
from fhir_service.security.principal import SYSTEM, Principal, Scopes
from fhir_service.store.repository import Stored
from fhir_service.store.schema import (
    clients,
    hist_patient,
    history,
    resources,
    sub_events,
    sub_outbox,
    sub_state,
)
from fhir_service.subscriptions.notify import Event, bundle
from fhir_service.subscriptions.rules import UNWATCHED, Plan, analyse, stored_form
from fhir_service.subscriptions.topics import TOPICS, interaction_of

log = logging.getLogger("cm_fhir.subscriptions")
NEVER = 1e18  # "due" of a subscription with nothing to do
LIVE = ("requested", "active", "error")  # statuses whose events are counted
# search parameters that name the person a resource belongs to (filters on deletions)
PERSON_PARAMS = ("patient", "subject")


def owner_json(principal: Principal | None) -> str:
    p = principal or SYSTEM
    return json.dumps({"client_id": p.client_id, "structure": p.structure,
                       "practitioner": p.practitioner, "scopes": list(p.scopes.raw),
                       "operator": p.operator, "system": p.system})


def owner_principal(text: str) -> Principal:
    data = json.loads(text)
    return Principal(data["client_id"], data.get("structure"), data.get("practitioner"),
                     Scopes.parse(" ".join(data.get("scopes") or [])),
                     bool(data.get("operator")), bool(data.get("system")))


@dataclass
class Sub:
    """A subscription as the matcher and the worker read it from ``sub_state``."""

    sub_id: str
    status: str
    config: str
    owner: str
    events: int
    last_sent: float
    created: float

    @property
    def plan(self) -> Plan:
        cached = self.__dict__.get("_plan")
        if cached is None:
            cached = self.__dict__["_plan"] = Plan.from_json(json.loads(self.config))
        return cached

    @property
    def question(self) -> str:
        """What the matcher decides for this subscription (form and search), as a key."""
        plan = self.plan
        return json.dumps([plan.kind, plan.query])


class SubscriptionService:
    def __init__(self, ctx: Any, audit: Any = None) -> None:
        import copy

        self.ctx = ctx
        self.audit = audit  # the router's audit trail: each disclosure is recorded
        self.settings = ctx.settings
        self.repository = ctx.repository
        # (a store without SQL, the in-memory one, has no outbox: subscriptions are refused)
        engine = getattr(self.repository, "engine", None)
        self.enabled = bool(getattr(self.settings, "subscriptions", True)) and engine is not None
        self.parser = copy.copy(ctx.parser)  # (the parser keeps per-call state)
        self.wake = threading.Event()
        self.me = uuid.uuid4().hex[:16]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: Any = None
        self._next_prune = 0.0
        self._local = threading.local()  # one HTTP session per delivery thread
        self.postgres = engine is not None and engine.dialect.name == "postgresql"

    def install(self) -> None:
        self.ctx.subscriptions = self
        if self.enabled:
            self.repository.outbox = self.write_outbox
            # the worker is woken when a transaction that wrote outbox rows has committed
            event.listen(self.repository.engine, "commit", self._committed)

    # --- in the writer's transaction -----------------------------------------------------

    def write_outbox(self, session: Any) -> None:
        """The outbox rows of the versions a transaction wrote (one batched insert)."""
        now = time.time()
        rows = [(hpk, rtype, now) for hpk, rtype in session.written if rtype not in UNWATCHED]
        if rows:
            # the DBAPI cursor, as the write path's own inserts (no statement to compile)
            mark = "?" if session.conn.dialect.paramstyle == "qmark" else "%s"
            cur = session.conn.connection.cursor()
            try:
                cur.executemany("INSERT INTO sub_outbox (hpk, rtype, created) "
                                f"VALUES ({mark}, {mark}, {mark})", rows)
            finally:
                cur.close()
            session.conn.info["cm_outbox"] = True

    def _committed(self, conn: Any) -> None:
        if conn.info.pop("cm_outbox", False):
            self.wake.set()

    def accept(self, writer: Any, resource: dict[str, Any], rid: str
               ) -> tuple[dict[str, Any], Callable[[Stored], None]]:
        """Check a Subscription about to be written (refused with an OperationOutcome if the
        server cannot honour it); the resource to store, and what to record once stored."""
        if not self.enabled:
            raise FhirError("not-supported", "Subscriptions are switched off on this server "
                            "(CM_FHIR_SUBSCRIPTIONS): nothing would be notified", "Subscription")
        conn = writer.session.sql.conn
        old = conn.execute(select(sub_state.c.config).where(sub_state.c.sub_id == rid)).first()
        previous = Plan.from_json(json.loads(old[0])).headers if old else []
        plan = analyse(self.ctx, resource, writer.principal, writer.base_url, previous)
        status = "off" if resource.get("status") == "off" else "requested"
        stored = stored_form(resource, plan, status)

        def record(version: Stored) -> None:
            now = time.time()
            values = {"kind": plan.kind, "rtype": plan.rtype,
                      "config": json.dumps(plan.to_json()), "owner": owner_json(writer.principal),
                      "status": status, "reason": None, "due": 0.0, "lease_until": 0.0,
                      "lease_owner": None}
            if old is None:
                conn.execute(insert(sub_state).values(sub_id=version.rid, events=0, last_sent=0.0,
                                                      created=now, **values))
            else:
                conn.execute(update(sub_state).where(sub_state.c.sub_id == version.rid)
                             .values(**values))
                # events waiting for the former endpoint are not sent to the new one
                conn.execute(update(sub_events).where(sub_events.c.sub_id == version.rid,
                                                      sub_events.c.status == "pending")
                             .values(status="failed"))
            self.wake.set()

        return stored, record

    def removed(self, session: Any, rid: str) -> None:
        conn = session.sql.conn
        conn.execute(delete(sub_state).where(sub_state.c.sub_id == rid))
        conn.execute(delete(sub_events).where(sub_events.c.sub_id == rid))

    # --- the worker ------------------------------------------------------------------------

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        if not self.postgres:  # one process per SQLite store: leases of a dead process go
            with self.repository.write_session() as s:
                s.conn.execute(update(sub_state).values(lease_until=0.0, lease_owner=None))
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="subscriptions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout=30)
        self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _loop(self) -> None:
        poll = float(self.settings.subscription_poll)
        while not self._stop.is_set():
            self.wake.clear()
            try:
                busy = self.run_once()
            except Exception:  # never let the worker die; the next round tries again
                log.exception("subscription worker round failed")
                busy = False
            if not busy:
                self.wake.wait(poll)

    def run_once(self) -> bool:
        """One round: match the outbox, then serve the subscriptions that have work."""
        matched = self.match()
        served = self.deliver()
        if time.monotonic() >= self._next_prune:
            self.prune()
        return matched > 0 or served > 0

    def prune(self) -> int:
        """Forget events sent or failed more than ``subscription_events_days`` ago (what
        ``$events`` can still return); pending ones are kept whatever their age."""
        self._next_prune = time.monotonic() + 600
        horizon = time.time() - float(self.settings.subscription_events_days) * 86_400
        with self.repository.write_session() as w:
            return int(w.conn.execute(delete(sub_events).where(
                sub_events.c.status.in_(("done", "failed")),
                sub_events.c.created < horizon)).rowcount)

    # --- matching ------------------------------------------------------------------------

    def _subs(self, conn: Any) -> dict[str, list[Sub]]:
        rows = conn.execute(select(sub_state.c.sub_id, sub_state.c.status, sub_state.c.config,
                                   sub_state.c.owner, sub_state.c.events,
                                   sub_state.c.last_sent, sub_state.c.created, sub_state.c.rtype)
                            .where(sub_state.c.status.in_(LIVE))).all()
        out: dict[str, list[Sub]] = defaultdict(list)
        for r in rows:
            out[r[7]].append(Sub(*r[:7]))
        return out

    def match(self, limit: int = 500) -> int:
        """Turn outbox rows into numbered events; the number of outbox rows handled."""
        repo = self.repository
        with repo.read_session() as raw:
            rows = raw.conn.execute(select(sub_outbox.c.opk, sub_outbox.c.hpk, sub_outbox.c.rtype,
                                           sub_outbox.c.created)
                                    .order_by(sub_outbox.c.opk).limit(limit)).all()
            if not rows:
                return 0
            subs = self._subs(raw.conn)
            found: list[tuple[int, str, dict[str, Any]]] = []  # (opk, sub_id, event row)
            wanted = [r for r in rows if subs.get(r[2])]
            versions = {}
            if wanted:
                for v in raw.conn.execute(select(history.c.hpk, history.c.res_pk, history.c.rtype,
                                                 history.c.rid, history.c.version,
                                                 history.c.method, history.c.content,
                                                 history.c.updated)
                                          .where(history.c.hpk.in_([r[1] for r in wanted]))):
                    versions[v[0]] = v
            owners: dict[str, Any] = {}
            for opk, hpk, rtype, created in wanted:
                version = versions.get(hpk)
                if version is None:
                    continue
                previous: dict[str, Any] | None = None
                previous_read = False
                current = fhir.loads(version[6]) if version[6] else None
                interaction = interaction_of(version[5], version[4])
                decided: dict[tuple[str, str], bool] = {}  # (owner, what) -> an event?
                for sub in subs[rtype]:
                    if created < sub.created:
                        continue  # (committed before the subscription existed)
                    plan = sub.plan
                    topic = plan.topic_def
                    if topic is not None:
                        if topic.changed and interaction == "update" and not previous_read:
                            previous = self._previous(raw.conn, version[1], version[4])
                            previous_read = True
                        if not topic.triggered(interaction, previous, current):
                            continue
                    elif interaction == "delete":
                        continue  # (R4 criteria: creations and updates)
                    # subscriptions of one owner asking the same are decided once
                    key = (sub.owner, sub.question)
                    if key not in decided:
                        door = owners.get(sub.owner)
                        if door is None:
                            door = owners[sub.owner] = self._owner_door(raw.conn, sub.owner)
                        decided[key] = door is not False and self._visible(door, raw, plan,
                                                                           version)
                    if not decided[key]:
                        continue
                    found.append((opk, sub.sub_id, {
                        "hpk": hpk, "rtype": rtype, "rid": version[3], "version": version[4],
                        "method": version[5], "created": created}))
        return self._record(rows, found)

    def _previous(self, conn: Any, res_pk: int, version: int) -> dict[str, Any] | None:
        row = conn.execute(select(history.c.content).where(
            history.c.res_pk == res_pk, history.c.version == version - 1)).first()
        return fhir.loads(row[0]) if row and row[0] else None

    def _owner_door(self, conn: Any, owner: str) -> Any:
        """The owner's door, or False when its client is no longer active."""
        principal = owner_principal(owner)
        if not principal.system:
            row = conn.execute(select(clients.c.active)
                               .where(clients.c.client_id == principal.client_id)).first()
            if row is not None and not row[0]:
                return False
        return self.ctx.door(principal)

    def _visible(self, door: Any, raw: Any, plan: Plan, version: Any) -> bool:
        """Whether the owner may know of this version, and the filters or criteria match."""
        from fhir_service.security.door import CallerSession

        hpk, res_pk, rtype, rid, number, method = version[:6]
        principal = door.principal
        if not principal.can(rtype, "r"):
            return False
        stored = Stored(res_pk, rtype, rid, number, version[7], method == "DELETE",
                        version[6], method)
        if door.visible_version(stored)[0] is None:
            return False  # (a change of someone the owner does not accompany)
        if method == "DELETE":
            return self._deletion_matches(raw.conn, plan, hpk)
        if not plan.query:
            return True
        query = self.parser.parse(rtype, [*plan.query, ("_id", rid)], strict=True,
                                  base_url=plan.base)
        query.count, query.total = 1, "none"
        return bool(CallerSession(raw, door.access).search(query).rows)

    def _deletion_matches(self, conn: Any, plan: Plan, hpk: int) -> bool:
        """A deletion has no index rows left: filters naming the person are checked against
        the people of its last version; other filters do not match a deletion."""
        if not plan.query:
            return True
        people = {r[0] for r in conn.execute(select(hist_patient.c.patient_id)
                                             .where(hist_patient.c.hpk == hpk))}
        for name, value in plan.query:
            if name not in PERSON_PARAMS:
                return False
            ids = {v.rsplit("/", 1)[-1] for v in value.split(",")}
            if not ids & people:
                return False
        return True

    def _record(self, rows: list[Any], found: list[tuple[int, str, dict[str, Any]]]) -> int:
        opks = [r[0] for r in rows]
        with self.repository.write_session() as w:
            mine = {r[0] for r in w.conn.execute(
                delete(sub_outbox).where(sub_outbox.c.opk.in_(opks)).returning(sub_outbox.c.opk))}
            per_sub: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for opk, sub_id, ev in found:
                if opk in mine:
                    per_sub[sub_id].append(ev)
            now = time.time()
            for sub_id, evs in per_sub.items():
                got = w.conn.execute(
                    update(sub_state).where(sub_state.c.sub_id == sub_id,
                                            sub_state.c.status.in_(LIVE))
                    .values(events=sub_state.c.events + len(evs), due=now)
                    .returning(sub_state.c.events, sub_state.c.status)).first()
                if got is None:
                    continue  # (deleted or switched off meanwhile)
                last, status = got
                first = last - len(evs) + 1
                w.conn.execute(insert(sub_events), [
                    {"sub_id": sub_id, "event": first + i, **ev,
                     "status": "failed" if status == "error" else "pending",
                     "attempts": 0, "next_try": 0.0} for i, ev in enumerate(evs)])
        if found:
            self.wake.set()
        return len(mine)

    # --- delivery ------------------------------------------------------------------------

    def deliver(self, limit: int = 32) -> int:
        """Serve the subscriptions that have work, several at once (the HTTP calls overlap;
        each subscription's own notifications stay in order, one lease each)."""
        subs = self._claim(limit)
        if not subs:
            return 0

        def serve(sub: Sub) -> None:
            try:
                self._serve(sub)
            except Exception:  # (one subscription's trouble never stops the others)
                log.exception("subscription delivery failed")
            finally:
                self._release(sub.sub_id)

        if len(subs) == 1:
            serve(subs[0])
        else:
            list(self._pool().map(serve, subs))
        return len(subs)

    def _pool(self) -> Any:
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(max_workers=8,
                                                thread_name_prefix="subscriptions")
        return self._executor

    def _claim(self, limit: int) -> list[Sub]:
        now = time.time()
        with self.repository.write_session() as w:
            stmt = (select(sub_state.c.sub_id, sub_state.c.status, sub_state.c.config,
                           sub_state.c.owner, sub_state.c.events, sub_state.c.last_sent,
                           sub_state.c.created)
                    .where(sub_state.c.status.in_(("requested", "active")),
                           sub_state.c.due <= now, sub_state.c.lease_until < now)
                    .order_by(sub_state.c.due).limit(limit))
            if self.postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            subs = [Sub(*r) for r in w.conn.execute(stmt)]
            if subs:
                lease = now + float(self.settings.subscription_timeout) * 3 + 30
                w.conn.execute(update(sub_state)
                               .where(sub_state.c.sub_id.in_([s.sub_id for s in subs]))
                               .values(lease_until=lease, lease_owner=self.me))
        return subs

    def _release(self, sub_id: str) -> None:
        """End the lease; the next due time from what is left (pending events, heartbeat)."""
        with self.repository.write_session() as w:
            row = w.conn.execute(select(sub_state.c.status, sub_state.c.config,
                                        sub_state.c.last_sent, sub_state.c.created)
                                 .where(sub_state.c.sub_id == sub_id)).first()
            if row is None:
                return
            nxt = w.conn.execute(select(sub_events.c.next_try).where(
                sub_events.c.sub_id == sub_id, sub_events.c.status == "pending")
                .order_by(sub_events.c.event).limit(1)).first()
            due = NEVER
            if row[0] == "requested":
                due = 0.0
            elif nxt is not None:
                due = nxt[0]
            if row[0] == "active":
                plan = Plan.from_json(json.loads(row[1]))
                if plan.heartbeat:
                    due = min(due, max(row[2], row[3]) + plan.heartbeat)
            w.conn.execute(update(sub_state).where(sub_state.c.sub_id == sub_id,
                                                   sub_state.c.lease_owner == self.me)
                           .values(lease_until=0.0, lease_owner=None, due=due))

    def _serve(self, sub: Sub) -> None:
        plan = sub.plan
        now = time.time()
        if plan.end:
            from fhir_service.search.extract import date_range

            rng = date_range(plan.end)
            if rng is not None and rng[1] <= now:
                self.set_status(sub, "off", "The Subscription's end has passed")
                return
        status = sub.status
        if status == "requested":
            if plan.kind == "topic":
                body = bundle(sub.sub_id, plan.base, plan.topic, "requested", "handshake",
                              sub.events, [], plan.content, now)
                ok, why = self._send(plan, "POST", plan.endpoint, fhir.dumps(body))
                if not ok:
                    self.set_status(sub, "error", f"The handshake failed: {why}")
                    return
            if not self.set_status(sub, "active", None):
                return
            status = "active"
            self._touch(sub.sub_id)
        limit = plan.max_count if plan.kind == "topic" else 1
        for _ in range(50):  # batches in a row while events wait
            events, total = self._batch(sub, now, limit)
            if not events:
                break
            ok, why = self._notify(sub, plan, events, total)
            if not self._after(sub, events, ok, why):
                return
            if len(events) < limit:
                break  # (all that was pending; later ones wake the worker again)
            now = time.time()
        else:
            return
        if plan.heartbeat and status == "active" and \
                time.time() - max(self._last_sent(sub.sub_id), sub.created) >= plan.heartbeat:
            total = self._events_total(sub.sub_id)
            body = bundle(sub.sub_id, plan.base, plan.topic, "active", "heartbeat", total, [],
                          plan.content, time.time())
            self._send(plan, "POST", plan.endpoint, fhir.dumps(body))
            self._touch(sub.sub_id)

    def _batch(self, sub: Sub, now: float, limit: int) -> tuple[list[Event], int]:
        """The next pending events in order (none while the first waits for its retry: a
        later event never overtakes it), each as the owner may see it now; the total."""
        with self.repository.read_session() as s:
            rows = s.conn.execute(select(sub_events.c.event, sub_events.c.rtype,
                                         sub_events.c.rid, sub_events.c.version,
                                         sub_events.c.method, sub_events.c.created,
                                         sub_events.c.next_try, sub_events.c.hpk)
                                  .where(sub_events.c.sub_id == sub.sub_id,
                                         sub_events.c.status == "pending")
                                  .order_by(sub_events.c.event).limit(limit)).all()
            if not rows or rows[0][6] > now:
                return [], 0
            events = [Event(r[0], r[1], r[2], r[3], r[4], r[5], hpk=r[7]) for r in rows]
            total = s.conn.execute(select(sub_state.c.events)
                                   .where(sub_state.c.sub_id == sub.sub_id)).scalar_one()
            self._load_in(s.conn, sub, events)
        return events, int(total)

    def _load(self, sub: Sub, plan: Plan, events: list[Event]) -> None:
        with self.repository.read_session() as s:
            self._load_in(s.conn, sub, events)

    def _load_in(self, conn: Any, sub: Sub, events: list[Event]) -> None:
        """Each event's version as the owner may see it now (full-resource payloads)."""
        door = self._owner_door(conn, sub.owner) or None
        rows = {r[0]: r for r in conn.execute(
            select(history.c.hpk, history.c.res_pk, history.c.updated, history.c.content,
                   history.c.method).where(history.c.hpk.in_([e.hpk for e in events])))}
        for ev in events:
            row = rows.get(ev.hpk)
            if row is None or door is None:
                ev.visible = False
                continue
            stored = Stored(row[1], ev.rtype, ev.rid, ev.version, row[2], row[4] == "DELETE",
                            row[3], row[4])
            ev.stored = door.visible_version(stored)[0]
            ev.visible = ev.stored is not None
            ev.content = row[3] if ev.visible else None

    def _notify(self, sub: Sub, plan: Plan, events: list[Event], total: int
                ) -> tuple[bool, str]:
        if plan.content != "empty":
            disclosed = [e.stored for e in events if e.visible and e.stored is not None]
            if disclosed and not self._record_disclosure(sub, plan, disclosed):
                return False, "the audit record could not be written"
        if plan.kind == "topic":
            body = bundle(sub.sub_id, plan.base, plan.topic, "active", "event-notification",
                          total, events, plan.content, time.time())
            return self._send(plan, "POST", plan.endpoint, fhir.dumps(body))
        ev = events[0]  # R4 rest-hook: a POST without body, or the resource PUT at endpoint
        if plan.content == "empty" or not ev.visible:
            return self._send(plan, "POST", plan.endpoint, b"")
        url = f"{plan.endpoint.rstrip('/')}/{ev.rtype}/{ev.rid}"
        if ev.method == "DELETE" or ev.content is None:
            return self._send(plan, "DELETE", url, b"")
        return self._send(plan, "PUT", url, ev.content)

    def _record_disclosure(self, sub: Sub, plan: Plan, versions: list[Stored]) -> bool:
        """The AuditEvent of a notification (the owner client, the versions sent, their
        people), committed before it is sent, as for a read; each attempt is one."""
        if self.audit is None:
            return True
        from fhir_service.request import FhirRequest

        req = FhirRequest("POST", ["Subscription", sub.sub_id, "$notification"],
                          base_url=plan.base, principal=owner_principal(sub.owner))
        try:
            self.audit.record(req, 200, versions)
        except FhirError:
            log.warning("subscription %s: audit record failed, notification held", sub.sub_id)
            return False
        return True

    def _after(self, sub: Sub, events: list[Event], ok: bool, why: str) -> bool:
        """Record a delivery's outcome; False when the subscription stops (error)."""
        numbers = [e.number for e in events]
        now = time.time()
        with self.repository.write_session() as w:
            where = and_(sub_events.c.sub_id == sub.sub_id, sub_events.c.event.in_(numbers))
            if ok:
                w.conn.execute(update(sub_events).where(where).values(status="done"))
                w.conn.execute(update(sub_state).where(sub_state.c.sub_id == sub.sub_id)
                               .values(last_sent=now))
                return True
            attempts = 1 + max(r[0] for r in w.conn.execute(
                select(sub_events.c.attempts).where(where)))
            if attempts < int(self.settings.subscription_attempts):
                delay = float(self.settings.subscription_backoff) * 2 ** (attempts - 1)
                w.conn.execute(update(sub_events).where(where)
                               .values(attempts=attempts, next_try=now + min(delay, 3600)))
                return False
            w.conn.execute(update(sub_events).where(where).values(attempts=attempts))
        self.set_status(sub, "error", f"Notification failed {attempts} times (last: {why})")
        return False

    def _send(self, plan: Plan, method: str, url: str, body: bytes) -> tuple[bool, str]:
        """One HTTP attempt: (success, why not). Redirects are not followed; the reason
        never quotes headers or the answer's body."""
        import requests

        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
            http.trust_env = False
        headers = {name: value for name, value in plan.headers}
        if body:
            headers["Content-Type"] = plan.mime
        try:
            resp = http.request(method, url, data=body, headers=headers,
                                      timeout=plan.timeout, allow_redirects=False)
            resp.close()
        except requests.Timeout:
            return False, f"no answer within {plan.timeout:g} s"
        except requests.RequestException as exc:
            return False, f"the endpoint could not be reached ({type(exc).__name__})"
        if 200 <= resp.status_code < 300:
            return True, ""
        if 300 <= resp.status_code < 400:
            return False, f"HTTP {resp.status_code} (redirects are not followed)"
        return False, f"HTTP {resp.status_code}"

    def _touch(self, sub_id: str) -> None:
        with self.repository.write_session() as w:
            w.conn.execute(update(sub_state).where(sub_state.c.sub_id == sub_id)
                           .values(last_sent=time.time()))

    def _last_sent(self, sub_id: str) -> float:
        with self.repository.read_session() as s:
            row = s.conn.execute(select(sub_state.c.last_sent)
                                 .where(sub_state.c.sub_id == sub_id)).first()
        return float(row[0]) if row else 0.0

    def _events_total(self, sub_id: str) -> int:
        with self.repository.read_session() as s:
            row = s.conn.execute(select(sub_state.c.events)
                                 .where(sub_state.c.sub_id == sub_id)).first()
        return int(row[0]) if row else 0

    def set_status(self, sub: Sub, status: str, reason: str | None) -> bool:
        """The server's status change, in its table and as a new version of the resource
        (``status``, ``error``); False when the subscription changed meanwhile (a client's
        update wins)."""
        from fhir_service.interactions.common import prepare

        with self.repository.write_session() as w:
            changed = w.conn.execute(
                update(sub_state).where(sub_state.c.sub_id == sub.sub_id,
                                        sub_state.c.config == sub.config,
                                        sub_state.c.status != "off")
                .values(status=status, reason=reason)).rowcount
            if not changed:
                return False
            if status in ("error", "off"):
                w.conn.execute(update(sub_events).where(sub_events.c.sub_id == sub.sub_id,
                                                        sub_events.c.status == "pending")
                               .values(status="failed"))
            row = w.conn.execute(select(resources.c.pk, resources.c.version,
                                        resources.c.content, resources.c.deleted)
                                 .where(resources.c.rtype == "Subscription",
                                        resources.c.rid == sub.sub_id)).first()
            if row is None or row[3] or row[2] is None:
                return True
            w.lock("Subscription", sub.sub_id)
            content = fhir.loads(row[2])
            new = {k: v for k, v in content.items() if k != "error"}
            new["status"] = status
            if reason:
                new["error"] = reason
            if new == content:
                return True
            version, updated = row[1] + 1, self.ctx.clock()
            prepared = prepare(self.ctx, new, sub.sub_id, version, updated, sub.plan.base)
            w.write("Subscription", sub.sub_id, version, updated, prepared.content, "PUT",
                    prepared.rows, prepared.refs, existing_pk=row[0])
        if reason:
            log.warning("subscription %s is now %s", sub.sub_id, status)
        return True

    # --- $status and $events -----------------------------------------------------------

    def owned(self, visible: Callable[[list[str]], set[str]], ids: list[str] | None = None,
              statuses: list[str] | None = None) -> list[Sub]:
        """The subscriptions among ``ids`` (all when None) with one of ``statuses`` that the
        caller may see: ``visible`` answers which ids, from the caller's door (the access
        rule's ``OWNER_ONLY``: its structure's, or its client's without a structure; all of
        them for the server itself and operators), so no second rule is written here."""
        with self.repository.read_session() as s:
            conds = []
            if ids:
                conds.append(sub_state.c.sub_id.in_(ids))
            if statuses:
                conds.append(sub_state.c.status.in_(statuses))
            rows = s.conn.execute(select(sub_state.c.sub_id, sub_state.c.status,
                                         sub_state.c.config, sub_state.c.owner,
                                         sub_state.c.events, sub_state.c.last_sent,
                                         sub_state.c.created, sub_state.c.reason)
                                  .where(*conds).order_by(sub_state.c.sub_id)).all()
        allowed = visible([r[0] for r in rows]) if rows else set()
        out = []
        for r in rows:
            if r[0] in allowed:
                sub = Sub(*r[:7])
                sub.reason = r[7]  # type: ignore[attr-defined]
                out.append(sub)
        return out

    def events(self, sub: Sub, since: int | None, until: int | None, limit: int = 100
               ) -> list[Event]:
        with self.repository.read_session() as s:
            conds = [sub_events.c.sub_id == sub.sub_id]
            if since is not None:
                conds.append(sub_events.c.event >= since)
            if until is not None:
                conds.append(sub_events.c.event <= until)
            rows = s.conn.execute(select(sub_events.c.event, sub_events.c.rtype,
                                         sub_events.c.rid, sub_events.c.version,
                                         sub_events.c.method, sub_events.c.created,
                                         sub_events.c.hpk)
                                  .where(*conds).order_by(sub_events.c.event.desc())
                                  .limit(limit)).all()
        events = [Event(r[0], r[1], r[2], r[3], r[4], r[5], hpk=r[6]) for r in reversed(rows)]
        self._load(sub, sub.plan, events)
        return events


def capability(resource: dict[str, Any]) -> None:
    """The Subscription entry of the CapabilityStatement: the Backport profile and the
    topics (``capabilitystatement-subscriptiontopic-canonical``)."""
    from fhir_service.subscriptions.rules import BACKPORT, PROFILE

    resource["supportedProfile"] = [*resource.get("supportedProfile", []), PROFILE]
    resource["extension"] = [
        {"url": BACKPORT + "capabilitystatement-subscriptiontopic-canonical",
         "valueCanonical": url} for url in sorted(TOPICS)]


__all__ = ["SubscriptionService", "capability"]
