"""The scheduler's heartbeat: one row per job, rewritten by every run of that job.

Reminders, emails and the month's figures stop silently when the scheduler process is
down: nothing fails, nothing is sent. Each job run therefore records when it finished,
whether it went well and how long it took; ``/healthz`` answers 503 and the staff
dashboard warns when the newest run is older than ``SCHEDULER_STALE_MINUTES``.

The row is written on a connection of its own (not the job's session): it commits even
after a job failed, and no public page depends on it (``core/pagecache.py`` lists the
table as private), so a heartbeat never empties the page cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from consult_hub.core.db import Base, UTCDateTime

Outcome = Literal["ok", "failed"]
DETAIL_LENGTH = 500


class SchedulerHeartbeat(Base):
    """The last run of one scheduler job."""

    __tablename__ = "scheduler_heartbeats"

    job: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the run finished
    last_outcome: Mapped[str] = mapped_column(sa.String(10))  # "ok" or "failed"
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    detail: Mapped[str | None] = mapped_column(sa.String(DETAIL_LENGTH))


def record(engine: sa.Engine, job: str, finished_at: datetime, outcome: Outcome,
           duration_ms: int, detail: str | None = None) -> None:
    """Upsert ``job``'s row in a transaction of its own."""
    values = {"job": job, "last_run_at": finished_at, "last_outcome": outcome,
              "duration_ms": duration_ms,
              "detail": detail[:DETAIL_LENGTH] if detail is not None else None}
    table = SchedulerHeartbeat.__table__
    insert = (postgresql.insert(table) if engine.dialect.name == "postgresql"
              else sqlite.insert(table))
    statement = insert.values(**values).on_conflict_do_update(
        index_elements=[table.c.job],
        set_={name: value for name, value in values.items() if name != "job"})
    with engine.begin() as connection:
        connection.execute(statement)


@dataclass
class SchedulerHealth:
    """Is the scheduler running? From the newest heartbeat of any job."""

    last_run_at: datetime | None
    age: timedelta | None
    max_age: timedelta
    failing: list[str] = field(default_factory=list)  # jobs whose latest run failed

    @property
    def never_ran(self) -> bool:
        return self.last_run_at is None

    @property
    def stale(self) -> bool:
        """Never ran, or no job finished within ``max_age``."""
        return self.age is None or self.age > self.max_age

    @property
    def minutes(self) -> int | None:
        """Whole minutes since the newest run."""
        return None if self.age is None else int(self.age.total_seconds() // 60)


def scheduler_health(connection: sa.Connection | Session, now: datetime,
                     max_age_minutes: float) -> SchedulerHealth:
    """Read the heartbeats (one query) and judge them against ``now``."""
    rows = connection.execute(sa.select(SchedulerHeartbeat.job, SchedulerHeartbeat.last_run_at,
                                        SchedulerHeartbeat.last_outcome)).all()
    max_age = timedelta(minutes=max_age_minutes)
    if not rows:
        return SchedulerHealth(None, None, max_age)
    newest = max(row.last_run_at for row in rows)
    return SchedulerHealth(newest, max(now - newest, timedelta(0)), max_age,
                           sorted(row.job for row in rows if row.last_outcome == "failed"))
