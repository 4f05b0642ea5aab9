"""Frozen clock values for tests (NYSE, US/Eastern), importable from any test folder."""

OPEN = "2026-11-24T10:30:00-05:00"  # Tuesday, NYSE open
CLOSED = "2026-11-24T20:00:00-05:00"  # Tuesday evening
NEXT_OPEN = "2026-11-25T09:30:00-05:00"
HOLIDAY = "2026-11-26T11:00:00-05:00"  # Thanksgiving
EARLY_CLOSE_DAY = "2026-11-27T12:00:00-05:00"  # the day after Thanksgiving closes at 13:00
