"""The broker engine interface over an Alpaca paper account: what the server factory serves for `kind = "alpaca"`.

The book is Alpaca's (account, positions, orders, fills, the market clock); this side keeps only what the safety
features need in the broker's own database, as for the simulated brokers: the kill switch, what was placed each
New York day, and confirmation tokens. An order tool's token is spent, the day's total counted and the order sent to
Alpaca inside one write transaction, so a refusal by Alpaca spends and counts nothing.

Idempotency: every order goes to Alpaca with a client_order_id (ours, or one made here). A place_order whose id
Alpaca already holds answers with that order and places nothing. When the answer to an order is lost (a dropped
connection, a 5xx), the engine asks Alpaca for the id before anything else: the order is either found, or known
not to be there and sent once more under the same id, which Alpaca would refuse to take twice.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_UP, Decimal

from alpaca.trading.enums import OrderClass as AlpacaOrderClass
from alpaca.trading.enums import OrderSide, QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTimeInForce
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import (
    GetOrderByIdRequest,
    GetOrdersRequest,
    GetPortfolioHistoryRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)
from sqlalchemy import Connection

from brokers import controls
from brokers.alpaca.client import AlpacaClient, AlpacaNotConfigured, AlpacaRefused, AlpacaUnavailable
from brokers.alpaca.config import AlpacaKeys
from brokers.clock import EASTERN, eastern
from brokers.domain import (
    AccountView,
    EquityPoint,
    Estimate,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderView,
    PortfolioSummary,
    PositionView,
    Side,
    TimeInForce,
)
from brokers.engine import MAX_LIST_LIMIT, ORDER_STATUS_FILTERS, REPLACEABLE, Gate, halted_text
from brokers.errors import (
    BrokerError,
    DuplicateClientOrderId,
    InvalidRequest,
    OrderNotFound,
    TradingDisabled,
    TradingHalted,
    UnknownSymbol,
    shorten,
)
from brokers.market_data import Prices, Quote
from brokers.money import CENT, ZERO, money, plain, round_down, usd
from brokers.persistence import BrokerDatabase
from brokers.profiles import AlpacaProfile, RiskLimits
from brokers.rules import Available, Trade, broken_rule
from brokers.symbols import SymbolDirectory

log = logging.getLogger(__name__)

CLOCK_TTL_S = 1.0
POLL_S = 0.2
TICKER = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
ACTIVE_AT_ALPACA = {"new", "partially_filled", "accepted", "pending_new", "accepted_for_bidding", "pending_cancel",
                    "pending_replace", "held", "calculated", "stopped", "suspended", "done_for_day", "pending_review"}
STATUS_MAP: dict[str, OrderStatus] = {
    # working at the exchange now
    "new": OrderStatus.OPEN, "partially_filled": OrderStatus.OPEN, "pending_new": OrderStatus.OPEN,
    "accepted_for_bidding": OrderStatus.OPEN, "pending_cancel": OrderStatus.OPEN, "pending_replace": OrderStatus.OPEN,
    "calculated": OrderStatus.OPEN, "stopped": OrderStatus.OPEN, "suspended": OrderStatus.OPEN,
    # taken, waiting for its time: the open (placed while closed, opg), the close (cls), its bracket entry's fill
    "accepted": OrderStatus.QUEUED, "held": OrderStatus.QUEUED, "done_for_day": OrderStatus.QUEUED,
    "pending_review": OrderStatus.QUEUED,
    "filled": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED, "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED, "replaced": OrderStatus.REPLACED,
}
"""Alpaca's order statuses onto ours. A partial fill stays `open`, its filled_quantity says how much is done."""
OUR_TIFS = {t.value for t in TimeInForce}
OUR_TYPES = {t.value for t in OrderType}
IMPORT_REFUSED = ("add_position is refused on a real account: {name} holds what was really bought there, so a "
                  "holding bought elsewhere cannot be imported into it (import it into a simulated broker instead); "
                  "nothing was sent to Alpaca")


def _d(value: object) -> Decimal | None:
    """An Alpaca number (a string, sometimes a float) as a Decimal, exactly as written."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _wire(value: Decimal | None) -> float | None:
    """alpaca-py's request models take floats: our Decimal, converted at the last moment."""
    return None if value is None else float(value)


def _enum_value(value: object) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


