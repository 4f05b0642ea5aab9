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
    context.user_text = text
    for _ in range(10):
        step = plan(intents(text), context)
        if isinstance(step, Reply) or all(c.tool in ("place_order", "cancel_order", "replace_order") for c in step):
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


def test_a_protective_stop_covers_the_position_where_it_is_held_and_stays_working():
    [call] = run_to_orders("stop loss on my apple at 200", book(velocity={"AAPL": "12"}))
    assert (call.broker, call.tool) == (VE, "place_order")
    assert call.arguments == {"symbol": "AAPL", "side": "sell", "quantity": "12", "order_type": "stop",
                              "stop_price": "200", "time_in_force": "gtc"}


def test_a_trailing_stop_and_a_bracket_carry_their_prices():
    [trail] = run_to_orders("trailing stop 5% on my nvda", book(tradesphere={"NVDA": "30"}))
    assert trail.arguments | {} == {"symbol": "NVDA", "side": "sell", "quantity": "30", "order_type": "trailing_stop",
                                    "trail_percent": "5", "time_in_force": "gtc"}
    [bracket] = run_to_orders("buy 10 AAPL limit 220 take profit 250 stop loss 210", book())
    assert bracket.arguments == {"symbol": "AAPL", "side": "buy", "quantity": "10", "order_type": "limit",
                                 "limit_price": "220", "take_profit_price": "250", "stop_loss_price": "210"}


def test_a_stop_on_shares_held_nowhere_places_nothing():
    step = run_to_orders("sell my Tesla if it drops below 300", book())
    assert isinstance(step, Reply) and "hold no TSLA" in step.text


def _orders(call: ToolCall, *orders: dict) -> ToolResult:
    return ToolResult(call.broker, "list_orders", dict(call.arguments), True, {"orders": list(orders)}, "")


def test_changing_a_working_order_replaces_the_one_it_names():
    order = {"id": "o-7", "symbol": "CMG", "side": "buy", "quantity": "10", "order_type": "limit", "status": "open"}

    def answer(call: ToolCall) -> ToolResult:
        assert call.tool == "list_orders" and call.arguments == {"status": "active", "symbol": "CMG"}, call
        return _orders(call, order) if call.broker == VE else _orders(call)

    [call] = run_to_orders("change my Chipotle limit to 52", answer)
    assert (call.broker, call.tool, call.arguments) == (VE, "replace_order", {"order_id": "o-7", "limit_price": "52"})


def test_a_change_with_two_working_orders_asks_which_and_changes_nothing():
    one = {"id": "a", "symbol": "CMG", "side": "buy", "quantity": "10", "order_type": "limit", "status": "open"}
    two = {"id": "b", "symbol": "CMG", "side": "buy", "quantity": "5", "order_type": "limit", "status": "queued"}
    step = run_to_orders("change my Chipotle limit to 52", lambda c: _orders(c, one) if c.broker == TS else _orders(c, two))
    assert isinstance(step, Reply) and "Which one" in step.text and "Nothing was changed" in step.text


def test_a_commission_question_without_a_stock_answers_from_the_fee_schedules():
    def answer(call: ToolCall) -> ToolResult:
        assert call.tool == "get_broker_profile", call
        fees = {TS: ("0.0035", "0.35", "0.5"), VE: ("0.0065", "1.00", "1.0")}[call.broker]
        data = dict(zip(("commission_per_share", "commission_minimum", "commission_max_pct_of_value"), fees, strict=True))
        return ToolResult(call.broker, "get_broker_profile", {}, True, data, "")

    step = run_to_orders("comm on 500 sh velo vs ts?", answer)
    assert isinstance(step, Reply), step
    assert "$3.25" in step.text and "$1.75" in step.text and "Nothing was placed" in step.text
    small = run_to_orders("fee on 50 sh thru tradesphere?", answer)
    assert "$0.35" in small.text and "VelocityBrokers" not in small.text  # the minimum, on the broker asked about


def test_a_commission_question_with_a_count_and_a_stock_never_places_an_order():
    for text in ("What commission I pay for 100 Ford on Velocity?", "100 Ford on Velocity, how much commission?",
                 "what would ten shares of costco run me"):
        assert all(i.kind.value != "order" for i in intents(text)), text


def test_a_portfolio_answer_mentions_the_orders_still_waiting():
    def answer(call: ToolCall) -> ToolResult:
        if call.tool == "get_portfolio_summary":
            account = {"equity": "100000.00", "cash": "100000.00", "unrealized_pnl": "0.00"}
            return ToolResult(call.broker, call.tool, {}, True, {"account": account, "positions": []}, "")
        assert call.tool == "list_orders" and call.arguments == {"status": "active"}, call
        orders = [{"id": "q1", "side": "buy", "quantity": "100", "symbol": "AAPL", "order_type": "market",
                   "time_in_force": "opg", "status": "queued"}] if call.broker == TS else []
        return ToolResult(call.broker, call.tool, dict(call.arguments), True, {"orders": orders}, "")

    step = run_to_orders("show me portfolios from both brokers", answer)
    assert isinstance(step, Reply)
    ts_line, ve_line = step.text.splitlines()[:2]
    assert "no positions" in ts_line and "1 order waiting: buy 100 AAPL market at the open (queued)" in ts_line
    assert "waiting" not in ve_line


def _profile(broker: str, market: dict) -> ToolResult:
    data = {"name": {TS: "TradeSphere", VE: "VelocityBrokers"}[broker], "specialty": "s", "fee_schedule": "f",
            "fill_latency_ms": 400 if broker == TS else 5, "fractional_shares": broker == TS,
            "commission_per_share": "0.0035", "commission_minimum": "0.35", "commission_max_pct_of_value": "0.5",
            "market": market}
    return ToolResult(broker, "get_broker_profile", {}, True, data, "")


