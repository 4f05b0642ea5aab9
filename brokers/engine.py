"""The paper-trading engine: one broker's account, orders, fills and positions. No MCP, no UI.

Every state change runs in one database transaction: an order, its fill, the cash and the
position commit together or not at all. Queued and resting orders are processed whenever the
engine is used (and at start), once their time has come, so no background scheduler is needed.
Cash identity, always: starting cash + sells - buys - fees == cash.

How each order type triggers and fills (prices are the simulated feed's, minute by minute):
- market: fills at once at the ask (buy) or bid (sell), with the broker's slippage; queued while closed.
- limit: fills at the quote when it is at or better than the limit (no slippage), else rests and is checked again
  whenever the book is used.
- stop: rests until a minute's last price is at or above the stop (buy) or at or below it (sell), then fills as a
  market order at that minute's price; after an overnight gap through the stop that minute is the open.
- stop_limit: the same trigger, then it is a limit order at its limit_price (it may rest, triggered).
- trailing_stop: its high-water (sell) or low-water (buy) mark follows each minute's last price while the market is
  open; it triggers when the price comes back by trail_percent or trail_price from the mark, then fills as a market.
- bracket: a market or limit buy that, when it fills, opens two sells in the same transaction, a take-profit limit
  and a stop-loss stop (or stop-limit); the first to fill cancels the other, and each minute both are checked
  before the next. Stops and bracket exits are followed minute by minute from where they were last checked
  (`checked_at`), so a book opened after a long idle spell replays the minutes it missed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from brokers import controls
from brokers.book import ACTIVE_STATUSES, Book, OrderRecord, PositionRecord, orders
from brokers.clock import MarketClock, eastern, minute_of
from brokers.domain import (
    MAX_NOTIONAL,
    MAX_QUANTITY,
    QUANTITY_PLACES,
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
    _positive,
)
from brokers.errors import (
    DuplicateClientOrderId,
    InvalidRequest,
    OrderNotFound,
    TradingDisabled,
    TradingHalted,
    shorten,
)
from brokers.market_data import Prices, Quote, SimulatedFeed
from brokers.money import ZERO, money, plain, round_down, usd
from brokers.persistence import BrokerDatabase
from brokers.profiles import BrokerProfile, RiskLimits
from brokers.rules import Available, Trade, broken_rule
from brokers.symbols import SymbolDirectory

log = logging.getLogger(__name__)

ORDER_STATUS_FILTERS = ("all", "active", *(s.value for s in OrderStatus))
MAX_LIST_LIMIT = 500
EQUITY_CURVE_POINTS = 500
T = TypeVar("T")
Gate = Callable[[Connection], None]
"""Run inside an order tool's write transaction before anything changes (a confirmation token is spent there, so
the token and the order commit together); raising rolls everything back."""
MINUTE = timedelta(minutes=1)
REPLACEABLE = ("quantity", "limit_price", "stop_price", "trail_percent", "trail_price", "time_in_force")


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
    triggered: bool = False
    """A stop whose trigger the price has already reached."""
    mark: Decimal | None = None
    """A trailing stop's starting high-water (sell) or low-water (buy) mark: the last price now."""
    cap_value: Decimal = ZERO
    """The value the notional limits count: a buy priced at the worse of the quote and its limit."""


