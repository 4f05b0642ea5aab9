"""Wiring: from settings and a profile to a ready engine (database, clock, market data, limits)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brokers.clock import MarketClock, PracticeClock
from brokers.engine import BrokerEngine
from brokers.persistence import BrokerDatabase
from brokers.profiles import AlpacaProfile, BrokerProfile, RiskLimits, get_profiles
from brokers.settings import BrokerSettings, get_settings
from brokers.symbols import get_directory

if TYPE_CHECKING:
    from brokers.alpaca.engine import AlpacaEngine


def effective_limits(profile: BrokerProfile, settings: BrokerSettings) -> RiskLimits:
    """The profile's limits with the TRADING_* overrides (set by the console or an operator) on top."""
    updates: dict = {}
    if settings.max_order_notional is not None:
        updates["max_order_notional"] = settings.max_order_notional
    if settings.max_daily_notional is not None:
        updates["max_daily_notional"] = settings.max_daily_notional
    if settings.read_only is not None:
        updates["read_only"] = settings.read_only
    if settings.symbol_allowlist:
        updates["symbol_allowlist"] = tuple(s.strip().upper() for s in settings.symbol_allowlist.split(",") if s.strip())
    return profile.limits.model_copy(update=updates)


def confirm_mode(profile: BrokerProfile, settings: BrokerSettings) -> str:
    """off, token or elicit: TRADING_CONFIRM_ORDERS, else the profile's confirm_orders, else elicit."""
    return settings.confirm_orders or profile.confirm_orders or "elicit"


def open_engine(profile: BrokerProfile, settings: BrokerSettings | None = None, *,
                practice_clock: bool = False) -> BrokerEngine | AlpacaEngine:
    """An engine on the broker's own database, creating the schema and account on first start.

    `practice_clock`: follow (and let the console move) the practice clock kept in the data dir; only the local
    console's brokers do (`serve --practice-clock`), never a gateway's."""
    settings = settings or get_settings()
    database = BrokerDatabase(settings.database_url_for(profile.id), profile.id)
    limits = effective_limits(profile, settings)
    if isinstance(profile, AlpacaProfile):
        # Its book and clock are Alpaca's (no practice clock); the database keeps the kill switch, the day's total
        # and confirmation tokens. Missing keys never fail here: the broker then answers every tool with the reason.
        from brokers.alpaca.config import configuration_problem, find_keys
        from brokers.alpaca.engine import AlpacaEngine

        return AlpacaEngine(profile, database, directory=get_directory(), limits=limits, keys=find_keys(),
                            problem=configuration_problem(profile))
    clock = MarketClock(settings.now, PracticeClock(settings.data_dir) if practice_clock else None)
    feed = None
    if settings.quotes == "alpaca":
        from brokers.alpaca.quotes import alpaca_quote_feed

        feed = alpaca_quote_feed(get_profiles(settings.profiles_path), get_directory(), clock)
    return BrokerEngine(profile, database, clock=clock, directory=get_directory(), feed=feed, limits=limits)
