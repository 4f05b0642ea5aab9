"""Broker test fixtures: engines on a tmp database that can be reopened at another frozen time."""

from __future__ import annotations

from datetime import datetime

import pytest
from market_times import OPEN

from brokers.clock import MarketClock
from brokers.engine import BrokerEngine
from brokers.persistence import BrokerDatabase
from brokers.profiles import get_profile
from brokers.symbols import get_directory


@pytest.fixture
def book(tmp_path):
    """book(broker, now, limits) -> an engine on that broker's database; every call reopens the SAME file."""
    opened: list[BrokerDatabase] = []

    def open_book(broker: str = "tradesphere", now: str = OPEN, limits=None) -> BrokerEngine:
        profile = get_profile(broker)
        database = BrokerDatabase(f"sqlite:///{tmp_path / broker}.db", broker)
        opened.append(database)
        clock = MarketClock(datetime.fromisoformat(now))
        return BrokerEngine(profile, database, clock=clock, directory=get_directory(), limits=limits)

    yield open_book
    for database in opened:
        database.dispose()
