"""The market clock: NYSE sessions (holidays, early closes) from exchange_calendars, in US/Eastern.

`TRADING_NOW` freezes "now" for demos and tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd

EASTERN = ZoneInfo("America/New_York")


@lru_cache(maxsize=1)
def _calendar() -> exchange_calendars.ExchangeCalendar:
    return exchange_calendars.get_calendar("XNYS")


def _ts(moment: datetime) -> pd.Timestamp:
    return pd.Timestamp(moment).tz_convert("UTC").floor("min")


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


# The calendar answers through pandas (tens of microseconds a call) and every quote asks it: the
# answers for a given minute never change, so they are cached by minute.
@lru_cache(maxsize=4096)
def _is_open(minute: int) -> bool:
    return bool(_calendar().is_open_on_minute(pd.Timestamp(minute * 60, unit="s", tz="UTC")))


@lru_cache(maxsize=4096)
def _transition(kind: str, minute: int) -> datetime:
    ts = pd.Timestamp(minute * 60, unit="s", tz="UTC")
    cal = _calendar()
    found = {"next_open": cal.next_open, "next_close": cal.next_close, "previous_close": cal.previous_close}[kind](ts)
    return found.to_pydatetime().astimezone(UTC)


def minute_of(moment: datetime) -> datetime:
    """The start of the minute `moment` falls in (UTC): the simulated price path moves minute by minute."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _py(ts: pd.Timestamp) -> datetime:
    return ts.to_pydatetime().astimezone(UTC)


@dataclass(frozen=True)
class Session:
    """One trading day: its date and its open and close instants (UTC-aware)."""

    day: date
    open: datetime
    close: datetime

    @property
    def early_close(self) -> bool:
        return self.close.astimezone(EASTERN).hour < 16


class MarketClock:
    """Answers "is the market open" and "when is the next open/close" for a given or frozen now."""

    def __init__(self, frozen_now: datetime | None = None):
        self.frozen_now = frozen_now

    def now(self) -> datetime:
        return self.frozen_now.astimezone(UTC) if self.frozen_now else datetime.now(UTC)

    def is_open(self, moment: datetime | None = None) -> bool:
        return _is_open(_minute(moment or self.now()))

    def next_open(self, moment: datetime | None = None) -> datetime:
        """The first session open strictly after `moment`."""
        return _transition("next_open", _minute(moment or self.now()))

    def next_close(self, moment: datetime | None = None) -> datetime:
        """The first session close strictly after `moment` (today's close while open)."""
        return _transition("next_close", _minute(moment or self.now()))

    def previous_close(self, moment: datetime | None = None) -> datetime:
        return _transition("previous_close", _minute(moment or self.now()))

    def open_minutes(self, after: datetime, through: datetime) -> Iterator[datetime]:
        """Every minute the market is open that starts after `after` and no later than `through`, in order."""
        minute = minute_of(after) + timedelta(minutes=1)
        through = minute_of(through)
        while minute <= through:
            if not self.is_open(minute):
                minute = self.next_open(minute)
                continue
            close = self.next_close(minute)
            while minute < close and minute <= through:
                yield minute
                minute += timedelta(minutes=1)

    def session_at(self, moment: datetime) -> Session:
        """The session `moment` falls in, or the next one when the market is closed."""
        cal = _calendar()
        ts = _ts(moment)
        label = cal.minute_to_session(ts) if cal.is_open_on_minute(ts) else cal.minute_to_session(cal.next_open(ts))
        return Session(label.date(), _py(cal.session_open(label)), _py(cal.session_close(label)))

    def last_trading_moment(self, moment: datetime | None = None) -> datetime:
        """`moment` itself while open, else the previous close: prices do not move while closed."""
        moment = moment or self.now()
        # The calendar's previous_close is strictly before the minute: at the closing bell itself it is
        # yesterday's, so ask from one minute later to get today's.
        return moment if self.is_open(moment) else self.previous_close(moment + timedelta(minutes=1))

    def status(self) -> dict:
        """Open/closed and the next transition, for sidebars and the get_quote tool."""
        now = self.now()
        is_open = self.is_open(now)
        session = self.session_at(now)
        return {
            "is_open": is_open,
            "now": now.astimezone(EASTERN).isoformat(),
            "next_open": self.next_open(now).astimezone(EASTERN).isoformat(),
            "next_close": self.next_close(now).astimezone(EASTERN).isoformat(),
            "early_close": session.early_close,
            "frozen": self.frozen_now is not None,
        }


def eastern(moment: datetime) -> str:
    """A trader-readable time: 'Wed 2026-11-25 09:30 ET'."""
    return moment.astimezone(EASTERN).strftime("%a %Y-%m-%d %H:%M ET")
