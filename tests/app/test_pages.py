"""The console under AppTest: every page renders, chat orders wait for approval, settings keep keys secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")

PAGES = ["pages/trade.py", "pages/portfolio.py", "pages/orders.py", "pages/brokers.py", "pages/settings.py"]


@pytest.fixture(autouse=True)
def fresh_connections(close_connections):
    """Each test starts its own brokers on its own data dir and ends them."""


def app() -> AppTest:
    """app.py once the brokers are up: a first session paints while they connect; a second one (AppTest reports only
    the page on a rerun, not the sidebar) finds them up."""
    AppTest.from_file(APP, default_timeout=90).run()
    from console.services import connections

    connections().wait_ready()
    return AppTest.from_file(APP, default_timeout=90).run()


def _texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "metric", "text", "info", "success", "error", "warning", "code", "text_input"):
        for element in getattr(at, kind, []):
            parts.append(str(getattr(element, "value", "")) + " " + str(getattr(element, "label", "")))
    return "\n".join(parts)


def _broker_orders(status="all"):
    from console.services import connections

    return {b: r["orders"] for b, r in connections().call_all("list_orders", {"status": status}).items()}


def test_every_page_renders_on_a_fresh_data_dir():
    """app.py and each page render with no exception, brokers connected, on a fresh machine."""
    at = app()
    assert not at.exception
    assert "TradeSphere" in _texts(at) and "VelocityBrokers" in _texts(at)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_chat_order_waits_for_approval_then_shows_in_portfolio():
    """A chat order becomes an approval card; Approve places it; Portfolio shows AAPL and charts."""
    at = app()
    at.chat_input[0].set_value("Buy 10 shares of Apple through TradeSphere").run()
    assert not at.exception
    assert not any(_broker_orders().values()), "nothing may be placed before approval"
    approve = [b for b in at.button if b.label == "Approve"]
    assert approve and "AAPL" in _texts(at)
    approve[0].click().run()
    orders = _broker_orders()["tradesphere"]
    assert len(orders) == 1 and orders[0]["status"] == "filled" and orders[0]["symbol"] == "AAPL"
    at.switch_page("pages/portfolio.py").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 3
    frames = at.dataframe
    assert frames and "AAPL" in frames[0].value["Symbol"].tolist()


def test_reject_places_nothing():
    """Rejecting the card leaves both books empty."""
    at = app()
    at.chat_input[0].set_value("Buy 5 MSFT on Velocity").run()
    [b for b in at.button if b.label == "Reject"][0].click().run()
    assert not at.exception
    assert not any(_broker_orders().values())
    assert "not placed" in _texts(at).lower()


def test_several_orders_get_one_card_each_and_are_decided_one_by_one():
    """'buy 20 Visa and 15 Mastercard' shows two cards; approving one and rejecting the other places only the first,
    and only once both have a decision."""
    at = app()
    at.chat_input[0].set_value("buy 20 Visa and 15 Mastercard").run()
    assert not at.exception
    approves = [b for b in at.button if b.label == "Approve"]
    assert len(approves) == 2 and [b for b in at.button if b.label == "Approve all"]
    approves[0].click().run()
    assert not any(_broker_orders().values()), "nothing goes out until every card has a decision"
    assert "waiting for your decision on the other orders" in _texts(at)
    [b for b in at.button if b.label == "Reject"][0].click().run()
    assert not at.exception
    orders = _broker_orders()["tradesphere"]
    assert [(o["symbol"], o["status"]) for o in orders] == [("V", "filled")]
    assert "rejected the buy order for MA" in _texts(at)


def test_settings_store_a_key_in_keyring_and_never_show_it(memory_keyring):
    """A stored key goes to keyring and appears in no element afterwards."""
    at = app()
    at.switch_page("pages/settings.py").run()
    secret = "sk-test-" + "x" * 20
    at.text_input(key="input-openai_api_key-0").input(secret)
    at.button(key="store-openai_api_key").click().run()
    assert memory_keyring.store[("trading-console", "openai_api_key")] == secret
    at.switch_page("pages/settings.py").run()
    assert secret not in _texts(at)
    assert all(secret != getattr(w, "value", None) for w in at.text_input)
    assert "keyring" in _texts(at)


def test_sidebar_market_line_is_asked_of_the_broker_on_each_rerun():
    """The market line comes from a live get_broker_profile, not the profile cached when the broker connected."""
    at = app()
    assert "Open · closes in 5h 30m" in _texts(at)  # frozen at 10:30 ET on a full session
    from console.services import connections

    for link in connections().links.values():  # what the sidebar showed before: the connect-time snapshot
        link.profile = {**link.profile, "market": {**link.profile["market"], "is_open": False}}
    at = app()  # a new browser session on the same running brokers (AppTest reports only the page on a rerun)
    assert "Open · closes in 5h 30m" in _texts(at) and "Closed · opens" not in _texts(at)


def test_orders_page_shows_stops_trails_and_bracket_exits():
    """A stop, a trailing stop and a bracket placed through the broker tools show their stop, trail and exits."""
    from console.services import connections

    conns = connections()
    conns.call("tradesphere", "place_order", {"symbol": "KO", "side": "buy", "quantity": "5"})
    conns.call("tradesphere", "place_order", {"symbol": "KO", "side": "sell", "quantity": "2", "order_type": "stop",
                                              "stop_price": "1", "time_in_force": "gtc"})
    conns.call("tradesphere", "place_order", {"symbol": "KO", "side": "sell", "quantity": "3", "order_type": "trailing_stop",
                                              "trail_percent": "5", "time_in_force": "gtc"})
    entry = conns.call("tradesphere", "place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1",
                                                      "take_profit_price": "9999", "stop_loss_price": "1"})
    at = app().switch_page("pages/orders.py").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert {"Stop", "Trail", "Mark", "Bracket", "Triggered", "Replaces"} <= set(frame.columns)
    assert "5%" in frame["Trail"].tolist()
    brackets = frame["Bracket"].tolist()
    assert {f"take-profit of {entry['id']}", f"stop-loss of {entry['id']}"} <= set(brackets)


def test_brokers_page_halts_a_broker_in_red_and_resumes_it():
    at = app()
    at.switch_page("pages/brokers.py").run()
    at.text_input(key="reason-tradesphere").set_value("lunch drill").run()
    at.button(key="halt-tradesphere").click().run()
    assert any("HALTED: lunch drill" in e.value for e in at.error)
    at.button(key="resume-tradesphere").click().run()
    assert not any("HALTED" in e.value for e in at.error)
    assert at.button(key="halt-tradesphere")