class BrokerEngine:
    """One broker's book, backed by its own database."""

    import_refusal: str | None = None
    """Why add_position is refused outright (a real account's engine says; a simulated book imports)."""
    problem: str | None = None
    """Why the broker cannot trade (an Alpaca broker without keys); a simulated engine always can."""

    @property
    def quotes_do_io(self) -> bool:
        """Whether a quote may wait on the network (TRADING_QUOTES=alpaca)."""
        return self.feed.does_io

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

    def place_order(self, request: OrderRequest, gate: Gate | None = None) -> OrderView:
        """Place an order: fill it now, queue it for its time, rest it (limit), or reject it with the numbers."""
        self._require_trading()
        request = self._with_symbol(request)
        fingerprint = request.fingerprint()
        with self._writing() as book:
            self._guard(book, gate)
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
                plan = self._plan(book, request, now)
                if plan.reject_reason is None:
                    self._count_today(book, now, plan.cap_value)
                order, note = self._new_order(book, request, fingerprint, now, plan=plan), None
        # The view is built after the commit: the write lock is held only while the book changes.
        if note is None and order.status == OrderStatus.REJECTED:
            log.info("%s rejected order %s: %s", self.profile.id, order.id, order.reject_reason)
        if note is None and order.order_class == OrderClass.BRACKET.value and order.status != OrderStatus.REJECTED.value:
            exits = (f"a take-profit sell at {usd(order.take_profit_price)} and a stop-loss sell at "
                     f"{usd(order.stop_loss_price)}")
            note = (f"Its exits are working: {exits}; the first to fill cancels the other."
                    if order.status == OrderStatus.FILLED.value
                    else f"Once it fills, {exits} will work for it; the first to fill cancels the other.")
        return self._view(order, note=note)

    def _new_order(
        self, book: Book, request: OrderRequest, fingerprint: str, now: datetime, plan: Plan | None = None,
        replacing: OrderRecord | None = None,
    ) -> OrderRecord:
        """A new order from `request` (or the replacement of `replacing`, which keeps its bracket links and marks)."""
        plan = plan or self._plan(book, request, now)
        on_path = plan.status is OrderStatus.OPEN and (request.order_type.has_stop or replacing and replacing.parent_id)
        mark = plan.mark
        if replacing is not None and replacing.high_water_mark is not None and request.order_type is OrderType.TRAILING_STOP:
            mark = replacing.high_water_mark  # a new trail is measured from the best price so far, as at a real broker
        triggered_at = replacing.triggered_at if replacing is not None else None
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
            stop_price=request.stop_price,
            trail_percent=request.trail_percent,
            trail_price=request.trail_price,
            high_water_mark=mark,
            triggered_at=triggered_at or (now if plan.triggered else None),
            checked_at=minute_of(now) if on_path else None,
            order_class=replacing.order_class if replacing is not None else request.order_class.value,
            parent_id=replacing.parent_id if replacing is not None else None,
            take_profit_price=request.take_profit_price,
            stop_loss_price=request.stop_loss_price,
            stop_loss_limit_price=request.stop_loss_limit_price,
            replaces=replacing.id if replacing is not None else None,
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
            f"queued until {eastern(plan.executes_at)}" if plan.executes_at else _resting_text(request, plan)
        )
        if request.order_class is OrderClass.BRACKET:
            when += (f"; once it fills, a take-profit sell at {usd(request.take_profit_price)} and a stop-loss sell "
                     f"at {usd(request.stop_loss_price)} work together, one cancelling the other")
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
            stop_price=request.stop_price,
            trail_percent=request.trail_percent,
            trail_price=request.trail_price,
            order_class=request.order_class,
            take_profit_price=request.take_profit_price,
            stop_loss_price=request.stop_loss_price,
            stop_loss_limit_price=request.stop_loss_limit_price,
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

    def cancel_order(self, order_ref: str, gate: Gate | None = None) -> OrderView:
        """Cancel a queued or open order by id or client_order_id."""
        self._require_trading()
        with self._writing() as book:
            self._guard(book, gate)
            book.load()
            now = self.clock.now()
            self._process_due(book, now)
            order = self._find(book, order_ref)
            status = OrderStatus(order.status)
            exits = self._exits_of(book, order)
            note = None
            if status.is_active:
                self._cancel(order, now)
            elif exits:
                # The entry of a bracket has filled: cancelling it cancels the bracket, that is its working exits.
                for leg in exits:
                    self._cancel(leg, now)
                note = f"Cancelled its {len(exits)} working bracket exits ({', '.join(leg.id for leg in exits)})."
            else:
                raise InvalidRequest(
                    f"order {order.id} is {status.value}; only queued or open orders can be cancelled"
                )
        return self._view(order, note=note)

    def replace_order(self, order_ref: str, gate: Gate | None = None, **changes: object) -> OrderView:
        """Replace a queued or open order with one that differs in size, prices or time in force.

        The old order becomes `replaced` and the new one carries `replaces: <old id>`, both in one transaction; a
        replacement the broker would refuse leaves the old order as it was.
        """
        self._require_trading()
        unknown = sorted(set(changes) - set(REPLACEABLE))
        if unknown:
            raise InvalidRequest(f"replace_order cannot change {', '.join(unknown)}; it changes {', '.join(REPLACEABLE)}")
        changes = {name: value for name, value in changes.items() if value is not None}
        if not changes:
            raise InvalidRequest(f"replace_order needs at least one of {', '.join(REPLACEABLE)}")
        with self._writing() as book:
            self._guard(book, gate)
            book.load()
            now = self.clock.now()
            self._process_due(book, now)
            old = self._find(book, order_ref)
            status = OrderStatus(old.status)
            if not status.is_active:
                raise InvalidRequest(f"order {old.id} is {status.value}; only queued or open orders can be replaced")
            fields = {
                "symbol": old.symbol, "side": old.side, "quantity": old.quantity, "notional": old.notional,
                "order_type": old.order_type, "limit_price": old.limit_price, "time_in_force": old.time_in_force,
                "stop_price": old.stop_price, "trail_percent": old.trail_percent, "trail_price": old.trail_price,
                "take_profit_price": old.take_profit_price, "stop_loss_price": old.stop_loss_price,
                "stop_loss_limit_price": old.stop_loss_limit_price,
            }
            before = OrderRequest.parse(**fields)
            if "quantity" in changes:
                fields["notional"] = None
            if "trail_percent" in changes:
                fields["trail_price"] = None
            if "trail_price" in changes:
                fields["trail_percent"] = None
            request = OrderRequest.parse(**{**fields, **changes})
            if request.fingerprint() == before.fingerprint():
                raise InvalidRequest(f"the replacement of order {old.id} changes nothing: "
                                     + ", ".join(f"{k} is already {v}" for k, v in changes.items()))
            request = self._with_symbol(request)
            self._cancel(old, now, OrderStatus.REPLACED)
            plan = self._plan(book, request, now, oco_group=old.parent_id)
            if plan.reject_reason:
                raise InvalidRequest(f"order {old.id} was not replaced (it is unchanged): {plan.reject_reason}")
            # Only what the replacement adds counts against today's limit (the old order was counted when placed).
            self._count_today(book, now, plan.cap_value - self._plan(book, before, now).cap_value, old.id)
            new = self._new_order(book, request, request.fingerprint(), now, plan=plan, replacing=old)
        return self._view(new, note=f"It replaces order {old.id}.")

    @staticmethod
    def _cancel(order: OrderRecord, at: datetime, status: OrderStatus = OrderStatus.CANCELLED) -> None:
        order.status, order.reserved_cash, order.updated_at = status.value, ZERO, at

    @staticmethod
    def _exits_of(book: Book, entry: OrderRecord) -> list[OrderRecord]:
        """A bracket entry's exits that are still working."""
        if entry.order_class != OrderClass.BRACKET.value or entry.parent_id is not None:
            return []
        return [o for o in book.active_orders() if o.parent_id == entry.id and o.status in ACTIVE_STATUSES]

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

    def find_order(self, order_ref: str) -> OrderView:
        """One order by id or client_order_id, as it stands now."""
        return self._view(self._read(lambda book, _now, _active: self._find(book, order_ref)))

    def has_client_order_id(self, client_order_id: str) -> bool:
        """Whether an order already carries this client_order_id (a retry of it places nothing new)."""
        ref = str(client_order_id).strip()
        query = select(orders.c.seq).where(orders.c.client_order_id == ref)
        with self.db.read() as connection:
            return connection.execute(query).first() is not None

    def process_due(self) -> int:
        """Fill, rest or expire every queued/open order whose time has come; returns how many are still active."""
        return self._read(lambda _book, _now, active: len(active))

    # ----------------------------------------------------------------- holdings

    def add_position(self, symbol: str, quantity: object, purchase_price: object, gate: Gate | None = None) -> PositionView:
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
            self._guard(book, gate)
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

    def halt_state(self) -> controls.HaltState:
        """The kill switch as the database has it now."""
        return controls.read_halt_state(self.db)

    def _guard(self, book: Book, gate: Gate | None) -> None:
        """Inside an order tool's transaction, before any change: refuse while halted, then run the caller's gate."""
        state = controls.halt_state(book.connection, self.profile.id)
        if state.halted:
            raise TradingHalted(halted_text(self.profile, state))
        if gate is not None:
            gate(book.connection)

    def _count_today(self, book: Book, now: datetime, value: Decimal, replacing: str | None = None) -> None:
        """Add `value` to what was placed today, refusing it (nothing written) past the broker's per-day limit."""
        controls.count_today(book.connection, self.limits.max_daily_notional, self.profile.name, now, value, replacing)

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

    def _plan(self, book: Book, request: OrderRequest, now: datetime, oco_group: str | None = None) -> Plan:
        acts_now, executes_at, expires_at = self._schedule(request, now)
        quote = self.feed.prices_at(request.symbol, now)
        buy = request.side is Side.BUY
        market_price = quote.ask if buy else quote.bid
        order_type = request.order_type
        mark = quote.last if acts_now and order_type is OrderType.TRAILING_STOP else None
        triggered = acts_now and order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and _stop_reached(
            request.side, request.stop_price, quote.last
        )
        if not order_type.has_stop or triggered:
            marketable = request.limit_price is None or _marketable(request.side, market_price, request.limit_price)
            price = market_price if marketable else request.limit_price
        else:
            # Not triggered yet: priced at the worse of the quote and the price it may fill at once triggered, so a
            # resting buy stop holds back as much buying power as it may spend.
            marketable = False
            trigger = request.stop_price or _trail_level(request.side, quote.last, request.trail_percent,
                                                         request.trail_price)
            bound = request.limit_price or trigger
            price = max(market_price, bound) if buy else min(market_price, bound)
        price = self._slipped(price, order_type, request.side)
        fills_now = acts_now and marketable
        status = OrderStatus.FILLED if fills_now else (OrderStatus.OPEN if acts_now else OrderStatus.QUEUED)
        quantity = request.quantity or self._shares_for(request.notional, price)
        value = money(quantity * price) if quantity else ZERO
        fees = self.profile.commission.fee(quantity, value) if quantity else ZERO
        # A marketable buy limit is priced at the quote but may pay up to its limit: the limits count the limit.
        cap_price = max(price, request.limit_price) if buy and request.limit_price is not None else price
        cap_value = money(quantity * cap_price) if quantity else ZERO
        trade = Trade(request.symbol, request.side, quantity, request.notional, price, value, fees, cap_value)
        available = Available(
            money=self._buying_power(book),
            money_name="buying power",
            shares_held=book.position(request.symbol).quantity,
            shares_reserved=ZERO if buy else self._reserved_shares(book, request.symbol, now, oco_group),
        )
        reason = broken_rule(self.profile, self.limits, trade, available)
        if reason:
            status, fills_now, executes_at, expires_at = OrderStatus.REJECTED, False, None, None
        return Plan(quantity, price, value, fees, fills_now, status, executes_at, expires_at, reason, triggered, mark,
                    cap_value)

    def _slipped(self, price: Decimal, order_type: OrderType | str, side: Side | str) -> Decimal:
        """A market fill (a market order, or a stop once triggered) pays the broker's slippage; a limit never does."""
        if OrderType(order_type).has_limit or not self.profile.slippage_bps:
            return price
        move = price * self.profile.slippage_bps / 10_000
        return money(price + move if Side(side) is Side.BUY else price - move)

    def _shares_for(self, notional: Decimal, price: Decimal) -> Decimal:
        return round_down(notional / price, self.profile.quantity_places)

    def _buying_power(self, book: Book) -> Decimal:
        reserved = sum(
            (o.reserved_cash for o in book.active_orders() if o.side == Side.BUY.value and o.status in ACTIVE_STATUSES),
            ZERO,
        )
        return book.account.cash - reserved

    def _reserved_shares(self, book: Book, symbol: str, now: datetime, oco_group: str | None = None) -> Decimal:
        """Shares of `symbol` promised to active sell orders; a bracket's two exits promise the same shares once.

        `oco_group`: the entry whose exits are left out (replacing one of them must not count its sibling against it).
        """
        total = ZERO
        brackets: dict[str, Decimal] = {}
        for order in book.active_orders():
            if order.side != Side.SELL.value or order.symbol != symbol or order.status not in ACTIVE_STATUSES:
                continue
            if order.quantity is not None:
                shares = order.quantity
            else:
                shares = self._shares_for(order.notional, self.feed.prices_at(symbol, now).bid)
            if order.parent_id is None:
                total += shares
            elif order.parent_id != oco_group:
                brackets[order.parent_id] = max(brackets.get(order.parent_id, ZERO), shares)
        return total + sum(brackets.values(), ZERO)

    def _fill(self, book: Book, order: OrderRecord, price: Decimal, at: datetime) -> None:
        """Execute `order` in full at `price`: order, fill, cash and position change together.

        The placement rules run again (brokers.rules) against the cash and shares there are now; a bracket entry's
        fill opens its two exits, and an exit's fill cancels its sibling, in the same transaction.
        """
        account = book.account
        order.reserved_cash = ZERO
        quantity = order.quantity or self._shares_for(order.notional, price)
        gross = money(quantity * price)
        fees = self.profile.commission.fee(quantity, gross) if quantity else ZERO
        position = book.position(order.symbol)
        side = Side(order.side)
        trade = Trade(order.symbol, side, quantity, order.notional, price, gross, fees)
        reason = broken_rule(self.profile, self.limits, trade,
                             Available(money=account.cash, money_name="cash", shares_held=position.quantity, at_fill=True))
        if reason:
            order.status, order.reject_reason, order.updated_at = OrderStatus.REJECTED.value, reason, at
            return
        if side is Side.BUY:
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
        if order.parent_id is not None:
            for sibling in book.active_orders():
                if sibling.parent_id == order.parent_id and sibling is not order and sibling.status in ACTIVE_STATUSES:
                    self._cancel(sibling, at)
        elif order.order_class == OrderClass.BRACKET.value:
            self._open_exits(book, order, at)

    def _open_exits(self, book: Book, entry: OrderRecord, at: datetime) -> None:
        """A filled bracket entry's two exits: a take-profit sell limit and a stop-loss sell stop (or stop-limit)."""
        expires = self.clock.next_close(at) if entry.time_in_force == TimeInForce.DAY.value else None
        take_profit = (OrderType.LIMIT, entry.take_profit_price, None)
        stop_type = OrderType.STOP_LIMIT if entry.stop_loss_limit_price is not None else OrderType.STOP
        stop_loss = (stop_type, entry.stop_loss_limit_price, entry.stop_loss_price)
        for kind, (order_type, limit_price, stop_price) in zip(("take-profit", "stop-loss"), (take_profit, stop_loss), strict=True):
            book.add_order(OrderRecord(
                seq=None, id=uuid.uuid4().hex[:16], client_order_id=None, fingerprint=f"{kind} exit of {entry.id}",
                symbol=entry.symbol, side=Side.SELL.value, quantity=entry.filled_quantity, notional=None,
                order_type=order_type.value, limit_price=limit_price, time_in_force=entry.time_in_force,
                status=OrderStatus.OPEN.value, filled_quantity=ZERO, average_fill_price=None, fees=ZERO,
                reserved_cash=ZERO, submitted_at=at, executes_at=None, expires_at=expires, filled_at=None,
                updated_at=at, reject_reason=None, stop_price=stop_price, checked_at=minute_of(at),
                order_class=OrderClass.BRACKET.value, parent_id=entry.id,
            ))

    def _process_due(self, book: Book, now: datetime) -> list[OrderRecord]:
        """Bring every active order up to `now`; returns those still queued or open.

        In the order things happen on the clock, not the order they were placed: after an idle night an opg placed
        before a cls must still fill after it (fills, cash_after and the equity curve follow time). Stops and bracket
        exits follow the minute path up to each queued order's time before it executes, then up to now; plain
        resting limits are checked at now.
        """
        active = book.active_orders()
        if not active:
            return []
        if controls.halt_state(book.connection, self.profile.id).halted:
            return active  # a halted broker fills nothing: queued and resting orders wait for the resume
        due = [o for o in active if o.status == OrderStatus.QUEUED.value and o.executes_at and o.executes_at <= now]
        for order in sorted(due, key=lambda o: o.executes_at):
            self._walk(book, order.executes_at - MINUTE)
            if order.status == OrderStatus.QUEUED.value:
                self._execute_queued(book, order, now)
        self._walk(book, now)
        for order in list(active):
            if order.status == OrderStatus.OPEN.value and not _on_path(order):
                self._check_resting(book, order, now)
        return [order for order in book.active_orders() if order.status in ACTIVE_STATUSES]

    def _is_due(self, order: OrderRecord, now: datetime) -> bool:
        """Whether `_process_due` would change this active order now."""
        if order.status == OrderStatus.QUEUED.value:
            return bool(order.executes_at and order.executes_at <= now)
        if order.expires_at and now >= order.expires_at:
            return True
        if _on_path(order):
            # Some minute of trading has passed since it was last checked: its trigger or its trail may have moved.
            checked = order.checked_at or order.submitted_at
            return minute_of(now) > checked and (
                self.clock.is_open(checked + MINUTE) or self.clock.is_open(now) or self.clock.next_open(checked) <= now
            )
        return self._resting_fill_price(order, now) is not None

    def _walk(self, book: Book, through: datetime) -> None:
        """Follow every working stop and bracket exit minute by minute, through the minute of `through`.

        Every order is checked against each minute's price in turn, all orders at a minute before the next minute,
        so the first of a bracket's two exits to be reached fills and cancels the other.
        """
        through = minute_of(through)
        working = [o for o in book.active_orders() if _on_path(o) and (o.checked_at or o.submitted_at) < through]
        if not working:
            return
        start = min(o.checked_at or minute_of(o.submitted_at) for o in working)
        for minute in self.clock.open_minutes(start, through):
            for order in working:
                if order.status != OrderStatus.OPEN.value or (order.checked_at and order.checked_at >= minute):
                    continue
                if order.expires_at and minute >= order.expires_at:
                    self._cancel(order, order.expires_at, OrderStatus.EXPIRED)
                    continue
                self._step(book, order, minute)
        for order in working:
            if order.status != OrderStatus.OPEN.value:
                continue
            if order.expires_at and through >= order.expires_at:
                self._cancel(order, order.expires_at, OrderStatus.EXPIRED)
            elif not order.checked_at or order.checked_at < through:
                order.checked_at = through

    def _step(self, book: Book, order: OrderRecord, minute: datetime) -> None:
        """One minute of a working stop or bracket exit: move a trailing mark, trigger, fill."""
        order.checked_at = minute
        prices = self.feed.prices_at(order.symbol, minute)
        side = Side(order.side)
        order_type = OrderType(order.order_type)
        if order_type is OrderType.TRAILING_STOP:
            mark = order.high_water_mark
            if mark is None:
                mark = prices.last
            else:
                mark = max(mark, prices.last) if side is Side.SELL else min(mark, prices.last)
            order.high_water_mark = mark
            level = _trail_level(side, mark, order.trail_percent, order.trail_price)
            if not _stop_reached(side, level, prices.last):
                return
        elif order_type.has_stop and order.triggered_at is None and not _stop_reached(side, order.stop_price, prices.last):
            return
        if order_type.has_stop and order.triggered_at is None:
            order.triggered_at = minute
        market_price = prices.ask if side is Side.BUY else prices.bid
        if not order_type.has_limit:
            # A triggered stop is a market order: it fills at this minute's price (the open's, after a gap).
            self._fill(book, order, self._slipped(market_price, order_type, side), minute)
        elif _marketable(side, market_price, order.limit_price):
            self._fill(book, order, market_price, minute)

    def _execute_queued(self, book: Book, order: OrderRecord, now: datetime) -> None:
        at = order.executes_at
        if OrderType(order.order_type).has_stop:
            # A stop placed while the market was closed starts working at the open, the open's own minute included
            # (a gap through the stop overnight fills at the open).
            order.status = OrderStatus.OPEN.value
            order.expires_at = self.clock.next_close(at) if order.time_in_force == TimeInForce.DAY.value else None
            order.checked_at = minute_of(at) - MINUTE
            order.updated_at = at
            return
        quote = self.feed.prices_at(order.symbol, at)
        price = quote.ask if order.side == Side.BUY.value else quote.bid
        if order.limit_price is None:
            self._fill(book, order, self._slipped(price, order.order_type, order.side), at)
            return
        if _marketable(Side(order.side), price, order.limit_price):
            self._fill(book, order, price, at)
        elif order.time_in_force in (TimeInForce.OPG.value, TimeInForce.CLS.value):
            self._cancel(order, at, OrderStatus.EXPIRED)
        else:
            order.status = OrderStatus.OPEN.value
            order.expires_at = self.clock.next_close(at) if order.time_in_force == TimeInForce.DAY.value else None
            order.updated_at = at
            if _on_path(order):
                order.checked_at = minute_of(at)
            else:
                self._check_resting(book, order, now)

    def _check_resting(self, book: Book, order: OrderRecord, now: datetime) -> None:
        if order.expires_at and now >= order.expires_at:
            self._cancel(order, order.expires_at, OrderStatus.EXPIRED)
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
        return price if _marketable(Side(order.side), price, order.limit_price) else None

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
            stop_price=row.stop_price,
            trail_percent=row.trail_percent,
            trail_price=row.trail_price,
            high_water_mark=row.high_water_mark,
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
            triggered_at=row.triggered_at,
            order_class=OrderClass(row.order_class or OrderClass.SIMPLE.value),
            parent_id=row.parent_id,
            take_profit_price=row.take_profit_price,
            stop_loss_price=row.stop_loss_price,
            stop_loss_limit_price=row.stop_loss_limit_price,
            replaces=row.replaces,
            message=" ".join(filter(None, [self._describe(row), note])),
        )

    def _describe(self, row: OrderRecord) -> str:
        size = _size(row.quantity, row.notional, row.symbol)
        verb = {"buy": "Buy", "sell": "Sell"}[row.side]
        kind = _kind_text(row)
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
            does = "starts working" if OrderType(row.order_type).has_stop else "executes"
            return f"{verb} {size}{kind} queued on {self.profile.name}; it {does} {when}, {eastern(row.executes_at)}."
        if status is OrderStatus.OPEN:
            until = f"until {eastern(row.expires_at)}" if row.expires_at else "until cancelled"
            return f"{verb} {size}{kind} is working on {self.profile.name} {until}{_trigger_text(row)}."
        if status is OrderStatus.REJECTED:
            return f"{verb} {size}{kind} rejected by {self.profile.name}: {row.reject_reason}."
        return f"{verb} {size}{kind} on {self.profile.name} is {status.value}."


