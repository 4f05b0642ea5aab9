"""The simulated feed: a pure function of (symbol, minute), sensible spreads, frozen while the market is closed."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from market_times import CLOSED, EARLY_CLOSE_DAY, HOLIDAY, NEXT_OPEN, OPEN

from brokers.clock import MarketClock
from brokers.market_data import SimulatedFeed
from brokers.symbols import SymbolDirectory, get_directory


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_same_symbol_and_minute_give_the_same_quote_in_separately_built_feeds():
    """Two feeds with their own directory and clock (as in two processes) agree to the cent, within a minute."""
    one = SimulatedFeed(get_directory(), MarketClock(at(OPEN)))
    two = SimulatedFeed(SymbolDirectory.from_csv(), MarketClock())
    for symbol in ("AAPL", "KO", "BRK.A", "PLUG", "SPY"):
        a = one.quote_at(symbol, at(OPEN))
        b = two.quote_at(symbol, at(OPEN) + timedelta(seconds=42))
        assert (a.bid, a.ask, a.last, a.timestamp) == (b.bid, b.ask, b.last, b.timestamp)
    assert one.quote("AAPL") == one.quote_at("AAPL", at(OPEN))  # quote() reads the frozen clock


def test_every_symbol_prices_above_zero_with_bid_below_last_below_ask():
    directory = get_directory()
    feed = SimulatedFeed(directory, MarketClock())
    assert len(directory.securities) >= 300
    for moment in (at(OPEN), at(CLOSED)):
        for symbol, security in directory.securities.items():
            quote = feed.quote_at(symbol, moment)
            assert 0 < quote.bid < quote.last < quote.ask, (symbol, quote)
            assert quote.ask - quote.bid <= max(quote.last * Decimal("0.0003"), Decimal("0.02"))  # ~2 bp, at least 2 cents
            assert security.reference_price * 80 / 100 < quote.last < security.reference_price * 120 / 100
            assert quote.last == quote.last.quantize(Decimal("0.01"))


def test_different_minutes_differ_somewhere():
    feed = SimulatedFeed(get_directory(), MarketClock())
    symbols = list(get_directory().securities)[:50]
    now = [feed.quote_at(s, at(OPEN)).last for s in symbols]
    next_minute = [feed.quote_at(s, at(OPEN) + timedelta(minutes=1)).last for s in symbols]
    next_day = [feed.quote_at(s, at(NEXT_OPEN) + timedelta(hours=1)).last for s in symbols]
    assert now != next_minute and sum(a != b for a, b in zip(now, next_day, strict=True)) > len(symbols) // 2


def test_prices_stand_still_while_closed():
    """From the closing bell to the next open the quote is the last minute of the session."""
    feed = SimulatedFeed(get_directory(), MarketClock())
    clock = feed.clock
    last_minute = feed.quote_at("AAPL", at("2026-11-24T15:59:00-05:00"))
    assert last_minute.market_open
    for moment in ("2026-11-24T16:00:00-05:00", "2026-11-24T16:00:59-05:00", CLOSED, "2026-11-25T09:29:59-05:00"):
        quote = feed.quote_at("AAPL", at(moment))
        assert not quote.market_open and not clock.is_open(at(moment))
        assert (quote.bid, quote.ask, quote.last) == (last_minute.bid, last_minute.ask, last_minute.last), moment
    assert feed.quote_at("AAPL", at(NEXT_OPEN)).market_open
    # Thanksgiving shows Wednesday's close; the early-close Friday afternoon shows 12:59.
    wednesday = feed.quote_at("KO", at("2026-11-25T15:59:00-05:00"))
    assert feed.quote_at("KO", at(HOLIDAY)).last == wednesday.last
    early = feed.quote_at("KO", at("2026-11-27T12:59:00-05:00"))
    assert feed.quote_at("KO", at(EARLY_CLOSE_DAY)).market_open
    assert feed.quote_at("KO", at("2026-11-27T13:00:00-05:00")).last == early.last
    assert feed.quote_at("KO", at("2026-11-29T12:00:00-05:00")).last == early.last  # the weekend


def test_quote_carries_name_and_minute_timestamp():
    quote = SimulatedFeed(get_directory(), MarketClock()).quote_at("MSFT", at(OPEN) + timedelta(seconds=31))
    assert (quote.symbol, quote.name) == ("MSFT", "Microsoft Corporation")
    assert quote.timestamp == at(OPEN) and quote.timestamp.utcoffset() == timedelta(0)
    wire = quote.model_dump(mode="json")
    assert all(isinstance(wire[k], str) for k in ("bid", "ask", "last"))


def test_open_minutes_skip_nights_holidays_and_stop_at_an_early_close():
    """From Wednesday 15:58 ET to Friday 13:05 ET: Wednesday's last minute, no Thanksgiving, Friday 09:30-12:59."""
    from datetime import datetime, timedelta

    from brokers.clock import EASTERN, MarketClock

    minutes = list(MarketClock().open_minutes(datetime(2026, 11, 25, 15, 58, tzinfo=EASTERN),
                                              datetime(2026, 11, 27, 13, 5, tzinfo=EASTERN)))
    eastern = [m.astimezone(EASTERN) for m in minutes]
    assert eastern[0] == datetime(2026, 11, 25, 15, 59, tzinfo=EASTERN)
    assert eastern[1] == datetime(2026, 11, 27, 9, 30, tzinfo=EASTERN)
    assert eastern[-1] == datetime(2026, 11, 27, 12, 59, tzinfo=EASTERN) and len(minutes) == 1 + 210
    assert all(b - a == timedelta(minutes=1) for a, b in zip(minutes[1:], minutes[2:], strict=False))
