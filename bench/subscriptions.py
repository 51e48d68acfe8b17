"""Subscriptions: notification latency under a steady write load, and what the outbox costs
the ingest.

1. *Latency.* A fresh SQLite store, people and their care plans, ``--subs`` topic-based
   subscriptions (careplan-changed, id-only, one listener on 127.0.0.1), the delivery worker
   running in its thread. Care plans are then updated at ``--rate`` writes per second for
   ``--seconds``, through the router in process (``Router.dispatch``, as a request would);
   each notification's latency is the time from the write's commit (its answer) to the
   listener's receipt of the event (matched by the focus' version). p50/p95/max over every
   (subscription, event).
2. *Ingest.* ``--ingest`` care plans created one request each, on fresh stores, with
   subscriptions off (``CM_FHIR_SUBSCRIPTIONS=false``: no outbox), on with the worker stopped
   (the outbox insert alone), and on with ``--subs`` subscriptions and the worker running;
   rounds interleaved (the order turns), the best of ``--rounds`` per configuration, as
   requests per second and per CPU-second of this process; and the outbox hook's own time
   per transaction, timed inside the write transaction.

    python -m bench.subscriptions [--subs 100] [--rate 20] [--seconds 10] [--ingest 1500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from fhir_service import fhir
from fhir_service.context import build_context
from fhir_service.operations import install_all
from fhir_service.outcomes import FhirError
from fhir_service.request import FhirRequest
from fhir_service.router import Router
from fhir_service.settings import Settings

TOPIC = "https://interop.cm-sante-mentale.fr/fhir/SubscriptionTopic/careplan-changed"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"


def _sink_process(path: str, ready: Any) -> None:
    """The partner's endpoint, in a process of its own (as a partner would be): one JSON
    line per notification received (receipt time, subscription, focus references)."""
    out = open(path, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # (keep-alive, as a web server would)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            params = orjson.loads(body)["entry"][0]["resource"]["parameter"]
            sub = params[0]["valueReference"]["reference"].rsplit("/", 1)[-1]
            focus = [p["valueReference"]["reference"] for n in params
                     if n["name"] == "notification-event" for p in n["part"]
                     if p["name"] == "focus"]
            with lock:
                out.write(orjson.dumps([at, sub, focus]).decode() + "\n")
                out.flush()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ready.put(server.server_address[1])
    server.serve_forever()


class Sink:
    """The partner's endpoint (a child process) and what it received."""

    def __init__(self, folder: Path) -> None:
        import multiprocessing

        self.path = folder / f"sink-{time.monotonic_ns()}.jsonl"
        self.path.touch()
        ready: Any = multiprocessing.Queue()
        self.proc = multiprocessing.Process(target=_sink_process, args=(str(self.path), ready),
                                            daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{ready.get(timeout=30)}/hook"

    @property
    def got(self) -> list[tuple[float, str, list[str]]]:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [tuple(orjson.loads(line)) for line in lines if line]  # type: ignore[misc]

    def close(self) -> None:
        self.proc.kill()
        self.proc.join()


def call(router: Router, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    req = FhirRequest(method, [s for s in path.split("/") if s],
                      headers={"content-type": "application/fhir+json"},
                      body=fhir.dumps(body) if body is not None else b"",
                      base_url="http://bench/fhir")
    try:
        resp = router.dispatch(req)
    except FhirError as exc:
        return exc.status, exc.outcome()
    data = resp.body
    return resp.status, fhir.loads(data) if isinstance(data, bytes) and data else data


_BASE: list[Any] = []


def make(folder: Path, name: str, subscriptions: bool) -> Router:
    """A router on a fresh store; the definitions are loaded once for every store (as one
    server process does), so no configuration runs with a bigger heap than another."""
    import dataclasses
    import gc

    settings = Settings(database_url=f"sqlite:///{folder / name}.db", demo=False,
                        auth="off", audit=False, provenance=False,
                        subscriptions=subscriptions, subscription_http_loopback=True,
                        subscription_poll=0.05)
    if not _BASE:
        _BASE.append(build_context(settings))
        gc.collect()
        gc.freeze()  # (as serve does: the definitions stay out of the collector's passes)
        ctx = _BASE[0]
    else:
        from fhir_service.store.sqlstore import SqlRepository

        ctx = dataclasses.replace(_BASE[0], settings=settings, operations={},
                                  repository=SqlRepository(settings.database_url))
    router = Router(ctx)
    install_all(router)
    return router


def plan(i: int) -> dict[str, Any]:
    return {"resourceType": "CarePlan", "id": f"plan-{i}", "status": "active", "intent": "plan",
            "subject": {"reference": f"Patient/p{i % 50}"}, "description": "v0"}


def people(router: Router) -> None:
    for p in range(50):
        assert call(router, "PUT", f"Patient/p{p}", {"resourceType": "Patient",
                                                     "id": f"p{p}"})[0] == 201


def subscribe(router: Router, url: str, n: int) -> None:
    for _ in range(n):
        status, body = call(router, "POST", "Subscription", {
            "resourceType": "Subscription", "status": "requested", "reason": "bench",
            "criteria": TOPIC,
            "channel": {"type": "rest-hook", "endpoint": url, "payload": "application/fhir+json",
                        "_payload": {"extension": [{"url": BACKPORT + "backport-payload-content",
                                                    "valueCode": "id-only"}]}}})
        assert status == 201, body


def latency(folder: Path, subs: int, rate: float, seconds: float) -> None:
    sink = Sink(folder)
    router = make(folder, "latency", True)
    people(router)
    for i in range(50):
        assert call(router, "PUT", f"CarePlan/plan-{i}", plan(i))[0] == 201
    service = router.ctx.subscriptions
    service.start()
    subscribe(router, sink.url, subs)
    deadline = time.monotonic() + 60
    while len(sink.got) < subs and time.monotonic() < deadline:
        time.sleep(0.05)  # handshakes
    committed: dict[str, float] = {}
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        i = n % 50
        body = plan(i)
        body["description"] = f"v{n + 1}"  # (v0 is the stored text: a real change)
        status, stored = call(router, "PUT", f"CarePlan/plan-{i}", body)
        assert status == 200, stored
        committed[f"CarePlan/plan-{i}/_history/{stored['meta']['versionId']}"] = time.time()
        n += 1
        pause = start + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # the steady load's pace
    expected = n * subs
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = sum(len(f) for _, _, f in sink.got)
        if got >= expected:
            break
        time.sleep(0.1)
    delays = []
    for at, _, focus in sink.got:
        for ref in focus:
            key = ref.split("/fhir/", 1)[-1]
            if key in committed:
                delays.append((at - committed[key]) * 1000)
    service.stop()
    router.close()
    router.ctx.close()
    sink.close()
    delays.sort()
    q = statistics.quantiles(delays, n=100) if len(delays) > 1 else [0.0] * 99
    print(f"latency: {subs} subscriptions, {n} writes in {seconds:g} s ({n / seconds:.1f}/s), "
          f"{len(delays)} of {expected} notifications received")
    print(f"  commit -> delivery: p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, "
          f"max {delays[-1] if delays else 0:.1f} ms")


def ingest(folder: Path, subs: int, count: int, rounds: int) -> None:
    configs = (("subscriptions off (no outbox)", False, False),
               ("outbox on, worker stopped", True, False),
               (f"outbox on, {subs} subscriptions, worker running", True, True))
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    hook: list[float] = []  # the outbox hook's own time per transaction (outbox on)
    total: list[float] = []  # the whole request's time, same runs
    for r in range(rounds):
        # the order turns each round: no configuration always runs after another
        for label, on, worker in configs[r % 3:] + configs[:r % 3]:
            sink = Sink(folder) if worker else None
            router = make(folder, f"ingest-{r}-{on}-{worker}", on)
            people(router)
            service = router.ctx.subscriptions
            spent = [0.0]
            if on and not worker:
                inner = router.ctx.repository.outbox

                def timed(session: Any, inner: Any = inner, spent: list[float] = spent) -> None:
                    t = time.perf_counter()
                    inner(session)
                    spent[0] += time.perf_counter() - t

                router.ctx.repository.outbox = timed
            if worker and sink is not None:
                service.start()
                subscribe(router, sink.url, subs)
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(count):
                assert call(router, "PUT", f"CarePlan/plan-{i}", plan(i))[0] == 201
            if worker:  # the worker's share of the work: until every event is numbered
                while service.match():
                    pass
            elapsed = time.perf_counter() - t0
            rate = count / elapsed
            if on and not worker:
                hook.append(spent[0] / count)
                total.append(elapsed / count)
            best[label] = max(best.get(label, 0.0), rate)
            # CPU of this process (every thread): what the machine's other load does not blur
            cpu = count / (time.process_time() - c0)
            best_cpu[label] = max(best_cpu.get(label, 0.0), cpu)
            service.stop()
            router.close()
            router.ctx.close()
            if sink is not None:
                sink.close()
    base, base_cpu = best[configs[0][0]], best_cpu[configs[0][0]]
    print(f"ingest: {count} care plans, one request each, best of {rounds}")
    for label, _, _ in configs:
        print(f"  {label}: {best[label]:.0f} resources/s "
              f"({(best[label] / base - 1) * 100:+.1f} %), "
              f"{best_cpu[label]:.0f} resources per CPU-second "
              f"({(best_cpu[label] / base_cpu - 1) * 100:+.1f} %)")
    share = min(h / t for h, t in zip(hook, total, strict=True))
    print(f"  the outbox hook itself (in the write transaction): {min(hook) * 1e6:.0f} µs per "
          f"transaction, {share * 100:.1f} % of the request's time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ingest", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.seconds > 0:
            latency(Path(tmp), args.subs, args.rate, args.seconds)
        ingest(Path(tmp), args.subs, args.ingest, args.rounds)


if __name__ == "__main__":
    main()
