"""The console's one way of writing money, sizes, order types, time in force and times."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agent.settings import AgentSettings
from console import display


@pytest.mark.parametrize(("value", "expected"), [
    ("22301.35", "$22,301.35"), (Decimal("22301.35"), "$22,301.35"), ("-2", "-$2.00"), (-3.6, "-$3.60"),
    ("0.345", "$0.35"), ("1234567.891", "$1,234,567.89"), ("-0.001", "$0.00"), ("0", "$0.00"), (100000, "$100,000.00"),
    (None, "—"), ("", "—"), ("n/a", "—"), ("NaN", "—"), ("$1,000.5", "$1,000.50"),
])
def test_money_is_one_format_with_thousands_and_a_leading_minus(value, expected):
    assert display.money(value) == expected


def test_money_never_writes_the_minus_after_the_dollar():
    for value in ("-2", "-0.01", "-12345.678"):
        assert "$-" not in display.money(value)


@pytest.mark.parametrize(("value", "expected"), [("185", "$185.00"), ("0.1234", "$0.1234"), ("-1.5", "-$1.50")])
def test_price_keeps_sub_cent_quotes(value, expected):
    assert display.price(value) == expected


@pytest.mark.parametrize(("qty", "notional", "expected"), [
    ("100", None, "100 shares"), ("1", None, "1 share"), ("1.50", None, "1.5 shares"), ("1000", None, "1,000 shares"),
    (None, "500", "$500.00"),
])
def test_size_says_shares_or_dollars(qty, notional, expected):
    assert display.size(qty, notional) == expected


@pytest.mark.parametrize(("code", "executes", "expected"), [
    ("opg", "2026-12-02T14:30:00+00:00", "At the open · Wed Dec 2, 09:30 ET"),
    ("cls", "2026-12-01T16:00:00-05:00", "At the close · Tue Dec 1, 16:00 ET"),
    ("opg", None, "At the open"), ("cls", None, "At the close"), ("gtc", None, "Good till cancelled"),
    ("day", None, "Day"), (None, None, "Day"), ("GTC", None, "Good till cancelled"),
])
def test_time_in_force_in_words_never_codes(code, executes, expected):
    assert display.time_in_force(code, executes) == expected


def test_times_are_new_york_time_in_summer_and_winter():
    assert display.eastern("2026-07-01T13:30:00+00:00") == "Wed Jul 1, 09:30 ET"
    assert display.eastern("2026-12-02T14:30:00Z") == "Wed Dec 2, 09:30 ET"
    assert display.new_york("2026-12-02T14:30:00+00:00").hour == 9
    assert display.eastern(None) == "—" and display.new_york("not a time") is None


@pytest.mark.parametrize(("code", "order_class", "expected"), [
    ("market", None, "Market"), ("stop_limit", "simple", "Stop-limit"), ("trailing_stop", None, "Trailing stop"),
    ("limit", "bracket", "Bracket · limit entry"),
])
def test_order_types_in_words(code, order_class, expected):
    assert display.order_type(code, order_class) == expected


def test_percent_and_trail():
    assert display.percent("12.345") == "12.35%" and display.percent(None) == "—"
    assert display.trail("5", None) == "5%" and display.trail(None, "2.5") == "$2.50" and display.trail(None, None) == ""


def test_model_in_use_names_what_answers():
    """No key and no base URL is the offline model even though the model field says gpt-4.1."""
    assert display.model_in_use(AgentSettings(model="gpt-4.1")).startswith("Offline model")
    assert display.model_in_use(AgentSettings(model="gpt-4.1", openai_api_key="sk-test")) == "OpenAI gpt-4.1"
    local = AgentSettings(model="llama3", openai_base_url="http://127.0.0.1:11434/v1")
    assert display.model_in_use(local) == "llama3 at http://127.0.0.1:11434/v1"
