"""The console as a trading desk, under AppTest: what a trader reads on each page (issue 13).

Cards in full (money with thousands, time in force in words, when a queued order executes), one details drawer a
turn, the model in use, first-run help, portfolio and blotter formats, cancel and replace behind an approval click.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from market_times import CLOSED
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
FULL_MONEY = re.compile(r"\$\d{1,3}(?:,\d{3})+\.\d{2}")
CODES = re.compile(r"\b(opg|cls|gtc)\b")


@pytest.fixture(autouse=True)
def fresh_connections(close_connections):
    """Each test starts its own brokers on its own data dir and ends them."""


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=90).run()


def texts(at: AppTest, *kinds: str) -> str:
    kinds = kinds or ("markdown", "caption", "metric", "text", "info", "success", "error", "warning")
    return "\n".join(str(getattr(e, "value", "")) + " " + str(getattr(e, "label", "")) for k in kinds for e in getattr(at, k, []))


def buttons(at: AppTest, label: str) -> list:
    return [b for b in at.button if b.label == label]


def field(at: AppTest, label: str):
    return next(t for t in at.text_input if t.label == label)


def orders(status: str = "all") -> dict[str, list[dict]]:
    from console.services import connections

    return {b: r["orders"] for b, r in connections().call_all("list_orders", {"status": status}).items()}


def call(broker: str, tool: str, args: dict) -> dict:
    from console.services import connections

    return connections().call(broker, tool, args)


def test_empty_chat_shows_help_the_model_and_example_chips():
    at = app()
    assert not at.exception
    page = texts(at)
    assert "Orders wait for your approval" in page and "Paper money" in page
    assert "Model in use: **Offline model" in page
    assert "Offline model" in " ".join(m.value for m in at.sidebar.markdown), "the sidebar names the model too"
    chips = [b.label for b in at.button if b.key and b.key.startswith("example-")]
    assert "Buy 100 Apple shares through TradeSphere when the market opens" in chips and len(chips) == 4
    buttons(at, "Show me portfolios from both brokers")[0].click().run()
    assert not at.exception
    assert "Combined equity: $200,000.00" in texts(at, "markdown").replace("\\$", "$")
    assert "What you can ask" not in texts(at), "the help card is for the empty chat only"


def test_queued_order_card_is_complete_and_in_words(monkeypatch):
    """An at-the-open order while the market is closed: total in full, 'At the open · <day>', when it executes."""
    monkeypatch.setenv("TRADING_NOW", CLOSED)
    at = app()
    at.chat_input[0].set_value("Buy 100 Apple shares through TradeSphere when the market opens").run()
    assert not at.exception
    card = texts(at, "markdown", "caption").replace("\\$", "$")
    assert "Apple Inc. (AAPL)" in card and "100 shares" in card and "TradeSphere" in card
    assert re.search(r"At the open · \w{3} \w{3} \d{1,2}, 09:30 ET", card), card
    assert re.search(r"Queued until \w{3} \w{3} \d{1,2}, 09:30 ET", card), card
    assert "Total" in card and FULL_MONEY.search(card), card
    assert not CODES.search(card), card
    assert not any(orders().values()), "nothing is placed before Approve"
    [details] = at.expander
    assert details.label == "Details · 1 tool call"  # the estimate; the order itself shows with the turn that runs it
    buttons(at, "Approve")[0].click().run()
    assert not at.exception
    [placed] = orders()["tradesphere"]
    assert (placed["status"], placed["time_in_force"]) == ("queued", "opg")
    assert [e.label for e in at.expander] == ["Details · 1 tool call", "Details · 1 tool call"]
    reply = at.chat_message[-1].markdown[0].value
    assert "queued on TradeSphere" in reply


def test_several_orders_show_several_cards_and_approve_all_places_both():
    at = app()
    at.chat_input[0].set_value("buy 20 Visa and 15 Mastercard").run()
    assert len(buttons(at, "Approve")) == 2 and len(buttons(at, "Reject")) == 2
    card = texts(at, "markdown")
    assert "Visa" in card and "Mastercard" in card
    buttons(at, "Approve all")[0].click().run()
    assert not at.exception
    assert sorted(o["symbol"] for o in orders()["tradesphere"]) == ["MA", "V"]
    assert not buttons(at, "Approve")


def test_the_offline_models_note_shows_on_the_card():
    at = app()
    at.chat_input[0].set_value("buy 3 starbuks on tradesphere").run()
    assert not at.exception
    assert any("Starbucks" in i.value and "starbuks" in i.value for i in at.info), [i.value for i in at.info]


def scripted(monkeypatch, *steps) -> None:
    """The console's assistant answers with these model steps (the SDK's ScriptedModel, streamed like an LLM)."""
    from agents.testing import ScriptedModel

    monkeypatch.setattr("agent.assistant.build_model", lambda settings, refs: (ScriptedModel(list(steps)), "scripted"))


def test_bracket_card_shows_both_legs_and_an_llm_turn_streams(monkeypatch):
    from agents.testing import assistant_message, function_call

    bracket = {"symbol": "CSCO", "side": "buy", "quantity": "20", "take_profit_price": "78", "stop_loss_price": "65",
               "time_in_force": "gtc"}
    scripted(monkeypatch, [function_call("mcp_tradesphere__place_order", bracket, call_id="c1")],
             [assistant_message("Placed your bracket.")])
    at = app()
    at.chat_input[0].set_value("a bracket on cisco please").run()
    assert not at.exception
    card = texts(at, "markdown", "caption").replace("\\$", "$")
    assert buttons(at, "Approve"), card
    assert "Cisco" in card and "(CSCO)" in card and "Bracket · market entry" in card
    assert "Take profit" in card and "$78.00" in card and "Stop loss" in card and "$65.00" in card
    assert "Good till cancelled" in card and not CODES.search(card)
    buttons(at, "Approve")[0].click().run()
    assert not at.exception
    assert at.chat_message[-1].markdown[0].value == "Placed your bracket."
    assert [e.label for e in at.expander][-1] == "Details · 1 tool call"
    entry = [o for o in orders()["tradesphere"] if o["symbol"] == "CSCO" and not o.get("parent_id")]
    assert entry and entry[0]["take_profit_price"] == "78"


def test_limit_card_shows_the_limit_and_good_till_cancelled():
    at = app()
    at.chat_input[0].set_value("buy 10 AAPL at a limit of 150 good till cancelled on tradesphere").run()
    card = texts(at, "markdown", "caption").replace("\\$", "$")
    assert "Limit" in card and "$150.00" in card and "Good till cancelled" in card, card
    assert not CODES.search(card)


def test_settings_do_not_claim_an_llm_without_a_key():
    at = app().switch_page("pages/settings.py").run()
    assert not at.exception
    page = texts(at, "caption")
    assert "In use now: **Offline model" in page and "gpt-4.1" not in page


def test_portfolio_empty_state_then_queued_orders_and_dollar_columns(monkeypatch):
    at = app().switch_page("pages/portfolio.py").run()
    assert not at.exception
    assert not at.get("plotly_chart"), "no chart without history"
    assert "Equity over time: no history yet" in texts(at, "caption")
    call("tradesphere", "place_order", {"symbol": "KO", "side": "buy", "quantity": "5"})
    call("tradesphere", "place_order", {"symbol": "MSFT", "side": "buy", "quantity": "2", "time_in_force": "opg"})
    at = app().switch_page("pages/portfolio.py").run()
    assert not at.exception
    positions, queued = at.dataframe[0], at.dataframe[1]
    assert positions.value["Symbol"].tolist() == ["KO"]
    assert queued.value[["Status", "Symbol", "Time in force"]].values.tolist() == [["Queued", "MSFT", "At the open"]]
    assert queued.value["Executes"][0].hour == 9  # New York time
    assert "Queued and open orders (1)" in texts(at, "markdown")
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Unrealized P&L ($)" in spec for spec in charts)
    assert not any("Equity over time" in spec for spec in charts), "one fill at one frozen minute is no history"


def test_orders_blotter_groups_statuses_and_puts_bracket_exits_under_their_entry():
    call("tradesphere", "place_order", {"symbol": "KO", "side": "buy", "quantity": "5"})
    call("tradesphere", "place_order", {"symbol": "MSFT", "side": "buy", "quantity": "2", "time_in_force": "opg"})
    entry = call("tradesphere", "place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1",
                                                "take_profit_price": "9999", "stop_loss_price": "1"})
    late = call("velocity", "place_order", {"symbol": "KO", "side": "buy", "quantity": "1", "order_type": "limit", "limit_price": "1",
                                            "time_in_force": "gtc"})
    call("velocity", "cancel_order", {"order_id": late["id"]})
    at = app().switch_page("pages/orders.py").run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert labels[:4] == ["Queued · 1", "Open · 2", "Filled · 2", "Cancelled, rejected, expired or replaced · 1"], labels
    queued, working, filled, _ = (d.value for d in at.dataframe)
    assert queued["TIF"].tolist() == ["At the open"] and queued["Executes"].iloc[0].hour == 9
    assert working["Order"].tolist()[0].startswith("↳ ") and all(o.startswith("↳ ") for o in working["Order"])
    assert set(working["Bracket"]) == {f"take-profit of {entry['id']}", f"stop-loss of {entry['id']}"}
    assert filled["Submitted"].iloc[0].tzinfo is not None and str(filled["Submitted"].iloc[0].tz) == "America/New_York"


def test_orders_cancel_waits_for_the_approve_click():
    placed = call("tradesphere", "place_order", {"symbol": "MSFT", "side": "buy", "quantity": "2", "time_in_force": "opg"})
    at = app().switch_page("pages/orders.py").run()
    at.button(key="ask-cancel").click().run()
    assert not at.exception
    assert orders("active")["tradesphere"], "asking to cancel changes nothing"
    assert "Approve: cancel Buy 2 shares MSFT on TradeSphere?" in texts(at, "markdown")
    at.button(key="approve-change").click().run()
    assert not at.exception
    assert not orders("active")["tradesphere"]
    assert [o["status"] for o in orders()["tradesphere"] if o["id"] == placed["id"]] == ["cancelled"]
    assert at.success and "cancelled" in at.success[0].value.lower()


def test_orders_replace_shows_old_and_new_then_replaces_on_approve():
    placed = call("tradesphere", "place_order", {"symbol": "KO", "side": "buy", "quantity": "3", "order_type": "limit", "limit_price": "1",
                                                 "time_in_force": "gtc"})
    at = app().switch_page("pages/orders.py").run()
    field(at, "New limit price ($)").input("2.5")
    field(at, "New quantity (shares)").input("4")
    at.button(key="FormSubmitter:replace-form-Review the replacement").click().run()
    assert not at.exception
    change = texts(at, "markdown").replace("\\$", "$")
    assert "quantity 3 → 4" in change and "limit price $1.00 → $2.50" in change, change
    assert [o["id"] for o in orders("active")["tradesphere"]] == [placed["id"]], "nothing changes before Approve"
    at.button(key="approve-change").click().run()
    assert not at.exception
    [new] = orders("active")["tradesphere"]
    assert (new["replaces"], new["quantity"], new["limit_price"]) == (placed["id"], "4", "2.5")


def test_orders_keep_leaves_the_order_alone():
    call("tradesphere", "place_order", {"symbol": "MSFT", "side": "buy", "quantity": "2", "time_in_force": "opg"})
    at = app().switch_page("pages/orders.py").run()
    at.button(key="ask-cancel").click().run()
    at.button(key="reject-change").click().run()
    assert not at.exception and orders("active")["tradesphere"]
    assert "Approve: cancel" not in texts(at, "markdown")


def test_an_openai_compatible_server_is_named_and_its_reply_streams_into_the_chat():
    """Settings → base URL of the project's fake chat server: the Trade page and the sidebar name it, Settings says it
    is in use, and the LLM's order goes through a card and its streamed reply lands in the chat."""
    from fake_chat_server import FakeChatServer

    llm = FakeChatServer()
    llm.thread.start()
    try:
        at = app().switch_page("pages/settings.py").run()
        next(t for t in at.text_input if t.label.startswith("OpenAI-compatible base URL")).input(llm.url)
        next(t for t in at.text_input if t.label.startswith("LLM model name")).input("local-model")
        next(b for b in at.button if b.label == "Save settings").click().run()
        assert not at.exception
        at = app()  # a new browser session on the saved settings (AppTest reports the sidebar on a first run only)
        label = f"local-model at {llm.url}"
        assert f"Model in use: **{label}**" in texts(at, "caption")
        assert label in " ".join(m.value for m in at.sidebar.markdown)
        at.chat_input[0].set_value("buy 4 microsoft on tradesphere").run()
        assert not at.exception
        assert llm.requests and llm.requests[0]["stream"] is True
        assert "Microsoft" in texts(at, "markdown") and buttons(at, "Approve")
        buttons(at, "Approve")[0].click().run()
        assert not at.exception
        reply = at.chat_message[-1].markdown[0].value
        assert reply.startswith("LLM says:") and "Bought 4 MSFT" in reply
    finally:
        llm.server.shutdown()


def test_a_cancel_from_the_chat_shows_the_order_it_would_cancel():
    placed = call("tradesphere", "place_order", {"symbol": "MSFT", "side": "buy", "quantity": "2", "time_in_force": "opg"})
    at = app()
    at.chat_input[0].set_value("cancel my microsoft order").run()
    assert not at.exception
    card = texts(at, "markdown", "caption")
    assert f"Approve: cancel order {placed['id']} on TradeSphere?" in card, card
    assert "Buy 2 shares MSFT" in card and "Queued" in card and re.search(r"At the open · \w{3} \w{3} \d{1,2}, 09:30 ET", card)
    assert orders("active")["tradesphere"], "nothing is cancelled before Approve"
    buttons(at, "Approve")[0].click().run()
    assert not orders("active")["tradesphere"]
