"""Per-key rate limit (the `limits` library, moving window) and the X-RateLimit-* headers it answers with.

The limit is counted per gateway process with the default `memory://` storage: under
`python -m gateway serve --workers N` each worker keeps its own window, so a key may make up to N times
the limit; a shared storage (`GATEWAY_RATE_LIMIT_STORAGE=redis://...`) makes it one budget again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter


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


EXPIRY_INTERVAL_S = 1.0
"""How often the in-memory storage drops expired entries (during a hit, never on a thread of its own)."""


class InlineExpiryMemoryStorage(MemoryStorage):
    """`limits`' in-process storage without its expiry timer thread.

    The stock storage starts a `threading.Timer` 10 ms after a hit whenever none is running: under load
    that is a new thread about every 10 ms, each taking the GIL from the event loop (bench: ~5 % of a
    gateway call's CPU). Here the same expiry runs inside a hit, at most once per EXPIRY_INTERVAL_S.
    Counting is untouched: the moving window compares timestamps itself, expiry only frees memory.
    """

    def __init__(self, uri: str | None = None, **options: str):
        super().__init__(uri, **options)
        self.timer.cancel()  # started by the parent's __init__; joined so no thread outlives this constructor
        self.timer.join()
        self._next_expiry = 0.0

    # The parent calls its private `__schedule_expiry` (name-mangled to this name) from every hit; replacing it
    # is the one hook it offers. tests/gateway/test_rate_limit_and_hosts.py checks that no thread starts.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + EXPIRY_INTERVAL_S
            self._MemoryStorage__expire_events()


def _storage(uri: str) -> Storage:
    if uri.split("://", 1)[0] == "memory":
        return InlineExpiryMemoryStorage(uri)
    return storage_from_string(uri)


class KeyRateLimiter:
    """`rate` (e.g. '600/minute') per key name, shared by every broker route of this instance (or of every
    instance, with a shared storage such as redis://)."""

    def __init__(self, rate: str, storage_uri: str = "memory://"):
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(_storage(storage_uri))

    def hit(self, key_name: str) -> RateDecision:
        allowed = self.limiter.hit(self.item, key_name)
        reset_at, remaining = self.limiter.get_window_stats(self.item, key_name)
        return RateDecision(allowed, self.item.amount, max(0, remaining), reset_at)
