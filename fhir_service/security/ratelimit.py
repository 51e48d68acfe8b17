"""Per-client rate limiting (token bucket): over the limit → 429 with Retry-After."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fhir_service.outcomes import FhirError


class RateLimiter:
    def __init__(self, per_second: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_second
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise FhirError("too-many-requests",
                                f"Rate limit exceeded: at most {self.rate:g} requests per second "
                                f"(bursts of {int(self.burst)}); retry in {wait} s",
                                headers={"Retry-After": str(wait)})
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle clients
                cutoff = now - self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if v[1] > cutoff}
