"""The person's yes before an order tool changes anything, enforced in the server whatever the MCP client is.

Three modes (TRADING_CONFIRM_ORDERS, or the profile's `confirm_orders`; default `elicit`):
- `elicit`: the server asks the person through MCP elicitation (a one-line summary and a boolean `confirm`) before
  the tool runs. It works on both protocol revisions, through a `Resolve(...)` tool parameter: on <= 2025-11-25 the
  SDK sends `elicitation/create` mid-call, on 2026-07-28 it returns an `InputRequiredResult` and the client answers
  on its retry. A client that declared no elicitation, or a transport with no way to ask (a stateless JSON-response
  HTTP mount on the older protocol), gets `token` instead.
- `token`: a call without `confirmation_token` places nothing and returns a preview with the exact arguments and a
  single-use token that expires after two minutes; the same call with the token executes. The token is bound to
  the tool, the arguments and the caller, stored (hashed) in the broker's database and spent in the same
  transaction as the order, so two processes can never both spend it.
- `off`: executes at once. Only for a client that asks the person itself (the console's approval card).
No tool call can change the mode: it is read from the server's settings when the server is built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import anyio.to_thread
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from mcp_types import CallToolResult, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field
from sqlalchemy import Connection, insert, select, update

from brokers.domain import Estimate, OrderRequest
from brokers.engine import BrokerEngine, Gate, halted_text
from brokers.errors import BrokerError, TradingHalted
from brokers.money import plain, usd
from brokers.persistence import ConfirmationRow
from brokers.profiles import BrokerProfile

log = logging.getLogger(__name__)

ConfirmMode = Literal["off", "token", "elicit"]
CONFIRM_MODES: tuple[str, ...] = ("off", "token", "elicit")
TOKEN_LIFETIME = timedelta(seconds=120)
INPUT_REQUIRED_VERSION = "2026-07-28"
"""The first protocol revision on which elicitation rides an InputRequiredResult (no server-to-client request)."""
confirmations = ConfirmationRow.__table__


class Confirm(BaseModel):
    """The form the person answers."""

    confirm: bool = Field(description="true to go ahead; false (or decline) changes nothing")


class ConfirmationPreview(BaseModel):
    """What an order tool would do, returned instead of doing it: call again with the same arguments and the token."""

    status: Literal["confirmation_required"] = "confirmation_required"
    environment: Literal["paper"] = "paper"
    broker: str
    tool: str
    summary: str
    """The one line the person confirms: what, where, price, fees, total, when."""
    arguments: dict[str, Any]
    """The exact arguments the confirmed call must repeat (plus confirmation_token)."""
    estimate: Estimate | None = None
    """For place_order: the broker's estimate now."""
    confirmation_token: str
    expires_at: datetime
    """When the token stops working (120 s after the preview)."""
    message: str


ConfirmationStatus = Literal["declined", "confirmation_expired", "confirmation_used", "confirmation_mismatch",
                             "confirmation_other_caller", "confirmation_unknown"]


class ConfirmationOutcome(BaseModel):
    """An order tool call that changed nothing because the person said no or the token did not fit."""

    status: ConfirmationStatus
    environment: Literal["paper"] = "paper"
    broker: str
    tool: str
    message: str


class ConfirmationRefused(Exception):
    """A confirmation_token that cannot be spent on this call; `status` says why. Not a BrokerError: the tool
    answers it with a structured outcome (the audit records its status), not a plain tool error."""

    def __init__(self, status: ConfirmationStatus, message: str):
        self.status = status
        super().__init__(message)


