"""Broker-side settings, read once from the environment (pydantic-settings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from brokers.profiles import DEFAULT_PROFILES


class BrokerSettings(BaseSettings):
    """TRADING_* environment variables shared by the brokers, the agent's spawned servers and the gateway."""

    model_config = SettingsConfigDict(env_prefix="TRADING_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("trading-console")))
    """Where each broker's SQLite database lives (TRADING_DATA_DIR)."""
    profiles: Path | None = None
    """Another profiles file (TRADING_PROFILES)."""
    now: datetime | None = None
    """Frozen clock for demos and tests, ISO 8601 with offset (TRADING_NOW)."""
    database_url: str | None = None
    """SQLAlchemy URL instead of SQLite, e.g. postgresql+psycopg://... (TRADING_DATABASE_URL).
    `{broker}` in it is replaced by the broker id; without it, each broker gets its own schema."""
    max_order_notional: Decimal | None = None
    """Overrides every profile's per-order limit (TRADING_MAX_ORDER_NOTIONAL), set by the console."""
    read_only: bool | None = None
    """Overrides every profile's read-only flag (TRADING_READ_ONLY)."""
    symbol_allowlist: str | None = None
    """Comma-separated tickers overriding every profile's allowlist (TRADING_SYMBOL_ALLOWLIST)."""
    max_daily_notional: Decimal | None = None
    """Overrides every profile's per-day limit on what is placed, New York day (TRADING_MAX_DAILY_NOTIONAL)."""
    confirm_orders: Literal["off", "token", "elicit"] | None = None
    """How an order tool gets the person's yes (TRADING_CONFIRM_ORDERS): `elicit` asks through MCP elicitation
    (clients without it get `token`), `token` previews first and executes on a second call with the token, `off`
    executes at once (only for a client that asks the person itself, like the console). Unset: the profile's
    `confirm_orders`, else `elicit`."""

    quotes: Literal["simulated", "alpaca"] = "simulated"
    """Where the simulated brokers take their prices (TRADING_QUOTES): `alpaca` prices them from Alpaca's latest
    quotes (the `kind = "alpaca"` profile's data_url and the Alpaca keys), falling back to the simulated feed when
    that fails. Every quote says its `source`."""

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"TRADING_NOW needs a UTC offset, e.g. 2026-11-24T10:30:00-05:00; got {value.isoformat()}")
        return value

    @property
    def profiles_path(self) -> Path:
        return self.profiles or DEFAULT_PROFILES

    def database_url_for(self, broker_id: str) -> str:
        if self.database_url:
            return self.database_url.replace("{broker}", broker_id)
        return f"sqlite:///{self.data_dir / f'{broker_id}.db'}"


def get_settings() -> BrokerSettings:
    """Settings from the current environment (re-read on each call: tests and the CLI change it)."""
    return BrokerSettings()