class AlpacaClock:
    """Alpaca's market clock (GET /v2/clock), read at most once a second; answers what MarketClock answers."""

    frozen_now = None
    practice = None
    """Alpaca keeps real time: no practice clock."""

    def __init__(self, engine: AlpacaEngine):
        self.engine = engine
        self._cached: tuple[float, object] | None = None

    def _clock(self):
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > CLOCK_TTL_S:
            client = self.engine.client()
            clock = client.call("market clock", client.trading.get_clock, read=True)
            self._cached = (time.monotonic(), clock)
        return self._cached[1]

    def now(self) -> datetime:
        return datetime.now(UTC)

    def is_open(self, _moment: datetime | None = None) -> bool:
        return bool(self._clock().is_open)

    def next_open(self, _moment: datetime | None = None) -> datetime:
        return self._clock().next_open.astimezone(UTC)

    def next_close(self, _moment: datetime | None = None) -> datetime:
        return self._clock().next_close.astimezone(UTC)

    def status(self) -> dict:
        clock = self._clock()
        return {
            "is_open": bool(clock.is_open),
            "now": clock.timestamp.astimezone(EASTERN).isoformat(),
            "next_open": clock.next_open.astimezone(EASTERN).isoformat(),
            "next_close": clock.next_close.astimezone(EASTERN).isoformat(),
            "early_close": clock.next_close.astimezone(EASTERN).hour < 16,
            "frozen": False,
            "source": "alpaca",
        }


