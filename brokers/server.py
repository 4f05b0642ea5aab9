"""One factory builds every broker's MCP server from its profile: same tools, typed results.

Business failures (a rejected order, an unknown symbol) come back as tool errors whose text gives
the reason; a rejected order also carries its record as structured content. Unknown arguments are
refused (a typo like `qty` silently dropped would trade the wrong size).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

import anyio.to_thread
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field, StrictFloat, StrictInt, TypeAdapter

from brokers.clock import ClockMove, eastern
from brokers.confirmation import (
    CONFIRM_MODES,
    Confirm,
    ConfirmationOutcome,
    ConfirmationPreview,
    OrderGate,
    ask_person,
    gate_middleware,
)
from brokers.domain import (
    AccountView,
    Estimate,
    OrderRequest,
    OrdersResult,
    OrderStatus,
    OrderType,
    OrderView,
    PortfolioSummary,
    PositionsResult,
    PositionView,
    Side,
    TimeInForce,
)
from brokers.engine import ORDER_STATUS_FILTERS, BrokerEngine
from brokers.errors import BrokerError, shorten
from brokers.market_data import Quote
from brokers.money import plain, usd
from brokers.profiles import BrokerProfile
from brokers.runtime import confirm_mode
from brokers.settings import get_settings

log = logging.getLogger(__name__)


def _read(title: str) -> ToolAnnotations:
    return ToolAnnotations(title=title, readOnlyHint=True, openWorldHint=False)


def _write(title: str, *, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(title=title, readOnlyHint=False, destructiveHint=True, idempotentHint=idempotent,
                           openWorldHint=False)


TOOL_ANNOTATIONS: dict[str, ToolAnnotations] = {
    "get_broker_profile": _read("Broker profile"),
    "get_quote": _read("Quote"),
    "get_account": _read("Account"),
    "fetch_positions": _read("Positions"),
    "get_portfolio_summary": _read("Portfolio summary"),
    "estimate_order": _read("Estimate an order"),
    "list_orders": _read("List orders"),
    # A retry of place_order is harmless only when it carries a client_order_id, so the tool as such is not
    # idempotent; cancel and replace name the order, and a second call finds it already cancelled or replaced.
    "place_order": _write("Place an order", idempotent=False),
    "cancel_order": _write("Cancel an order", idempotent=True),
    "replace_order": _write("Replace an order", idempotent=True),
    "add_position": _write("Import a position", idempotent=False),
}
"""Every tool's MCP annotations, stated explicitly: the one place that says which tools change the book."""

ORDER_TOOLS = frozenset(name for name, hints in TOOL_ANNOTATIONS.items() if not hints.read_only_hint)
"""Tools that change the book (derived from the annotations): the trade scope at the gateway."""
PRACTICE_CLOCK_TOOL = "move_practice_clock"
"""Served only by a broker started with the practice clock (the local console's); never part of a gateway."""
PRACTICE_CLOCK_ANNOTATIONS = ToolAnnotations(title="Move the practice clock", readOnlyHint=False, destructiveHint=False,
                                             idempotentHint=False, openWorldHint=False)


def _wire_word(value: object) -> object:
    """' BUY ' is 'buy': the enums are published lower case, and a client's capitals are not an error."""
    return value.strip().lower() if isinstance(value, str) else value


# Strict: JSON true must not become quantity 1 (pydantic would coerce a bool to a number).
Number = str | StrictInt | StrictFloat
Symbol = Annotated[str, Field(description="Ticker (AAPL) or company name (Apple)", max_length=5000)]
Quantity = Annotated[Number | None, Field(description="Shares, as a decimal string, e.g. '10' or '1.5'")]
Notional = Annotated[Number | None, Field(description="Dollar amount instead of a quantity, e.g. '500'")]
LimitPrice = Annotated[Number | None, Field(description="Limit price in dollars; for order_type 'limit' and 'stop_limit'")]
StopPrice = Annotated[Number | None, Field(
    description="Trigger in dollars for order_type 'stop' and 'stop_limit': a buy stop triggers at or above it, a sell "
                "stop at or below")]