def canonical_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments a token confirms: every given one but the token itself, numbers as their text."""
    return {name: value if isinstance(value, str | bool) else str(value)
            for name, value in sorted(arguments.items()) if value is not None and name != "confirmation_token"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Confirmation tokens in the broker's database: issued with a preview, spent once inside the order's transaction."""

    def __init__(self, engine: BrokerEngine, now: Callable[[], datetime] | None = None):
        self.engine = engine
        self.now = now or (lambda: datetime.now(UTC))
        """Wall-clock time, not the market clock: a frozen demo market must not freeze the two minutes."""

    def issue(self, tool: str, arguments: dict[str, Any], caller: str) -> tuple[str, datetime]:
        token = secrets.token_urlsafe(24)
        now = self.now()
        expires = now + TOKEN_LIFETIME
        with self.engine.db.write() as connection:
            connection.execute(insert(confirmations), {
                "token_hash": _digest(token), "tool": tool, "arguments": json.dumps(arguments, sort_keys=True),
                "caller": caller[:200], "created_at": now, "expires_at": expires, "used_at": None,
            })
        return token, expires

    def spender(self, token: str, tool: str, arguments: dict[str, Any], caller: str) -> Gate:
        """A gate that spends `token` for exactly this call, inside the engine's write transaction."""

        def spend(connection: Connection) -> None:
            row = connection.execute(
                select(confirmations.c.tool, confirmations.c.arguments, confirmations.c.caller,
                       confirmations.c.expires_at, confirmations.c.used_at)
                .where(confirmations.c.token_hash == _digest(str(token)))
            ).first()
            if row is None:
                raise ConfirmationRefused("confirmation_unknown", f"confirmation_token {token[:12]!r}… is not one this "
                                          "broker issued; call without it to get a preview and a token")
            issued_tool, issued_arguments, issued_caller, expires_at, used_at = row
            now = self.now()
            if used_at is not None:
                raise ConfirmationRefused("confirmation_used", f"this confirmation_token was already used at "
                                          f"{used_at.isoformat(timespec='seconds')}; a token confirms one call once")
            if issued_caller != caller[:200]:
                raise ConfirmationRefused("confirmation_other_caller", "this confirmation_token was issued to "
                                          "another caller; only the caller that got the preview can confirm it")
            if now >= expires_at:
                raise ConfirmationRefused("confirmation_expired", f"this confirmation_token expired at "
                                          f"{expires_at.isoformat(timespec='seconds')} ({int(TOKEN_LIFETIME.total_seconds())} s "
                                          "after its preview); call without it for a new preview")
            previewed = json.loads(issued_arguments)
            if issued_tool != tool or previewed != arguments:
                raise ConfirmationRefused("confirmation_mismatch", _difference(issued_tool, previewed, tool, arguments))
            connection.execute(update(confirmations).where(confirmations.c.token_hash == _digest(str(token))),
                               {"used_at": now})

        return spend


def _difference(issued_tool: str, previewed: dict[str, Any], tool: str, arguments: dict[str, Any]) -> str:
    if issued_tool != tool:
        return f"this confirmation_token confirms {issued_tool}, not {tool}; nothing was done"
    changed = [f"{name} {previewed.get(name)!r} in the preview, {arguments.get(name)!r} now"
               for name in sorted(set(previewed) | set(arguments)) if previewed.get(name) != arguments.get(name)]
    return ("the arguments differ from the preview the token confirms (" + "; ".join(changed)
            + "); nothing was done: call without the token for a new preview")


_SESSION_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def session_caller(ctx: Context) -> str:
    """The caller a token is bound to when no API key names one: the MCP session.

    On protocol <= 2025-11-25 that is the session object (one per connection, given a fresh id). On 2026-07-28
    every request stands alone (a new session object each time): the HTTP session id when the client sends one, else
    the server's one client (a stdio server serves exactly one)."""
    version = ctx.protocol_version
    if version is None or not is_version_at_least(version, INPUT_REQUIRED_VERSION):
        # The per-request ServerSession wraps the connection, which lives as long as the client's session.
        connection = getattr(ctx.session, "_connection", None) or ctx.session
        try:
            return _SESSION_IDS.setdefault(connection, f"session:{uuid.uuid4().hex}")
        except TypeError:  # not weak-referenceable
            return f"session:{id(connection)}"
    headers = ctx.headers or {}
    session_id = headers.get("mcp-session-id")
    return f"http-session:{session_id}" if session_id else "client-of-this-server"


@dataclass(frozen=True)
class Decision:
    """What the resolver decided before the tool body runs."""

    kind: Literal["execute", "token"]


