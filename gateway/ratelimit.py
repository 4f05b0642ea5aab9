"""Per-key rate limit (the `limits` library, sliding window counter) and the X-RateLimit-* headers it answers with.

A sliding window counter keeps two counters per key (this window and the last, weighted by how much of it
still overlaps): constant time and memory per request. The exact moving window keeps one entry per request
and inserts each new one at the front of a list: at a high limit (tens of thousands a minute) that list
copy was ~10 % of a gateway call's CPU (bench).

The limit is counted per gateway process with the default `memory://` storage: under
`python -m gateway serve --workers N` each worker keeps its own window, so a key may make up to N times
the limit; a shared storage (`GATEWAY_RATE_LIMIT_STORAGE=redis://...`) makes it one budget again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter


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


class InProcessSlidingWindow:
    """The sliding window counter of `limits` (the same arithmetic, checked against it in the tests), kept in
    one dict for this process: per key, the current window's index and the counts of it and of the one before.

    `limits`' own memory storage does the same through a few dozen calls per hit and starts a
    `threading.Timer` 10 ms after a hit whenever none is running: under load a new thread about every 10 ms,
    each taking the GIL from the event loop. Together that was ~7 % of a gateway call's CPU (bench). One
    entry per key name that ever passed authentication: bounded by the keys configured.
    """

    def __init__(self, item: RateLimitItem):
        self.limit = item.amount
        self.window = item.get_expiry()
        self._counts: dict[str, tuple[int, int, int]] = {}

    def hit(self, key: str) -> tuple[bool, float, int]:
        """Count one request for `key` if it fits: (allowed, reset_at, remaining)."""
        now = time.time()
        index, into_window = divmod(now, self.window)
        seen_index, current, previous = self._counts.get(key, (index, 0, 0))
        if seen_index != index:
            current, previous = 0, current if seen_index == index - 1 else 0
        left_in_window = self.window - into_window  # the share of the previous window still counted
        weighted = previous * left_in_window / self.window + current
        allowed = math.floor(weighted) + 1 <= self.limit
        if allowed:
            current += 1
            weighted += 1
        self._counts[key] = (index, current, previous)
        reset_in = math.inf
        if previous:
            reset_in = left_in_window % (self.window / previous)
        if current:
            reset_in = min(reset_in, left_in_window)
        reset_at = now + reset_in if reset_in != math.inf else now
        return allowed, reset_at, max(0, self.limit - math.floor(weighted))


class KeyRateLimiter:
    """`rate` (e.g. '600/minute') per key name, shared by every broker route of this instance (or of every
    instance, with a shared storage such as redis://)."""

    def __init__(self, rate: str, storage_uri: str = "memory://"):
        self.item = parse(rate)
        in_process = storage_uri.split("://", 1)[0] == "memory"
        self.local = InProcessSlidingWindow(self.item) if in_process else None
        self.limiter = None if in_process else SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))

    def hit(self, key_name: str) -> RateDecision:
        if self.local is not None:
            allowed, reset_at, remaining = self.local.hit(key_name)
        else:
            allowed = self.limiter.hit(self.item, key_name)
            reset_at, remaining = self.limiter.get_window_stats(self.item, key_name)
        return RateDecision(allowed, self.item.amount, max(0, remaining), reset_at)
