"""The offline planner: where a sell goes, what 'cheapest' means, several orders in one turn. Pure: tool results
are given as the brokers would answer, no brokers run."""

from __future__ import annotations

from decimal import Decimal

from agent.language import BrokerRef, read_request
from agent.language.dialogue import DialogueState, resolve
from agent.offline_planner import Reply, ToolCall, ToolResult, TurnContext, plan

TS, VE = "tradesphere", "velocity"
BROKERS = (BrokerRef(TS, "TradeSphere"), BrokerRef(VE, "VelocityBrokers"))


def intents(text: str):
    return [resolve(i, DialogueState(), BROKERS) for i in read_request(text, BROKERS)]


def ctx(*results: ToolResult) -> TurnContext:
    return TurnContext(brokers=BROKERS, default_broker=TS, results=list(results))


def positions(broker: str, **held: str) -> ToolResult:
    data = {"positions": [{"symbol": s, "quantity": q} for s, q in held.items()]}
    return ToolResult(broker, "fetch_positions", {}, True, data, "")


def quote(symbol: str, broker: str = TS) -> ToolResult:
    return ToolResult(broker, "get_quote", {"symbol": symbol}, True, {"symbol": symbol, "name": symbol}, "")


def estimate(broker: str, args: dict, quantity: str, total: str, fees: str, trade_value: str | None = None) -> ToolResult:
    data = {"symbol": args["symbol"], "quantity": quantity, "total": total, "fees": fees,
            "trade_value": trade_value or total, "notional": args.get("notional"), "would_be_rejected": None}
    return ToolResult(broker, "estimate_order", dict(args), True, data, "")


def run_to_orders(text: str, answer) -> list[ToolCall] | Reply:
    """Plan, answering every read with `answer(call)`, until the planner places orders or replies."""
    context = ctx()
    for _ in range(10):
        step = plan(intents(text), context)
        if isinstance(step, Reply) or all(c.tool in ("place_order", "cancel_order") for c in step):
            return step
        context.results += [answer(c) for c in step]
    raise AssertionError("the planner did not settle")


def book(**by_broker):
    """An answer function for a book: {broker: {symbol: quantity}}; estimates at $100 a share, fees 1."""
    def answer(call: ToolCall) -> ToolResult:
        if call.tool == "fetch_positions":
            return positions(call.broker, **by_broker.get(call.broker, {}))
        if call.tool == "get_quote":
            return quote(call.arguments["symbol"], call.broker)
        if call.tool == "estimate_order":
            q = call.arguments.get("quantity", "1")
            return estimate(call.broker, call.arguments, q, str(Decimal(q) * 100 + 1), "1")
        raise AssertionError(call)
    return answer


def test_a_sell_with_no_broker_goes_where_the_shares_are():
    step = run_to_orders("sell all my AMD", book(velocity={"AMD": "9"}))
    assert [(c.broker, c.arguments) for c in step] == [(VE, {"symbol": "AMD", "side": "sell", "quantity": "9"})]


def test_all_of_a_stock_held_at_both_brokers_sells_at_both():
    step = run_to_orders("sell all my Nvidia", book(tradesphere={"NVDA": "4"}, velocity={"NVDA": "6"}))
    assert sorted((c.broker, c.arguments["quantity"]) for c in step) == [(TS, "4"), (VE, "6")]


def test_a_number_held_at_both_brokers_asks_which_and_places_nothing():
    step = run_to_orders("sell 5 Nvidia", book(tradesphere={"NVDA": "4"}, velocity={"NVDA": "6"}))
    assert isinstance(step, Reply) and "which broker" in step.text.lower() and "nothing was placed" in step.text.lower()


def test_a_sell_of_shares_held_nowhere_says_so():
    step = run_to_orders("sell 10 Tesla", book())
    assert isinstance(step, Reply) and "hold no TSLA" in step.text


def test_close_out_everything_sells_every_position_on_every_broker():
    step = run_to_orders("close out everything I own", book(tradesphere={"KO": "10"}, velocity={"JPM": "4", "F": "2.5"}))
    assert sorted((c.broker, c.arguments["symbol"], c.arguments["quantity"]) for c in step) == [
        (TS, "KO", "10"), (VE, "F", "2.5"), (VE, "JPM", "4")]
    assert all(c.arguments["side"] == "sell" for c in step)


def test_cheapest_compares_the_same_order_not_what_each_broker_would_spend():
    """$500 of a ~$215 stock: whole-share Velocity spends less ($432.42 for 2) but pays more a share."""
    def answer(call: ToolCall) -> ToolResult:
        if call.broker == VE:
            return estimate(VE, call.arguments, "2", "432.42", "1.00", trade_value="431.42")
        return estimate(TS, call.arguments, "2.3199", "500.35", "0.35", trade_value="500.00")
    step = run_to_orders("$500 of Costco on the cheapest broker", answer)
    assert [(c.broker, c.arguments.get("notional")) for c in step] == [(TS, "500")]


def test_several_orders_of_one_message_are_placed_in_one_step():
    step = run_to_orders("buy 20 Visa and 15 Mastercard", book())
    assert [(c.broker, c.arguments["symbol"], c.arguments["quantity"]) for c in step] == [(TS, "V", "20"), (TS, "MA", "15")]


def test_one_refused_order_of_several_places_none():
    def answer(call: ToolCall) -> ToolResult:
        if call.arguments.get("symbol") == "MA":
            return ToolResult(call.broker, call.tool, call.arguments, False, {}, "Error executing tool estimate_order: no")
        return book()(call)
    step = run_to_orders("buy 20 Visa and 15 Mastercard", answer)
    assert isinstance(step, Reply) and step.text.startswith("Nothing was placed")