def _signed(fill) -> Decimal:
    return fill.quantity if fill.side == Side.BUY.value else -fill.quantity


def _on_path(order: OrderRecord) -> bool:
    """Whether an open order is worked minute by minute: a stop of any kind, or a bracket exit."""
    return order.status == OrderStatus.OPEN.value and (OrderType(order.order_type).has_stop or order.parent_id is not None)


def _marketable(side: Side, price: Decimal, limit: Decimal) -> bool:
    """Whether a limit order can fill at `price`: a buy at or under its limit, a sell at or over it."""
    return price <= limit if side is Side.BUY else price >= limit


def _stop_reached(side: Side | str, stop: Decimal, last: Decimal) -> bool:
    """A buy stop triggers when the price trades at or above its stop, a sell stop at or below."""
    return last >= stop if Side(side) is Side.BUY else last <= stop


def _trail_level(side: Side | str, mark: Decimal, trail_percent: Decimal | None, trail_price: Decimal | None) -> Decimal:
    """Where a trailing stop triggers: the trail below the high-water mark for a sell, above the low for a buy."""
    distance = trail_price if trail_price is not None else mark * trail_percent / 100
    return mark - distance if Side(side) is Side.SELL else mark + distance


def _resting_text(request: OrderRequest, plan: Plan) -> str:
    if request.order_type is OrderType.TRAILING_STOP:
        return "rests as a trailing stop that follows the price"
    if request.order_type.has_stop and not plan.triggered:
        return f"rests until the price reaches the stop {usd(request.stop_price)}"
    return "rests as an open limit order"


