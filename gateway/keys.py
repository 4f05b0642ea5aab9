"""API keys: one from the environment (API_KEY, trade scope) and a file of named, scoped, hashed keys.

Only SHA-256 digests are stored (a key is 256 random bits, so a fast hash is enough); a presented
key is hashed and compared with every stored digest by `hmac.compare_digest`, without an early exit.
The file is re-read when it changes, so `keys create` and `keys revoke` take effect without a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import SecretStr

from gateway import GatewayError

log = logging.getLogger(__name__)

ENV_KEY_NAME = "env:API_KEY"
"""How the API_KEY environment key is named in logs and the audit trail."""
KEY_PREFIX = "tk_"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


class Scope(StrEnum):
    """What a key may do: read tools only, or also the order tools."""

    READ = "read"
    TRADE = "trade"


class KeyStoreError(GatewayError):
    """The keys file cannot be read or changed as asked."""


@dataclass(frozen=True)
class ApiKey:
    """A known key, without the key itself."""

    name: str
    """Who holds it: what logs and the audit trail record."""
    scope: Scope
    """read or trade."""
    sha256: str
    """Hex SHA-256 of the key."""
    created: str | None = None
    """When `keys create` made it (UTC, ISO 8601); None for the environment key."""

    @property
    def can_trade(self) -> bool:
        return self.scope is Scope.TRADE


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries: `X-API-Key`, else `Authorization: Bearer <key>`."""
    bearer = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-api-key":
            return value.decode("latin-1").strip() or None
        if lowered == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                bearer = credential.strip() or None
    return bearer


class KeyStore:
    """Keys from the environment and the keys file, checked in constant time."""

    def __init__(self, path: Path, env_key: SecretStr | str | None = None):
        self.path = path
        secret = env_key.get_secret_value() if isinstance(env_key, SecretStr) else env_key
        self._env_key = ApiKey(ENV_KEY_NAME, Scope.TRADE, digest(secret)) if secret else None
        self._stamp: tuple[int, int, int, int] | None = None
        self._raw: bytes | None = b""
        self._file_keys: list[ApiKey] = []

    # ----------------------------------------------------------------- reading

    def known(self) -> list[ApiKey]:
        """Every key that authenticates now: the file's (re-read when it changed) and the environment's."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            stamp = None
        # Like git's "racy" check: a file changed within the last second may have changed again without its
        # coarse timestamps moving, so its bytes are compared too; an older unchanged stamp is trusted.
        recent = stamp is not None and time.time_ns() - stamp[0] < 1_000_000_000
        if stamp != self._stamp or recent:
            try:
                raw = self.path.read_bytes() if stamp else b""
                if raw != self._raw:
                    self._file_keys = self._parse(raw) if raw else []
            except FileNotFoundError:
                raw, self._file_keys = b"", []
            except (OSError, KeyStoreError) as exc:
                # Fail closed: an unreadable file authenticates nobody from it.
                log.error("keys file %s is unreadable (%s); its keys are refused until it is fixed",
                          self.path, type(exc).__name__)
                raw, self._file_keys = None, []
            self._raw, self._stamp = raw, stamp
        return self._file_keys + ([self._env_key] if self._env_key else [])

    def configured(self) -> bool:
        return bool(self.known())

    def authenticate(self, presented: str | None, known: list[ApiKey] | None = None) -> ApiKey | None:
        """The key `presented` is, or None. Every stored digest is compared, so timing says nothing.
        `known` is this request's `known()` when the caller already has it (one look at the keys file per request)."""
        if not presented:
            return None
        wanted = digest(presented)
        match = None
        for key in self.known() if known is None else known:
            if hmac.compare_digest(key.sha256, wanted):
                match = key
        return match

    def _read(self) -> list[ApiKey]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise KeyStoreError(f"keys file {self.path} is unreadable ({type(exc).__name__})") from None
        return self._parse(raw)

    def _parse(self, raw: bytes) -> list[ApiKey]:
        try:
            rows = json.loads(raw)
            return [ApiKey(r["name"], Scope(r["scope"]), r["sha256"], r.get("created")) for r in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"keys file {self.path} is unreadable ({type(exc).__name__})") from None

    # ----------------------------------------------------------------- changing

    def create(self, name: str, scope: Scope | str) -> str:
        """A new random key named `name` with `scope`: only its hash is stored; the key is returned to be shown once."""
        if not NAME_PATTERN.fullmatch(name):
            raise KeyStoreError(f"key name {name[:80]!r} must be 1-64 letters, digits, '.', '_', '-' or '@'")
        try:
            scope = Scope(scope)
        except ValueError:
            raise KeyStoreError(f"scope must be read or trade; got {str(scope)[:40]!r}") from None
        with self._locked():
            current = self._read()
            if any(k.name == name for k in current):
                raise KeyStoreError(f"a key named {name!r} already exists; revoke it first")
            key = KEY_PREFIX + secrets.token_urlsafe(32)
            self._write([*current, ApiKey(name, scope, digest(key), datetime.now(UTC).isoformat(timespec="seconds"))])
        return key

    def revoke(self, name: str) -> bool:
        """Remove the key named `name`; False when there is none."""
        if name == ENV_KEY_NAME:
            raise KeyStoreError("the environment key is not in the keys file: unset API_KEY to revoke it")
        with self._locked():
            current = self._read()
            kept = [k for k in current if k.name != name]
            if len(kept) == len(current):
                return False
            self._write(kept)
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize `keys create` / `keys revoke` run at the same time."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self, keys: list[ApiKey]) -> None:
        rows = [{**asdict(k), "scope": k.scope.value} for k in keys]
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
