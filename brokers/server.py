"""One factory builds every broker's MCP server from its profile: same tools, typed results.

Business failures (a rejected order, an unknown symbol) come back as tool errors whose text gives
the reason; a rejected order also carries its record as structured content. Unknown arguments are
refused (a typo like `qty` silently dropped would trade the wrong size).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, StrictFloat, StrictInt

from brokers.clock import eastern
from brokers.domain import (
    AccountView,
    Estimate,
    OrderRequest,
    OrdersResult,
    OrderStatus,
    OrderView,
    PortfolioSummary,
    PositionsResult,
    PositionView,
)
from brokers.engine import BrokerEngine
from brokers.errors import BrokerError, shorten
from brokers.market_data import Quote
from brokers.money import plain, usd
from brokers.profiles import BrokerProfile

log = logging.getLogger(__name__)

ORDER_TOOLS = frozenset({"place_order", "cancel_order", "add_position"})
"""Tools that change the book: they need approval in the agent and the trade scope at the gateway."""

# Strict: JSON true must not become quantity 1 (pydantic would coerce a bool to a number).
Number = str | StrictInt | StrictFloat
Symbol = Annotated[str, Field(description="Ticker (AAPL) or company name (Apple)", max_length=5000)]
Quantity = Annotated[Number | None, Field(description="Shares, as a decimal string, e.g. '10' or '1.5'")]
Notional = Annotated[Number | None, Field(description="Dollar amount instead of a quantity, e.g. '500'")]
LimitPrice = Annotated[Number | None, Field(description="Limit price in dollars; required when order_type is 'limit'")]
SideArg = Annotated[str, Field(description="'buy' or 'sell'")]
OrderTypeArg = Annotated[str, Field(description="'market' (default) or 'limit'")]
TifArg = Annotated[
    str, Field(description="'day' (default), 'gtc' good till cancelled, 'opg' at the next open, 'cls' at the close")
]
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
    market: dict[str, Any]


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


def build_server(profile: BrokerProfile, engine: BrokerEngine, **server_options: Any) -> MCPServer:
    """The MCP server for one broker. Every broker gets the same ten tools."""
    server = MCPServer(
        name=profile.name,
        instructions=(
            f"{profile.name} paper-trading broker ({profile.specialty}). "
            "Money, prices and quantities are decimal strings. Use estimate_order before place_order to show fees."
        ),
        **server_options,
    )
    server.middleware.append(_refuse_malformed_calls(server))
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
    writes = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)

    @server.tool(annotations=read_only)
    def get_broker_profile() -> Annotated[CallToolResult, BrokerProfileResult]:
        """This broker's specialty, fee schedule, fill latency, share rules, limits and the market clock."""
        limits = engine.limits
        result = BrokerProfileResult(
            id=profile.id,
            name=profile.name,
            specialty=profile.specialty,
            fill_latency_ms=profile.fill_latency_ms,
            fractional_shares=profile.fractional_shares,
            commission_per_share=plain(profile.commission.per_share),
            commission_minimum=plain(profile.commission.minimum),
            commission_max_pct_of_value=plain(profile.commission.max_pct_of_value),
            fee_schedule=profile.commission.describe(),
            starting_cash=str(profile.starting_cash),
            max_order_notional=None if limits.max_order_notional is None else str(limits.max_order_notional),
            symbol_allowlist=list(limits.symbol_allowlist) if limits.symbol_allowlist is not None else None,
            read_only=limits.read_only,
            market=engine.clock.status(),
        )
        shares = "fractional shares" if profile.fractional_shares else "whole shares only"
        text = (
            f"{profile.name}: {profile.specialty}. Fees: {profile.commission.describe()}. "
            f"Typical fill {profile.fill_latency_ms} ms; {shares}."
        )
        return _text_result(result, text)

    # async: a quote is computed in memory from the simulated feed (~20 us, no database, no network), so it runs
    # on the event loop; a sync tool would hop to a worker thread and back (most of a gateway call's cost, bench).
    # A quote source that does I/O must make this a sync tool again.
    @server.tool(annotations=read_only)
    async def get_quote(symbol: Symbol) -> Annotated[CallToolResult, Quote]:
        """Current simulated bid, ask and last price for a ticker or company name."""
        quote = _business(lambda: engine.quote(symbol))
        state = "market open" if quote.market_open else "market closed, last close"
        text = f"{quote.symbol} ({quote.name}): bid {usd(quote.bid)}, ask {usd(quote.ask)}, last {usd(quote.last)} ({state})."
        return _text_result(quote, text)

    @server.tool(annotations=read_only)
    def get_account() -> Annotated[CallToolResult, AccountView]:
        """Cash, buying power, equity, realized and unrealized P&L and fees paid at this broker."""
        account = _business(engine.account)
        text = (
            f"{profile.name}: cash {usd(account.cash)}, buying power {usd(account.buying_power)}, "
            f"equity {usd(account.equity)}, unrealized P&L {usd(account.unrealized_pnl)}, "
            f"realized P&L {usd(account.realized_pnl)}, fees paid {usd(account.fees_paid)}."
        )
        return _text_result(account, text)

    @server.tool(annotations=read_only)
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

    @server.tool(annotations=read_only)
    def get_portfolio_summary() -> Annotated[CallToolResult, PortfolioSummary]:
        """Account totals, positions and equity over time for this broker."""
        summary = _business(engine.portfolio_summary)
        account = summary.account
        text = (
            f"{profile.name} ({profile.specialty}): {summary.total_positions} positions, equity {usd(account.equity)}, "
            f"cash {usd(account.cash)}, unrealized P&L {usd(account.unrealized_pnl)}, realized P&L {usd(account.realized_pnl)}."
        )
        return _text_result(summary, text)

    @server.tool(annotations=read_only)
    def estimate_order(
        symbol: Symbol,
        side: SideArg,
        quantity: Quantity = None,
        notional: Notional = None,
        order_type: OrderTypeArg = "market",
        limit_price: LimitPrice = None,
        time_in_force: TifArg = "day",
    ) -> Annotated[CallToolResult, Estimate]:
        """Expected price, fees and total cost of an order at this broker, and whether it fills now; places nothing."""
        request = _business(
            lambda: OrderRequest.parse(
                symbol=symbol, side=side, quantity=quantity, notional=notional,
                order_type=order_type, limit_price=limit_price, time_in_force=time_in_force,
            )
        )
        estimate = _business(lambda: engine.estimate_order(request))
        return _text_result(estimate, estimate.message)

    @server.tool(annotations=writes)
    def place_order(
        symbol: Symbol,
        side: SideArg,
        quantity: Quantity = None,
        notional: Notional = None,
        order_type: OrderTypeArg = "market",
        limit_price: LimitPrice = None,
        time_in_force: TifArg = "day",
        client_order_id: ClientOrderId = None,
    ) -> Annotated[CallToolResult, OrderView]:
        """Place a market or limit order; while the market is closed it is queued for the next open."""
        request = _business(
            lambda: OrderRequest.parse(
                symbol=symbol, side=side, quantity=quantity, notional=notional, order_type=order_type,
                limit_price=limit_price, time_in_force=time_in_force, client_order_id=client_order_id,
            )
        )
        order = _business(lambda: engine.place_order(request))
        text = order.message + (f" Order id {order.id}." if order.status is not OrderStatus.REJECTED else "")
        return _text_result(order, text, is_error=order.status is OrderStatus.REJECTED)

    @server.tool(annotations=writes)
    def cancel_order(order_id: Annotated[str, Field(description="Order id or client_order_id", max_length=200)]) -> Annotated[CallToolResult, OrderView]:
        """Cancel a queued or open order."""
        order = _business(lambda: engine.cancel_order(order_id))
        return _text_result(order, f"Cancelled order {order.id}: {order.side.value} {order.symbol}.")

    @server.tool(annotations=read_only)
    def list_orders(
        status: Annotated[str, Field(description="all (default), active (queued or open), queued, open, filled, cancelled, rejected, expired")] = "all",
        symbol: Annotated[str | None, Field(description="Only this ticker or company")] = None,
        limit: Annotated[StrictInt, Field(description="Most recent N orders", ge=1, le=500)] = 100,
    ) -> Annotated[CallToolResult, OrdersResult]:
        """Orders at this broker, newest first, filtered by status and symbol."""
        orders = _business(lambda: engine.list_orders(status=status, symbol=symbol, limit=limit))
        lines = [f"{o.id} {o.side.value} {plain(o.quantity or o.notional)} {o.symbol} {o.status.value}" for o in orders[:20]]
        more = f" (+{len(orders) - 20} more)" if len(orders) > 20 else ""
        text = f"{profile.name}: {len(orders)} orders" + (": " + "; ".join(lines) + more if lines else "") + "."
        return _text_result(OrdersResult(broker=profile.id, orders=orders), text)

    @server.tool(annotations=writes)
    def add_position(
        symbol: Symbol,
        quantity: Annotated[Number, Field(description="Shares held")],
        purchase_price: Annotated[Number, Field(description="Price paid per share")],
    ) -> Annotated[CallToolResult, PositionView]:
        """Record a holding bought elsewhere (an import) at its purchase price; cash is not touched."""
        position = _business(lambda: engine.add_position(symbol, quantity, purchase_price))
        text = (
            f"Imported {plain(position.quantity)} {position.symbol} at {usd(position.average_cost)} average cost "
            f"into {profile.name} (no cash moved)."
        )
        return _text_result(position, text)

    log.info("%s server ready; market %s", profile.name, "open" if engine.clock.is_open() else f"closed until {eastern(engine.clock.next_open())}")
    return server