class AlpacaEngine:
    """One Alpaca paper account behind the engine interface of brokers.engine.BrokerEngine."""

    quotes_do_io = True
    """A quote is a request to Alpaca: the quote tool runs it in a worker thread."""

    def __init__(self, profile: AlpacaProfile, database: BrokerDatabase, *, directory: SymbolDirectory,
                 limits: RiskLimits | None = None, keys: AlpacaKeys | None = None, problem: str | None = None,
                 client: AlpacaClient | None = None):
        self.profile = profile
        self.db = database
        self.directory = directory
        self.limits = limits or profile.limits
        self.problem = problem
        """Why the broker cannot trade ("not configured: ..."), or None."""
        self.import_refusal = IMPORT_REFUSED.format(name=profile.name)
        self._keys = keys
        self._client = client
        self.clock = AlpacaClock(self)

    # ----------------------------------------------------------------- plumbing

    def client(self) -> AlpacaClient:
        if self.problem:
            raise AlpacaNotConfigured(f"{self.profile.name} ({self.profile.id}) is {self.problem}")
        if self._client is None:
            self._client = AlpacaClient(self.profile, self._keys)
        return self._client

    def halt_state(self) -> controls.HaltState:
        return controls.read_halt_state(self.db)

    @contextmanager
    def _order_transaction(self, gate: Gate | None) -> Iterator[Connection]:
        """The write transaction an order tool sends to Alpaca in: refused while halted, the caller's gate run first."""
        with self.db.write() as connection:
            state = controls.halt_state(connection, self.profile.id)
            if state.halted:
                raise TradingHalted(halted_text(self.profile, state))
            if gate is not None:
                gate(connection)
            yield connection

    def _require_trading(self) -> None:
        if self.limits.read_only:
            raise TradingDisabled(f"{self.profile.name} is in read-only mode: orders and imports are refused")
        self.client()

    def _symbol(self, text: str) -> str:
        """A company name or ticker as Alpaca's ticker: the directory's when it knows it, else a ticker as written."""
        try:
            return self.directory.resolve(text).symbol
        except UnknownSymbol:
            candidate = str(text).strip().removeprefix("$").upper()
            if TICKER.match(candidate):
                return candidate  # Alpaca lists more tickers than our directory; it refuses one it does not know
            raise

    def _security(self, symbol: str) -> tuple[str, str]:
        if symbol in self.directory:
            security = self.directory.get(symbol)
            return security.name, security.sector
        return symbol, ""

    def _with_symbol(self, request: OrderRequest) -> OrderRequest:
        symbol = self._symbol(request.symbol)
        return request if symbol == request.symbol else request.model_copy(update={"symbol": symbol})

    # ----------------------------------------------------------------- reads

    def prices(self, symbol: str) -> tuple[Prices, datetime]:
        return self.client().latest_prices(symbol)

    def quote(self, symbol: str) -> Quote:
        symbol = self._symbol(symbol)
        prices, at = self.prices(symbol)
        return Quote(symbol=symbol, name=self._security(symbol)[0], bid=prices.bid, ask=prices.ask, last=prices.last,
                     timestamp=at, market_open=self.clock.is_open(), source="alpaca")

    def _positions(self) -> list:
        client = self.client()
        return client.call("positions", client.trading.get_all_positions, read=True)

    def positions(self) -> list[PositionView]:
        return [self._position_view(p) for p in self._positions()]

    def _position_view(self, p) -> PositionView:
        name, sector = self._security(p.symbol)
        quantity = _d(p.qty) or ZERO
        cost = money(_d(p.cost_basis) or ZERO)
        unrealized = money(_d(p.unrealized_pl) or ZERO)
        pct = _d(p.unrealized_plpc)
        return PositionView(
            symbol=p.symbol, name=name, quantity=quantity,
            average_cost=(_d(p.avg_entry_price) or ZERO).quantize(Decimal("0.0001")), cost_basis=cost,
            market_price=_d(p.current_price) or ZERO, market_value=money(_d(p.market_value) or ZERO),
            unrealized_pnl=unrealized, unrealized_pnl_pct=(pct * 100).quantize(CENT) if pct is not None else None,
            realized_pnl=ZERO, sector=sector,
        )

    def _open_orders(self) -> list[AlpacaOrder]:
        client = self.client()
        return client.call("open orders", lambda: client.trading.get_orders(
            GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=MAX_LIST_LIMIT)), read=True)

    def account(self, positions: list | None = None) -> AccountView:
        client = self.client()
        account = client.call("account", client.trading.get_account, read=True)
        held = self._positions() if positions is None else positions
        cash = money(_d(account.cash) or ZERO)
        equity = money(_d(account.equity) or ZERO)
        return AccountView(
            broker=self.profile.id, broker_name=self.profile.name, currency=str(account.currency or "USD"),
            # Alpaca reports no starting cash; the equity at the last close is what today's P&L is measured from.
            starting_cash=money(_d(account.last_equity) or ZERO), cash=cash,
            buying_power=money(_d(account.buying_power) or ZERO), equity=equity,
            positions_value=money(_d(account.long_market_value) or ZERO) + money(_d(account.short_market_value) or ZERO),
            realized_pnl=ZERO, unrealized_pnl=sum((money(_d(p.unrealized_pl) or ZERO) for p in held), ZERO),
            fees_paid=money(_d(account.accrued_fees) or ZERO), open_orders=len(self._open_orders()),
            market_open=self.clock.is_open(),
        )

    def portfolio_summary(self) -> PortfolioSummary:
        held = self._positions()
        account = self.account(held)
        return PortfolioSummary(
            broker=self.profile.id, broker_name=self.profile.name, specialty=self.profile.specialty,
            total_positions=len(held), account=account, positions=[self._position_view(p) for p in held],
            equity_curve=self._equity_curve(account),
        )

    def _equity_curve(self, account: AccountView) -> list[EquityPoint]:
        """Alpaca's daily equity for the last month, then now. Its history has equity only: each point's cash is
        today's cash."""
        now = datetime.now(UTC)
        points: list[EquityPoint] = []
        try:
            client = self.client()
            history = client.call("portfolio history", lambda: client.trading.get_portfolio_history(
                GetPortfolioHistoryRequest(period="1M", timeframe="1D")), read=True)
            for stamp, equity in zip(history.timestamp or [], history.equity or [], strict=False):
                if equity is not None and stamp is not None:
                    points.append(EquityPoint(time=datetime.fromtimestamp(stamp, UTC), cash=account.cash,
                                              equity=money(Decimal(str(equity)))))
        except BrokerError as exc:  # the curve is a nicety: the account and positions still answer
            log.info("%s: no portfolio history (%s)", self.profile.id, exc)
        points.append(EquityPoint(time=now, cash=account.cash, equity=account.equity))
        return points

    # ----------------------------------------------------------------- orders: reading

    def _get(self, order_id: str) -> AlpacaOrder:
        client = self.client()
        return client.call(f"order {shorten(order_id)}", lambda: client.trading.get_order_by_id(
            order_id, GetOrderByIdRequest(nested=True)), read=True)

    def _by_client_id(self, client_order_id: str) -> AlpacaOrder | None:
        client = self.client()
        try:
            return client.call(f"order with client_order_id {shorten(client_order_id)}",
                               lambda: client.trading.get_order_by_client_id(client_order_id), read=True)
        except OrderNotFound:
            return None

    def _find(self, order_ref: str) -> AlpacaOrder:
        ref = str(order_ref).strip()
        if not ref:
            raise InvalidRequest("order_id is required")
        if re.fullmatch(r"[0-9a-fA-F-]{36}", ref):
            try:
                return self._get(ref)
            except OrderNotFound:
                pass
        found = self._by_client_id(ref)
        if found is None:
            raise OrderNotFound(f"no order with id or client_order_id {shorten(ref)!r} at {self.profile.name}")
        return found

    def find_order(self, order_ref: str) -> OrderView:
        return self._view(self._find(order_ref))

    def has_client_order_id(self, client_order_id: str) -> bool:
        return self._by_client_id(str(client_order_id).strip()) is not None

    def list_orders(self, status: str = "all", symbol: str | None = None, limit: int = 100) -> list[OrderView]:
        """Orders newest first (a bracket's exits right after their entry), filtered by our status names."""
        status = str(status or "all").strip().lower()
        if status not in ORDER_STATUS_FILTERS:
            raise InvalidRequest(f"status must be one of {', '.join(ORDER_STATUS_FILTERS)}; got {shorten(status)!r}")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}; got {shorten(repr(limit))}")
        query = (QueryOrderStatus.ALL if status == "all" else
                 QueryOrderStatus.OPEN if status in ("active", "queued", "open") else QueryOrderStatus.CLOSED)
        symbols = [self._symbol(symbol)] if symbol else None
        client = self.client()
        found = client.call("orders", lambda: client.trading.get_orders(GetOrdersRequest(
            status=query, limit=MAX_LIST_LIMIT if status not in ("all", "active") else limit, nested=True,
            symbols=symbols)), read=True)
        views: list[OrderView] = []
        for order in found:
            views.append(self._view(order))
            views += [self._view(leg, parent_id=str(order.id)) for leg in order.legs or []]
        if status == "active":
            views = [v for v in views if v.status.is_active]
        elif status != "all":
            views = [v for v in views if v.status.value == status]
        return views[:limit]

    # ----------------------------------------------------------------- orders: estimating

    def _regulatory_fees(self, quantity: Decimal, value: Decimal) -> Decimal:
        """SEC and FINRA fees on a sell, each rounded up to the cent as they are charged: an estimate."""
        sec = (value * self.profile.sec_fee_per_million / 1_000_000).quantize(CENT, rounding=ROUND_UP)
        taf = min((quantity * self.profile.taf_per_share).quantize(CENT, rounding=ROUND_UP), self.profile.taf_maximum)
        return sec + taf

    def _price(self, request: OrderRequest, prices: Prices) -> tuple[Decimal, bool]:
        """The price a request is valued at now, and whether it would execute at once (as BrokerEngine prices it)."""
        buy = request.side is Side.BUY
        market_price = prices.ask if buy else prices.bid
        order_type = request.order_type
        if order_type is OrderType.MARKET:
            return market_price, True
        if order_type is OrderType.LIMIT:
            marketable = market_price <= request.limit_price if buy else market_price >= request.limit_price
            return (market_price if marketable else request.limit_price), marketable
        if order_type is OrderType.TRAILING_STOP:
            distance = request.trail_price if request.trail_price is not None else prices.last * request.trail_percent / 100
            trigger = prices.last + distance if buy else prices.last - distance
        else:
            trigger = request.stop_price
        bound = request.limit_price or trigger
        # Not triggered yet: valued at the worse of the quote and the most it may pay (the least it may get).
        return money(max(market_price, bound) if buy else min(market_price, bound)), False

    def estimate_order(self, request: OrderRequest) -> Estimate:
        """Price, estimated fees and total at Alpaca now (Alpaca's quote and buying power); places nothing."""
        request = self._with_symbol(request)
        client = self.client()
        prices, _at = self.prices(request.symbol)
        account = client.call("account", client.trading.get_account, read=True)
        buying_power = money(_d(account.buying_power) or ZERO)
        is_open = self.clock.is_open()
        price, executes = self._price(request, prices)
        quantity = request.quantity or round_down(request.notional / price, 6)
        value = money(quantity * price)
        fees = ZERO if request.side is Side.BUY else self._regulatory_fees(quantity, value)
        total = value + fees if request.side is Side.BUY else value - fees
        at_open = request.time_in_force in (TimeInForce.OPG, TimeInForce.CLS) or not is_open
        fills_now = executes and not at_open
        executes_at = None
        if at_open:
            executes_at = self.clock.next_close() if request.time_in_force is TimeInForce.CLS else (
                self.clock.next_open() if not is_open or request.time_in_force is TimeInForce.OPG else None)
        reason = self._broken_rule(request, quantity, price, value, fees, buying_power)
        when = ("fills now" if fills_now else f"queued at Alpaca until {eastern(executes_at)}" if executes_at
                else "rests at Alpaca until its price is reached")
        verb = "Buying" if request.side is Side.BUY else "Selling"
        fee_text = ("no commission" if request.side is Side.BUY else
                    f"fees {usd(fees)} (estimated SEC and FINRA fees on a sell; Alpaca charges no commission)")
        message = (f"{verb} {plain(quantity)} {request.symbol} on {self.profile.name}: about {usd(price)} a share "
                   f"(Alpaca's {'ask' if request.side is Side.BUY else 'bid'} {usd(prices.ask if request.side is Side.BUY else prices.bid)}), "
                   f"value {usd(value)}, {fee_text}, total {usd(total)}")
        message += f". It would be rejected: {reason}" if reason else f"; {when}."
        return Estimate(
            broker=self.profile.id, broker_name=self.profile.name, symbol=request.symbol, side=request.side,
            quantity=quantity, notional=request.notional, order_type=request.order_type,
            limit_price=request.limit_price, stop_price=request.stop_price, trail_percent=request.trail_percent,
            trail_price=request.trail_price, order_class=request.order_class,
            take_profit_price=request.take_profit_price, stop_loss_price=request.stop_loss_price,
            stop_loss_limit_price=request.stop_loss_limit_price, time_in_force=request.time_in_force,
            expected_price=price, trade_value=value, fees=fees, total=total, fills_now=fills_now,
            executes_at=executes_at, fill_latency_ms=self.profile.fill_latency_ms, buying_power=buying_power,
            would_be_rejected=reason, message=message,
        )

    def _broken_rule(self, request: OrderRequest, quantity: Decimal, price: Decimal, value: Decimal, fees: Decimal,
                     buying_power: Decimal) -> str | None:
        held = reserved = ZERO
        if request.side is Side.SELL:
            position = next((p for p in self._positions() if p.symbol == request.symbol), None)
            if position is not None:
                held = _d(position.qty) or ZERO
                available = _d(position.qty_available)
                reserved = held - available if available is not None else ZERO
        cap_price = max(price, request.limit_price) if request.side is Side.BUY and request.limit_price else price
        trade = Trade(request.symbol, request.side, quantity, request.notional, price, value, fees,
                      money(quantity * cap_price))
        return broken_rule(self.profile, self.limits, trade, Available(buying_power, "buying power", held, reserved))

    # ----------------------------------------------------------------- orders: changing

    def _limits_value(self, request: OrderRequest) -> Decimal | None:
        """What the per-order and per-day limits count for this request, priced at Alpaca's quote (None: no limit
        is set, so no quote is asked for)."""
        if self.limits.max_order_notional is None and self.limits.max_daily_notional is None:
            return None
        prices, _at = self.prices(request.symbol)
        price, _ = self._price(request, prices)
        if request.side is Side.BUY and request.limit_price is not None:
            price = max(price, request.limit_price)
        quantity = request.quantity or round_down(request.notional / price, 6)
        return money(quantity * price)

    def _check_limits(self, request: OrderRequest, value: Decimal | None) -> None:
        name = self.profile.name
        allow = self.limits.symbol_allowlist
        if allow is not None and request.symbol not in allow:
            raise InvalidRequest(f"{request.symbol} is not on {name}'s allowed symbols ({', '.join(allow)}); nothing "
                                 "was sent to Alpaca")
        cap = self.limits.max_order_notional
        if cap is not None and value is not None and value > cap:
            raise InvalidRequest(f"order value {usd(value)} is over {name}'s per-order limit of {usd(cap)}; nothing "
                                 "was sent to Alpaca")

    def _sdk_request(self, request: OrderRequest, client_order_id: str):
        fields = {
            "symbol": request.symbol, "side": OrderSide(request.side.value),
            "time_in_force": AlpacaTimeInForce(request.time_in_force.value), "client_order_id": client_order_id,
            "qty": _wire(request.quantity), "notional": _wire(request.notional),
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        if request.order_class is OrderClass.BRACKET:
            fields["order_class"] = AlpacaOrderClass.BRACKET
            fields["take_profit"] = TakeProfitRequest(limit_price=_wire(request.take_profit_price))
            stop_loss = {"stop_price": _wire(request.stop_loss_price)}
            if request.stop_loss_limit_price is not None:
                stop_loss["limit_price"] = _wire(request.stop_loss_limit_price)
            fields["stop_loss"] = StopLossRequest(**stop_loss)
        order_type = request.order_type
        if order_type is OrderType.MARKET:
            return MarketOrderRequest(**fields)
        if order_type is OrderType.LIMIT:
            return LimitOrderRequest(**fields, limit_price=_wire(request.limit_price))
        if order_type is OrderType.STOP:
            return StopOrderRequest(**fields, stop_price=_wire(request.stop_price))
        if order_type is OrderType.STOP_LIMIT:
            return StopLimitOrderRequest(**fields, stop_price=_wire(request.stop_price),
                                         limit_price=_wire(request.limit_price))
        trail = {"trail_percent": _wire(request.trail_percent)} if request.trail_percent is not None else {
            "trail_price": _wire(request.trail_price)}
        return TrailingStopOrderRequest(**fields, **trail)

    def _submit(self, request: OrderRequest, client_order_id: str) -> AlpacaOrder:
        """Send the order; after a lost answer find it by its client_order_id, or send it once more under that id."""
        client = self.client()
        sdk_request = self._sdk_request(request, client_order_id)

        def send() -> AlpacaOrder:
            return client.call(f"{request.side.value} {request.symbol}", lambda: client.trading.submit_order(sdk_request),
                               read=False)

        try:
            return send()
        except AlpacaRefused as refused:
            if refused.duplicate_client_order_id:
                found = self._by_client_id(client_order_id)
                if found is not None:
                    return found
            raise
        except AlpacaUnavailable as lost:
            if not lost.maybe_received:  # rate limited past the bound: Alpaca did nothing
                raise
            log.warning("%s: order %s: %s; looking it up by client_order_id", self.profile.id, client_order_id, lost)
            try:
                found = self._by_client_id(client_order_id)
            except AlpacaUnavailable:
                raise AlpacaUnavailable(
                    f"{lost}. Whether Alpaca took the order is not known yet: retry with client_order_id "
                    f"{client_order_id!r}, which Alpaca never places twice", maybe_received=True) from None
            if found is not None:
                return found
            try:
                return send()  # it is not at Alpaca: sending it again under the same id cannot double it
            except AlpacaUnavailable as again:
                raise AlpacaUnavailable(
                    f"{again}. The order may not have been placed; retry with client_order_id {client_order_id!r}: "
                    "Alpaca never places one id twice", maybe_received=True) from None

    def _settle(self, order: AlpacaOrder) -> AlpacaOrder:
        """A market order Alpaca has taken while the market is open fills in a moment: wait for that, briefly."""
        wait_s = self.profile.fill_wait_ms / 1000
        if _enum_value(order.type) != "market" or _enum_value(order.status) not in ("new", "pending_new",
                                                                                     "accepted", "partially_filled"):
            return order
        try:
            if not self.clock.is_open():
                return order
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and _enum_value(order.status) in ("new", "pending_new", "accepted",
                                                                                "partially_filled"):
                time.sleep(POLL_S)
                order = self._get(str(order.id))
        except BrokerError as exc:  # it was placed; the answer is the order as last seen
            log.info("%s: could not follow order %s: %s", self.profile.id, order.id, exc)
        return order

    def _same_order(self, order: AlpacaOrder, request: OrderRequest) -> bool:
        return (order.symbol == request.symbol and _enum_value(order.side) == request.side.value
                and _d(order.qty) == request.quantity and _d(order.notional) == request.notional
                and (_enum_value(order.type) or "market") == request.order_type.value
                and _d(order.limit_price) == request.limit_price)

    def place_order(self, request: OrderRequest, gate: Gate | None = None) -> OrderView:
        """Send an order to Alpaca (or answer with the one its client_order_id already names there)."""
        self._require_trading()
        request = self._with_symbol(request)
        if request.client_order_id:
            existing = self._by_client_id(request.client_order_id)
            if existing is not None:
                if not self._same_order(existing, request):
                    raise DuplicateClientOrderId(
                        f"client_order_id {request.client_order_id!r} was already used at Alpaca for a different order "
                        f"({_enum_value(existing.side)} {plain(_d(existing.qty) or _d(existing.notional))} "
                        f"{existing.symbol}); nothing was placed")
                return self._view(existing, note="Already placed with this client_order_id; nothing new was placed.")
        client_order_id = request.client_order_id or f"tc-{uuid.uuid4().hex}"
        value = self._limits_value(request)
        with self._order_transaction(gate) as connection:
            self._check_limits(request, value)
            if value is not None:
                controls.count_today(connection, self.limits.max_daily_notional, self.profile.name,
                                     datetime.now(UTC), value)
            order = self._submit(request, client_order_id)
        log.info("%s: placed %s %s %s (%s)", self.profile.id, request.side.value, request.symbol, client_order_id,
                 _enum_value(order.status))
        return self._view(self._settle(order))

    def cancel_order(self, order_ref: str, gate: Gate | None = None) -> OrderView:
        """Cancel a queued or open order at Alpaca by id or client_order_id (a filled bracket entry: its exits)."""
        self._require_trading()
        order = self._find(order_ref)
        targets = [order] if _enum_value(order.status) in ACTIVE_AT_ALPACA else [
            leg for leg in order.legs or [] if _enum_value(leg.status) in ACTIVE_AT_ALPACA]
        if not targets:
            status = STATUS_MAP.get(_enum_value(order.status), OrderStatus.OPEN)
            raise InvalidRequest(f"order {order.id} is {status.value}; only queued or open orders can be cancelled")
        client = self.client()
        with self._order_transaction(gate):
            for target in targets:
                client.call(f"cancel order {target.id}", lambda t=target: client.trading.cancel_order_by_id(t.id),
                            read=False)
        if targets[0] is order:  # Alpaca cancels asynchronously (pending_cancel first)
            order = self._follow(str(order.id), lambda o: _enum_value(o.status) not in ACTIVE_AT_ALPACA)
            note = None
        else:
            order = self._get(str(order.id))
            note = f"Cancelled its {len(targets)} working bracket exits."
        return self._view(order, note=note)

    def _follow(self, order_id: str, done) -> AlpacaOrder:
        """The order once `done(order)` holds, or as it stands after a short wait (Alpaca acts asynchronously)."""
        deadline = time.monotonic() + self.profile.fill_wait_ms / 1000
        order = self._get(order_id)
        while not done(order) and time.monotonic() < deadline:
            time.sleep(POLL_S)
            order = self._get(order_id)
        return order

    def replace_order(self, order_ref: str, gate: Gate | None = None, **changes: object) -> OrderView:
        """Replace a queued or open order at Alpaca (PATCH): the old one becomes `replaced`, the new one replaces it."""
        self._require_trading()
        unknown = sorted(set(changes) - set(REPLACEABLE))
        if unknown:
            raise InvalidRequest(f"replace_order cannot change {', '.join(unknown)}; it changes {', '.join(REPLACEABLE)}")
        changes = {name: value for name, value in changes.items() if value is not None}
        if not changes:
            raise InvalidRequest(f"replace_order needs at least one of {', '.join(REPLACEABLE)}")
        old = self._find(order_ref)
        if _enum_value(old.status) not in ACTIVE_AT_ALPACA:
            raise InvalidRequest(f"order {old.id} is {STATUS_MAP.get(_enum_value(old.status), OrderStatus.OPEN).value}; "
                                 "only queued or open orders can be replaced")
        view = self._view(old)
        fields = {"symbol": view.symbol, "side": view.side.value, "quantity": view.quantity, "notional": view.notional,
                  "order_type": view.order_type.value, "limit_price": view.limit_price,
                  "time_in_force": view.time_in_force.value, "stop_price": view.stop_price,
                  "trail_percent": view.trail_percent, "trail_price": view.trail_price}
        if "quantity" in changes:
            fields["notional"] = None
        before = OrderRequest.parse(**fields)
        request = OrderRequest.parse(**{**fields, **changes})  # the same checks as a new order, naming the bad value
        if request.quantity is not None and request.quantity != request.quantity.to_integral_value():
            raise InvalidRequest(f"Alpaca replaces whole-share quantities only; got quantity {plain(request.quantity)}")
        trail = request.trail_percent if "trail_percent" in changes else request.trail_price if "trail_price" in changes else None
        patch = ReplaceOrderRequest(
            qty=int(request.quantity) if "quantity" in changes else None,
            time_in_force=AlpacaTimeInForce(request.time_in_force.value) if "time_in_force" in changes else None,
            limit_price=_wire(request.limit_price) if "limit_price" in changes else None,
            stop_price=_wire(request.stop_price) if "stop_price" in changes else None,
            trail=_wire(trail),
        )
        # The limits hold for a replacement as for a new order; only what it adds counts against today's total.
        value, was = self._limits_value(request), self._limits_value(before)
        client = self.client()
        with self._order_transaction(gate) as connection:
            self._check_limits(request, value)
            if value is not None:
                controls.count_today(connection, self.limits.max_daily_notional, self.profile.name, datetime.now(UTC),
                                     value - (was or ZERO), replacing=str(old.id))
            new = client.call(f"replace order {old.id}", lambda: client.trading.replace_order_by_id(old.id, patch),
                              read=False)
        return self._view(new, note=f"It replaces order {old.id}.")

    def add_position(self, symbol: str, quantity: object, purchase_price: object, gate: Gate | None = None):
        raise BrokerError(self.import_refusal)

    # ----------------------------------------------------------------- views

    def _executes_at(self, status: OrderStatus, tif: TimeInForce) -> datetime | None:
        if status is not OrderStatus.QUEUED:
            return None
        try:
            return self.clock.next_close() if tif is TimeInForce.CLS else self.clock.next_open()
        except BrokerError:
            return None

    def _view(self, order: AlpacaOrder, note: str | None = None, parent_id: str | None = None) -> OrderView:
        alpaca_status = _enum_value(order.status) or "new"
        raw_tif = _enum_value(order.time_in_force) or "day"
        tif = TimeInForce(raw_tif) if raw_tif in OUR_TIFS else TimeInForce.DAY  # ioc / fok: a day order to us
        status = STATUS_MAP.get(alpaca_status, OrderStatus.OPEN)
        if status is OrderStatus.OPEN and tif in (TimeInForce.OPG, TimeInForce.CLS):
            status = OrderStatus.QUEUED  # an auction order waits for the open or the close
        raw_type = _enum_value(order.type) or _enum_value(order.order_type) or "market"
        order_type = OrderType(raw_type) if raw_type in OUR_TYPES else OrderType.MARKET
        bracket = _enum_value(order.order_class) == "bracket"
        legs = order.legs or []
        take_profit = next((_d(leg.limit_price) for leg in legs if _enum_value(leg.type) == "limit"), None)
        stop_leg = next((leg for leg in legs if _enum_value(leg.type) in ("stop", "stop_limit")), None)
        filled = _d(order.filled_qty) or ZERO
        average = _d(order.filled_avg_price)
        view = OrderView(
            id=str(order.id), client_order_id=order.client_order_id, broker=self.profile.id,
            symbol=order.symbol or "", side=Side(_enum_value(order.side) or "buy"), quantity=_d(order.qty),
            notional=_d(order.notional), order_type=order_type, limit_price=_d(order.limit_price),
            stop_price=_d(order.stop_price), trail_percent=_d(order.trail_percent), trail_price=_d(order.trail_price),
            high_water_mark=_d(order.hwm), time_in_force=tif, status=status, filled_quantity=filled,
            average_fill_price=average if average else None, fees=ZERO,
            submitted_at=order.submitted_at or order.created_at, filled_at=order.filled_at,
            executes_at=self._executes_at(status, tif), expires_at=order.expires_at,
            reject_reason="rejected by Alpaca" if status is OrderStatus.REJECTED else None,
            order_class=OrderClass.BRACKET if bracket else OrderClass.SIMPLE, parent_id=parent_id,
            take_profit_price=take_profit if parent_id is None else None,
            stop_loss_price=_d(stop_leg.stop_price) if stop_leg is not None and parent_id is None else None,
            stop_loss_limit_price=_d(stop_leg.limit_price) if stop_leg is not None and parent_id is None else None,
            replaces=str(order.replaces) if order.replaces else None,
            message="",
        )
        text = self._describe(view, alpaca_status)
        return view.model_copy(update={"message": " ".join(filter(None, [text, note]))})

    def _describe(self, view: OrderView, alpaca_status: str) -> str:
        name = f"{self.profile.name}"
        size = (f"{plain(view.quantity)} {view.symbol}" if view.quantity is not None
                else f"{usd(view.notional)} of {view.symbol}")
        verb = "Buy" if view.side is Side.BUY else "Sell"
        kind = "" if view.order_type is OrderType.MARKET else view.order_type.value.replace("_", " ") + " "
        limit = f" at {usd(view.limit_price)}" if view.limit_price is not None else ""
        if view.status is OrderStatus.FILLED:
            past = "Bought" if view.side is Side.BUY else "Sold"
            price = view.average_fill_price or ZERO
            return (f"{past} {plain(view.filled_quantity)} {view.symbol} at {usd(price)} on {name}; value "
                    f"{usd(money(view.filled_quantity * price))}, no commission (paper account at Alpaca).")
        if view.status is OrderStatus.QUEUED:
            when = f", {eastern(view.executes_at)}" if view.executes_at else ""
            moment = "the close" if view.time_in_force is TimeInForce.CLS else "the open"
            return f"{verb} {kind}{size}{limit} queued at {name} (Alpaca: {alpaca_status}); it executes at {moment}{when}."
        if view.status is OrderStatus.OPEN:
            done = f", {plain(view.filled_quantity)} filled so far" if view.filled_quantity else ""
            return f"{verb} {kind}{size}{limit} is working at {name} (Alpaca: {alpaca_status}{done})."
        return f"{verb} {kind}{size}{limit} at {name} is {view.status.value} (Alpaca: {alpaca_status})."
