"""The gateway app: `uvicorn gateway.app:app`. Public /, /brokers, /health; /<broker>/sse and /<broker>/mcp need a key.

Security is pure ASGI middleware (no BaseHTTPMiddleware, which breaks streaming): 401 without a
known key, 403 when a read key's MCP request calls an order tool (the JSON-RPC body is read, not
the URL), 429 with Retry-After past the per-key rate limit, and one JSON audit line per order tool
call with the key's name, never the key. Host/Origin checks come from the MCP SDK's transport
security settings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path

import platformdirs
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from brokers.profiles import get_profiles
from brokers.runtime import open_engine
from brokers.server import ORDER_TOOLS, build_server
from gateway.keys import KeyStore

VERSION = "0.1.0"
log = logging.getLogger("gateway")
audit_log = logging.getLogger("gateway.audit")


def _data_dir() -> Path:
    return Path(os.environ.get("TRADING_DATA_DIR") or platformdirs.user_data_dir("trading-console"))


def _security() -> TransportSecuritySettings:
    hosts = os.environ.get("GATEWAY_ALLOWED_HOSTS", "127.0.0.1:*,localhost:*,[::1]:*").split(",")
    origins = os.environ.get("GATEWAY_ALLOWED_ORIGINS", "http://127.0.0.1:*,http://localhost:*").split(",")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=[h.strip() for h in hosts],
                                     allowed_origins=[o.strip() for o in origins])


class BrokerGuard:
    """Pure ASGI: key check, scope check on MCP tool calls, rate limit and audit, in front of one broker."""

    def __init__(self, app, broker_id: str, keys: KeyStore, limiter: MovingWindowRateLimiter, rate: str):
        self.app, self.broker_id, self.keys, self.limiter, self.rate = app, broker_id, keys, limiter, parse(rate)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        presented = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip() or None
        if not self.keys.keys():
            log.error("no API key configured: set API_KEY or run `python -m gateway keys create --name NAME --scope trade`")
            return await _reply(send, 503, {"error": "no API key is configured on this gateway"})
        key = self.keys.authenticate(presented)
        if key is None:
            return await _reply(send, 401, {"error": "missing or unknown API key"}, {"www-authenticate": "Bearer"})
        if not self.limiter.hit(self.rate, key.name):
            reset, remaining = self.limiter.get_window_stats(self.rate, key.name)
            retry = max(1, int(reset - time.time()))
            return await _reply(send, 429, {"error": "rate limit exceeded"},
                                {"retry-after": str(retry), "x-ratelimit-limit": str(self.rate.amount), "x-ratelimit-remaining": "0"})
        body = b""
        if scope["method"] == "POST":
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
        calls = _tool_calls(body)
        ordered = [c for c in calls if c.get("name") in ORDER_TOOLS]
        if ordered and not key.allows_trading():
            return await _reply(send, 403, {"error": f"key {key.name!r} has read scope; {ordered[0]['name']} needs trade scope"})
        for call in ordered:
            audit_log.info(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "key": key.name,
                                       "broker": self.broker_id, "tool": call.get("name"),
                                       "arguments": call.get("arguments"), "status": "forwarded"}))
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay if scope["method"] == "POST" else receive, send)


def _tool_calls(body: bytes) -> list[dict]:
    if not body:
        return []
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    items = payload if isinstance(payload, list) else [payload]
    return [i.get("params") or {} for i in items if isinstance(i, dict) and i.get("method") == "tools/call"]


async def _reply(send, status: int, payload: dict, headers: dict | None = None) -> None:
    body = json.dumps(payload).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def create_app() -> FastAPI:
    profiles = get_profiles()
    keys = KeyStore(Path(os.environ.get("GATEWAY_KEYS_FILE") or _data_dir() / "gateway_keys.json"))
    limiter = MovingWindowRateLimiter(MemoryStorage())
    rate = os.environ.get("GATEWAY_RATE_LIMIT", "600/minute")
    security = _security()
    engines, servers = {}, {}
    for broker_id, profile in profiles.items():
        engines[broker_id] = open_engine(profile)
        # WARNING, not the SDK default INFO: a log line per stateless request cost ~3/4 of its CPU (bench)
        servers[broker_id] = build_server(profile, engines[broker_id], log_level="WARNING")

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with contextlib.AsyncExitStack() as stack:
            for server in servers.values():
                await stack.enter_async_context(server.session_manager.run())
            if not keys.keys():
                log.error("no API key configured: broker routes refuse. Set API_KEY or run "
                          "`python -m gateway keys create --name NAME --scope trade`")
            yield

    app = FastAPI(title="Trading gateway", version=VERSION, lifespan=lifespan)

    @app.get("/")
    def root() -> dict:
        return {"service": "trading-gateway", "version": VERSION, "brokers": len(profiles)}

    @app.get("/brokers")
    def brokers() -> list[dict]:
        return [{"id": p.id, "name": p.name, "specialty": p.specialty, "fees": p.commission.describe(),
                 "fill_latency_ms": p.fill_latency_ms, "fractional_shares": p.fractional_shares,
                 "sse": f"/{p.id}/sse", "streamable_http": f"/{p.id}/mcp"} for p in profiles.values()]

    @app.get("/health")
    def health():
        status = {}
        for broker_id, engine in engines.items():
            try:
                engine.db.ping()
                status[broker_id] = "ok"
            except Exception as exc:
                status[broker_id] = f"unreachable: {type(exc).__name__}"
        ok = all(v == "ok" for v in status.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "brokers": status}, status_code=200 if ok else 503)

    for broker_id, server in servers.items():
        routes = (server.sse_app(transport_security=security).routes
                  + server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True,
                                               transport_security=security).routes)
        app.mount(f"/{broker_id}", BrokerGuard(Starlette(routes=routes), broker_id, keys, limiter, rate))
    return app


app = create_app()
