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


async def new_order_types_over_mcp(call) -> None:
    """Every new order field through the tools, on a frozen open market: `call(tool, **arguments)` gives a CallToolResult.

    A sell stop, a buy stop-limit, a trailing stop and a bracket rest or fill with their fields in the structured
    result and in list_orders; estimate_order takes the same arguments; replace_order supersedes; capitals in the
    enums are accepted, an unknown order type is refused by the published enum.
    """
    quote = (await call("get_quote", symbol="KO")).structured_content
    last = Decimal(quote["last"])
    bought = await call("place_order", symbol="KO", side="BUY", quantity="10")
    assert not bought.is_error and bought.structured_content["order_class"] == "simple"
    stop = cents(last * Decimal("0.9"))
    resting = (await call("place_order", symbol="KO", side="sell", quantity="4", order_type="stop",
                          stop_price=str(stop), time_in_force="gtc")).structured_content
    assert (resting["status"], resting["order_type"], dec(resting["stop_price"]), resting["triggered_at"]) == (
        "open", "stop", stop, None)
    above = cents(last * Decimal("1.1"))
    stop_limit = (await call("place_order", symbol="KO", side="buy", quantity="1", order_type="Stop_Limit",
                             stop_price=str(above), limit_price=str(above + 1), time_in_force="GTC")).structured_content
    assert (stop_limit["order_type"], dec(stop_limit["stop_price"]), dec(stop_limit["limit_price"])) == (
        "stop_limit", above, above + 1)
    trailing = (await call("place_order", symbol="KO", side="sell", quantity="6", order_type="trailing_stop",
                           trail_price="2.50", time_in_force="gtc")).structured_content
    assert (dec(trailing["trail_price"]), trailing["trail_percent"], dec(trailing["high_water_mark"])) == (
        Decimal("2.50"), None, last)
    arguments = {"symbol": "AAPL", "side": "buy", "quantity": "2", "take_profit_price": "9999",
                 "stop_loss_price": "1", "stop_loss_limit_price": "0.90"}
    estimate = (await call("estimate_order", **arguments)).structured_content
    assert (estimate["order_class"], dec(estimate["take_profit_price"]), estimate["fills_now"]) == ("bracket", 9999, True)
    entry = (await call("place_order", **arguments)).structured_content
    orders = (await call("list_orders", status="active")).structured_content["orders"]
    legs = sorted((o for o in orders if o["parent_id"] == entry["id"]), key=lambda o: o["order_type"])
    assert [(o["order_type"], dec(o["limit_price"]), dec(o["stop_price"]), o["order_class"]) for o in legs] == [
        ("limit", 9999, None, "bracket"), ("stop_limit", Decimal("0.9"), 1, "bracket")]
    replaced = await call("replace_order", order_id=resting["id"], stop_price=str(stop - 1), quantity="3")
    new = replaced.structured_content
    assert not replaced.is_error and (new["replaces"], dec(new["stop_price"]), new["quantity"]) == (resting["id"], stop - 1, "3")
    statuses = {o["id"]: o["status"] for o in (await call("list_orders", status="replaced")).structured_content["orders"]}
    assert statuses == {resting["id"]: "replaced"}
    again = await call("replace_order", order_id=resting["id"], quantity="2")
    assert again.is_error and f"order {resting['id']} is replaced" in again.content[0].text
    unknown = await call("place_order", symbol="KO", side="buy", quantity="1", order_type="stop_loss")
    assert unknown.is_error and "order_type" in unknown.content[0].text


def dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
