"""TRADING_QUOTES=alpaca: the simulated brokers price the current minute from Alpaca's latest quote, fall back to
the simulated feed when Alpaca fails, and every quote says its source."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from alpaca_fake import FAST, KEY_ID, SECRET
from broker_support import order
from market_times import OPEN

from brokers.alpaca.client import AlpacaClient
from brokers.alpaca.quotes import AlpacaQuoteFeed, alpaca_quote_feed
from brokers.clock import MarketClock
from brokers.engine import BrokerEngine
from brokers.market_data import SimulatedFeed
from brokers.persistence import BrokerDatabase
from brokers.profiles import get_profile, load_profiles
from brokers.runtime import open_engine
from brokers.settings import get_settings
from brokers.symbols import get_directory


def simulated_with_live_quotes(tmp_path, profile, keys, clock) -> BrokerEngine:
    feed = AlpacaQuoteFeed(get_directory(), clock, AlpacaClient(profile, keys, FAST))
    database = BrokerDatabase(f"sqlite:///{tmp_path / 'ts'}.db", "tradesphere")
    return BrokerEngine(get_profile("tradesphere"), database, clock=clock, directory=get_directory(), feed=feed)


def test_the_current_minute_is_alpacas_and_the_past_stays_simulated(tmp_path, profile, keys, fake):
    clock = MarketClock(datetime.fromisoformat(OPEN))
    engine = simulated_with_live_quotes(tmp_path, profile, keys, clock)
    quote = engine.quote("AAPL")
    assert (quote.bid, quote.ask, quote.source) == (Decimal("190.10"), Decimal("190.14"), "alpaca")
    placed = engine.place_order(order(symbol="AAPL", quantity="3"))
    assert placed.average_fill_price == Decimal("190.14")  # TradeSphere's fees on top, as always
    an_hour_ago = engine.feed.prices_at("AAPL", clock.now() - timedelta(hours=1))
    assert an_hour_ago == SimulatedFeed(get_directory(), clock).prices_at("AAPL", clock.now() - timedelta(hours=1))
    assert len(fake.seen("GET", "/v2/stocks/quotes/latest")) == 1  # a fresh quote is reused within two seconds
    engine.db.dispose()


def test_when_alpaca_fails_the_simulated_price_answers_and_says_so(tmp_path, profile, keys, fake):
    clock = MarketClock(datetime.fromisoformat(OPEN))
    engine = simulated_with_live_quotes(tmp_path, profile, keys, clock)
    fake.fail(500, "GET", "/v2/stocks/quotes/latest", times=100)
    quote = engine.quote("MSFT")
    simulated = SimulatedFeed(get_directory(), clock).quote("MSFT")
    assert (quote.source, quote.bid, quote.ask) == ("simulated", simulated.bid, simulated.ask)
    tries = len(fake.seen("GET", "/v2/stocks/quotes/latest"))
    engine.quote("KO")  # paused after the failure: no new wait on Alpaca
    assert len(fake.seen("GET", "/v2/stocks/quotes/latest")) == tries
    engine.db.dispose()


def test_open_engine_wires_the_feed_from_the_profiles_alpaca_entry(tmp_path, monkeypatch, alpaca_server, fake):
    path = tmp_path / "profiles.toml"
    path.write_text(f'[[broker]]\nid = "alpaca"\nkind = "alpaca"\nname = "Alpaca (paper)"\nbase_url = '
                    f'"{alpaca_server.url}"\ndata_url = "{alpaca_server.url}"\n')
    profiles = load_profiles(path)
    clock = MarketClock(datetime.fromisoformat(OPEN))
    assert type(alpaca_quote_feed(profiles, get_directory(), clock)) is SimulatedFeed  # no keys: simulated
    monkeypatch.setenv("APCA_API_KEY_ID", KEY_ID)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    feed = alpaca_quote_feed(profiles, get_directory(), clock)
    assert isinstance(feed, AlpacaQuoteFeed) and feed.client.data_host == alpaca_server.url.removeprefix("http://")
    monkeypatch.setenv("TRADING_QUOTES", "alpaca")
    monkeypatch.setenv("TRADING_PROFILES", str(path))
    engine = open_engine(load_profiles()["tradesphere"], get_settings())
    assert engine.quotes_do_io and engine.quote("AAPL").source == "alpaca"
    engine.db.dispose()
