"""API keys: the API_KEY environment variable (trade scope) and a file of hashed, named, scoped keys.

Only SHA-256 hashes are stored; lookups compare hashes in constant time. A key is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SCOPES = ("read", "trade")


@dataclass(frozen=True)
class ApiKey:
    name: str
    scope: str
    digest: str

    def allows_trading(self) -> bool:
        return self.scope == "trade"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """Keys from the environment and the keys file, checked in constant time."""

    def __init__(self, path: Path):
        self.path = path

    def _file_keys(self) -> list[ApiKey]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [ApiKey(r["name"], r["scope"], r["digest"]) for r in rows]

    def keys(self) -> list[ApiKey]:
        found = self._file_keys()
        env_key = os.environ.get("API_KEY")
        if env_key:
            found.append(ApiKey("env:API_KEY", "trade", digest(env_key)))
        return found

    def authenticate(self, presented: str | None) -> ApiKey | None:
        if not presented:
            return None
        wanted = digest(presented)
        match = None
        for key in self.keys():  # no early exit: the time taken does not tell which key was close
            if hmac.compare_digest(key.digest, wanted):
                match = key
        return match

    def create(self, name: str, scope: str) -> str:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
        rows = [k.__dict__ for k in self._file_keys()]
        if any(r["name"] == name for r in rows):
            raise ValueError(f"a key named {name!r} already exists; revoke it first")
        key = "tk_" + secrets.token_urlsafe(32)
        rows.append({"name": name, "scope": scope, "digest": digest(key)})
        self._write(rows)
        return key

    def revoke(self, name: str) -> bool:
        rows = [k.__dict__ for k in self._file_keys()]
        kept = [r for r in rows if r["name"] != name]
        self._write(kept)
        return len(kept) != len(rows)

    def _write(self, rows: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)
