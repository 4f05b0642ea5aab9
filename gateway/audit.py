"""The audit trail: one JSON line per order tool call (placed, refused or failed), never a key.

A line: time (UTC), key (the key's name), broker, tool, arguments, status (the order's status,
`ok`, `error` or `forbidden`), order_id when there is one, transport and client address.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

MAX_ARGUMENT_CHARS = 200
"""A longer argument value is cut: a line stays readable and a caller cannot flood the file."""


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ARGUMENT_CHARS:
        return value[:MAX_ARGUMENT_CHARS] + f"...(+{len(value) - MAX_ARGUMENT_CHARS} chars)"
    if isinstance(value, dict):
        return {str(k)[:MAX_ARGUMENT_CHARS]: _bounded(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list):
        return [_bounded(v) for v in value[:50]]
    return value


class AuditLog:
    """Appends audit lines to a file (or stderr for `-`), flushed line by line."""

    def __init__(self, target: str):
        self.target = target
        self._lock = threading.Lock()
        self._out: TextIO | None = None

    def record(self, *, key: str | None, broker: str, tool: str, arguments: Any, status: str,
               order_id: str | None = None, transport: str | None = None, client: str | None = None) -> dict:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "key": key,
            "broker": broker,
            "tool": tool,
            "arguments": _bounded(arguments) if isinstance(arguments, dict) else None,
            "status": status,
            "order_id": order_id,
            "transport": transport,
            "client": client,
        }
        line = json.dumps(entry, default=str, ensure_ascii=False)
        with self._lock:
            out = self._stream()
            out.write(line + "\n")
            out.flush()
        return entry

    def _stream(self) -> TextIO:
        if self._out is None:
            if self.target == "-":
                self._out = sys.stderr
            else:
                path = Path(self.target)
                path.parent.mkdir(parents=True, exist_ok=True)
                self._out = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for the process)
        return self._out

    def close(self) -> None:
        with self._lock:
            if self._out is not None and self._out is not sys.stderr:
                self._out.close()
            self._out = None
