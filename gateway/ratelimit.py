"""Per-key rate limit (the `limits` library, sliding window counter, asyncio storage) and the X-RateLimit-* headers.

A sliding window counter keeps two counters per key (this window and the last, weighted by how much of it
still overlaps): constant time and memory per request. The exact moving window keeps one entry per request
and inserts each new one at the front of a list: at a high limit (tens of thousands a minute) that list
copy was ~10 % of a gateway call's CPU (bench). The asyncio flavour of `limits` runs on the gateway's own
event loop; its synchronous memory storage starts a `threading.Timer` about every 10 ms under load.

The limit is counted per gateway process with the default `memory://` storage: under
`python -m gateway serve --workers N` each worker keeps its own window, so a key may make up to N times
the limit; a shared storage (`GATEWAY_RATE_LIMIT_STORAGE=redis://...`) makes it one budget again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string


@dataclass(frozen=True)
class RateDecision:
    """One request's place in its key's window."""

    allowed: bool
    limit: int
    """Requests allowed per window."""
    remaining: int
    """Requests left in the window after this one."""
    reset_at: float
    """Unix time at which the window frees up again."""

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))

    def headers(self) -> list[tuple[bytes, bytes]]:
        fields = [(b"x-ratelimit-limit", self.limit), (b"x-ratelimit-remaining", self.remaining),
                  (b"x-ratelimit-reset", math.ceil(self.reset_at))]
        if not self.allowed:
            fields.append((b"retry-after", self.retry_after_s))
        return [(name, str(value).encode()) for name, value in fields]


class KeyRateLimiter:
    """`rate` (e.g. '600/minute') per key name, shared by every broker route of this instance (or of every
    instance, with a shared storage such as redis://)."""

    def __init__(self, rate: str, storage_uri: str = "memory://"):
        self.item = parse(rate)
        scheme_uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self.limiter = SlidingWindowCounterRateLimiter(storage_from_string(scheme_uri))

    async def hit(self, key_name: str) -> RateDecision:
        allowed = await self.limiter.hit(self.item, key_name)
        reset_at, remaining = await self.limiter.get_window_stats(self.item, key_name)
        return RateDecision(allowed, self.item.amount, max(0, remaining), reset_at)
