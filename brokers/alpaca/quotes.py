"""Alpaca's latest quotes as the simulated brokers' prices (TRADING_QUOTES=alpaca), falling back to the simulated
feed when Alpaca cannot answer.

Only the current minute is priced from Alpaca: orders placed, estimated and filled now, and the quote tool. The
minutes a resting stop is followed through, and the equity curve's past points, keep the simulated path (Alpaca's
latest quote says nothing about them). A quote says which it is: `source` "alpaca" or "simulated".
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from brokers.alpaca.client import AlpacaClient, RetryPolicy
from brokers.alpaca.config import check_endpoints, find_keys
from brokers.clock import MarketClock, minute_of
from brokers.errors import BrokerError
from brokers.market_data import Prices, Quote, SimulatedFeed
from brokers.profiles import AlpacaProfile
from brokers.symbols import SymbolDirectory

log = logging.getLogger(__name__)

FRESH_S = 2.0
"""A live quote is reused this long: one order asks for its price several times."""
PAUSE_AFTER_FAILURE_S = 15.0
"""After Alpaca fails, the simulated price answers at once for this long instead of waiting on Alpaca each time."""
QUOTE_POLICY = RetryPolicy(attempts=2, max_total_s=3.0, max_wait_s=1.0, base_wait_s=0.2, timeout_s=3.0)
"""A price must come quickly or not at all: the simulated one is there as the fallback."""


class AlpacaQuoteFeed(SimulatedFeed):
    """The simulated feed, with the current minute priced from Alpaca's latest quote when Alpaca answers."""

    does_io = True

    def __init__(self, directory: SymbolDirectory, clock: MarketClock, client: AlpacaClient):
        super().__init__(directory, clock)
        self.client = client
        self._live: dict[str, tuple[float, Prices, datetime]] = {}
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def _latest(self, symbol: str) -> tuple[Prices, datetime] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._live.get(symbol)
            if cached is not None and now - cached[0] < FRESH_S:
                return cached[1], cached[2]
            if now < self._paused_until:
                return None
        try:
            prices, at = self.client.latest_prices(symbol)
        except BrokerError as exc:
            with self._lock:
                self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            log.warning("Alpaca quotes unavailable (%s); simulated prices for %.0f s", exc, PAUSE_AFTER_FAILURE_S)
            return None
        with self._lock:
            self._live[symbol] = (time.monotonic(), prices, at)
        return prices, at

    def _is_now(self, moment: datetime) -> bool:
        return minute_of(moment) == minute_of(self.clock.now())

    def prices_at(self, symbol: str, moment: datetime) -> Prices:
        if self._is_now(moment):
            live = self._latest(symbol)
            if live is not None:
                return live[0]
        return super().prices_at(symbol, moment)

    def quote_at(self, symbol: str, moment: datetime) -> Quote:
        live = self._latest(symbol) if self._is_now(moment) else None
        if live is None:
            return super().quote_at(symbol, moment)
        prices, at = live
        return Quote(symbol=symbol, name=self.directory.get(symbol).name, bid=prices.bid, ask=prices.ask,
                     last=prices.last, timestamp=at, market_open=self.clock.is_open(moment), source="alpaca")


def alpaca_quote_feed(profiles: dict, directory: SymbolDirectory, clock: MarketClock) -> SimulatedFeed:
    """The feed TRADING_QUOTES=alpaca asks for: from the profiles file's Alpaca entry (or Alpaca's defaults) and the
    Alpaca keys; the plain simulated feed, with a warning, when there are no keys or the endpoint is refused."""
    profile = next((p for p in profiles.values() if isinstance(p, AlpacaProfile)), None)
    profile = profile or AlpacaProfile(id="alpaca", kind="alpaca", name="Alpaca")
    keys = find_keys()
    try:
        check_endpoints(profile)
    except Exception as exc:
        log.warning("TRADING_QUOTES=alpaca: %s; simulated prices", exc)
        return SimulatedFeed(directory, clock)
    if keys is None:
        log.warning("TRADING_QUOTES=alpaca but no Alpaca API keys; simulated prices")
        return SimulatedFeed(directory, clock)
    return AlpacaQuoteFeed(directory, clock, AlpacaClient(profile, keys, QUOTE_POLICY))
