"""What "cheapest" and "fastest" mean, in one place, for the offline model's routing, replies and dialogue.

Cheapest compares brokers on the same order: the all-in price per share of each broker's estimate
(total, fees and expected price included, divided by the shares it buys or sells). For a share count
that is the same as comparing totals; for a dollar amount it is the cost per dollar invested, so a
whole-share broker that can only spend $432 of a $500 order does not win by spending less. With no
order to price (a broker comparison), the commission schedule decides: per-share rate, then minimum.
Fastest is the profile's typical fill latency.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def _num(value: object, default: Decimal = Decimal("Infinity")) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return default


def price_per_share(estimate: Mapping) -> Decimal:
    """All in: what one share costs (a buy) or brings (a sell) at this broker, fees included."""
    quantity = _num(estimate.get("quantity"), Decimal(0))
    if quantity <= 0:
        return Decimal("Infinity")
    return _num(estimate.get("total")) / quantity


def cheapest_for_order(estimates: Mapping[str, Mapping], side: str) -> str:
    """The broker id whose estimate of the same order is best for the person: lowest all-in price per share for a buy,
    highest for a sell; ties go to lower fees, then to the broker id."""
    sign = Decimal(1) if side != "sell" else Decimal(-1)
    return min(estimates, key=lambda b: (sign * price_per_share(estimates[b]), _num(estimates[b].get("fees")), b))


def short_of_notional(estimate: Mapping) -> Decimal | None:
    """For a dollar order a whole-share broker cannot fill exactly: how much of the amount is left unspent."""
    notional = estimate.get("notional")
    if notional in (None, ""):
        return None
    left = _num(notional, Decimal(0)) - _num(estimate.get("trade_value"), Decimal(0))
    return left if left > Decimal("0.01") else None


def lowest_fees(profiles: Mapping[str, Mapping]) -> str:
    """With no order to price: the broker with the lowest commission schedule (per share, then minimum)."""
    return min(profiles, key=lambda b: (_num(profiles[b].get("commission_per_share")),
                                        _num(profiles[b].get("commission_minimum")), b))


def commission(profile: Mapping, quantity: Decimal) -> Decimal:
    """The commission for `quantity` shares from a fee schedule, to the cent, before the cap on the trade value
    (which only binds for very cheap shares and needs the price)."""
    fee = max(_num(profile.get("commission_per_share"), Decimal(0)) * quantity,
              _num(profile.get("commission_minimum"), Decimal(0)))
    return fee.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def fastest(profiles: Mapping[str, Mapping]) -> str:
    """The broker with the lowest typical fill latency."""
    return min(profiles, key=lambda b: (_num(profiles[b].get("fill_latency_ms")), b))
