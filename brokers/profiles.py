"""Broker profiles: a broker is data (fees, speed, share rules, limits) loaded from one TOML file.

`TRADING_PROFILES=path` points at another file; a broker added there works without code changes.
Each entry has a `kind`: `simulated` (the default, our own paper engine) or `alpaca` (a paper account at Alpaca,
reached with alpaca-py; see brokers/alpaca/).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from brokers.money import money, plain, usd

DEFAULT_PROFILES = Path(__file__).with_name("profiles.toml")


class CommissionSchedule(BaseModel):
    """Per-share commission with a per-order minimum, capped at a percentage of the trade value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_share: Decimal
    """Dollars charged per share traded."""
    minimum: Decimal
    """Smallest commission on an order."""
    max_pct_of_value: Decimal
    """Cap as a percentage of the trade value (0.5 means 0.5 %); the cap wins over the minimum."""

    def fee(self, quantity: Decimal, trade_value: Decimal) -> Decimal:
        """Commission for one fill, to the cent."""
        commission = max(self.per_share * quantity, self.minimum)
        cap = trade_value * self.max_pct_of_value / 100
        return money(min(commission, cap))

    def describe(self) -> str:
        if not self.per_share and not self.minimum:
            return "no commission"
        return (
            f"${self.per_share} per share, minimum ${self.minimum}, "
            f"capped at {self.max_pct_of_value.normalize()}% of trade value"
        )


class RiskLimits(BaseModel):
    """Limits enforced by the server whatever a client or a model asks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_order_notional: Decimal | None = None
    """Largest order value in dollars; None means no limit beyond buying power."""
    symbol_allowlist: tuple[str, ...] | None = None
    """Only these tickers may be traded; None means every listed symbol."""
    read_only: bool = False
    """Refuse every order tool (place, cancel, import)."""
    max_daily_notional: Decimal | None = None
    """Most that orders placed in one New York day may add up to, in dollars; None means no daily limit."""


class BrokerProfile(BaseModel):
    """Everything that makes one simulated broker different from another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["simulated"] = "simulated"
    """Which engine serves the broker: our simulated paper engine."""
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,30}$")
    """Short id used in URLs, tool prefixes and file names."""
    name: str
    """Display name, e.g. "TradeSphere"."""
    specialty: str
    """One line a trader reads on the broker card."""
    fill_latency_ms: int = Field(ge=0)
    """Typical time from order to fill; "fastest broker" compares this."""
    fractional_shares: bool
    """Whether quantities below one share (up to 6 decimals) are accepted."""
    starting_cash: Decimal
    """Paper cash a new account starts with."""
    commission: CommissionSchedule
    slippage_bps: Decimal = Decimal("0")
    """Extra price movement against market orders, in basis points."""
    limits: RiskLimits = RiskLimits()
    confirm_orders: Literal["off", "token", "elicit"] | None = None
    """How order tools get the person's yes when TRADING_CONFIRM_ORDERS is unset; None means `elicit`."""

    @field_validator("starting_cash")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        return money(value)

    @property
    def quantity_places(self) -> int:
        return 6 if self.fractional_shares else 0

    def fee_schedule(self) -> str:
        """The fees in one line, as the broker card and the profile tool show them."""
        return self.commission.describe()


ALPACA_PAPER_URL = "https://paper-api.alpaca.markets"
ALPACA_DATA_URL = "https://data.alpaca.markets"
NO_COMMISSION = CommissionSchedule(per_share=Decimal("0"), minimum=Decimal("0"), max_pct_of_value=Decimal("0"))


class AlpacaProfile(BrokerProfile):
    """A paper account at Alpaca behind the same tools: the account, prices and fills are Alpaca's.

    Only `id`, `kind` and `name` are needed; the rest has defaults. Whether the account can be reached (keys, a paper
    endpoint) is checked when the broker starts (brokers.alpaca.config), so one bad entry never stops the others.
    """

    kind: Literal["alpaca"]
    specialty: str = "Paper account at Alpaca: real market prices, no commission"
    fill_latency_ms: int = Field(default=150, ge=0)
    """What the console compares for "fastest": a paper market order at Alpaca fills in a fraction of a second."""
    fractional_shares: bool = True
    starting_cash: Decimal = Decimal("0")
    """Alpaca sets the paper account's cash (its dashboard resets it); the account tool reports the real figure."""
    commission: CommissionSchedule = NO_COMMISSION
    base_url: str = ALPACA_PAPER_URL
    """Alpaca's trading API: only the paper endpoint (or a loopback address, for tests) is accepted."""
    data_url: str = ALPACA_DATA_URL
    """Alpaca's market data API (latest quotes)."""
    feed: Literal["iex", "sip", "delayed_sip"] | None = None
    """Quote feed; None lets Alpaca choose (IEX on the free plan)."""
    sec_fee_per_million: Decimal = Decimal("27.80")
    """SEC Section 31 fee on sells, dollars per million of value, for estimates (the SEC resets it each year)."""
    taf_per_share: Decimal = Decimal("0.000166")
    """FINRA trading activity fee on sells, per share, for estimates."""
    taf_maximum: Decimal = Decimal("8.30")
    """The FINRA fee's cap per trade."""
    fill_wait_ms: int = Field(default=2000, ge=0, le=30_000)
    """How long place_order waits for a market order Alpaca accepted to fill before it answers with it as open."""

    def fee_schedule(self) -> str:
        return (f"No commission; on sells, regulatory fees Alpaca passes on (SEC {usd(self.sec_fee_per_million)} per "
                f"$1M of value, FINRA TAF ${plain(self.taf_per_share)} a share up to {usd(self.taf_maximum)}), "
                "estimated")


AnyProfile = BrokerProfile | AlpacaProfile
KINDS: dict[str, type[BrokerProfile]] = {"simulated": BrokerProfile, "alpaca": AlpacaProfile}


class ProfileError(Exception):
    """The profiles file is missing, malformed or names a broker twice."""


def load_profiles(path: Path | str | None = None) -> dict[str, AnyProfile]:
    """Read every broker profile from a TOML file, keyed by id, in file order."""
    path = Path(path) if path else DEFAULT_PROFILES
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"cannot read broker profiles from {path}: {exc}") from exc
    profiles: dict[str, AnyProfile] = {}
    for entry in raw.get("broker", []):
        kind = entry.get("kind", "simulated") if isinstance(entry, dict) else "simulated"
        if kind not in KINDS:
            raise ProfileError(f"broker {entry.get('id')!r} in {path} has kind {kind!r}; the kinds are "
                               f"{', '.join(KINDS)}")
        try:
            profile = KINDS[kind].model_validate(entry)
        except ValueError as exc:
            raise ProfileError(f"bad broker profile in {path}: {exc}") from exc
        if profile.id in profiles:
            raise ProfileError(f"broker id {profile.id!r} appears twice in {path}")
        profiles[profile.id] = profile
    if not profiles:
        raise ProfileError(f"no [[broker]] entries in {path}")
    return profiles


@lru_cache(maxsize=8)
def _cached(path: str) -> dict[str, AnyProfile]:
    return load_profiles(path)


def get_profiles(path: Path | str | None = None) -> dict[str, AnyProfile]:
    """Profiles from `path` or the configured file (cached per path)."""
    from brokers.settings import get_settings

    return _cached(str(path or get_settings().profiles_path))


def get_profile(broker_id: str) -> AnyProfile:
    profiles = get_profiles()
    try:
        return profiles[broker_id]
    except KeyError:
        raise ProfileError(f"unknown broker {broker_id!r}; known brokers: {', '.join(profiles)}") from None