TrailPercent = Annotated[Number | None, Field(
    description="Trailing stop: trigger this many percent behind the best price since placement (or trail_price)")]
TrailPrice = Annotated[Number | None, Field(
    description="Trailing stop: trigger this many dollars behind the best price since placement (or trail_percent)")]
TakeProfit = Annotated[Number | None, Field(
    description="Bracket: with stop_loss_price, once this buy fills a sell limit at this price takes the profit")]
StopLoss = Annotated[Number | None, Field(
    description="Bracket: with take_profit_price, once this buy fills a sell stop at this price cuts the loss; the "
                "first exit to fill cancels the other")]
StopLossLimit = Annotated[Number | None, Field(
    description="Bracket: makes the stop-loss exit a stop-limit with this limit")]
SideWord = Literal["buy", "sell"]
OrderTypeWord = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TifWord = Literal["day", "gtc", "opg", "cls"]
StatusFilter = Literal["all", "active", "queued", "open", "filled", "cancelled", "rejected", "expired", "replaced"]
# The published enums are the domain's own values (checked at import, so the two can never drift apart).
for _word, _values in ((SideWord, Side), (OrderTypeWord, OrderType), (TifWord, TimeInForce),
                       (StatusFilter, ORDER_STATUS_FILTERS)):
    if set(get_args(_word)) != {getattr(value, "value", value) for value in _values}:
        raise RuntimeError(f"{_values} differ from the tool enum {get_args(_word)}")
SideArg = Annotated[SideWord, BeforeValidator(_wire_word), Field(description="buy or sell")]
OrderTypeArg = Annotated[OrderTypeWord, BeforeValidator(_wire_word), Field(
    description="market (default), limit, stop, stop_limit or trailing_stop")]
TifArg = Annotated[TifWord, BeforeValidator(_wire_word), Field(
    description="day (default), gtc good till cancelled, opg at the next open, cls at the close (opg and cls: market "
                "and limit orders only)")]
OptionalTifArg = Annotated[TifWord | None, BeforeValidator(_wire_word), Field(
    description="A new time in force: day, gtc, opg or cls")]
ConfirmationToken = Annotated[str | None, Field(
    description="The confirmation_token from this tool's preview, with the same arguments, to execute it (when the "
                "broker confirms by token)", max_length=200)]
PersonsAnswer = Annotated[ElicitationResult[Confirm], Resolve(ask_person)]
"""Filled before the body runs, never by the caller: the person's answer to the elicitation, or how to go on."""
ClientOrderId = Annotated[
    str | None, Field(description="Your id for this order: a retry with the same id places nothing twice")
]


class BrokerProfileResult(BaseModel):
    """A broker's profile and the market clock, for choosing a broker."""

    id: str
    name: str
    specialty: str
    fill_latency_ms: int
    fractional_shares: bool
    commission_per_share: str
    commission_minimum: str
    commission_max_pct_of_value: str
    fee_schedule: str
    starting_cash: str
    max_order_notional: str | None
    symbol_allowlist: list[str] | None
    read_only: bool
    max_daily_notional: str | None = None
    """Most that orders placed in one New York day may add up to; null for no daily limit."""
    confirm_orders: Literal["off", "token", "elicit"]
    """How order tools get the person's yes: elicit (asked through MCP elicitation, else a token), token, or off."""
    halted: bool
    """The kill switch (`python -m brokers halt`): while true every order tool is refused and nothing fills."""
    halt_reason: str | None = None
    environment: Literal["paper"] = "paper"
    kind: Literal["simulated", "alpaca"] = "simulated"
    """simulated (our paper engine) or alpaca (a paper account at Alpaca: its account, prices and fills)."""
    configured: bool = True
    """False when the broker cannot trade yet (an Alpaca broker without keys): `problem` says why."""
    problem: str | None = None
    market: dict[str, Any]
    """The market clock (for an Alpaca broker, Alpaca's own; `error` when it cannot be read)."""


