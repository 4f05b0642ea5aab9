"""The paper-trading engine: one broker's account, orders, fills and positions. No MCP, no UI.

Every state change runs in one database transaction: an order, its fill, the cash and the
position commit together or not at all. Queued and resting orders are processed whenever the
engine is used (and at start), once their time has come, so no background scheduler is needed.
Cash identity, always: starting cash + sells - buys - fees == cash.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from brokers.book import ACTIVE_STATUSES, Book, OrderRecord, PositionRecord, orders
from brokers.clock import MarketClock, eastern
from brokers.domain import (
    MAX_NOTIONAL,
    MAX_QUANTITY,
    QUANTITY_PLACES,
    AccountView,
    EquityPoint,
    Estimate,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderView,
    PortfolioSummary,
    PositionView,
    Side,
    TimeInForce,
    _positive,
    price_places,
)
from brokers.errors import DuplicateClientOrderId, InvalidRequest, OrderNotFound, TradingDisabled, shorten
from brokers.market_data import Prices, Quote, SimulatedFeed
from brokers.money import ZERO, money, plain, round_down, usd
from brokers.persistence import BrokerDatabase
from brokers.profiles import BrokerProfile, RiskLimits
from brokers.symbols import SymbolDirectory

log = logging.getLogger(__name__)

ORDER_STATUS_FILTERS = ("all", "active", *(s.value for s in OrderStatus))
MAX_LIST_LIMIT = 500
EQUITY_CURVE_POINTS = 500
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    """What the engine would do with a request right now: price, size, cost, and when."""

    quantity: Decimal | None
    price: Decimal
    trade_value: Decimal
    fees: Decimal
    fills_now: bool
    status: OrderStatus
    executes_at: datetime | None
    expires_at: datetime | None
    reject_reason: str | None


class BrokerEngine:
    """One broker's book, backed by its own database."""

    def __init__(
        self,
        profile: BrokerProfile,
        database: BrokerDatabase,
        *,
        clock: MarketClock,
        directory: SymbolDirectory,
        feed: SimulatedFeed | None = None,
        limits: RiskLimits | None = None,
    ):
        self.profile = profile
        self.db = database
        self.clock = clock
        self.directory = directory
        self.feed = feed or SimulatedFeed(directory, clock)
        self.limits = limits or profile.limits
        self._ensure_account()
        self.process_due()

    # ----------------------------------------------------------------- transactions

    def _ensure_account(self) -> None:
        try:
            with self._writing() as book:
                book.load()
                if book.account is None:
                    book.open_account(self.profile.starting_cash, self.clock.now())
        except IntegrityError:
            pass  # another process opened the account at the same moment

    @contextmanager
    def _writing(self) -> Iterator[Book]:
        """A write transaction's book: its changes are written just before the commit, or dropped with an error."""
        with self.db.write() as connection:
            book = Book(connection, self.db)
            yield book
            book.flush()

    def _read(self, answer: Callable[[Book, datetime, list[OrderRecord]], T], symbol: str | None = None) -> T:
        """`answer(book, now, active orders)` from one consistent read that takes no write lock.

        Only when the read finds an order whose time has come does it take the write transaction, process
        the due orders there and answer from the book as it then stands.
        """
        with self.db.read() as connection:
            book = Book(connection, self.db)
            book.load(symbol)
            now = self.clock.now()
            active = book.active_orders()
            if not any(self._is_due(order, now) for order in active):
                return answer(book, now, active)
        with self._writing() as book:
            book.load(symbol)
            now = self.clock.now()
            active = self._process_due(book, now)
            book.flush()  # the answer reads positions, orders and fills back from the database
            return answer(book, now, active)

    # ----------------------------------------------------------------- orders

    def place_order(self, request: OrderRequest) -> OrderView:
        """Place an order: fill it now, queue it for its time, rest it (limit), or reject it with the numbers."""
        self._require_trading()
        request = self._with_symbol(request)
        fingerprint = request.fingerprint()
        with self._writing() as book:
            book.load(request.symbol, request.client_order_id)
            now = self.clock.now()
            self._process_due(book, now)
            if book.client_order_seq is not None:
                existing = book.order(book.client_order_seq)
                if existing.fingerprint != fingerprint:
                    raise DuplicateClientOrderId(
                        f"client_order_id {request.client_order_id!r} was already used for a different order "
                        f"({existing.side} {_size(existing.quantity, existing.notional, existing.symbol)}); "
                        "nothing was placed"
                    )
                order, note = existing, "Already placed with this client_order_id; nothing new was placed."
            else:
                order, note = self._new_order(book, request, fingerprint, now), None
        # The view is built after the commit: the write lock is held only while the book changes.
        if note is None and order.status == OrderStatus.REJECTED:
            log.info("%s rejected order %s: %s", self.profile.id, order.id, order.reject_reason)
        return self._view(order, note=note)

    def _new_order(self, book: Book, request: OrderRequest, fingerprint: str, now: datetime) -> OrderRecord:
        plan = self._plan(book, request, now)
        order = OrderRecord(
            seq=None,
            id=uuid.uuid4().hex[:16],
            client_order_id=request.client_order_id,
            fingerprint=fingerprint,
            symbol=request.symbol,
            side=request.side.value,
            quantity=request.quantity,
            notional=request.notional,
            order_type=request.order_type.value,
            limit_price=request.limit_price,
            time_in_force=request.time_in_force.value,
            status=plan.status.value,
            filled_quantity=ZERO,
            average_fill_price=None,
            fees=ZERO,
            reserved_cash=plan.trade_value + plan.fees if plan.status.is_active and request.side is Side.BUY else ZERO,
            submitted_at=now,
            executes_at=plan.executes_at,
            expires_at=plan.expires_at,
            filled_at=None,
            updated_at=now,
            reject_reason=plan.reject_reason,
        )
        book.add_order(order)
        if plan.fills_now:
            self._fill(book, order, plan.price, now)
        return order

    def estimate_order(self, request: OrderRequest) -> Estimate:
        """Price, fees and total for a request at this broker now; places nothing."""
        request = self._with_symbol(request)
        plan, buying_power = self._read(
            lambda book, now, _active: (self._plan(book, request, now), self._buying_power(book)), request.symbol
        )
        quantity = plan.quantity or ZERO
        total = plan.trade_value + plan.fees if request.side is Side.BUY else plan.trade_value - plan.fees
        when = "fills now" if plan.fills_now else (
            f"queued until {eastern(plan.executes_at)}" if plan.executes_at else "rests as an open limit order"
        )
        verb = "Buying" if request.side is Side.BUY else "Selling"
        message = (
            f"{verb} {plain(quantity)} {request.symbol} on {self.profile.name}: about {usd(plan.price)} a share, "
            f"value {usd(plan.trade_value)}, fees {usd(plan.fees)}, total {usd(total)}"
        )
        # A rejected plan has no schedule: saying it "rests as an open limit order" would be false.
        message += f". It would be rejected: {plan.reject_reason}" if plan.reject_reason else f"; {when}."
        return Estimate(
            broker=self.profile.id,
            broker_name=self.profile.name,
            symbol=request.symbol,
            side=request.side,
            quantity=quantity,
            notional=request.notional,
            order_type=request.order_type,
            limit_price=request.limit_price,
            time_in_force=request.time_in_force,
            expected_price=plan.price,
            trade_value=plan.trade_value,
            fees=plan.fees,
            total=total,
            fills_now=plan.fills_now,
            executes_at=plan.executes_at,
            fill_latency_ms=self.profile.fill_latency_ms,
            buying_power=buying_power,
            would_be_rejected=plan.reject_reason,
            message=message,
        )

    def cancel_order(self, order_ref: str) -> OrderView:
        """Cancel a queued or open order by id or client_order_id."""
        self._require_trading()
        with self._writing() as book:
            book.load()
            now = self.clock.now()
            self._process_due(book, now)
            order = self._find(book, order_ref)
            status = OrderStatus(order.status)
            if not status.is_active:
                raise InvalidRequest(
                    f"order {order.id} is {status.value}; only queued or open orders can be cancelled"
                )
            order.status = OrderStatus.CANCELLED.value
            order.reserved_cash = ZERO
            order.updated_at = now
        return self._view(order)

    def list_orders(self, status: str = "all", symbol: str | None = None, limit: int = 100) -> list[OrderView]:
        """Orders newest first, filtered by status ('all', 'active' = queued or open, or one status)."""
        status = str(status or "all").strip().lower()
        if status not in ORDER_STATUS_FILTERS:
            raise InvalidRequest(f"status must be one of {', '.join(ORDER_STATUS_FILTERS)}; got {shorten(status)!r}")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}; got {shorten(repr(limit))}")
        query = select(*orders.c).order_by(orders.c.seq.desc()).limit(limit)
        if status == "active":
            query = query.where(orders.c.status.in_(ACTIVE_STATUSES))
        elif status != "all":
            query = query.where(orders.c.status == status)
        if symbol:
            query = query.where(orders.c.symbol == self.directory.resolve(symbol).symbol)
        rows = self._read(lambda book, _now, _active: book.orders(query))
        return [self._view(row) for row in rows]

    def process_due(self) -> int:
        """Fill, rest or expire every queued/open order whose time has come; returns how many are still active."""
        return self._read(lambda _book, _now, active: len(active))

    # ----------------------------------------------------------------- holdings

    def add_position(self, symbol: str, quantity: object, purchase_price: object) -> PositionView:
        """Record a holding bought elsewhere (an import): position at that cost, cash untouched."""
        self._require_trading()
        security = self.directory.resolve(symbol)
        qty = _positive(quantity, "quantity", QUANTITY_PLACES, MAX_QUANTITY)
        price = _positive(purchase_price, "purchase_price", 4, MAX_NOTIONAL)
        if qty is None or price is None:
            raise InvalidRequest("quantity and purchase_price are required")
        if not self.profile.fractional_shares and qty != qty.to_integral_value():
            raise InvalidRequest(f"{self.profile.name} holds whole shares only; quantity {plain(qty)} is fractional")
        with self._writing() as book:
            book.load(security.symbol)
            now = self.clock.now()
            self._process_due(book, now)
            position = book.position(security.symbol)
            gross = money(qty * price)
            position.quantity += qty
            position.cost_basis += gross
            position.updated_at = now
            book.add_fill(
                order_id=None, kind="import", symbol=security.symbol, side=Side.BUY.value, quantity=qty,
                price=price, gross=gross, fees=ZERO, cash_after=book.account.cash, executed_at=now,
            )
        return self._position_view(position, self.feed.prices_at(security.symbol, now))

    def positions(self) -> list[PositionView]:
        now, held = self._read(lambda book, now, _active: (now, book.held()))
        return [self._position_view(row, self.feed.prices_at(row.symbol, now)) for row in held]

    def account(self) -> AccountView:
        return self._read(lambda book, now, active: self._account_view(book, now, book.held(), active))

    def portfolio_summary(self) -> PortfolioSummary:
        """Account, positions and equity over time in one read."""

        def answer(book: Book, now: datetime, active: list[OrderRecord]):
            held = book.held()
            return now, held, self._account_view(book, now, held, active), book.recent_fills(EQUITY_CURVE_POINTS - 1)

        now, held, account, fills = self._read(answer)
        positions = [self._position_view(row, self.feed.prices_at(row.symbol, now)) for row in held]
        return PortfolioSummary(
            broker=self.profile.id,
            broker_name=self.profile.name,
            specialty=self.profile.specialty,
            total_positions=len(positions),
            account=account,
            positions=positions,
            equity_curve=self._equity_curve(fills, held, account, now),
        )

    def quote(self, symbol: str) -> Quote:
        return self.feed.quote_at(self.directory.resolve(symbol).symbol, self.clock.now())

    # ----------------------------------------------------------------- planning and filling

    def _require_trading(self) -> None:
        if self.limits.read_only:
            raise TradingDisabled(f"{self.profile.name} is in read-only mode: orders and imports are refused")

    def _with_symbol(self, request: OrderRequest) -> OrderRequest:
        symbol = self.directory.resolve(request.symbol).symbol
        return request if symbol == request.symbol else request.model_copy(update={"symbol": symbol})

    def _schedule(self, request: OrderRequest, now: datetime) -> tuple[bool, datetime | None, datetime | None]:
        """(acts now, executes_at for a queued order, expires_at for a resting day order)."""
        is_open = self.clock.is_open(now)
        if request.time_in_force is TimeInForce.OPG:
            return False, self.clock.next_open(now), None
        if request.time_in_force is TimeInForce.CLS:
            return False, self.clock.next_close(now), None
        if not is_open:
            return False, self.clock.next_open(now), None
        expires = self.clock.next_close(now) if request.time_in_force is TimeInForce.DAY else None
        return True, None, expires

    def _plan(self, book: Book, request: OrderRequest, now: datetime) -> Plan:
        acts_now, executes_at, expires_at = self._schedule(request, now)
        quote = self.feed.prices_at(request.symbol, now)
        market_price = quote.ask if request.side is Side.BUY else quote.bid
        marketable = request.limit_price is None or (
            market_price <= request.limit_price if request.side is Side.BUY else market_price >= request.limit_price
        )
        price = market_price if marketable else request.limit_price
        price = self._slipped(price, request)
        fills_now = acts_now and marketable
        status = OrderStatus.FILLED if fills_now else (OrderStatus.OPEN if acts_now else OrderStatus.QUEUED)
        quantity = request.quantity or self._shares_for(request.notional, price)
        value = money(quantity * price) if quantity else ZERO
        fees = self.profile.commission.fee(quantity, value) if quantity else ZERO
        reason = self._reject_reason(book, request, quantity, price, value, fees, now)
        if reason:
            status, fills_now, executes_at, expires_at = OrderStatus.REJECTED, False, None, None
        return Plan(quantity, price, value, fees, fills_now, status, executes_at, expires_at, reason)

    def _slipped(self, price: Decimal, request: OrderRequest) -> Decimal:
        if request.order_type is OrderType.LIMIT or not self.profile.slippage_bps:
            return price
        move = price * self.profile.slippage_bps / 10_000
        return money(price + move if request.side is Side.BUY else price - move)

    def _shares_for(self, notional: Decimal, price: Decimal) -> Decimal:
        return round_down(notional / price, self.profile.quantity_places)

    def _reject_reason(
        self, book: Book, request: OrderRequest, quantity: Decimal, price: Decimal, value: Decimal, fees: Decimal,
        now: datetime,
    ) -> str | None:
        """The first rule the order breaks, with the numbers; None when the broker would take it."""
        limits = self.limits
        if limits.symbol_allowlist is not None and request.symbol not in limits.symbol_allowlist:
            return f"{request.symbol} is not on {self.profile.name}'s allowed symbols ({', '.join(limits.symbol_allowlist)})"
        if quantity <= 0:
            return f"notional {usd(request.notional)} buys less than the smallest tradable quantity at {usd(price)}"
        if not self.profile.fractional_shares and quantity != quantity.to_integral_value():
            return f"{self.profile.name} trades whole shares only; quantity {plain(quantity)} is fractional"
        if request.limit_price is not None and price_places(request.limit_price) < 4 and request.limit_price.as_tuple().exponent < -2:
            return f"limit price {plain(request.limit_price)} has more than 2 decimal places"
        if limits.max_order_notional is not None and value > limits.max_order_notional:
            return f"order value {usd(value)} is over {self.profile.name}'s per-order limit of {usd(limits.max_order_notional)}"
        if request.side is Side.BUY:
            needed = value + fees
            buying_power = self._buying_power(book)
            if needed > buying_power:
                return f"needs {usd(needed)}, buying power {usd(buying_power)}"
        else:
            held = book.position(request.symbol).quantity
            reserved = self._reserved_shares(book, request.symbol, now)
            if quantity > held - reserved:
                detail = f" ({plain(reserved)} already reserved by open sell orders)" if reserved else ""
                return f"cannot sell {plain(quantity)} {request.symbol}: {plain(held)} held{detail}"
        return None

    def _buying_power(self, book: Book) -> Decimal:
        reserved = sum(
            (o.reserved_cash for o in book.active_orders() if o.side == Side.BUY.value and o.status in ACTIVE_STATUSES),
            ZERO,
        )
        return book.account.cash - reserved

    def _reserved_shares(self, book: Book, symbol: str, now: datetime) -> Decimal:
        total = ZERO
        for order in book.active_orders():
            if order.side != Side.SELL.value or order.symbol != symbol or order.status not in ACTIVE_STATUSES:
                continue
            if order.quantity is not None:
                total += order.quantity
            else:
                total += self._shares_for(order.notional, self.feed.prices_at(symbol, now).bid)
        return total

    def _fill(self, book: Book, order: OrderRecord, price: Decimal, at: datetime) -> None:
        """Execute `order` in full at `price`: order, fill, cash and position change together."""
        account = book.account
        order.reserved_cash = ZERO
        quantity = order.quantity or self._shares_for(order.notional, price)
        gross = money(quantity * price)
        fees = self.profile.commission.fee(quantity, gross) if quantity else ZERO
        position = book.position(order.symbol)
        reason = None
        if quantity <= 0:
            reason = f"notional {usd(order.notional)} buys less than the smallest tradable quantity at {usd(price)}"
        elif not self.profile.fractional_shares and quantity != quantity.to_integral_value():
            reason = f"{self.profile.name} trades whole shares only; quantity {plain(quantity)} is fractional"
        elif self.limits.max_order_notional is not None and gross > self.limits.max_order_notional:
            # A queued order was checked at the price when it was placed; it fills at the open's price.
            reason = (
                f"order value {usd(gross)} at {usd(price)} is over {self.profile.name}'s per-order limit "
                f"of {usd(self.limits.max_order_notional)}"
            )
        elif order.side == Side.BUY.value and gross + fees > account.cash:
            reason = f"needs {usd(gross + fees)} at {usd(price)}, cash {usd(account.cash)}"
        elif order.side == Side.SELL.value and quantity > position.quantity:
            reason = f"cannot sell {plain(quantity)} {order.symbol}: {plain(position.quantity)} held"
        if reason:
            order.status, order.reject_reason, order.updated_at = OrderStatus.REJECTED.value, reason, at
            return
        if order.side == Side.BUY.value:
            account.cash -= gross + fees
            position.quantity += quantity
            position.cost_basis += gross
        else:
            removed = position.cost_basis if quantity == position.quantity else money(position.cost_basis * quantity / position.quantity)
            realized = gross - removed
            account.cash += gross - fees
            account.realized_pnl += realized
            position.quantity -= quantity
            position.cost_basis -= removed
            position.realized_pnl += realized
        account.fees_paid += fees
        position.updated_at = at
        order.status = OrderStatus.FILLED.value
        order.filled_quantity = quantity
        order.average_fill_price = price
        order.fees = fees
        order.filled_at = order.updated_at = at
        book.add_fill(
            order_id=order.id, kind="trade", symbol=order.symbol, side=order.side, quantity=quantity,
            price=price, gross=gross, fees=fees, cash_after=account.cash, executed_at=at,
        )

    def _process_due(self, book: Book, now: datetime) -> list[OrderRecord]:
        """Bring every active order up to `now`, oldest first; returns those still queued or open."""
        active = book.active_orders()
        if not active:
            return []

        # In the order things happen on the clock, not the order they were placed: after an idle night an opg
        # placed before a cls must still fill after it (fills, cash_after and the equity curve follow time).
        def acts_at(order: OrderRecord) -> datetime:
            due = order.status == OrderStatus.QUEUED.value and order.executes_at and order.executes_at <= now
            return order.executes_at if due else now

        for order in sorted(active, key=acts_at):
            if order.status == OrderStatus.QUEUED.value and order.executes_at and order.executes_at <= now:
                self._execute_queued(book, order, now)
            elif order.status == OrderStatus.OPEN.value:
                self._check_resting(book, order, now)
        return [order for order in active if order.status in ACTIVE_STATUSES]

    def _is_due(self, order: OrderRecord, now: datetime) -> bool:
        """Whether `_process_due` would change this active order now."""
        if order.status == OrderStatus.QUEUED.value:
            return bool(order.executes_at and order.executes_at <= now)
        if order.expires_at and now >= order.expires_at:
            return True
        return self._resting_fill_price(order, now) is not None

    def _execute_queued(self, book: Book, order: OrderRecord, now: datetime) -> None:
        at = order.executes_at
        quote = self.feed.prices_at(order.symbol, at)
        price = quote.ask if order.side == Side.BUY.value else quote.bid
        if order.limit_price is None:
            self._fill(book, order, self._slipped(price, _as_request(order)), at)
            return
        marketable = price <= order.limit_price if order.side == Side.BUY.value else price >= order.limit_price
        if marketable:
            self._fill(book, order, price, at)
        elif order.time_in_force in (TimeInForce.OPG.value, TimeInForce.CLS.value):
            order.status, order.reserved_cash, order.updated_at = OrderStatus.EXPIRED.value, ZERO, at
        else:
            order.status = OrderStatus.OPEN.value
            order.expires_at = self.clock.next_close(at) if order.time_in_force == TimeInForce.DAY.value else None
            order.updated_at = at
            self._check_resting(book, order, now)

    def _check_resting(self, book: Book, order: OrderRecord, now: datetime) -> None:
        if order.expires_at and now >= order.expires_at:
            order.status, order.reserved_cash, order.updated_at = OrderStatus.EXPIRED.value, ZERO, order.expires_at
            return
        price = self._resting_fill_price(order, now)
        if price is not None:
            self._fill(book, order, price, now)

    def _resting_fill_price(self, order: OrderRecord, now: datetime) -> Decimal | None:
        """The quote a resting limit order fills at now, or None while the market is closed or away from the limit."""
        if not self.clock.is_open(now):
            return None
        quote = self.feed.prices_at(order.symbol, now)
        price = quote.ask if order.side == Side.BUY.value else quote.bid
        marketable = price <= order.limit_price if order.side == Side.BUY.value else price >= order.limit_price
        return price if marketable else None

    def _find(self, book: Book, order_ref: str) -> OrderRecord:
        ref = str(order_ref).strip()
        order = book.find_order(ref)
        if order is None:
            raise OrderNotFound(f"no order with id or client_order_id {shorten(ref)!r} at {self.profile.name}")
        return order

    # ----------------------------------------------------------------- views

    def _position_view(self, row: PositionRecord, quote: Prices) -> PositionView:
        security = self.directory.get(row.symbol)
        value = money(row.quantity * quote.last)
        unrealized = value - row.cost_basis
        return PositionView(
            symbol=row.symbol,
            name=security.name,
            quantity=row.quantity,
            average_cost=(row.cost_basis / row.quantity).quantize(Decimal("0.0001")),
            cost_basis=row.cost_basis,
            market_price=quote.last,
            market_value=value,
            unrealized_pnl=unrealized,
            unrealized_pnl_pct=(unrealized * 100 / row.cost_basis).quantize(Decimal("0.01")) if row.cost_basis else None,
            realized_pnl=row.realized_pnl,
            sector=security.sector,
        )

    def _account_view(self, book: Book, now: datetime, held: list[PositionRecord], active: list[OrderRecord]) -> AccountView:
        account = book.account
        value = sum((money(p.quantity * self.feed.prices_at(p.symbol, now).last) for p in held), ZERO)
        cost = sum((p.cost_basis for p in held), ZERO)
        reserved = sum((o.reserved_cash for o in active if o.side == Side.BUY.value), ZERO)
        return AccountView(
            broker=self.profile.id,
            broker_name=self.profile.name,
            currency="USD",
            starting_cash=account.starting_cash,
            cash=account.cash,
            buying_power=account.cash - reserved,
            equity=account.cash + value,
            positions_value=value,
            realized_pnl=account.realized_pnl,
            unrealized_pnl=value - cost,
            fees_paid=account.fees_paid,
            open_orders=len(active),
            market_open=self.clock.is_open(now),
        )

    def _equity_curve(self, recent_fills: list, held: list[PositionRecord], account: AccountView, now: datetime) -> list[EquityPoint]:
        """Equity after each of the last fills (cash after it plus holdings at that minute's price), then now.

        `recent_fills` are the last EQUITY_CURVE_POINTS - 1, newest first: the holdings before the oldest of them are
        today's positions less what they traded (every position change is a fill), so older fills are never read.
        """
        fills = recent_fills[::-1]
        holdings = {position.symbol: position.quantity for position in held}
        for fill in fills:
            holdings[fill.symbol] = holdings.get(fill.symbol, ZERO) - _signed(fill)
        points = []
        if fills and len(fills) < EQUITY_CURVE_POINTS - 1:  # every fill is here: the curve starts at the starting cash
            points.append(EquityPoint(time=fills[0].executed_at, cash=account.starting_cash, equity=account.starting_cash))
        for fill in fills:
            holdings[fill.symbol] += _signed(fill)
            value = sum(
                (money(q * self.feed.prices_at(s, fill.executed_at).last) for s, q in holdings.items() if q),
                ZERO,
            )
            points.append(EquityPoint(time=fill.executed_at, cash=fill.cash_after, equity=fill.cash_after + value))
        points.append(EquityPoint(time=now, cash=account.cash, equity=account.equity))
        return points

    def _view(self, row: OrderRecord, note: str | None = None) -> OrderView:
        return OrderView(
            id=row.id,
            client_order_id=row.client_order_id,
            broker=self.profile.id,
            symbol=row.symbol,
            side=Side(row.side),
            quantity=row.quantity,
            notional=row.notional,
            order_type=OrderType(row.order_type),
            limit_price=row.limit_price,
            time_in_force=TimeInForce(row.time_in_force),
            status=OrderStatus(row.status),
            filled_quantity=row.filled_quantity,
            average_fill_price=row.average_fill_price,
            fees=row.fees,
            submitted_at=row.submitted_at,
            filled_at=row.filled_at,
            executes_at=row.executes_at,
            expires_at=row.expires_at,
            reject_reason=row.reject_reason,
            message=" ".join(filter(None, [self._describe(row), note])),
        )

    def _describe(self, row: OrderRecord) -> str:
        size = _size(row.quantity, row.notional, row.symbol)
        verb = {"buy": "Buy", "sell": "Sell"}[row.side]
        kind = f"limit {usd(row.limit_price)} " if row.limit_price is not None else ""
        status = OrderStatus(row.status)
        if status is OrderStatus.FILLED:
            past = "Bought" if row.side == "buy" else "Sold"
            total = row.filled_quantity * row.average_fill_price
            return (
                f"{past} {plain(row.filled_quantity)} {row.symbol} at {usd(row.average_fill_price)} on {self.profile.name}; "
                f"value {usd(total)}, fees {usd(row.fees)}."
            )
        if status is OrderStatus.QUEUED:
            when = "at the close" if row.time_in_force == "cls" else "at the open"
            return f"{verb} {kind}{size} queued on {self.profile.name}; it executes {when}, {eastern(row.executes_at)}."
        if status is OrderStatus.OPEN:
            until = f"until {eastern(row.expires_at)}" if row.expires_at else "until cancelled"
            return f"{verb} {kind}{size} is working on {self.profile.name} {until}."
        if status is OrderStatus.REJECTED:
            return f"{verb} {kind}{size} rejected by {self.profile.name}: {row.reject_reason}."
        return f"{verb} {kind}{size} on {self.profile.name} is {status.value}."


def _signed(fill) -> Decimal:
    return fill.quantity if fill.side == Side.BUY.value else -fill.quantity


def _as_request(order: OrderRecord) -> OrderRequest:
    return OrderRequest(
        symbol=order.symbol, side=Side(order.side), quantity=order.quantity, notional=order.notional,
        order_type=OrderType(order.order_type), limit_price=order.limit_price,
        time_in_force=TimeInForce(order.time_in_force),
    )


def _size(quantity: Decimal | None, notional: Decimal | None, symbol: str) -> str:
    """'10 AAPL' for shares, '$500.00 of AAPL' for a dollar amount."""
    return f"{plain(quantity)} {symbol}" if quantity is not None else f"{usd(notional)} of {symbol}"
