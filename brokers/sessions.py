"""The NYSE sessions from a bundled table, so a broker starts without importing pandas and exchange_calendars.

`nyse_sessions.csv` lists only the weekdays that are not a regular 09:30-16:00 New York session (holidays,
early closes), generated from exchange_calendars and checked against it by tests/brokers/test_clock.py.
Regenerate it after upgrading exchange_calendars: `python -m brokers.sessions`.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
TABLE = Path(__file__).with_name("nyse_sessions.csv")
FIRST_YEAR, LAST_YEAR = 2000, 2035
"""The years the table covers; a moment outside them asks exchange_calendars itself."""
REGULAR_OPEN, REGULAR_CLOSE = time(9, 30), time(16, 0)


@cache
def _exceptions() -> dict[date, tuple[time, time] | None]:
    """Weekday -> (open, close) New York time for an irregular session, None for a weekday without one."""
    found: dict[date, tuple[time, time] | None] = {}
    with TABLE.open(encoding="utf-8") as rows:
        for row in csv.reader(line for line in rows if not line.startswith("#")):
            day, opens, closes = row
            found[date.fromisoformat(day)] = (time.fromisoformat(opens), time.fromisoformat(closes)) if opens else None
    return found


def covers(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def session_times(day: date) -> tuple[datetime, datetime] | None:
    """The (open, close) instants (UTC) of the session on New York date `day`, or None when the market stays shut."""
    if day.weekday() >= 5:
        return None
    exceptions = _exceptions()
    if day in exceptions:
        hours = exceptions[day]
        if hours is None:
            return None
        opens, closes = hours
    else:
        opens, closes = REGULAR_OPEN, REGULAR_CLOSE
    return (datetime.combine(day, opens, EASTERN).astimezone(UTC), datetime.combine(day, closes, EASTERN).astimezone(UTC))


def write_table(path: Path = TABLE) -> int:
    """Regenerate the table from exchange_calendars; how many exceptional weekdays it holds."""
    import importlib.metadata

    import exchange_calendars

    calendar = exchange_calendars.get_calendar("XNYS", start=f"{FIRST_YEAR}-01-01", end=f"{LAST_YEAR}-12-31")
    schedule = calendar.schedule
    sessions = {label.date(): (row["open"].tz_convert(EASTERN), row["close"].tz_convert(EASTERN))
                for label, row in schedule.iterrows()}
    lines = []
    day = date(FIRST_YEAR, 1, 1)
    while day <= date(LAST_YEAR, 12, 31):
        hours = sessions.get(day)
        if day.weekday() >= 5:
            if hours is not None:
                raise RuntimeError(f"a weekend session on {day}: the table cannot express it")
        elif hours is None:
            lines.append(f"{day},,")
        elif (hours[0].time(), hours[1].time()) != (REGULAR_OPEN, REGULAR_CLOSE):
            lines.append(f"{day},{hours[0]:%H:%M},{hours[1]:%H:%M}")
        day += timedelta(days=1)
    version = importlib.metadata.version("exchange-calendars")
    header = (f"# NYSE weekdays {FIRST_YEAR}-{LAST_YEAR} that are not a 09:30-16:00 New York session, from "
              f"exchange_calendars {version} (python -m brokers.sessions).\n# date,open,close (no times: closed)\n")
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    _exceptions.cache_clear()
    return len(lines)


if __name__ == "__main__":
    print(f"{write_table()} exceptional weekdays written to {TABLE}", file=sys.stderr)
