"""The broker's own safety state, kept in its database so every process sees it at once: the kill switch and what
was placed each New York day (for the per-day limit).

`python -m brokers halt <id>` writes the switch from another process; a running server reads it inside the
transaction of each order tool call, so a halt takes effect on the next call, on every gateway instance too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, insert, select, update

from brokers.clock import EASTERN
from brokers.errors import DailyLimitExceeded
from brokers.money import ZERO, usd
from brokers.persistence import BrokerDatabase, ControlRow, DailyNotionalRow

controls = ControlRow.__table__
daily = DailyNotionalRow.__table__


@dataclass(frozen=True)
class HaltState:
    """Whether the broker is halted, why, and since when."""

    halted: bool
    reason: str | None = None
    changed_at: datetime | None = None


NOT_HALTED = HaltState(False)


def halt_state(connection: Connection, broker: str) -> HaltState:
    row = connection.execute(
        select(controls.c.halted, controls.c.reason, controls.c.changed_at).where(controls.c.broker == broker)
    ).first()
    return NOT_HALTED if row is None else HaltState(bool(row[0]), row[1], row[2])


def set_halted(database: BrokerDatabase, halted: bool, reason: str | None, at: datetime) -> HaltState:
    """Halt or resume the broker in one write transaction (it waits for an order in progress to commit)."""
    with database.write() as connection:
        values = {"halted": halted, "reason": reason if halted else None, "changed_at": at}
        changed = connection.execute(update(controls).where(controls.c.broker == database.broker_id), values)
        if changed.rowcount == 0:
            connection.execute(insert(controls), {"broker": database.broker_id, **values})
        return HaltState(halted, values["reason"], at)


def read_halt_state(database: BrokerDatabase) -> HaltState:
    with database.read() as connection:
        return halt_state(connection, database.broker_id)


def new_york_day(moment: datetime) -> str:
    """The exchange's calendar day of `moment` (a day's limit resets at midnight in New York)."""
    return moment.astimezone(EASTERN).date().isoformat()


def placed_on(connection: Connection, day: str) -> Decimal:
    row = connection.execute(select(daily.c.placed).where(daily.c.day == day)).first()
    return ZERO if row is None else row[0]


def add_placed(connection: Connection, day: str, amount: Decimal) -> None:
    """Count `amount` as placed on `day`, in the caller's transaction (with the order it belongs to)."""
    before = connection.execute(select(daily.c.placed).where(daily.c.day == day)).first()
    if before is None:
        connection.execute(insert(daily), {"day": day, "placed": amount})
    else:
        connection.execute(update(daily).where(daily.c.day == day), {"placed": before[0] + amount})


def count_today(connection: Connection, cap: Decimal | None, broker_name: str, now: datetime, value: Decimal,
                replacing: str | None = None) -> None:
    """Add `value` to what was placed today, refusing it (nothing written) past the broker's per-day limit `cap`."""
    if cap is None or value <= 0:
        return
    day = new_york_day(now)
    placed = placed_on(connection, day)
    if placed + value > cap:
        what = f"the replacement of order {replacing} adds" if replacing else "this order is"
        raise DailyLimitExceeded(
            f"{what} {usd(value)}; with {usd(placed)} already placed today ({day}, New York) that is over "
            f"{broker_name}'s daily limit of {usd(cap)} ({usd(max(cap - placed, ZERO))} left today); "
            "nothing was placed"
        )
    add_placed(connection, day, value)
