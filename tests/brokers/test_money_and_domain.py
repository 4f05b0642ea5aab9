"""Money at the boundary: Decimal parsing, wire numbers, order validation that names the bad value, fee schedules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from broker_support import order

from brokers.domain import OrderRequest, OrderView, Side
from brokers.errors import InvalidRequest
from brokers.money import decimal_places, from_wire, money, plain, round_down, to_decimal, usd
from brokers.profiles import get_profile


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), True, False])
def test_to_decimal_refuses_floats_and_bools_in_the_domain(value):
    """A float (or a bool, an int in disguise) never becomes a Decimal inside the domain."""
    with pytest.raises(TypeError, match="floats are refused"):
        to_decimal(value, "quantity")


@pytest.mark.parametrize(("value", "expected"), [
    ("10", Decimal("10")), (" 1.50 ", Decimal("1.50")), ("$1,234.56", Decimal("1234.56")), (7, Decimal(7)),
    ("1,000,000", Decimal("1000000")), ("-1,000.5", Decimal("-1000.5")), ("1e3", Decimal("1000")), (".5", Decimal("0.5")),
    (Decimal("0.000001"), Decimal("0.000001")),
])
def test_to_decimal_parses_strings_ints_and_decimals_exactly(value, expected):
    assert to_decimal(value, "quantity") == expected


@pytest.mark.parametrize(("value", "words"), [
    ("abc", "quantity must be a number, got 'abc'"), ("NaN", "finite"), ("-Infinity", "finite"),
    ([1], "quantity must be a number, got list"),
    ("1,5", "quantity must be a number, got '1,5' (use '.' for decimals; ',' only between thousands"),  # never 15
    ("1,0", "got '1,0'"), ("12,34.5", "got '12,34.5'"), ("1,0000", "got '1,0000'"), ("1_000", "got '1_000'"),
    ("\uff11", "got '\uff11'"), ("\u0661", "got '\u0661'"), ("1\u0660", "got '1\u0660'"), ("1 000", "got '1 000'"),
    ("0x10", "got '0x10'"), ("", "got ''"),
])
def test_to_decimal_errors_name_the_field_and_value(value, words):
    with pytest.raises(InvalidRequest) as err:
        to_decimal(value, "quantity")
    assert words in str(err.value)


def test_from_wire_turns_json_numbers_into_their_shortest_repr():
    """0.1 from JSON is 0.1, not 0.1000000000000000055511151231257827...; ints and strings stay exact."""
    assert from_wire(0.1, "notional") == Decimal("0.1")
    assert str(from_wire(0.1, "notional")) == "0.1"
    assert from_wire(19.99, "limit_price") == Decimal("19.99")
    assert from_wire(12345678901234567890, "quantity") == Decimal("12345678901234567890")
    assert from_wire("2.5", "quantity") == Decimal("2.5")
    assert from_wire(None, "quantity") is None
    for bad in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(InvalidRequest, match="notional must be a finite number"):
            from_wire(bad, "notional")


def test_rounding_and_formatting_helpers():
    """Cash rounds half up to the cent; share counts from dollars round down; messages show $x,xxx.xx."""
    assert money(Decimal("2.675")) == Decimal("2.68") and money(Decimal("0.005")) == Decimal("0.01")
    assert money(Decimal("-0.005")) == Decimal("-0.01")
    assert round_down(Decimal("2.1739139"), 6) == Decimal("2.173913") and round_down(Decimal("9.99"), 0) == 9
    assert usd(Decimal("23051.345")) == "$23,051.35" and usd(Decimal("-12")) == "-$12.00"
    assert plain(Decimal("1.500")) == "1.5" and plain(Decimal("1E+1")) == "10" and plain(Decimal("1E-6")) == "0.000001"
    assert decimal_places(Decimal("1.50")) == 1 and decimal_places(Decimal("0.000")) == 0
    assert decimal_places(Decimal("1.00000000000000000000000000001")) == 29  # beyond the context's 28 digits


@pytest.mark.parametrize(("fields", "message"), [
    ({"quantity": "-5"}, "quantity must be positive, got -5"),
    ({"quantity": "0"}, "quantity must be positive, got 0"),
    ({"quantity": -2}, "quantity must be positive, got -2"),
    ({"quantity": "NaN"}, "quantity must be a finite number, got 'NaN'"),
    ({"quantity": "Infinity"}, "quantity must be a finite number, got 'Infinity'"),
    ({"quantity": float("inf")}, "quantity must be a finite number, got inf"),
    ({"quantity": "1e400"}, "quantity 1e400 is larger than the maximum 1000000000"),
    ({"quantity": "-1e400"}, "quantity must be positive, got -1e400"),
    ({"quantity": "0.0000001"}, "quantity 0.0000001 has more than 6 decimal places"),
    ({"quantity": "1.00000000000000000000000000001"}, "quantity 1.00000000000000000000000000001 has more than 6 decimal places"),
    ({"quantity": 1.0000001}, "quantity 1.0000001 has more than 6 decimal places"),
    ({"quantity": "ten"}, "quantity must be a number, got 'ten'"),
    ({"notional": "10.001"}, "notional 10.001 has more than 2 decimal places"),
    ({"notional": "-100"}, "notional must be positive, got -100"),
    ({"quantity": "1", "notional": "5"}, "give either quantity (shares) or notional (dollars), not both"),
    ({}, "quantity (shares) or notional (dollars) is required"),
    ({"quantity": "1", "order_type": "limit"}, "limit_price is required for a limit order"),
    ({"quantity": "1", "order_type": "limit", "limit_price": "-5"}, "limit_price must be positive, got -5"),
    ({"quantity": "1", "order_type": "limit", "limit_price": "0"}, "limit_price must be positive, got 0"),
    ({"quantity": "1", "order_type": "limit", "limit_price": "10.001"}, "limit_price 10.001 has more than 2 decimal places"),
    ({"quantity": "1", "order_type": "limit", "limit_price": "0.12345"}, "limit_price 0.12345 has more than 4 decimal places"),
    ({"quantity": "1", "order_type": "limit", "limit_price": "NaN"}, "limit_price must be a finite number"),
    ({"quantity": "1", "limit_price": "5"}, "limit_price 5 given for a market order; use order_type 'limit' or 'stop_limit'"),
    ({"quantity": "1", "side": "hold"}, "side must be one of buy, sell; got 'hold'"),
    ({"quantity": "1", "order_type": "stop_loss"},
     "order_type must be one of market, limit, stop, stop_limit, trailing_stop; got 'stop_loss'"),
    ({"quantity": "1", "time_in_force": "forever"}, "time_in_force must be one of day, gtc, opg, cls; got 'forever'"),
    ({"quantity": "1", "client_order_id": "has space"}, "client_order_id 'has space' must be 1-64 characters"),
    ({"quantity": "1", "client_order_id": ""}, "client_order_id '' must be 1-64 characters"),
    ({"quantity": "1", "client_order_id": "x" * 65}, "must be 1-64 characters"),
])
def test_order_request_errors_name_the_bad_value(fields, message):
    """Every malformed order fails in parse, with a message that quotes what was wrong."""
    with pytest.raises(InvalidRequest) as err:
        order(symbol="AAPL", **fields)
    assert message in str(err.value)


@pytest.mark.parametrize("huge", ["-" + "9" * 5000, "0." + "0" * 4990 + "1", "9" * 5000, "x" * 5000],
                         ids=["negative", "tiny", "huge", "letters"])
@pytest.mark.parametrize("field", ["quantity", "notional", "limit_price"])
def test_huge_values_get_a_short_error(huge, field):
    """A 5,000-character value is quoted back cut short, never in full."""
    fields = {"quantity": "1", "order_type": "limit", "limit_price": "10"} | {field: huge}
    if field == "notional":
        fields.pop("quantity")
    with pytest.raises(InvalidRequest) as err:
        order(symbol="AAPL", **fields)
    assert len(str(err.value)) < 200


def test_parse_normalizes_a_valid_order():
    """Case and whitespace in enums are forgiven; numbers lose trailing zeros; floats arrive via repr."""
    request = OrderRequest.parse(symbol="aapl", side=" SELL ", quantity="10.500", order_type="LIMIT", limit_price=0.5,
                                 time_in_force="GTC", client_order_id="run-7:a.b_c")
    assert request.side is Side.SELL and request.quantity == Decimal("10.5") and str(request.quantity) == "10.5"
    assert request.limit_price == Decimal("0.5") and request.time_in_force == "gtc" and request.client_order_id == "run-7:a.b_c"
    assert OrderRequest.parse(symbol="A", side="buy", quantity="10.0").fingerprint() == \
        OrderRequest.parse(symbol="A", side="buy", quantity=10).fingerprint()
    with pytest.raises(ValueError):
        OrderRequest(symbol="AAPL", side="buy", quantity=Decimal(1), qty=Decimal(1))  # extra fields are forbidden


def test_order_view_writes_decimals_as_plain_strings():
    view = OrderView.model_validate({
        "id": "x", "client_order_id": None, "broker": "tradesphere", "symbol": "AAPL", "side": "buy",
        "quantity": Decimal("1.5"), "notional": None, "order_type": "market", "limit_price": None, "time_in_force": "day",
        "status": "filled", "filled_quantity": Decimal("1.5"), "average_fill_price": Decimal("230.10"),
        "fees": Decimal("0.35"), "submitted_at": "2026-11-24T15:30:00Z", "filled_at": None, "executes_at": None,
        "expires_at": None, "reject_reason": None, "message": "",
    })
    wire = view.model_dump(mode="json")
    assert (wire["quantity"], wire["average_fill_price"], wire["fees"], wire["notional"]) == ("1.5", "230.10", "0.35", None)


@pytest.mark.parametrize(("broker", "quantity", "price", "fee"), [
    ("tradesphere", "10", "230.00", "0.35"),  # 10 x $0.0035 = $0.035 -> the $0.35 minimum
    ("tradesphere", "1000", "230.00", "3.50"),  # 1000 x $0.0035
    ("tradesphere", "100000", "2.50", "350.00"),  # 0.5% of 250,000 is 1,250: per share wins
    ("tradesphere", "10", "2.50", "0.13"),  # cheap stock: 0.5% of $25.00 = $0.125 caps the $0.35 minimum
    ("tradesphere", "0.004347", "230.00", "0.01"),  # a $1 fractional order: 0.5% of $1.00, half up
    ("velocity", "10", "230.00", "1.00"),  # 10 x $0.0065 -> the $1.00 minimum
    ("velocity", "1000", "230.00", "6.50"),
    ("velocity", "10", "3.00", "0.30"),  # 1% of $30.00 caps the $1.00 minimum
])
def test_fee_schedules(broker, quantity, price, fee):
    """TradeSphere: $0.0035/share, min $0.35, cap 0.5%. Velocity: $0.0065/share, min $1.00, cap 1%."""
    commission = get_profile(broker).commission
    quantity, price = Decimal(quantity), Decimal(price)
    assert commission.fee(quantity, money(quantity * price)) == Decimal(fee)