def _kind_text(row: OrderRecord) -> str:
    """' (limit $180.00)', ' (stop $170.00; limit $169.00)', ' (trailing stop 5%)', ' (take-profit exit; limit $200.00)':
    said after the size, so a message reads 'Buy 30 NKE (limit $10.00) is working...'; '' for a market order."""
    order_type = OrderType(row.order_type)
    parts = []
    if row.parent_id is not None:
        parts.append("stop-loss exit" if order_type.has_stop else "take-profit exit")
    if order_type is OrderType.TRAILING_STOP:
        parts.append(f"trailing stop {plain(row.trail_percent)}%" if row.trail_percent is not None
                     else f"trailing stop {usd(row.trail_price)}")
    elif order_type.has_stop:
        parts.append(f"stop {usd(row.stop_price)}")
    if row.limit_price is not None:
        parts.append(f"limit {usd(row.limit_price)}")
    if row.take_profit_price is not None:
        parts.append(f"bracket: take profit {usd(row.take_profit_price)}, stop loss {usd(row.stop_loss_price)}")
    return f" ({'; '.join(parts)})" if parts else ""


def _trigger_text(row: OrderRecord) -> str:
    """Where a working stop stands: triggered, or where a trailing stop would trigger now."""
    if row.triggered_at is not None:
        return f"; its stop triggered at {eastern(row.triggered_at)}"
    if row.order_type == OrderType.TRAILING_STOP.value and row.high_water_mark is not None:
        level = money(_trail_level(row.side, row.high_water_mark, row.trail_percent, row.trail_price))
        mark = "high" if row.side == Side.SELL.value else "low"
        return f"; {mark} so far {usd(row.high_water_mark)}, it triggers at {usd(level)}"
    return ""


def halted_text(profile: BrokerProfile, state: controls.HaltState) -> str:
    """Why an order tool is refused while the broker is halted (the operator's reason first)."""
    since = f" since {eastern(state.changed_at)}" if state.changed_at else ""
    why = f": {state.reason}" if state.reason else ""
    return (f"{profile.name} is halted{since}{why}. Orders, cancels, replaces and imports are refused and nothing "
            f"fills until `python -m brokers resume {profile.id}`; reads still work.")


def _size(quantity: Decimal | None, notional: Decimal | None, symbol: str) -> str:
    """'10 AAPL' for shares, '$500.00 of AAPL' for a dollar amount."""
    return f"{plain(quantity)} {symbol}" if quantity is not None else f"{usd(notional)} of {symbol}"
