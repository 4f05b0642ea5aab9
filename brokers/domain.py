"""Domain values: order enums, the validated order request, and the views the engine returns.

Every money/price/quantity field is a Decimal; on the wire (JSON) pydantic writes them as strings.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from brokers.errors import InvalidRequest, shorten
from brokers.money import WireDecimal, canonical, decimal_places, from_wire, plain

MAX_QUANTITY = Decimal("1000000000")  # a billion shares: beyond any real order, refused before any arithmetic
MAX_NOTIONAL = Decimal("100000000000")
QUANTITY_PLACES = 6
_CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    OPG = "opg"
    CLS = "cls"


class OrderStatus(StrEnum):
    QUEUED = "queued"
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_active(self) -> bool:
        return self in (OrderStatus.QUEUED, OrderStatus.OPEN)


def _enum(enum: type[StrEnum], value: object, field: str) -> StrEnum:
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidRequest(f"{field} must be one of {allowed}; got {shorten(str(value))!r}") from None


def _positive(value: object, field: str, places: int, maximum: Decimal) -> Decimal | None:
    number = from_wire(value, field)
    if number is None:
        return None
    if number <= 0:
        # The value as sent ("0.000", "-1e400"), so the caller recognises what was refused.
        raise InvalidRequest(f"{field} must be positive, got {shorten(str(value).strip())}")
    if number > maximum:
        raise InvalidRequest(f"{field} {shorten(str(value))} is larger than the maximum {plain(maximum)}")
    if decimal_places(number) > places:
        raise InvalidRequest(f"{field} {shorten(str(value))} has more than {places} decimal places")
    return canonical(number)


def price_places(price: Decimal) -> int:
    """Sub-penny prices are only allowed under $1, as on US exchanges."""
    return 4 if price < 1 else 2


class OrderRequest(BaseModel):
    """A validated order as a broker receives it; `parse` is the only way in from the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    side: Side
    quantity: Decimal | None = None
    notional: Decimal | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    client_order_id: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        symbol: str,
        side: object,
        quantity: object = None,
        notional: object = None,
        order_type: object = "market",
        limit_price: object = None,
        time_in_force: object = "day",
        client_order_id: object = None,
    ) -> OrderRequest:
        """Check every field and name the bad value; the symbol is resolved later by the directory."""
        side_ = _enum(Side, side, "side")
        type_ = _enum(OrderType, order_type or "market", "order_type")
        tif = _enum(TimeInForce, time_in_force or "day", "time_in_force")
        qty = _positive(quantity, "quantity", QUANTITY_PLACES, MAX_QUANTITY)
        amount = _positive(notional, "notional", 2, MAX_NOTIONAL)
        if (qty is None) == (amount is None):
            raise InvalidRequest(
                f"give either quantity (shares) or notional (dollars), not both; got quantity {shorten(str(quantity))} "
                f"and notional {shorten(str(notional))}"
                if qty is not None
                else "quantity (shares) or notional (dollars) is required"
            )
        limit = from_wire(limit_price, "limit_price")
        if type_ is OrderType.LIMIT:
            if limit is None:
                raise InvalidRequest("limit_price is required for a limit order")
            limit = _positive(limit_price, "limit_price", price_places(limit) if limit > 0 else 2, MAX_NOTIONAL)
        elif limit is not None:
            raise InvalidRequest(f"limit_price {shorten(str(limit_price))} given for a market order; use order_type 'limit'")
        if client_order_id is not None:
            client_order_id = str(client_order_id)
            if not _CLIENT_ORDER_ID.match(client_order_id):
                raise InvalidRequest(
                    f"client_order_id {shorten(client_order_id)!r} must be 1-64 characters of letters, digits and . _ : -"
                )
        return cls(
            symbol=str(symbol),
            side=side_,
            quantity=qty,
            notional=amount,
            order_type=type_,
            limit_price=limit,
            time_in_force=tif,
            client_order_id=client_order_id,
        )

    def fingerprint(self) -> str:
        """What must match for a retry with the same client_order_id to be the same order."""
        fields = (self.symbol, self.side, self.quantity, self.notional, self.order_type, self.limit_price, self.time_in_force)
        return "|".join("" if f is None else plain(f) if isinstance(f, Decimal) else str(f) for f in fields)


class OrderView(BaseModel):
    """An order as the broker reports it."""

    id: str
    client_order_id: str | None
    broker: str
    symbol: str
    side: Side
    quantity: WireDecimal | None
    notional: WireDecimal | None
    order_type: OrderType
    limit_price: WireDecimal | None
    time_in_force: TimeInForce
    status: OrderStatus
    filled_quantity: WireDecimal
    average_fill_price: WireDecimal | None
    fees: WireDecimal
    submitted_at: datetime
    filled_at: datetime | None
    executes_at: datetime | None
    """When a queued order will be processed (the next open, or the close for cls)."""
    expires_at: datetime | None
    reject_reason: str | None
    message: str
    """One line a trader reads: what happened and what happens next."""


class Estimate(BaseModel):
    """What an order would cost at this broker now, without placing it."""

    broker: str
    broker_name: str
    symbol: str
    side: Side
    quantity: WireDecimal
    notional: WireDecimal | None
    order_type: OrderType
    limit_price: WireDecimal | None
    time_in_force: TimeInForce
    expected_price: WireDecimal
    trade_value: WireDecimal
    fees: WireDecimal
    total: WireDecimal
    """Cash out for a buy (value + fees), cash in for a sell (value - fees)."""
    fills_now: bool
    executes_at: datetime | None
    fill_latency_ms: int
    buying_power: WireDecimal
    would_be_rejected: str | None
    """The reason the broker would refuse this order now, if it would."""
    message: str


class PositionView(BaseModel):
    symbol: str
    name: str
    quantity: WireDecimal
    average_cost: WireDecimal
    cost_basis: WireDecimal
    market_price: WireDecimal
    market_value: WireDecimal
    unrealized_pnl: WireDecimal
    unrealized_pnl_pct: WireDecimal | None
    realized_pnl: WireDecimal
    sector: str


class PositionsResult(BaseModel):
    broker: str
    positions: list[PositionView]


class AccountView(BaseModel):
    broker: str
    broker_name: str
    currency: str
    starting_cash: WireDecimal
    cash: WireDecimal
    buying_power: WireDecimal
    """Cash less what queued and open buy orders have reserved."""
    equity: WireDecimal
    positions_value: WireDecimal
    realized_pnl: WireDecimal
    unrealized_pnl: WireDecimal
    fees_paid: WireDecimal
    open_orders: int
    market_open: bool


class EquityPoint(BaseModel):
    time: datetime
    cash: WireDecimal
    equity: WireDecimal


class PortfolioSummary(BaseModel):
    broker: str
    broker_name: str
    specialty: str
    total_positions: int
    account: AccountView
    positions: list[PositionView]
    equity_curve: list[EquityPoint]
    """Equity after each fill or import, then now: for the equity-over-time chart."""


class OrdersResult(BaseModel):
    broker: str
    orders: list[OrderView]