class OrderGate:
    """One broker server's confirmation: the mode, who the caller is, the summary the person confirms."""

    def __init__(self, profile: BrokerProfile, engine: BrokerEngine, mode: str,
                 caller_of: Callable[[Context], str | None] | None = None,
                 now: Callable[[], datetime] | None = None):
        if mode not in CONFIRM_MODES:
            raise ValueError(f"confirm_orders must be one of {', '.join(CONFIRM_MODES)}; got {mode!r}")
        self.profile = profile
        self.engine = engine
        self.mode = mode
        self.caller_of = caller_of
        self.tokens = TokenStore(engine, now)

    def caller(self, ctx: Context) -> str:
        named = self.caller_of(ctx) if self.caller_of is not None else None
        return named or session_caller(ctx)

    @staticmethod
    def can_elicit(ctx: Context) -> bool:
        """Whether this client can be asked on this call: it declared form elicitation, and either the protocol
        carries the question in the result (2026-07-28) or the transport can send a request mid-call."""
        capabilities = ctx.client_capabilities
        elicitation = capabilities.elicitation if capabilities is not None else None
        if elicitation is None or (elicitation.form is None and elicitation.url is not None):
            return False
        version = ctx.protocol_version
        if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
            return True
        return bool(getattr(ctx.session, "can_send_request", False))

    # ------------------------------------------------------------------ before the body (the resolver)

    def question(self, tool: str, arguments: dict[str, Any], can_elicit: bool) -> Elicit[Confirm] | Decision:
        """Ask the person, or say how the body goes on: at once (off, a retry of a placed order) or by token."""
        if self.mode == "off" or self._is_retry(tool, arguments) or (tool == "add_position" and self.engine.import_refusal):
            return Decision("execute")  # (an import into a real account: the body refuses it, nobody is asked)
        if self.mode == "token" or not can_elicit or arguments.get("confirmation_token"):
            return Decision("token")
        if self.engine.halt_state().halted:
            return Decision("token")  # the token path refuses with the reason; nobody is asked to confirm
        try:
            summary, _estimate = self.summary(tool, arguments)
        except BrokerError:
            return Decision("token")  # the body meets the same error and reports it
        return Elicit(f"{summary} Confirm on {self.profile.name} ({self.profile.id}, paper account)?", Confirm)

    def _is_retry(self, tool: str, arguments: dict[str, Any]) -> bool:
        client_order_id = arguments.get("client_order_id")
        return tool == "place_order" and isinstance(client_order_id, str) and bool(client_order_id.strip()) and \
            self.engine.has_client_order_id(client_order_id)

    # ------------------------------------------------------------------ in the body

    def run(self, ctx: Context, tool: str, arguments: dict[str, Any], answer: Any,
            execute: Callable[[Gate | None, str | None], CallToolResult]) -> CallToolResult:
        """The body of an order tool: execute, decline, preview or spend the token, as the answer says."""
        decision = answer.data if isinstance(answer, AcceptedElicitation) else answer
        if isinstance(decision, Confirm):
            if decision.confirm:
                return execute(None, "elicited")
            return self._declined(tool, "the person answered confirm: false")
        if not isinstance(answer, AcceptedElicitation):  # declined or cancelled
            return self._declined(tool, f"the person {'cancelled' if answer.action == 'cancel' else 'declined'}")
        if isinstance(decision, Decision) and decision.kind == "execute":
            return execute(None, None)
        confirmed = canonical_arguments(arguments)
        caller = self.caller(ctx)
        token = arguments.get("confirmation_token")
        if not token:
            return self.preview(tool, confirmed, caller)
        try:
            return execute(self.tokens.spender(str(token), tool, confirmed, caller), "token")
        except ConfirmationRefused as refused:
            outcome = ConfirmationOutcome(status=refused.status, broker=self.profile.id, tool=tool,
                                          message=f"Refused: {refused} (environment: paper).")
            log.info("%s %s: %s", self.profile.id, tool, refused.status)
            return CallToolResult(content=[TextContent(type="text", text=outcome.message)],
                                  structured_content=outcome.model_dump(mode="json"), is_error=True)

    def _declined(self, tool: str, why: str) -> CallToolResult:
        outcome = ConfirmationOutcome(
            status="declined", broker=self.profile.id, tool=tool,
            message=f"Not done: {why}, so {self.profile.name} changed nothing ({tool} declined; paper account).")
        return CallToolResult(content=[TextContent(type="text", text=outcome.message)],
                              structured_content=outcome.model_dump(mode="json"))

    def preview(self, tool: str, arguments: dict[str, Any], caller: str) -> CallToolResult:
        state = self.engine.halt_state()
        if state.halted:
            raise TradingHalted(halted_text(self.profile, state))
        summary, estimate = self.summary(tool, arguments)
        token, expires = self.tokens.issue(tool, arguments, caller)
        preview = ConfirmationPreview(
            broker=self.profile.id, tool=tool, summary=summary, arguments=arguments, estimate=estimate,
            confirmation_token=token, expires_at=expires,
            message=(f"Nothing was done yet. {summary} To go ahead, call {tool} again with exactly these arguments "
                     f"and confirmation_token {token} before {expires.isoformat(timespec='seconds')} (single use, "
                     "paper account)."),
        )
        return CallToolResult(content=[TextContent(type="text", text=preview.message)],
                              structured_content=preview.model_dump(mode="json"))

    def summary(self, tool: str, arguments: dict[str, Any]) -> tuple[str, Estimate | None]:
        """The one line the person confirms; place_order's comes from the broker's estimate."""
        name = self.profile.name
        if tool == "place_order":
            fields = {k: v for k, v in arguments.items() if k != "confirmation_token"}
            estimate = self.engine.estimate_order(OrderRequest.parse(**fields))
            if estimate.would_be_rejected:
                raise _Rejected(estimate.would_be_rejected)
            return estimate.message, estimate
        if tool in ("cancel_order", "replace_order"):
            order = self.engine.find_order(str(arguments.get("order_id", "")))
            size = plain(order.quantity) if order.quantity is not None else usd(order.notional)
            what = (f"order {order.id} ({order.side.value} {size} {order.symbol} {order.order_type.value}"
                    f"{' at ' + usd(order.limit_price) if order.limit_price is not None else ''}, {order.status.value})")
            if tool == "cancel_order":
                return f"Cancel {what} on {name}.", None
            changes = ", ".join(f"{k} {v}" for k, v in arguments.items() if k not in ("order_id", "confirmation_token"))
            return f"Replace {what} on {name} with {changes or 'no change'}.", None
        if tool == "add_position":
            price = arguments.get("purchase_price")
            return (f"Import {arguments.get('quantity')} {str(arguments.get('symbol', '')).upper()} at "
                    f"${price} a share into {name} as a holding bought elsewhere (no cash moves).", None)
        raise BrokerError(f"{tool} is not an order tool")


class _Rejected(BrokerError):
    """An order the broker would refuse: nobody is asked to confirm it (the body places it and records the reason)."""


CURRENT_GATE: ContextVar[OrderGate | None] = ContextVar("brokers_order_gate", default=None)
"""The gate of the server handling this call, set by its middleware (the resolver is a module-level function)."""


async def ask_person(ctx: Context) -> Elicit[Confirm] | Decision:
    """Resolver of every order tool's `answer` parameter: runs before the body, on every protocol round."""
    gate = CURRENT_GATE.get()
    if gate is None:
        raise RuntimeError("an order tool ran outside its server's middleware")
    params = ctx.request_context.params or {}
    tool = str(params.get("name"))
    arguments = params.get("arguments") or {}
    if not isinstance(arguments, dict):
        arguments = {}
    can_elicit = gate.can_elicit(ctx)
    return await anyio.to_thread.run_sync(lambda: gate.question(tool, dict(arguments), can_elicit))


def gate_middleware(gate: OrderGate):
    async def middleware(ctx, call_next):
        token = CURRENT_GATE.set(gate)
        try:
            return await call_next(ctx)
        finally:
            CURRENT_GATE.reset(token)

    return middleware


