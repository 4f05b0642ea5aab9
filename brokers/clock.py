"""The market clock: NYSE sessions (holidays, early closes) in US/Eastern, and what "now" is.

Sessions come from a bundled table (brokers/sessions.py), so a broker answers without importing pandas;
moments outside the table's years ask exchange_calendars, imported only then.

"Now" is, in order: the practice clock (only for a broker started with it, see PracticeClock), `TRADING_NOW`
(frozen, for demos and tests), the real time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from brokers import sessions
from brokers.errors import BrokerError

EASTERN = sessions.EASTERN
ClockMove = Literal["practice", "real_time", "next_open", "close", "plus_hour"]
"""What the practice clock can be told: start (at the next session open), stop, or jump forward."""
CLOCK_MOVES: tuple[str, ...] = ("practice", "real_time", "next_open", "close", "plus_hour")


class ClockError(BrokerError):
    """A practice clock move that cannot be made (the practice clock is off, or not served here)."""


@lru_cache(maxsize=1)
def _calendar():
    import exchange_calendars  # only for moments outside the bundled table's years

    return exchange_calendars.get_calendar("XNYS")


def _ts(minute: int):
    import pandas as pd

    return pd.Timestamp(minute * 60, unit="s", tz="UTC")


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _day(minute: int) -> date:
    return _at(minute).astimezone(EASTERN).date()


# Every quote asks these; the answers for a given minute never change, so they are cached by minute.
@lru_cache(maxsize=4096)
def _is_open(minute: int) -> bool:
    day = _day(minute)
    if not sessions.covers(day):
        return bool(_calendar().is_open_on_minute(_ts(minute)))
    hours = sessions.session_times(day)
    return hours is not None and hours[0] <= _at(minute) < hours[1]


@lru_cache(maxsize=4096)
def _transition(kind: str, minute: int) -> datetime:
    """next_open / next_close: the first open or close strictly after the minute; previous_close: the last before."""
    moment, day = _at(minute), _day(minute)
    step = -1 if kind == "previous_close" else 1
    for offset in range(0, 15 * step, step):  # the longest NYSE closure in the table is four weekdays
        candidate = day + timedelta(days=offset)
        if not sessions.covers(candidate):
            break
        hours = sessions.session_times(candidate)
        if hours is None:
            continue
        instant = hours[0] if kind == "next_open" else hours[1]
        if (instant > moment) if step > 0 else (instant < moment):
            return instant
    cal = _calendar()
    found = {"next_open": cal.next_open, "next_close": cal.next_close, "previous_close": cal.previous_close}[kind](_ts(minute))
    return found.to_pydatetime().astimezone(UTC)


def minute_of(moment: datetime) -> datetime:
    """The start of the minute `moment` falls in (UTC): the simulated price path moves minute by minute."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Session:
    """One trading day: its date and its open and close instants (UTC-aware)."""

    day: date
    open: datetime
    close: datetime

    @property
    def early_close(self) -> bool:
        return self.close.astimezone(EASTERN).hour < 16


class PracticeClock:
    """The person's practice time, shared by every broker on one data dir through one small JSON file.

    It stands still between moves (like TRADING_NOW), so it survives a restart exactly where it was. Only a broker
    started for the local console reads it (`python -m brokers serve <id> --practice-clock`); a gateway never does.
    """

    FILE = "practice_clock.json"

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / self.FILE
        self._seen: tuple | None = None
        self._value: datetime | None = None

    def read(self) -> datetime | None:
        """The practice time, or None while the person trades in real time. A stat a call; parsed on change only."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._seen, self._value = None, None
            return None
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                value = datetime.fromisoformat(json.loads(self.path.read_text(encoding="utf-8"))["now"])
            except (OSError, ValueError, KeyError, TypeError):
                return self._value  # caught mid-replace on a filesystem without atomic rename: keep the last one
            self._seen, self._value = seen, value.astimezone(UTC)
        return self._value

    def write(self, moment: datetime | None) -> None:
        """Set the practice time (atomically, for the other brokers reading it), or go back to real time (None)."""
        if moment is None:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"now": moment.astimezone(EASTERN).isoformat()}), encoding="utf-8")
        tmp.replace(self.path)


class MarketClock:
    """Answers "is the market open" and "when is the next open/close" for a given or frozen now."""

    def __init__(self, frozen_now: datetime | None = None, practice: PracticeClock | None = None):
        self.frozen_now = frozen_now
        self.practice = practice
        """The practice clock this broker follows, or None (a gateway, or a broker started without it)."""

    def real_now(self) -> datetime:
        """Now without the practice clock: TRADING_NOW when set, else the real time."""
        return self.frozen_now.astimezone(UTC) if self.frozen_now else datetime.now(UTC)

    def practice_now(self) -> datetime | None:
        return self.practice.read() if self.practice is not None else None

    def now(self) -> datetime:
        return self.practice_now() or self.real_now()

    def move(self, action: ClockMove) -> datetime:
        """Start or stop the practice clock, or jump it forward; the new now. Jumps never go back in time."""
        if self.practice is None:
            raise ClockError("this broker does not serve a practice clock (only the local console's brokers do)")
        current = self.practice_now()
        if action == "real_time":
            self.practice.write(None)
            return self.real_now()
        if action == "practice":
            moment = current or self.next_open(self.real_now())
        elif current is None:
            raise ClockError(f"the practice clock is off: choose practice before {action!r}")
        elif action == "next_open":
            moment = self.next_open(current)
        elif action == "close":
            moment = self.next_close(current)
        elif action == "plus_hour":
            moment = current + timedelta(hours=1)
        else:
            raise ClockError(f"unknown clock move {action!r}; one of {', '.join(CLOCK_MOVES)}")
        self.practice.write(moment)
        return moment

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
        opens = moment if self.is_open(moment) else self.next_open(moment)
        day = opens.astimezone(EASTERN).date()
        hours = sessions.session_times(day) if sessions.covers(day) else None
        if hours is None:  # outside the table: the calendar library's answer
            cal = _calendar()
            label = cal.minute_to_session(_ts(_minute(opens)))
            hours = (cal.session_open(label).to_pydatetime().astimezone(UTC),
                     cal.session_close(label).to_pydatetime().astimezone(UTC))
        return Session(day, hours[0], hours[1])

    def last_trading_moment(self, moment: datetime | None = None) -> datetime:
        """`moment` itself while open, else the previous close: prices do not move while closed."""
        moment = moment or self.now()
        # previous_close is strictly before the minute: at the closing bell itself it is yesterday's, so ask from
        # one minute later to get today's.
        return moment if self.is_open(moment) else self.previous_close(moment + timedelta(minutes=1))

    def status(self) -> dict:
        """Open/closed and the next transition, for sidebars and the get_quote tool."""
        practice = self.practice_now()
        now = practice or self.real_now()
        is_open = self.is_open(now)
        session = self.session_at(now)
        return {
            "is_open": is_open,
            "now": now.astimezone(EASTERN).isoformat(),
            "next_open": self.next_open(now).astimezone(EASTERN).isoformat(),
            "next_close": self.next_close(now).astimezone(EASTERN).isoformat(),
            "early_close": session.early_close,
            "frozen": practice is None and self.frozen_now is not None,
            "practice": practice is not None,
        }


def eastern(moment: datetime) -> str:
    """A trader-readable time: 'Wed 2026-11-25 09:30 ET'."""
    return moment.astimezone(EASTERN).strftime("%a %Y-%m-%d %H:%M ET")
