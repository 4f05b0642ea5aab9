"""Per-key rate limit (the `limits` library, moving window) and the X-RateLimit-* headers it answers with."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import parse
from limits.storage import storage_from_string
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


class KeyRateLimiter:
    """`rate` (e.g. '600/minute') per key name, shared by every broker route of this instance (or of every
    instance, with a shared storage such as redis://)."""

    def __init__(self, rate: str, storage_uri: str = "memory://"):
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, key_name: str) -> RateDecision:
        allowed = self.limiter.hit(self.item, key_name)
        reset_at, remaining = self.limiter.get_window_stats(self.item, key_name)
        return RateDecision(allowed, self.item.amount, max(0, remaining), reset_at)
