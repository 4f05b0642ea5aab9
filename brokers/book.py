"""One transaction's view of a broker's book, read and written with SQLAlchemy Core.

The engine's hot paths (place an order, answer a read, bring due orders up to date) ask for what they
need in as few statements as possible: the account, the position in the order's symbol, how many
orders are active and whether a client_order_id was used come back in one SELECT; the active orders
only when there are some. Changes are made on plain records and written once, at `flush`: one INSERT
per new order or fill, one UPDATE per changed row. The ORM classes in brokers.persistence define the
tables; the ORM's identity map and unit of work were most of an order's time, so they stay off this path.

Statements run through plain `Connection.execute` and SQLAlchemy's compiled cache. A hand-compiled layer over
the compiler's attributes (`PreparedStatement`, until issue #14) saved 0.3-3.4 % of a place_order round trip over
stdio (medians of 3.1-3.5 ms, 600 calls alternating between the two variants' servers): far under the 25 % that
would be worth re-checking against every SQLAlchemy release.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Integer, bindparam, func, or_, select, update

from brokers.domain import OrderStatus
from brokers.money import ZERO
from brokers.persistence import AccountRow, BrokerDatabase, FillRow, OrderRow, PositionRow

accounts = AccountRow.__table__
orders = OrderRow.__table__
fills = FillRow.__table__
positions = PositionRow.__table__

ACTIVE_STATUSES = (OrderStatus.QUEUED.value, OrderStatus.OPEN.value)
# Two equalities rather than IN (...): a list would be an "expanding" parameter, re-rendered on every execution.
_IS_ACTIVE = or_(orders.c.status == OrderStatus.QUEUED.value, orders.c.status == OrderStatus.OPEN.value)


@dataclass(slots=True, eq=False)
class OrderRecord:
    """An order row as plain values (fields in the table's column order)."""

    seq: int | None
    id: str
    client_order_id: str | None
    fingerprint: str
    symbol: str
    side: str
    quantity: Decimal | None
    notional: Decimal | None
    order_type: str
    limit_price: Decimal | None
    time_in_force: str
    status: str
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    fees: Decimal
    reserved_cash: Decimal
    submitted_at: datetime
    executes_at: datetime | None
    expires_at: datetime | None
    filled_at: datetime | None
    updated_at: datetime
    reject_reason: str | None
    stop_price: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_price: Decimal | None = None
    high_water_mark: Decimal | None = None
    triggered_at: datetime | None = None
    checked_at: datetime | None = None
    order_class: str | None = None
    parent_id: str | None = None
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    stop_loss_limit_price: Decimal | None = None
    replaces: str | None = None


_ORDER_COLUMNS = [field.name for field in fields(OrderRecord)]
if list(orders.c.keys()) != _ORDER_COLUMNS:  # a column added to OrderRow must be added here too
    raise RuntimeError(f"OrderRecord fields {_ORDER_COLUMNS} do not match the orders table {list(orders.c.keys())}")
_ORDER_INSERT_COLUMNS = tuple(_ORDER_COLUMNS[1:])
_ORDER_CHANGING = ("status", "filled_quantity", "average_fill_price", "fees", "reserved_cash", "expires_at", "filled_at",
                   "updated_at", "reject_reason", "high_water_mark", "triggered_at", "checked_at")
"""What processing, filling or cancelling an order can change."""


@dataclass(slots=True, eq=False)
class AccountRecord:
    starting_cash: Decimal
    cash: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal


@dataclass(slots=True, eq=False)
class PositionRecord:
    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    realized_pnl: Decimal
    updated_at: datetime | None


@dataclass(slots=True, frozen=True)
class _Fill:
    """What the equity curve needs of a fill or an import."""

    symbol: str
    side: str
    quantity: Decimal
    cash_after: Decimal
    executed_at: datetime


def _order_state(order: OrderRecord) -> tuple:
    return (order.status, order.filled_quantity, order.average_fill_price, order.fees, order.reserved_cash,
            order.expires_at, order.filled_at, order.updated_at, order.reject_reason, order.high_water_mark,
            order.triggered_at, order.checked_at)


def _position_state(position: PositionRecord) -> tuple:
    return position.quantity, position.cost_basis, position.realized_pnl, position.updated_at


def _account_state(account: AccountRecord) -> tuple:
    return account.cash, account.realized_pnl, account.fees_paid


# Built once: a statement object memoizes its cache key, so each execution finds its compiled form at once.
_ACTIVE_COUNT = select(func.count()).select_from(orders).where(_IS_ACTIVE).scalar_subquery()
_CLIENT_ID_SEQ = select(orders.c.seq).where(orders.c.client_order_id == bindparam("client_order_id")).scalar_subquery()
LOAD = (
    select(
        accounts.c.starting_cash, accounts.c.cash, accounts.c.realized_pnl, accounts.c.fees_paid,
        positions.c.symbol, positions.c.quantity, positions.c.cost_basis,
        positions.c.realized_pnl.label("position_realized_pnl"), positions.c.updated_at,
        _ACTIVE_COUNT.label("active_orders"), _CLIENT_ID_SEQ.label("client_order_seq"),
    )
    .select_from(accounts.outerjoin(positions, positions.c.symbol == bindparam("symbol")))
    .where(accounts.c.broker == bindparam("broker"))
)
ACTIVE_ORDERS = select(*orders.c).where(_IS_ACTIVE).order_by(orders.c.seq)
ORDER_BY_SEQ = select(*orders.c).where(orders.c.seq == bindparam("seq"))
ORDER_BY_ID = select(*orders.c).where(orders.c.id == bindparam("ref"))
ORDER_BY_CLIENT_ID = select(*orders.c).where(orders.c.client_order_id == bindparam("ref"))
POSITION = select(positions.c.symbol, positions.c.quantity, positions.c.cost_basis, positions.c.realized_pnl,
                  positions.c.updated_at).where(positions.c.symbol == bindparam("symbol"))
ALL_POSITIONS = select(positions.c.symbol, positions.c.quantity, positions.c.cost_basis, positions.c.realized_pnl,
                       positions.c.updated_at).order_by(positions.c.symbol)
RECENT_FILLS = (select(fills.c.symbol, fills.c.side, fills.c.quantity, fills.c.cash_after, fills.c.executed_at)
                .order_by(fills.c.seq.desc()).limit(bindparam("count", type_=Integer)))
# inline(): the inserts never fetch the new seq back (no RETURNING on PostgreSQL); nothing reads it.
INSERT_ORDER = orders.insert().inline()
INSERT_FILL = fills.insert().inline()
INSERT_POSITION = positions.insert().inline()
INSERT_ACCOUNT = accounts.insert().inline()
_FILL_COLUMNS = ("order_id", "kind", "symbol", "side", "quantity", "price", "gross", "fees", "cash_after", "executed_at")
_POSITION_CHANGING = ("quantity", "cost_basis", "realized_pnl", "updated_at")
_ACCOUNT_CHANGING = ("cash", "realized_pnl", "fees_paid")
UPDATE_ORDER = update(orders).where(orders.c.seq == bindparam("_seq"))
UPDATE_ACCOUNT = update(accounts).where(accounts.c.broker == bindparam("_broker"))
UPDATE_POSITION = update(positions).where(positions.c.symbol == bindparam("_symbol"))


class Book:
    """What one transaction reads of a broker's book and the changes it will write at `flush`."""

    def __init__(self, connection: Connection, database: BrokerDatabase):
        self.connection = connection
        self.broker = database.broker_id
        self._database = database
        self.account: AccountRecord | None = None
        """None until `load`, and after it when the account was never opened."""
        self.client_order_seq: int | None = None
        """The seq of the order that already carries the client_order_id given to `load`, if any."""
        self._active_count = 0
        self._active: list[OrderRecord] | None = None
        self._orders: dict[int, list] = {}  # seq -> [record, state when read]
        self._positions: dict[str, list] = {}  # symbol -> [record, state when read or None if not stored]
        self._account_state: tuple | None = None
        self._new_orders: list[OrderRecord] = []
        self._new_fills: list[dict] = []

    # ----------------------------------------------------------------- reading

    def load(self, symbol: str | None = None, client_order_id: str | None = None) -> None:
        """Read the account, the position in `symbol`, the active-order count and a client_order_id's order seq."""
        rows = self._rows(LOAD, {"broker": self.broker, "symbol": symbol, "client_order_id": client_order_id})
        if not rows:
            return
        row = rows[0]
        self.account = AccountRecord(row[0], row[1], row[2], row[3])
        self._account_state = _account_state(self.account)
        self._active_count = row[9]
        self.client_order_seq = row[10]
        if symbol is not None:
            if row[4] is None:
                self._positions[symbol] = [PositionRecord(symbol, ZERO, ZERO, ZERO, None), None]
            else:
                self._remember_position(PositionRecord(row[4], row[5], row[6], row[7], row[8]))

    def active_orders(self) -> list[OrderRecord]:
        """Queued and open orders, oldest first (no statement when `load` counted none)."""
        if self._active is None:
            if self._active_count == 0:
                self._active = []
            else:
                self._active = [self._track(row) for row in self._rows(ACTIVE_ORDERS, {})]
        return self._active

    def order(self, seq: int) -> OrderRecord:
        tracked = self._orders.get(seq)
        if tracked is not None:
            return tracked[0]
        [row] = self._rows(ORDER_BY_SEQ, {"seq": seq})
        return self._track(row)

    def find_order(self, ref: str) -> OrderRecord | None:
        """The order whose id, or else whose client_order_id, is `ref`."""
        rows = self._rows(ORDER_BY_ID, {"ref": ref}) or self._rows(ORDER_BY_CLIENT_ID, {"ref": ref})
        return self._track(rows[0]) if rows else None

    def orders(self, query) -> list[OrderRecord]:
        """Orders from a SELECT of every order column (read only: not tracked for `flush`)."""
        return [OrderRecord(*row) for row in self.connection.execute(query)]

    def position(self, symbol: str) -> PositionRecord:
        """The position in `symbol`, an empty one (written at `flush` only if it changes) when none is stored."""
        known = self._positions.get(symbol)
        if known is not None:
            return known[0]
        rows = self._rows(POSITION, {"symbol": symbol})
        if not rows:
            self._positions[symbol] = [PositionRecord(symbol, ZERO, ZERO, ZERO, None), None]
            return self._positions[symbol][0]
        return self._remember_position(PositionRecord(*rows[0]))

    def held(self) -> list[PositionRecord]:
        """Every stored position with shares, by symbol (as written: call after `flush` when something changed)."""
        # Quantities are exact decimal text, so "is it zero" is asked in Python, not in SQL.
        return [PositionRecord(*row) for row in self._rows(ALL_POSITIONS, {}) if row[1]]

    def recent_fills(self, count: int) -> list[_Fill]:
        """The last `count` fills and imports, newest first."""
        return [_Fill(*row) for row in self._rows(RECENT_FILLS, {"count": count})]

    # ----------------------------------------------------------------- changing

    def add_order(self, order: OrderRecord) -> None:
        """A new order, written at `flush`; an active one joins `active_orders` at once (a bracket's exits, created
        by their entry's fill, are worked in the same pass)."""
        active = self.active_orders()
        self._new_orders.append(order)
        if order.status in ACTIVE_STATUSES:
            active.append(order)
            self._active_count += 1

    def add_fill(self, **values) -> None:
        self._new_fills.append(values)

    def open_account(self, starting_cash: Decimal, at: datetime) -> None:
        values = {"broker": self.broker, "starting_cash": starting_cash, "cash": starting_cash, "realized_pnl": ZERO,
                  "fees_paid": ZERO, "created_at": at}
        self._write(INSERT_ACCOUNT, values)

    def flush(self) -> None:
        """Write every new order and fill and every changed row: one statement each, orders before their fills."""
        for order in self._new_orders:  # a new order is written once, as it ends this transaction
            self._write(INSERT_ORDER, {name: getattr(order, name) for name in _ORDER_INSERT_COLUMNS})
        self._new_orders.clear()
        for tracked in self._orders.values():
            order, state = tracked
            now_state = _order_state(order)
            if now_state != state:
                self._write(UPDATE_ORDER, {"_seq": order.seq, **dict(zip(_ORDER_CHANGING, now_state, strict=True))})
                tracked[1] = now_state
        for fill in self._new_fills:
            self._write(INSERT_FILL, fill)
        self._new_fills.clear()
        if self.account is not None and _account_state(self.account) != self._account_state:
            self._account_state = _account_state(self.account)
            self._write(UPDATE_ACCOUNT, {"_broker": self.broker, **dict(zip(_ACCOUNT_CHANGING, self._account_state, strict=True))})
        for tracked in self._positions.values():
            position, state = tracked
            now_state = _position_state(position)
            if now_state == state or (state is None and now_state == (ZERO, ZERO, ZERO, None)):
                continue
            values = dict(zip(_POSITION_CHANGING, now_state, strict=True))
            if state is None:
                self._write(INSERT_POSITION, {"symbol": position.symbol, **values})
            else:
                self._write(UPDATE_POSITION, {"_symbol": position.symbol, **values})
            tracked[1] = now_state

    # ----------------------------------------------------------------- statements

    def _rows(self, statement, values: dict) -> list[tuple]:
        return self.connection.execute(statement, values).all()

    def _write(self, statement, values: dict) -> None:
        self.connection.execute(statement, values)

    # ----------------------------------------------------------------- bookkeeping

    def _track(self, row) -> OrderRecord:
        tracked = self._orders.get(row[0])
        if tracked is None:
            order = OrderRecord(*row)
            tracked = self._orders[order.seq] = [order, _order_state(order)]
        return tracked[0]

    def _remember_position(self, position: PositionRecord) -> PositionRecord:
        self._positions[position.symbol] = [position, _position_state(position)]
        return position
