"""The gateway app: `uvicorn gateway.app:app`. Public `/`, `/brokers`, `/health` and the OpenAPI docs;
each broker profile mounted at `/<id>` with SSE at `/<id>/sse` (+ `/<id>/messages/`) and stateless
streamable HTTP at `/<id>/mcp`, behind the key guard (gateway/security.py) and the MCP-level scope
check and audit (gateway/policy.py).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from typing import Literal

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Match, Mount

from brokers.profiles import get_profiles
from brokers.runtime import open_engine
from brokers.server import build_server
from gateway import __version__
from gateway.audit import AuditLog
from gateway.keys import KeyStore
from gateway.policy import key_name, order_tool_policy
from gateway.ratelimit import KeyRateLimiter
from gateway.security import HOW_TO_CREATE_A_KEY, BrokerGuard
from gateway.sessions import SseSessions
from gateway.settings import GatewaySettings, get_settings

__all__ = ["BrokerGuard", "create_app"]

SERVICE = "trading-gateway"
CONFIRM_NOTES = {
    "elicit": "asks the person through MCP elicitation over SSE, and over /mcp on protocol 2026-07-28; a client "
              "without elicitation, or on an older protocol over /mcp (stateless JSON responses, no back-channel), "
              "gets a preview with a single-use confirmation_token bound to its API key instead",
    "token": "every order tool first returns a preview with a single-use confirmation_token (120 s, bound to the "
             "API key); the same call with the token executes",
    "off": "order tools execute at once: the calling client must ask the person itself",
}
log = logging.getLogger("gateway")


class ServiceInfo(BaseModel):
    """What this service is."""

    service: str
    version: str
    brokers: int
    """How many brokers it serves."""
    docs: str


class BrokerInfo(BaseModel):
    """One broker's profile and where to reach it."""

    id: str
    name: str
    specialty: str
    fee_schedule: str
    commission_per_share: str
    commission_minimum: str
    commission_max_pct_of_value: str
    fill_latency_ms: int
    """Typical fill speed."""
    fractional_shares: bool
    sse: str | None
    """Path of the SSE endpoint (needs a key); null when this gateway runs several workers and refuses SSE."""
    streamable_http: str
    """Path of the streamable HTTP endpoint (needs a key)."""
    confirm_orders: Literal["off", "token", "elicit"]
    """How this broker's order tools get the person's yes here (TRADING_CONFIRM_ORDERS, default elicit)."""
    confirm_orders_note: str
    """What a client meets: with elicit, who is asked and who gets a confirmation token instead."""


class HealthReport(BaseModel):
    """Whether each broker's database answers."""

    status: Literal["ok", "degraded"]
    brokers: dict[str, str]
    """Broker id -> `ok` or `unreachable: <error type>` (never the error text: it may hold a database URL)."""