def test_the_market_clock_is_read_from_the_default_broker():
    open_now = {"is_open": True, "now": "2026-11-24T10:30:00-05:00", "next_open": "2026-11-25T09:30:00-05:00",
                "next_close": "2026-11-24T16:00:00-05:00", "early_close": False, "practice": False}
    calls = []

    def answer(call: ToolCall) -> ToolResult:
        calls.append(call)
        return _profile(call.broker, open_now)

    step = run_to_orders("is the market open right now?", answer)
    assert [c.broker for c in calls] == [TS]
    assert step.text == "The market is open: it is Tue Nov 24, 10:30 ET. It closes Tue Nov 24, 16:00 ET."
    closed = dict(open_now, is_open=False, now="2026-11-28T11:00:00-05:00", practice=True)
    step = run_to_orders("when does the market open?", lambda call: _profile(call.broker, closed))
    assert "closed" in step.text and "practice clock" in step.text and "opens Wed Nov 25, 9:30 ET" in step.text


def test_what_the_brokers_allow_leads_with_the_broker_asked_about():
    step = run_to_orders("can I buy fractional shares on velocity?", lambda call: _profile(call.broker, {}))
    first, second = step.text.splitlines()[:2]
    assert first == ("Fractional shares and dollar amounts: TradeSphere. Whole shares only: VelocityBrokers (a dollar "
                     "amount there buys the whole shares it covers).")
    assert second.startswith("- VelocityBrokers")
    types = run_to_orders("what order types can I use?", lambda call: _profile(call.broker, {}))
    assert "stop-limit" in types.text and "trailing-stop" in types.text and "at the close" in types.text


def test_where_a_stock_is_held_is_said_first():
    def answer(call: ToolCall) -> ToolResult:
        if call.tool == "get_portfolio_summary":
            account = {"equity": "100000.00", "cash": "99000.00", "unrealized_pnl": "0.00"}
            held = [{"symbol": "TSLA", "quantity": "5", "market_value": "1000.00", "unrealized_pnl": "-3.20"}] if (
                call.broker == VE) else []
            return ToolResult(call.broker, call.tool, {}, True, {"account": account, "positions": held}, "")
        return ToolResult(call.broker, call.tool, dict(call.arguments), True, {"orders": []}, "")

    step = run_to_orders("where is my tesla held?", answer)
    assert step.text.splitlines()[0] == "You hold 5 TSLA at VelocityBrokers ($1,000.00, P&L -$3.20)."
    none = run_to_orders("which broker has my AMD?", answer)
    assert none.text.splitlines()[0] == "You hold no AMD at either broker."


def test_a_limit_moved_by_an_amount_is_moved_from_the_working_price():
    order = {"id": "o-9", "symbol": "NKE", "side": "buy", "quantity": "30", "order_type": "limit", "limit_price": "20.00",
             "status": "open"}
    answer = lambda c: _orders(c, order) if c.broker == TS else _orders(c)  # noqa: E731
    [call] = run_to_orders("Move my Nike limit up a dollar.", answer)
    assert (call.broker, call.tool, call.arguments) == (TS, "replace_order", {"order_id": "o-9", "limit_price": "21"})
    [call] = run_to_orders("lower the nike limit by 50 cents", answer)
    assert call.arguments == {"order_id": "o-9", "limit_price": "19.5"}
    too_far = run_to_orders("lower the nike limit by $25", answer)
    assert isinstance(too_far, Reply) and "-$5.00" in too_far.text and "Nothing was changed" in too_far.text
    market = dict(order, order_type="market", limit_price=None)
    none = run_to_orders("raise the nike limit by $1", lambda c: _orders(c, market) if c.broker == TS else _orders(c))
    assert isinstance(none, Reply) and "no limit price" in none.text


def test_a_stock_held_at_both_brokers_is_also_said_in_all():
    def answer(call: ToolCall) -> ToolResult:
        if call.tool == "get_portfolio_summary":
            account = {"equity": "100000.00", "cash": "90000.00", "unrealized_pnl": "0.00"}
            quantity, value = ("40", "8664.80") if call.broker == TS else ("25", "5415.50")
            held = [{"symbol": "HON", "quantity": quantity, "market_value": value, "unrealized_pnl": "-0.50"}]
            return ToolResult(call.broker, call.tool, {}, True, {"account": account, "positions": held}, "")
        return ToolResult(call.broker, call.tool, dict(call.arguments), True, {"orders": []}, "")

    step = run_to_orders("How many HON shares am I holding altogether, across both brokers?", answer)
    assert "That is 65 HON in all ($14,080.30)." in step.text.splitlines()[0], step.text


def test_an_order_said_with_no_verb_buys_what_is_held_nowhere_and_asks_about_what_is_held():
    [call] = run_to_orders("on my break, quick one - 12 abbott labs on velocity", book())
    assert (call.broker, call.tool, call.arguments) == (VE, "place_order", {"symbol": "ABT", "side": "buy", "quantity": "12"})
    step = run_to_orders("12 abbott labs on velocity", book(tradesphere={"ABT": "10"}))
    assert isinstance(step, Reply) and "buy or sell" in step.text and "10 at TradeSphere" in step.text, step
    for said in ("I have 50 shares of apple", "10 of my apple on velocity", "20 nvda?"):
        step = run_to_orders(said, book())
        assert isinstance(step, Reply) and "buy or sell" in step.text, (said, step)
