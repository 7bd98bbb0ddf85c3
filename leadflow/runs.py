"""The run ledger: one row per flow run, so reruns and incremental work know what ran."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from leadflow.timeutil import utc_now
from models.tables import Run


@dataclass(frozen=True)
class PreviousRun:
    """What an earlier applied run of the same flow covered."""

    run_id: str
    as_of: datetime
    started_at: datetime
    rules_hash: str | None


def start_run(
    engine: Engine, *, flow: str, as_of: datetime, dry_run: bool, rules_hash: str | None
) -> str:
    """Record the start of a run and return its id."""
    run_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(Run).values(
                id=run_id,
                flow=flow,
                as_of=as_of,
                dry_run=dry_run,
                rules_hash=rules_hash,
                started_at=utc_now(),
                status="running",
            )
        )
    return run_id


def finish_run(
    engine: Engine, run_id: str, *, status: str, summary: dict[str, Any] | None = None
) -> None:
    """Mark a run completed or failed, with its summary counts."""
    with engine.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(status=status, finished_at=utc_now(), summary=summary)
        )


def previous_run(conn: Connection, *, flow: str, before: datetime) -> PreviousRun | None:
    """The latest completed, applied (not dry) run of `flow` with as_of strictly before `before`."""
    return _latest_applied(conn, flow=flow, before=before)


@dataclass
class RecordedRun:
    """A run being recorded: set `summary` before the block ends to store it."""

    run_id: str
    summary: dict[str, Any] | None = None


@contextmanager
def recorded_run(
    engine: Engine, *, flow: str, as_of: datetime, dry_run: bool, rules_hash: str | None
) -> Iterator[RecordedRun]:
    """Record a run in the ledger: completed with its summary, or failed if the block raises."""
    run = RecordedRun(
        run_id=start_run(engine, flow=flow, as_of=as_of, dry_run=dry_run, rules_hash=rules_hash)
    )
    try:
        yield run
    except BaseException:
        finish_run(engine, run.run_id, status="failed")
        raise
    finish_run(engine, run.run_id, status="completed", summary=run.summary)


def latest_applied_run(conn: Connection, *, flow: str) -> PreviousRun | None:
    """The completed, applied (not dry) run of `flow` with the latest as_of, if any."""
    return _latest_applied(conn, flow=flow, before=None)


def _latest_applied(
    conn: Connection, *, flow: str, before: datetime | None
) -> PreviousRun | None:
    query = select(Run.id, Run.as_of, Run.started_at, Run.rules_hash).where(
        Run.flow == flow, Run.status == "completed", Run.dry_run.is_(False)
    )
    if before is not None:
        query = query.where(Run.as_of < before)
    row = conn.execute(
        query.order_by(Run.as_of.desc(), Run.started_at.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return PreviousRun(run_id=row.id, as_of=row.as_of, started_at=row.started_at,
                       rules_hash=row.rules_hash)


def superseded_by(
    engine: Engine, *, flow: str, as_of: datetime, dry_run: bool
) -> PreviousRun | None:
    """The applied run that makes deciding `as_of` again pointless, or None.

    An hour at or before the latest applied hour of a flow was decided already, with at
    least everything known at that hour; deciding it again now would act on today's
    state (enrol someone who was busy back then, re-announce a move). So such a rerun
    decides, writes and sends nothing. A dry run always decides: it only shows.
    """
    if dry_run:
        return None
    with engine.connect() as conn:
        latest = latest_applied_run(conn, flow=flow)
    if latest is None or as_of > latest.as_of:
        return None
    return latest
