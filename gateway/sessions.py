"""Which key opened each live SSE session, so a session id is worth nothing to any other key.

The MCP SDK names an SSE session in the first event of the stream (`endpoint`, with
`?session_id=<hex>`); every message of that session is then a POST carrying the id. The gateway
records the key that opened the stream and refuses the id from any other key. All of this runs on
the server's one event loop, so plain dicts suffice.
"""

from __future__ import annotations

import re
from collections import Counter

SESSION_ID = re.compile(rb"session_id=([0-9a-f]{32})")


class SseSessions:
    """Live SSE sessions of one gateway instance and the key name that opened each."""

    def __init__(self, max_per_key: int):
        self.max_per_key = max_per_key
        self._owners: dict[tuple[str, str], str] = {}
        self._open: Counter[str] = Counter()

    def open(self, key_name: str) -> bool:
        """Count a new stream for `key_name`; False (and nothing counted) when it already holds the maximum."""
        if self._open[key_name] >= self.max_per_key:
            return False
        self._open[key_name] += 1
        return True

    def bind(self, broker_id: str, session_id: str, key_name: str) -> None:
        self._owners[(broker_id, session_id)] = key_name

    def close(self, key_name: str, broker_id: str, session_id: str | None) -> None:
        self._open[key_name] -= 1
        if self._open[key_name] <= 0:
            del self._open[key_name]
        if session_id is not None:
            self._owners.pop((broker_id, session_id), None)

    def owner(self, broker_id: str, session_id: str | None) -> str | None:
        """The key name that opened `session_id` at `broker_id`, or None (unknown, closed, or another broker's)."""
        return self._owners.get((broker_id, session_id)) if session_id else None

    def open_count(self, key_name: str) -> int:
        return self._open[key_name]
