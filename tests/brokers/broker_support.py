"""Helpers shared by the broker tests: order building, an independent fee formula, the cash identity."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from brokers.domain import OrderRequest
from brokers.persistence import FillRow
from brokers.profiles import BrokerProfile

ROOT = Path(__file__).resolve().parents[2]
CENT = Decimal("0.01")
TOOLS = {
    "add_position", "fetch_positions", "get_portfolio_summary", "get_account", "get_quote", "estimate_order",
    "place_order", "cancel_order", "replace_order", "list_orders", "get_broker_profile",
}
WRITE_TOOLS = {"place_order", "cancel_order", "replace_order", "add_position"}
ORDER_FIELDS = {"symbol", "side", "quantity", "notional", "order_type", "limit_price", "time_in_force", "client_order_id",
                "stop_price", "trail_percent", "trail_price", "take_profit_price", "stop_loss_price",
                "stop_loss_limit_price"}


def order(**fields) -> OrderRequest:
    """A parsed order request; side defaults to buy."""
    return OrderRequest.parse(**{"side": "buy", **fields})


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def expected_fee(profile: BrokerProfile, quantity: Decimal, price: Decimal) -> Decimal:
    """The profile's schedule written out again: per share, at least the minimum, at most pct of value."""
    schedule = profile.commission
    value = cents(quantity * price)
    return cents(min(max(schedule.per_share * quantity, schedule.minimum), value * schedule.max_pct_of_value / 100))


def trades(engine) -> list[FillRow]:
    with engine.db.transaction() as session:
        return list(session.query(FillRow).filter(FillRow.kind == "trade").order_by(FillRow.seq))


def identity_cash(engine) -> Decimal:
    """starting cash + sells - buys - fees, from the fills table."""
    fills = trades(engine)
    buys = sum((f.gross for f in fills if f.side == "buy"), Decimal(0))
    sells = sum((f.gross for f in fills if f.side == "sell"), Decimal(0))
    fees = sum((f.fees for f in fills), Decimal(0))
    return engine.profile.starting_cash + sells - buys - fees
