"""The guard in front of each broker's MCP app: pure ASGI (no BaseHTTPMiddleware, which breaks streaming).

In order, for every request under /<broker>/:
- no key configured at all -> 503, and the log says how to create one;
- no key, or an unknown one (X-API-Key or Authorization: Bearer) -> 401;
- SSE on a gateway of several worker processes -> 503 (a session lives in the worker that opened it, while
  each message POST reaches whichever worker accepts it; streamable HTTP is stateless and served by all);
- past the key's rate limit -> 429 with Retry-After; every answer carries X-RateLimit-*;
- a POST whose JSON body repeats a key in one object -> 400 (outside an SSE session, see below);
- a read key's POST whose JSON-RPC body calls an order tool -> 403, except inside an SSE session that
  key opened itself (below);
- a message POSTed to an SSE session that does not exist here or that another key opened -> 404.
Refusals are JSON-RPC error bodies, so the MCP SDK's client shows their reason, not just a status.

Inside a live SSE session the answer to a message travels on the event stream, and an HTTP error
on the POST ends the SDK client's writer: the refused call times out and every later call on the
session fails (checked with mcp 2.3). So there a read key's order call is accepted (202) and
refused by the MCP-level check in gateway/policy.py, as the tool call's own error result; that
check stands behind this one on both transports. The authenticated key is left in the request
scope's state for it. Host and Origin are then checked by the MCP SDK's transport security (421 / 403).
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

from gateway.keys import ApiKey, KeyStore, presented_key
from gateway.policy import CALLER, FORBIDDEN, forbidden_reason, transport_of
from gateway.ratelimit import KeyRateLimiter
from gateway.sessions import SESSION_ID, SseSessions

log = logging.getLogger(__name__)

HOW_TO_CREATE_A_KEY = ("set API_KEY (a random string of 16+ characters) or run "
                       "`python -m gateway keys create --name NAME --scope trade`")
NO_KEY_LOG_INTERVAL_S = 60.0


class BrokerGuard:
    """Pure ASGI middleware in front of one broker's MCP app (SSE and streamable HTTP routes)."""

    def __init__(self, app, broker_id: str, keys: KeyStore, rate_limiter: KeyRateLimiter, sessions: SseSessions,
                 audit=None, max_body_bytes: int = 1_048_576, workers: int = 1):
        self.app = app
        """The broker's MCP app this guard protects."""
        self.broker_id = broker_id
        self.keys = keys
        self.rate_limiter = rate_limiter
        self.sessions = sessions
        self.audit = audit
        self.max_body_bytes = max_body_bytes
        self.workers = workers
        """Worker processes serving this gateway; SSE needs exactly one."""
        self._no_key_logged_at = float("-inf")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        known = self.keys.known()
        if not known:
            self._log_no_key()
            await _refuse(send, 503, "no API key is configured on this gateway; the broker routes are closed")
            return
        key = self.keys.authenticate(presented_key(scope["headers"]), known)
        if key is None:
            await _refuse(send, 401, "missing or unknown API key (send X-API-Key or Authorization: Bearer)",
                         [(b"www-authenticate", b'Bearer realm="trading-gateway"')])
            return
        route, method = _route_path(scope), scope["method"]
        if self.workers > 1 and (route == "/sse" or route.startswith("/messages")):
            await _refuse(send, 503, f"SSE is off on this gateway: it runs {self.workers} worker processes and an SSE "
                                     f"session lives in one of them; use streamable HTTP at /{self.broker_id}/mcp")
            return
        decision = await self.rate_limiter.hit(key.name)
        rate_headers = decision.headers()
        if not decision.allowed:
            await _refuse(send, 429, f"rate limit of {decision.limit} requests exceeded for this key; "
                                              f"retry in {decision.retry_after_s} s", rate_headers)
            return
        send = _with_headers(send, rate_headers)
        scope.setdefault("state", {})[CALLER] = key

        if method == "GET" and route == "/sse":
            await self._sse_stream(key, scope, receive, send)
            return
        own_session = False
        if method == "POST" and route.startswith("/messages"):
            session_id = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_id") or [None])[0]
            owner = self.sessions.owner(self.broker_id, session_id)
            own_session = owner == key.name
            if owner is not None and not own_session:
                log.warning("%s: key %r used an SSE session opened by key %r; refused", self.broker_id, key.name, owner)
        # A read key's order call is an HTTP 403 wherever the HTTP status is the answer; inside its own live SSE
        # session the refusal travels on the stream instead (gateway/policy.py), see the module docstring.
        if method == "POST" and not own_session:
            body = await _read_body(receive, self.max_body_bytes)
            if body is None:
                await _refuse(send, 413, f"request body larger than {self.max_body_bytes} bytes")
                return
            payload, repeated = _parse(body)
            if repeated is not None:
                # Parsers disagree on which of two equal keys wins ('"quantity":"1","quantity":"1000"'); one that
                # checked the first while the tools read the last would be a way around every check.
                await _refuse(send, 400, f"the JSON body repeats the key {repeated[:64]!r}; send each field once",
                              request_id=_request_id(payload))
                return
            refusal = None if key.can_trade else self._refusal(key, payload, scope)
            if refusal is not None:
                request_id, reason = refusal
                await _refuse(send, 403, reason, request_id=request_id)
                return
            receive = _replay(body, receive)
        if method == "POST" and route.startswith("/messages") and not own_session:
            await _refuse(send, 404, "unknown SSE session (sessions live on the instance and key that opened them)")
            return
        await self.app(scope, receive, send)

    async def _sse_stream(self, key: ApiKey, scope, receive, send) -> None:
        if not self.sessions.open(key.name):
            await _refuse(send, 429, f"this key already holds {self.sessions.max_per_key} open SSE sessions")
            return
        session_id: str | None = None
        status: int | None = None

        async def bind_session(message):
            nonlocal session_id, status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif session_id is None and message["type"] == "http.response.body":
                found = SESSION_ID.search(message.get("body", b""))
                if found:
                    session_id = found.group(1).decode()
                    self.sessions.bind(self.broker_id, session_id, key.name)
            await send(message)

        try:
            await self.app(scope, receive, bind_session)
        except ValueError:
            # The SDK's SSE endpoint answers a bad Host/Origin (421/403) and then raises; the refusal is sent.
            if status is None or status < 400:
                raise
            log.info("%s: SSE stream refused with %s by transport security", self.broker_id, status)
        finally:
            self.sessions.close(key.name, self.broker_id, session_id)

    def _refusal(self, key: ApiKey, payload, scope) -> tuple[str | int | None, str] | None:
        """The request id and reason when the body calls a tool this key may not call, or None."""
        for message in payload if isinstance(payload, list) else [payload]:
            if not isinstance(message, dict) or message.get("method") != "tools/call":
                continue
            params = message.get("params") if isinstance(message.get("params"), dict) else {}
            reason = forbidden_reason(key, params.get("name"))
            if reason is not None:
                if self.audit is not None:
                    client = scope.get("client")
                    self.audit.record(key=key.name, broker=self.broker_id, tool=params.get("name"),
                                      arguments=params.get("arguments"), status="forbidden",
                                      transport=transport_of(scope.get("path", "")), client=client[0] if client else None)
                request_id = message.get("id") if isinstance(message.get("id"), str | int) else None
                return request_id, reason
        return None

    def _log_no_key(self) -> None:
        now = time.monotonic()
        if now - self._no_key_logged_at >= NO_KEY_LOG_INTERVAL_S:
            self._no_key_logged_at = now
            log.error("no API key configured: the broker routes refuse every request. To open them, %s",
                      HOW_TO_CREATE_A_KEY)


