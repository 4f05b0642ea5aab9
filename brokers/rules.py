"""The rules an order must pass, in one place: checked when it is placed (or replaced) and again when it fills.

A queued or resting order was checked at the price of its placement; it fills at another price, on a book that has
changed since, so the same rules run again then. What differs between the two moments is only what money and shares
are available: at placement, buying power (cash less what other orders reserve) and the shares not promised to other
sell orders; at the fill, the cash and the shares themselves, since the order's own reservation is what pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from brokers.domain import Side
from brokers.money import plain, usd
from brokers.profiles import BrokerProfile, RiskLimits


@dataclass(frozen=True)
class Trade:
    """An order priced for a check: its size, the price it is valued at, and what it costs."""

    symbol: str
    side: Side
    quantity: Decimal
    notional: Decimal | None
    price: Decimal
    value: Decimal
    fees: Decimal
    cap_value: Decimal | None = None
    """What the notional limits count (a buy at the worse of the quote and its limit); None: `value`."""


@dataclass(frozen=True)
class Available:
    """What the book can give the trade at this moment."""

    money: Decimal
    money_name: str
    """'buying power' at placement, 'cash' at the fill: the word the reason uses."""
    shares_held: Decimal
    shares_reserved: Decimal = Decimal(0)
    """Held shares already promised to other active sell orders (placement only)."""
    at_fill: bool = False


def broken_rule(profile: BrokerProfile, limits: RiskLimits, trade: Trade, available: Available) -> str | None:
    """The first rule `trade` breaks, with the numbers; None when the broker takes it."""
    at = f" at {usd(trade.price)}" if available.at_fill else ""
    if limits.symbol_allowlist is not None and trade.symbol not in limits.symbol_allowlist:
        return f"{trade.symbol} is not on {profile.name}'s allowed symbols ({', '.join(limits.symbol_allowlist)})"
    if trade.quantity <= 0:
        return f"notional {usd(trade.notional)} buys less than the smallest tradable quantity at {usd(trade.price)}"
    if not profile.fractional_shares and trade.quantity != trade.quantity.to_integral_value():
        return f"{profile.name} trades whole shares only; quantity {plain(trade.quantity)} is fractional"
    counted = trade.value if trade.cap_value is None else trade.cap_value
    if limits.max_order_notional is not None and counted > limits.max_order_notional:
        return (f"order value {usd(counted)}{at} is over {profile.name}'s per-order limit of "
                f"{usd(limits.max_order_notional)}")
    if trade.side is Side.BUY:
        needed = trade.value + trade.fees
        if needed > available.money:
            return f"needs {usd(needed)}{at}, {available.money_name} {usd(available.money)}"
        return None
    free = available.shares_held - available.shares_reserved
    if trade.quantity > free:
        detail = (f" ({plain(available.shares_reserved)} already reserved by open sell orders)"
                  if available.shares_reserved else "")
        return f"cannot sell {plain(trade.quantity)} {trade.symbol}: {plain(available.shares_held)} held{detail}"
    return None
