"""Settings -> Clock and the sidebar's practice label under AppTest: real time by default; Practice starts at the next
open, fills a queued order there, jumps forward, survives a console restart, and is never offered for a gateway's
brokers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from market_times import CLOSED
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def closed_market(monkeypatch, close_connections):
    """Tuesday evening, Nov 24 2026: orders queue for Wednesday's open. Each test ends its brokers."""
    monkeypatch.setenv("TRADING_NOW", CLOSED)


def app(page: str | None = None) -> AppTest:
    """A browser session once the brokers are up (the first session starts them). AppTest shows the sidebar only for
    app.py's own first run: sidebar checks use app(), page checks app(page)."""
    AppTest.from_file(APP, default_timeout=90).run()
    from console.services import connections

    connections().wait_ready()
    at = AppTest.from_file(APP, default_timeout=90)
    if page:
        at.switch_page(page)
    return at.run()


def sidebar_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for kind in ("markdown", "caption") for m in getattr(at.sidebar, kind))


def clock_radio(at: AppTest):
    return next(r for r in at.radio if r.label == "Clock")


def orders() -> list[dict]:
    from console.services import connections

    return connections().call("velocity", "list_orders")["orders"]


def test_real_time_is_the_default_and_practice_fills_a_queued_order_at_the_open():
    from console.services import connections

    queued = connections().call("velocity", "place_order", {"symbol": "AAPL", "side": "buy", "quantity": "3",
                                                            "time_in_force": "opg"})
    assert queued["status"] == "queued"
    assert "Practice clock" not in sidebar_text(app())
    at = app("pages/settings.py")
    assert not at.exception
    assert clock_radio(at).value == "Real time"
    clock_radio(at).set_value("Practice").run()
    assert not at.exception
    [order] = orders()
    assert order["status"] == "filled" and order["filled_at"].startswith("2026-11-25T14:30")  # Wednesday's open
    at = app()
    label = next(m.value for m in at.sidebar.markdown if "Practice clock" in m.value)
    assert "Practice clock · Wed Nov 25 09:30 ET" in label and ":orange" in label  # its own colour
    assert [b.label for b in at.sidebar.button][:3] == ["Jump to next open", "Jump to the close", "+1 hour"]


def test_jumps_on_settings_move_both_brokers():
    """(The sidebar's copies of these buttons are clicked in the browser check: AppTest reruns only the page.)"""
    at = app("pages/settings.py")
    clock_radio(at).set_value("Practice").run()
    next(b for b in at.button if b.label == "Jump to next open").click().run()  # Thanksgiving is skipped
    assert not at.exception
    at = app("pages/settings.py")
    assert clock_radio(at).value == "Practice"
    assert any("Practice clock · Fri Nov 27 09:30 ET" in m.value for m in at.markdown), [m.value for m in at.markdown]
    next(b for b in at.button if b.label == "+1 hour").click().run()
    next(b for b in at.button if b.label == "Jump to the close").click().run()
    from console.services import connections

    for broker in ("tradesphere", "velocity"):
        market = connections().call(broker, "get_broker_profile")["market"]
        assert market["practice"] and market["now"] == "2026-11-27T13:00:00-05:00"  # the early close


def test_the_practice_clock_survives_a_console_restart_and_real_time_comes_back():
    at = app("pages/settings.py")
    clock_radio(at).set_value("Practice").run()
    from console import broker_connections

    broker_connections._connections.clear()  # the console stops: its brokers end
    assert "Practice clock · Wed Nov 25 09:30 ET" in sidebar_text(app())
    at = app("pages/settings.py")
    assert clock_radio(at).value == "Practice"
    clock_radio(at).set_value("Real time").run()
    assert clock_radio(app("pages/settings.py")).value == "Real time"
    side = sidebar_text(app())
    assert "Practice clock" not in side and "Frozen clock (TRADING_NOW): Tue Nov 24 20:00 ET" in side


def test_a_gateway_console_offers_no_practice_clock(trading_env):
    trading_env.mkdir(parents=True, exist_ok=True)
    (trading_env / "console_settings.json").write_text(json.dumps({"gateway_url": "http://127.0.0.1:9"}))
    at = AppTest.from_file(APP, default_timeout=90).switch_page("pages/settings.py").run()
    assert not at.exception
    assert clock_radio(at).disabled and clock_radio(at).value == "Real time"
    assert not [b for b in at.button if b.label == "Jump to next open"]
    assert any("keep the market's clock" in c.value for c in at.caption)