def _text_result(model: BaseModel, text: str, *, is_error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=model.model_dump(mode="json"),
        is_error=is_error,
    )


def _business(call: Callable[[], Any]) -> Any:
    """Run an engine call; a business failure becomes a tool error with its reason."""
    try:
        return call()
    except BrokerError as exc:
        raise ToolError(str(exc)) from None


def _refuse_malformed_calls(server: MCPServer):
    """Refuse a tool call the SDK would take or answer badly, naming what is wrong in a short tool error:
    unknown arguments (which it would silently drop), arguments that are not an object and a tool name that is
    not a string (which it answers with a bare "Invalid request parameters"), and an unknown tool (which it would
    echo back in full, however long the name)."""

    def refuse(text: str) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)

    async def middleware(ctx, call_next):
        if ctx.method == "tools/call":
            params = ctx.params if isinstance(ctx.params, dict) else getattr(ctx.params, "__dict__", {}) or {}
            name = params.get("name")
            arguments = params.get("arguments")
            if not isinstance(name, str):
                return refuse(f"Error: tools/call needs the tool name as a string; got {type(name).__name__} "
                              f"{shorten(repr(name))}")
            tool = server._tool_manager.get_tool(name)
            if tool is None:
                listed = ", ".join(sorted(t.name for t in server._tool_manager.list_tools()))
                return refuse(f"Unknown tool: {shorten(name)!r}; this broker's tools: {listed}")
            if arguments is not None and not isinstance(arguments, dict):
                return refuse(f"Error executing tool {name}: arguments must be an object of named fields; got "
                              f"{type(arguments).__name__} {shorten(repr(arguments))}")
            allowed = set(tool.parameters.get("properties", {}))
            unknown = sorted(set(arguments or {}) - allowed)
            if unknown:
                listed = ", ".join(sorted(allowed)) or "none"
                shown = ", ".join(repr(shorten(u)) for u in unknown[:10])
                return refuse(f"Error executing tool {name}: unknown argument(s) {shown}; allowed: {listed}")
        return await call_next(ctx)

    return middleware


def _arguments(local_names: dict[str, Any], tool_function: Callable[..., Any]) -> dict[str, Any]:
    """A tool's own arguments from its `locals()` at the top of its body (the injected ctx and answer left out)."""
    names = inspect.signature(tool_function).parameters
    return {name: local_names[name] for name in names if name not in ("ctx", "answer")}


def _publish_confirmation_outputs(server: MCPServer, name: str) -> None:
    """An order tool answers with its result, a confirmation preview, or a declined/refused outcome: publish that
    as one object schema (oneOf the three) and validate against the same union. The SDK would wrap a plain union
    in {"result": ...}, which would change every order tool's result shape."""
    metadata = server._tool_manager.get_tool(name).fn_metadata
    union = metadata.output_model | ConfirmationPreview | ConfirmationOutcome
    schema = TypeAdapter(union).json_schema()
    metadata.output_model = union
    metadata.output_schema = {"type": "object", "oneOf": schema["anyOf"], "$defs": schema.get("$defs", {})}


class ClockResult(BaseModel):
    """The market clock after a practice clock move."""

    practice: bool
    """True while the brokers follow the practice clock, false for real time (or TRADING_NOW)."""
    now: str
    is_open: bool
    next_open: str
    next_close: str


def _market_line(engine: BrokerEngine) -> str:
    try:
        return "market open" if engine.clock.is_open() else f"market closed until {eastern(engine.clock.next_open())}"
    except BrokerError as exc:  # an Alpaca broker without keys or network starts all the same
        return str(exc)