class GatewayApp(FastAPI):
    """FastAPI, except that a request under a broker's mount goes straight to that mount (its key guard and MCP
    app). FastAPI's middleware stack and route scan in front of it cost ~10 % of a tool call's CPU (bench) and
    add nothing there: the guard and the MCP SDK answer their own errors, and uvicorn answers 500 to a crash."""

    broker_mounts: dict[str, Mount]
    """`/<broker-id>` -> its Mount (the same route objects as in `router.routes`)."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self.root_path:
            mount = self.broker_mounts.get(scope["path"][:scope["path"].find("/", 1)])
            if mount is not None:
                match, child_scope = mount.matches(scope)
                if match is Match.FULL:
                    scope["app"] = self
                    scope.update(child_scope)
                    await mount.handle(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


def create_app(settings: GatewaySettings | None = None, *, freeze_startup_heap: bool = False) -> FastAPI:
    """A gateway serving every broker profile; opens each broker's database now.

    `freeze_startup_heap` is for the app a server process runs (`uvicorn gateway.app:app`): once started,
    every object alive then (the modules, servers, calendars: ~200k) moves out of the garbage collector's
    reach (`gc.freeze`). Otherwise each full collection walks them all, ~150 ms with the event loop
    stopped, a few times a minute under load: most of the p99 latency (bench/gateway_load.py). A test
    process that builds many apps leaves it off, since frozen objects are never freed.
    """
    settings = settings or get_settings()
    profiles = get_profiles()
    keys = KeyStore(settings.keys_path, settings.api_key)
    audit = AuditLog(settings.audit_target)
    rate_limiter = KeyRateLimiter(settings.rate_limit, settings.rate_limit_storage)
    sessions = SseSessions(settings.max_sse_sessions_per_key)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=settings.hosts,
                                         allowed_origins=settings.origins)
    engines, servers = {}, {}
    for broker_id, profile in profiles.items():
        engines[broker_id] = open_engine(profile)
        # WARNING, not the SDK default INFO: a log line per stateless request cost ~3/4 of its CPU (bench)
        servers[broker_id] = build_server(profile, engines[broker_id], log_level="WARNING", caller_of=key_name,
                                          middleware=[order_tool_policy(broker_id, audit)])

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with contextlib.AsyncExitStack() as stack:
            for server in servers.values():
                await stack.enter_async_context(server.session_manager.run())
            log.info("gateway %s serving %s; %d API key(s) configured; audit to %s%s", __version__,
                     ", ".join(f"/{b}" for b in servers), len(keys.known()), settings.audit_target,
                     f"; one of {settings.workers} workers: streamable HTTP only" if settings.workers > 1 else "")
            if not keys.configured():
                log.error("no API key configured: the broker routes refuse every request. To open them, %s",
                          HOW_TO_CREATE_A_KEY)
            if freeze_startup_heap:
                gc.collect()
                gc.freeze()
            try:
                yield
            finally:
                audit.close()
                for engine in engines.values():
                    engine.db.dispose()

    app = GatewayApp(title="Trading gateway", version=__version__, lifespan=lifespan,
                  description="Paper brokers over MCP (SSE at /<broker>/sse, streamable HTTP at /<broker>/mcp), "
                              "behind API keys (X-API-Key or Authorization: Bearer).")

    @app.get("/", response_model=ServiceInfo)
    def service_info() -> ServiceInfo:
        """Service name, version and how many brokers it serves."""
        return ServiceInfo(service=SERVICE, version=__version__, brokers=len(profiles), docs="/docs")

    @app.get("/brokers", response_model=list[BrokerInfo])
    def brokers() -> list[BrokerInfo]:
        """Every broker's profile: name, specialty, fees, speed, and its MCP endpoints."""
        return [
            BrokerInfo(id=p.id, name=p.name, specialty=p.specialty, fee_schedule=p.fee_schedule(),
                       commission_per_share=str(p.commission.per_share), commission_minimum=str(p.commission.minimum),
                       commission_max_pct_of_value=str(p.commission.max_pct_of_value),
                       fill_latency_ms=p.fill_latency_ms, fractional_shares=p.fractional_shares,
                       sse=f"/{p.id}/sse" if settings.workers == 1 else None, streamable_http=f"/{p.id}/mcp",
                       confirm_orders=servers[p.id].order_gate.mode,
                       confirm_orders_note=CONFIRM_NOTES[servers[p.id].order_gate.mode])
            for p in profiles.values()
        ]

    @app.get("/health", response_model=HealthReport, responses={503: {"model": HealthReport}})
    async def health() -> JSONResponse:
        """Each broker's database reachable: 200 when all are, 503 when any is not."""
        report = {}
        for broker_id, engine in engines.items():
            try:
                with anyio.fail_after(settings.health_timeout_s):
                    await anyio.to_thread.run_sync(engine.db.ping, abandon_on_cancel=True)
                report[broker_id] = "ok"
            except TimeoutError:
                report[broker_id] = "unreachable: timeout"
            except Exception as exc:  # any driver error means unreachable; its text may hold the URL
                report[broker_id] = f"unreachable: {type(exc).__name__}"
        ok = all(v == "ok" for v in report.values())
        body = HealthReport(status="ok" if ok else "degraded", brokers=report)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    for broker_id, server in servers.items():
        # json_response: a streamable HTTP POST is answered with one JSON body instead of an SSE stream of one event
        # (a stateless mount has no session to stream anything else on); the stream's tasks were ~30 % of a call's
        # CPU (bench). MCP clients accept both: they send `Accept: application/json, text/event-stream`.
        routes = (server.sse_app(transport_security=security, max_request_body_size=settings.max_body_bytes).routes
                  + server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                               transport_security=security,
                                               max_request_body_size=settings.max_body_bytes).routes)
        guard = BrokerGuard(Starlette(routes=routes), broker_id, keys, rate_limiter, sessions, audit=audit,
                            max_body_bytes=settings.max_body_bytes, workers=settings.workers)
        app.mount(f"/{broker_id}", guard)
    app.broker_mounts = {route.path: route for route in app.router.routes if isinstance(route, Mount)}
    return app


def __getattr__(name: str):
    # `uvicorn gateway.app:app` reads this attribute; building it lazily keeps `import gateway.app`
    # (tests, the CLI, the bench) from opening databases under whatever environment is current.
    if name == "app":
        globals()["app"] = created = create_app(freeze_startup_heap=True)
        return created
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
