"""Offline, deterministic simulated market data.

A price is a pure function of (symbol, minute): every process (both brokers, the console) sees the
same quote. It is built with integer arithmetic on SHA-256 draws, in basis points around the
bundled reference price, so no float ever touches a price: a daily level (bounded, mean-reverting)
plus an intraday path through knots every 30 minutes, linearly interpolated, plus a small
per-minute tick. Prices only move while the market is open.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Literal, NamedTuple

from pydantic import BaseModel

from brokers.clock import MarketClock
from brokers.money import CENT, WireDecimal
from brokers.symbols import SymbolDirectory

DAILY_RANGE_BP = 600  # daily level within +-6 % of the reference price
KNOT_RANGE_BP = 150  # intraday swing within +-1.5 %
TICK_RANGE_BP = 4
KNOT_MINUTES = 30
SPREAD_BP = Decimal("2")  # half the bid/ask spread is 1 bp of the price, at least a cent


class Quote(BaseModel):
    """An NBBO-style quote, from the simulated feed or from Alpaca."""

    symbol: str
    name: str
    bid: WireDecimal
    ask: WireDecimal
    last: WireDecimal
    timestamp: datetime
    market_open: bool
    source: Literal["simulated", "alpaca"] = "simulated"
    """Where the prices came from: our simulated feed, or Alpaca's latest quote (bid and ask; last is their midpoint)."""


class Prices(NamedTuple):
    """A quote's prices: what an order is priced at."""

    bid: Decimal
    ask: Decimal
    last: Decimal


def _draw(*parts: object, spread: int) -> int:
    """A deterministic integer in [-spread, spread] from the parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2 * spread + 1) - spread


def _minute_index(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp()) // 60


class SimulatedFeed:
    """Quotes for every symbol in the directory, identical in every process for the same minute."""

    does_io = False
    """Whether a quote may wait on the network (brokers.alpaca.quotes): then the quote tool runs in a worker thread."""

    def __init__(self, directory: SymbolDirectory, clock: MarketClock):
        self.directory = directory
        self.clock = clock
        # A price is a pure function of (symbol, minute) and costs four SHA-256 draws: every order and every
        # equity-curve point asks again for the same few minutes.
        self._mid = lru_cache(maxsize=16_384)(self._minute_mid)
        self._prices = lru_cache(maxsize=16_384)(self._minute_prices)

    def mid_at(self, symbol: str, moment: datetime) -> Decimal:
        """The simulated mid price of `symbol` at the minute of `moment`."""
        return self._mid(symbol, _minute_index(moment))

    def _minute_mid(self, symbol: str, minute: int) -> Decimal:
        reference = self.directory.get(symbol).reference_price
        day = datetime.fromtimestamp(minute * 60, UTC).date().isoformat()
        knot, offset = divmod(minute, KNOT_MINUTES)
        left = _draw(symbol, "knot", knot, spread=KNOT_RANGE_BP)
        right = _draw(symbol, "knot", knot + 1, spread=KNOT_RANGE_BP)
        intraday = left + (right - left) * offset // KNOT_MINUTES
        basis_points = 10_000 + _draw(symbol, "day", day, spread=DAILY_RANGE_BP) + intraday
        basis_points += _draw(symbol, "tick", minute, spread=TICK_RANGE_BP)
        price = reference * basis_points / 10_000
        return max(price.quantize(CENT, rounding=ROUND_HALF_UP), CENT)

    def quote_at(self, symbol: str, moment: datetime) -> Quote:
        """The quote at `moment`; while closed it stays at the last close."""
        prices = self.prices_at(symbol, moment)
        return Quote(
            symbol=symbol,
            name=self.directory.get(symbol).name,
            bid=prices.bid,
            ask=prices.ask,
            last=prices.last,
            timestamp=moment.astimezone(UTC).replace(second=0, microsecond=0),
            market_open=self.clock.is_open(moment),
        )

    def prices_at(self, symbol: str, moment: datetime) -> Prices:
        """Bid, ask and last of the quote at `moment`, without building the Quote (what pricing an order needs)."""
        return self._prices(symbol, _minute_index(moment))

    def _minute_prices(self, symbol: str, minute: int) -> Prices:
        moment = datetime.fromtimestamp(minute * 60, UTC)
        priced_at = self.clock.last_trading_moment(moment)
        if not self.clock.is_open(moment):
            priced_at -= timedelta(minutes=1)  # the last minute of the session, not the closing bell's minute
        mid = self.mid_at(symbol, priced_at)
        half_spread = max((mid * SPREAD_BP / 2 / 10_000).quantize(CENT, rounding=ROUND_HALF_UP), CENT)
        return Prices(bid=max(mid - half_spread, CENT), ask=mid + half_spread, last=mid)

    def quote(self, symbol: str) -> Quote:
        return self.quote_at(symbol, self.clock.now())
