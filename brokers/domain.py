"""Domain values: order enums, the validated order request, and the views the engine returns.

Every money/price/quantity field is a Decimal; on the wire (JSON) pydantic writes them as strings.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

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
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"

    @property
    def has_stop(self) -> bool:
        """Rests untouched until the price reaches a trigger (its stop, or a trail behind the best price)."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)

    @property
    def has_limit(self) -> bool:
        """Never fills beyond its limit_price (after its trigger, for a stop-limit)."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    """An entry whose fill creates two exits (take-profit limit, stop-loss stop), one cancelling the other."""


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
    REPLACED = "replaced"
    """Superseded by a new order that carries `replaces: <this id>`."""

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


MAX_TRAIL_PERCENT = Decimal("50")


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
    stop_price: Decimal | None = None
    """Trigger of a stop or stop-limit order."""
    trail_percent: Decimal | None = None
    """Trailing stop: how far behind the best price since placement, in percent."""
    trail_price: Decimal | None = None
    """Trailing stop: how far behind the best price since placement, in dollars."""
    take_profit_price: Decimal | None = None
    """Bracket: the limit of the sell that takes the profit once the entry has filled."""
    stop_loss_price: Decimal | None = None
    """Bracket: the stop of the sell that cuts the loss once the entry has filled."""
    stop_loss_limit_price: Decimal | None = None
    """Bracket: makes the stop-loss exit a stop-limit at this price."""

    @property
    def order_class(self) -> OrderClass:
        return OrderClass.BRACKET if self.take_profit_price is not None else OrderClass.SIMPLE

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
        stop_price: object = None,
        trail_percent: object = None,
        trail_price: object = None,
        take_profit_price: object = None,
        stop_loss_price: object = None,
        stop_loss_limit_price: object = None,
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
        given = {
            name: value
            for name, value in (("limit_price", limit_price), ("stop_price", stop_price), ("trail_percent", trail_percent),
                                ("trail_price", trail_price))
            if from_wire(value, name) is not None
        }
        wanted = _PRICE_FIELDS[type_]
        for name in wanted["required"]:
            if name not in given:
                raise InvalidRequest(f"{name} is required for a{'n' if type_.value[0] in 'aeiou' else ''} "
                                     f"{type_.value} order")
        for name, value in given.items():
            if name not in wanted["required"] and name not in wanted["optional"]:
                fit = [t.value for t, w in _PRICE_FIELDS.items() if name in w["required"]]
                raise InvalidRequest(
                    f"{name} {shorten(str(value))} given for a{'n' if type_.value[0] in 'aeiou' else ''} {type_.value} "
                    f"order; use order_type {' or '.join(repr(t) for t in fit)}"
                )
        if type_ is OrderType.TRAILING_STOP and ("trail_percent" in given) == ("trail_price" in given):
            raise InvalidRequest(
                "a trailing_stop order takes exactly one of trail_percent or trail_price; got "
                + (f"trail_percent {shorten(str(trail_percent))} and trail_price {shorten(str(trail_price))}"
                   if given.get("trail_percent") is not None else "neither")
            )
        limit = _price(limit_price, "limit_price")
        stop = _price(stop_price, "stop_price")
        trail_pct = _positive(trail_percent, "trail_percent", 2, MAX_TRAIL_PERCENT)
        trail_amount = _price(trail_price, "trail_price")
        if type_.has_stop and tif in (TimeInForce.OPG, TimeInForce.CLS):
            raise InvalidRequest(f"time_in_force {tif.value} is for market and limit orders; a {type_.value} order "
                                 "rests until it triggers: use day or gtc")
        take_profit = _price(take_profit_price, "take_profit_price")
        stop_loss = _price(stop_loss_price, "stop_loss_price")
        stop_loss_limit = _price(stop_loss_limit_price, "stop_loss_limit_price")
        _check_bracket(side_, type_, tif, limit, take_profit, stop_loss, stop_loss_limit)
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
            stop_price=stop,
            trail_percent=trail_pct,
            trail_price=trail_amount,
            take_profit_price=take_profit,
            stop_loss_price=stop_loss,
            stop_loss_limit_price=stop_loss_limit,
        )

    def fingerprint(self) -> str:
        """What must match for a retry with the same client_order_id to be the same order."""
        fields = (self.symbol, self.side, self.quantity, self.notional, self.order_type, self.limit_price, self.time_in_force)
        text = "|".join(_field_text(f) for f in fields)
        # The fields added with stops and brackets only when set: a market or limit order keeps the fingerprint it had
        # before them, so a retry of an order placed by an older release still matches.
        extra = (self.stop_price, self.trail_percent, self.trail_price, self.take_profit_price, self.stop_loss_price,
                 self.stop_loss_limit_price)
        return text + ("|" + "|".join(_field_text(f) for f in extra) if any(f is not None for f in extra) else "")


_PRICE_FIELDS: dict[OrderType, dict[str, tuple[str, ...]]] = {
    OrderType.MARKET: {"required": (), "optional": ()},
    OrderType.LIMIT: {"required": ("limit_price",), "optional": ()},
    OrderType.STOP: {"required": ("stop_price",), "optional": ()},
    OrderType.STOP_LIMIT: {"required": ("stop_price", "limit_price"), "optional": ()},
    OrderType.TRAILING_STOP: {"required": (), "optional": ("trail_percent", "trail_price")},
}
"""Which price fields each order type needs and which it may take; any other one given is refused by name."""


def _field_text(value: object) -> str:
    return "" if value is None else plain(value) if isinstance(value, Decimal) else str(value)


def _price(value: object, field: str) -> Decimal | None:
    """A positive price in dollars: cents, or up to four places under $1 (as on US exchanges)."""
    number = from_wire(value, field)
    if number is None:
        return None
    return _positive(value, field, price_places(number) if number > 0 else 2, MAX_NOTIONAL)


def _check_bracket(
    side: Side, order_type: OrderType, tif: TimeInForce, limit: Decimal | None, take_profit: Decimal | None,
    stop_loss: Decimal | None, stop_loss_limit: Decimal | None,
) -> None:
    """A bracket is a market or limit buy with a take-profit above and a stop-loss below; name what does not fit."""
    if take_profit is None and stop_loss is None:
        if stop_loss_limit is not None:
            raise InvalidRequest(f"stop_loss_limit_price {plain(stop_loss_limit)} needs stop_loss_price and "
                                 "take_profit_price (a bracket)")
        return
    if take_profit is None or stop_loss is None:
        missing = "take_profit_price" if take_profit is None else "stop_loss_price"
        present = "stop_loss_price" if take_profit is None else "take_profit_price"
        raise InvalidRequest(f"a bracket needs both take_profit_price and stop_loss_price; {present} was given "
                             f"without {missing}")
    if order_type not in (OrderType.MARKET, OrderType.LIMIT):
        raise InvalidRequest(f"take_profit_price and stop_loss_price make a bracket, whose entry is a market or limit "
                             f"order; got order_type {order_type.value}")
    if side is not Side.BUY:
        raise InvalidRequest("a bracket's entry must be a buy (its exits sell what it bought; this broker does not sell "
                             "short); got side sell")
    if tif not in (TimeInForce.DAY, TimeInForce.GTC):
        raise InvalidRequest(f"a bracket's time_in_force must be day or gtc; got {tif.value}")
    if take_profit <= stop_loss:
        raise InvalidRequest(f"take_profit_price {plain(take_profit)} must be above stop_loss_price {plain(stop_loss)}")
    if limit is not None and not stop_loss < limit < take_profit:
        raise InvalidRequest(f"the entry's limit_price {plain(limit)} must lie between stop_loss_price "
                             f"{plain(stop_loss)} and take_profit_price {plain(take_profit)}")
    if stop_loss_limit is not None and stop_loss_limit > stop_loss:
        raise InvalidRequest(f"stop_loss_limit_price {plain(stop_loss_limit)} must be at or below stop_loss_price "
                             f"{plain(stop_loss)} (it limits a sell)")


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
    stop_price: WireDecimal | None = None
    trail_percent: WireDecimal | None = None
    trail_price: WireDecimal | None = None
    high_water_mark: WireDecimal | None = None
    """A trailing stop's best price since it started working: the high for a sell, the low for a buy."""
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
    triggered_at: datetime | None = None
    """When a stop, stop-limit or trailing stop's trigger was reached."""
    order_class: OrderClass = OrderClass.SIMPLE
    parent_id: str | None = None
    """A bracket exit's entry order."""
    take_profit_price: WireDecimal | None = None
    """A bracket entry's take-profit exit price."""
    stop_loss_price: WireDecimal | None = None
    """A bracket entry's stop-loss exit trigger."""
    stop_loss_limit_price: WireDecimal | None = None
    replaces: str | None = None
    """The order this one replaced."""
    confirmation: str | None = None
    """How the person's yes was given for this call: `elicited` (asked through MCP elicitation), `token` (a
    confirmation token from a preview), or None (confirmation is off, or nothing new was placed)."""
    environment: Literal["paper"] = "paper"
    """Every broker here trades a paper account: no real money moves."""
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
    stop_price: WireDecimal | None
    trail_percent: WireDecimal | None
    trail_price: WireDecimal | None
    order_class: OrderClass
    take_profit_price: WireDecimal | None
    stop_loss_price: WireDecimal | None
    stop_loss_limit_price: WireDecimal | None
    time_in_force: TimeInForce
    expected_price: WireDecimal
    """The fill price now; for an order that rests, the price its risk checks and reservation use: a limit's limit (the
    most it can pay), a stop's worse of the quote and its stop (or its stop-limit's limit), a trailing stop's trigger."""
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
    environment: Literal["paper"] = "paper"
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
    environment: Literal["paper"] = "paper"


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