def build_server(
    profile: BrokerProfile,
    engine: BrokerEngine,
    *,
    confirm_orders: str | None = None,
    caller_of: Callable[[Context], str | None] | None = None,
    token_clock: Callable[[], Any] | None = None,
    **server_options: Any,
) -> MCPServer:
    """The MCP server for one broker. Every broker gets the same eleven tools.

    `confirm_orders` (off, token, elicit; default: TRADING_CONFIRM_ORDERS, the profile, elicit) is how its order
    tools get the person's yes; `caller_of` names the caller a confirmation token is bound to (the gateway passes
    the API key's name; default: the MCP session); `token_clock` is for tests of expiry.
    """
    mode = confirm_orders or confirm_mode(profile, get_settings())
    if mode not in CONFIRM_MODES:
        raise ValueError(f"confirm_orders must be one of {', '.join(CONFIRM_MODES)}; got {mode!r}")
    order_gate = OrderGate(profile, engine, mode, caller_of, token_clock)
    server = MCPServer(
        name=profile.name,
        instructions=(
            f"{profile.name} paper-trading broker ({profile.specialty}). "
            "Money, prices and quantities are decimal strings. Use estimate_order before place_order to show fees."
        ),
        **server_options,
    )
    server.middleware.append(_refuse_malformed_calls(server))
    server.middleware.append(gate_middleware(order_gate))
    server.order_gate = order_gate  # the gateway reports each broker's mode from it

    def tool(name: str):
        return server.tool(name=name, annotations=TOOL_ANNOTATIONS[name])

    @tool("get_broker_profile")
    def get_broker_profile() -> Annotated[CallToolResult, BrokerProfileResult]:
        """This broker's specialty, fee schedule, fill latency, share rules, limits and the market clock."""
        limits = engine.limits
        halt = _business(engine.halt_state)
        problem = getattr(engine, "problem", None)
        try:
            market = engine.clock.status()
        except BrokerError as exc:  # an Alpaca broker that cannot reach Alpaca still says who it is
            market = {"error": str(exc)}
        result = BrokerProfileResult(
            id=profile.id,
            name=profile.name,
            specialty=profile.specialty,
            fill_latency_ms=profile.fill_latency_ms,
            fractional_shares=profile.fractional_shares,
            commission_per_share=plain(profile.commission.per_share),
            commission_minimum=plain(profile.commission.minimum),
            commission_max_pct_of_value=plain(profile.commission.max_pct_of_value),
            fee_schedule=profile.fee_schedule(),
            starting_cash=str(profile.starting_cash),
            max_order_notional=None if limits.max_order_notional is None else str(limits.max_order_notional),
            symbol_allowlist=list(limits.symbol_allowlist) if limits.symbol_allowlist is not None else None,
            read_only=limits.read_only,
            max_daily_notional=None if limits.max_daily_notional is None else str(limits.max_daily_notional),
            confirm_orders=order_gate.mode,
            halted=halt.halted,
            halt_reason=halt.reason,
            kind=profile.kind,
            configured=problem is None,
            problem=problem,
            market=market,
        )
        shares = "fractional shares" if profile.fractional_shares else "whole shares only"
        text = (
            f"{profile.name}: {profile.specialty}. Fees: {profile.fee_schedule()}. "
            f"Typical fill {profile.fill_latency_ms} ms; {shares}. Paper account; orders confirmed by {order_gate.mode}."
            + (f" HALTED: {halt.reason or 'no reason given'}; order tools are refused." if halt.halted else "")
            + (f" {profile.name} is {problem}." if problem else "")
        )
        return _text_result(result, text)

    # async: a quote is computed in memory from the simulated feed (~20 us, no database, no network), so it runs
    # on the event loop; a sync tool would hop to a worker thread and back (most of a gateway call's cost, bench).
    # A quote that waits on the network (Alpaca's, or TRADING_QUOTES=alpaca) runs in a worker thread instead.
    quotes_do_io = engine.quotes_do_io

    @tool("get_quote")
    async def get_quote(symbol: Symbol) -> Annotated[CallToolResult, Quote]:
        """Current bid, ask and last price for a ticker or company name; `source` says whose (simulated or Alpaca's)."""
        if quotes_do_io:
            quote = await anyio.to_thread.run_sync(lambda: _business(lambda: engine.quote(symbol)))
        else:
            quote = _business(lambda: engine.quote(symbol))
        state = "market open" if quote.market_open else "market closed, last close"
        text = (f"{quote.symbol} ({quote.name}): bid {usd(quote.bid)}, ask {usd(quote.ask)}, last {usd(quote.last)} "
                f"({state}; {'Alpaca' if quote.source == 'alpaca' else 'simulated'} quote).")
        return _text_result(quote, text)

    @tool("get_account")
    def get_account() -> Annotated[CallToolResult, AccountView]:
        """Cash, buying power, equity, realized and unrealized P&L and fees paid at this broker."""
        account = _business(engine.account)
        text = (
            f"{profile.name}: cash {usd(account.cash)}, buying power {usd(account.buying_power)}, "
            f"equity {usd(account.equity)}, unrealized P&L {usd(account.unrealized_pnl)}, "
            f"realized P&L {usd(account.realized_pnl)}, fees paid {usd(account.fees_paid)}."
        )
        return _text_result(account, text)

    @tool("fetch_positions")
    def fetch_positions() -> Annotated[CallToolResult, PositionsResult]:
        """Every position held at this broker with average cost, market value and P&L."""
        positions = _business(engine.positions)
        result = PositionsResult(broker=profile.id, positions=positions)
        lines = [
            f"{p.symbol} {plain(p.quantity)} @ avg {usd(p.average_cost)}, now {usd(p.market_price)}, "
            f"value {usd(p.market_value)}, unrealized {usd(p.unrealized_pnl)}"
            for p in positions
        ]
        return _text_result(result, f"{profile.name} positions: " + ("; ".join(lines) if lines else "none") + ".")

    @tool("get_portfolio_summary")
    def get_portfolio_summary() -> Annotated[CallToolResult, PortfolioSummary]:
        """Account totals, positions and equity over time for this broker."""
        summary = _business(engine.portfolio_summary)
        account = summary.account
        text = (
            f"{profile.name} ({profile.specialty}): {summary.total_positions} positions, equity {usd(account.equity)}, "
            f"cash {usd(account.cash)}, unrealized P&L {usd(account.unrealized_pnl)}, realized P&L {usd(account.realized_pnl)}."
        )
        return _text_result(summary, text)

    @tool("estimate_order")
    def estimate_order(
        symbol: Symbol,
        side: SideArg,
        quantity: Quantity = None,
        notional: Notional = None,
        order_type: OrderTypeArg = "market",
        limit_price: LimitPrice = None,
        time_in_force: TifArg = "day",
        client_order_id: ClientOrderId = None,
        stop_price: StopPrice = None,
        trail_percent: TrailPercent = None,
        trail_price: TrailPrice = None,
        take_profit_price: TakeProfit = None,
        stop_loss_price: StopLoss = None,
        stop_loss_limit_price: StopLossLimit = None,
    ) -> Annotated[CallToolResult, Estimate]:
        """Expected price, fees and total cost of an order at this broker, and whether it fills now; places nothing.

        Takes exactly what place_order takes (client_order_id is checked, not used)."""
        request = _business(
            lambda: OrderRequest.parse(
                symbol=symbol, side=side, quantity=quantity, notional=notional, order_type=order_type,
                limit_price=limit_price, time_in_force=time_in_force, client_order_id=client_order_id,
                stop_price=stop_price, trail_percent=trail_percent, trail_price=trail_price,
                take_profit_price=take_profit_price, stop_loss_price=stop_loss_price,
                stop_loss_limit_price=stop_loss_limit_price,
            )
        )
        estimate = _business(lambda: engine.estimate_order(request))
        return _text_result(estimate, estimate.message)

    @tool("place_order")
    def place_order(
        ctx: Context,
        answer: PersonsAnswer,
        symbol: Symbol,
        side: SideArg,
        quantity: Quantity = None,
        notional: Notional = None,
        order_type: OrderTypeArg = "market",
        limit_price: LimitPrice = None,
        time_in_force: TifArg = "day",
        client_order_id: ClientOrderId = None,
        stop_price: StopPrice = None,
        trail_percent: TrailPercent = None,
        trail_price: TrailPrice = None,
        take_profit_price: TakeProfit = None,
        stop_loss_price: StopLoss = None,
        stop_loss_limit_price: StopLossLimit = None,
        confirmation_token: ConfirmationToken = None,
    ) -> Annotated[CallToolResult, OrderView]:
        """Place a market, limit, stop, stop-limit or trailing-stop order, or a bracket (a market or limit buy with
        take_profit_price and stop_loss_price); while the market is closed it is queued for the next open. The broker
        asks the person first (elicitation), or returns a preview whose confirmation_token the same call repeats."""
        arguments = _arguments(locals(), place_order)

        def execute(gate, confirmation) -> CallToolResult:
            request = _business(lambda: OrderRequest.parse(
                **{k: v for k, v in arguments.items() if k != "confirmation_token"}))
            order = _business(lambda: engine.place_order(request, gate))
            order = order.model_copy(update={"confirmation": confirmation})
            text = order.message + (f" Order id {order.id}." if order.status is not OrderStatus.REJECTED else "")
            return _text_result(order, text, is_error=order.status is OrderStatus.REJECTED)

        return _business(lambda: order_gate.run(ctx, "place_order", arguments, answer, execute))

    @tool("cancel_order")
    def cancel_order(
        ctx: Context,
        answer: PersonsAnswer,
        order_id: Annotated[str, Field(description="Order id or client_order_id", max_length=200)],
        confirmation_token: ConfirmationToken = None,
    ) -> Annotated[CallToolResult, OrderView]:
        """Cancel a queued or open order (confirmed by the person first, like every order tool)."""
        arguments = _arguments(locals(), cancel_order)

        def execute(gate, confirmation) -> CallToolResult:
            order = _business(lambda: engine.cancel_order(order_id, gate))
            order = order.model_copy(update={"confirmation": confirmation})
            text = (order.message if order.status is not OrderStatus.CANCELLED
                    else f"Cancelled order {order.id}: {order.side.value} {order.symbol}.")
            return _text_result(order, text)

        return _business(lambda: order_gate.run(ctx, "cancel_order", arguments, answer, execute))

    @tool("replace_order")
    def replace_order(
        ctx: Context,
        answer: PersonsAnswer,
        order_id: Annotated[str, Field(description="Order id or client_order_id of a queued or open order", max_length=200)],
        quantity: Annotated[Number | None, Field(description="New size in shares")] = None,
        limit_price: Annotated[Number | None, Field(description="New limit price (limit, stop_limit)")] = None,
        stop_price: Annotated[Number | None, Field(description="New stop price (stop, stop_limit)")] = None,
        trail_percent: Annotated[Number | None, Field(description="New trail in percent (trailing_stop)")] = None,
        trail_price: Annotated[Number | None, Field(description="New trail in dollars (trailing_stop)")] = None,
        time_in_force: OptionalTifArg = None,
        confirmation_token: ConfirmationToken = None,
    ) -> Annotated[CallToolResult, OrderView]:
        """Replace a queued or open order with new size, prices or time in force: the old one becomes 'replaced' and
        the new one says which it replaces."""
        arguments = _arguments(locals(), replace_order)

        def execute(gate, confirmation) -> CallToolResult:
            order = _business(lambda: engine.replace_order(
                order_id, gate, quantity=quantity, limit_price=limit_price, stop_price=stop_price,
                trail_percent=trail_percent, trail_price=trail_price, time_in_force=time_in_force,
            ))
            order = order.model_copy(update={"confirmation": confirmation})
            return _text_result(order, order.message + f" Order id {order.id}.")

        return _business(lambda: order_gate.run(ctx, "replace_order", arguments, answer, execute))

    @tool("list_orders")
    def list_orders(
        status: Annotated[StatusFilter, BeforeValidator(_wire_word), Field(
            description="all (default), active (queued or open), or one status")] = "all",
        symbol: Annotated[str | None, Field(description="Only this ticker or company")] = None,
        limit: Annotated[StrictInt, Field(description="Most recent N orders", ge=1, le=500)] = 100,
    ) -> Annotated[CallToolResult, OrdersResult]:
        """Orders at this broker, newest first, filtered by status and symbol."""
        orders = _business(lambda: engine.list_orders(status=status, symbol=symbol, limit=limit))
        lines = [f"{o.id} {o.side.value} {plain(o.quantity or o.notional)} {o.symbol}"
                 f"{'' if o.order_type.value == 'market' else ' ' + o.order_type.value} {o.status.value}"
                 f"{' (bracket exit of ' + o.parent_id + ')' if o.parent_id else ''}" for o in orders[:20]]
        more = f" (+{len(orders) - 20} more)" if len(orders) > 20 else ""
        text = f"{profile.name}: {len(orders)} orders" + (": " + "; ".join(lines) + more if lines else "") + "."
        return _text_result(OrdersResult(broker=profile.id, orders=orders), text)

    @tool("add_position")
    def add_position(
        ctx: Context,
        answer: PersonsAnswer,
        symbol: Symbol,
        quantity: Annotated[Number, Field(description="Shares held")],
        purchase_price: Annotated[Number, Field(description="Price paid per share")],
        confirmation_token: ConfirmationToken = None,
    ) -> Annotated[CallToolResult, PositionView]:
        """Record a holding bought elsewhere (an import) at its purchase price; cash is not touched."""
        arguments = _arguments(locals(), add_position)
        if engine.import_refusal:  # a real account (Alpaca): nothing to confirm, nothing sent
            raise ToolError(engine.import_refusal)

        def execute(gate, _confirmation) -> CallToolResult:
            position = _business(lambda: engine.add_position(symbol, quantity, purchase_price, gate))
            text = (
                f"Imported {plain(position.quantity)} {position.symbol} at {usd(position.average_cost)} average cost "
                f"into {profile.name} (no cash moved)."
            )
            return _text_result(position, text)

        return _business(lambda: order_gate.run(ctx, "add_position", arguments, answer, execute))

    if engine.clock.practice is not None:

        @server.tool(name=PRACTICE_CLOCK_TOOL, annotations=PRACTICE_CLOCK_ANNOTATIONS)
        def move_practice_clock(
            action: Annotated[ClockMove, Field(description="practice (start at the next session open), real_time, "
                                               "next_open, close (the next close) or plus_hour")],
        ) -> Annotated[CallToolResult, ClockResult]:
            """The console's practice clock, shared by its local brokers: start it, stop it, or jump it forward."""
            _business(lambda: engine.clock.move(action))
            market = engine.clock.status()
            result = ClockResult(**{k: market[k] for k in ("practice", "now", "is_open", "next_open", "next_close")})
            text = (f"Practice clock: {eastern(engine.clock.now())}." if result.practice
                    else f"Real time: {eastern(engine.clock.now())}.") + (" Market open." if result.is_open else " Market closed.")
            return _text_result(result, text)

    for name in ORDER_TOOLS:
        _publish_confirmation_outputs(server, name)
    log.info("%s server ready; %s", profile.name, _market_line(engine))
    return server