def _route_path(scope) -> str:
    """The path inside the broker mount (`/sse`, `/messages/`, `/mcp`)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _parse(body: bytes) -> tuple[object, str | None]:
    """The JSON body (None when it is not JSON: the SDK answers that itself, and the MCP-level check still stands
    behind this one) and the first key any object in it repeats, if one does."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                repeated.append(key)
                break
            seen.add(key)
        return dict(items)

    try:
        return json.loads(body, object_pairs_hook=pairs), (repeated[0] if repeated else None)
    except ValueError:
        return None, None


def _request_id(payload) -> str | int | None:
    request_id = payload.get("id") if isinstance(payload, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


async def _read_body(receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than `limit`."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send, extra: list[tuple[bytes, bytes]]):
    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_with_headers


ERROR_CODES = {400: -32600, 401: -32001, 403: FORBIDDEN, 404: -32004, 413: -32013, 429: -32029, 503: -32053}
"""JSON-RPC error codes of the guard's refusals (in the range JSON-RPC leaves to servers)."""


async def _refuse(send, status: int, reason: str, headers: list[tuple[bytes, bytes]] | None = None,
                  request_id: str | int | None = None) -> None:
    """An HTTP error whose body is a JSON-RPC error: the MCP SDK's client then shows the reason, not just a status."""
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": ERROR_CODES[status], "message": reason}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
