"""Deployment `backfill`: replay many hours of the lead cycle inside one flow run.

One flow run per hour costs about a second of orchestration; a backfill runs each
hour's scoring, promotion and nurture as tasks of a single run instead, so a month
replays in a minute (demo, catch-up after an outage, what-if runs under other rules).
"""

from datetime import datetime, timedelta

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows.common import resolve_as_of, resolve_rules
from flows.hourly_scoring import score_hour
from flows.mql_promotion import promote_hour
from flows.nurture_scheduler import nurture_hour


def backfill_hours(start: datetime, end: datetime, every_hours: int) -> list[datetime]:
    """The hours from `start` to `end` inclusive, both floored to the hour, `every_hours` apart."""
    if every_hours < 1:
        raise ValueError("every_hours must be at least 1")
    first, last = resolve_as_of(start), resolve_as_of(end)
    if last < first:
        raise ValueError(f"end {last.isoformat()} is before start {first.isoformat()}")
    hours = []
    current = first
    while current <= last:
        hours.append(current)
        current += timedelta(hours=every_hours)
    return hours


@flow(name="backfill", log_prints=True)
def backfill(
    start: datetime,
    end: datetime,
    every_hours: int = 1,
    dry_run: bool = False,
    rules_path: str | None = None,
    promote: bool = True,
    nurture: bool = True,
    simulate_clock: bool = False,
) -> list[dict[str, object]]:
    """Run the lead cycle (scoring → promotion → nurture) for every hour, oldest first.

    Each hour is recorded in the run ledger like a scheduled run, so the next scheduled
    run continues incrementally from the last replayed hour. Emails are sent now (a
    replay never back-dates a send) unless `simulate_clock` treats every replayed hour
    as the present — for demos and what-if runs, with the `.eml` development sender.
    """
    rules = resolve_rules(rules_path)
    rows: list[dict[str, object]] = []
    for hour in backfill_hours(start, end, every_hours):
        scored, _ = score_hour(rules=rules, as_of=hour, dry_run=dry_run)
        row: dict[str, object] = {
            "as_of": hour.isoformat(),
            "scored": scored.scored,
            "snapshots": scored.snapshots_written,
            "quarantined": scored.quarantined,
        }
        if promote:
            promoted = promote_hour(rules=rules, as_of=hour, dry_run=dry_run).summary()
            row["promoted"] = sum(promoted["promoted"].values()) if promoted["promoted"] else 0
            row["slack_sent"] = promoted.get("messages_sent", 0)
            row["slack_pending"] = promoted.get("messages_pending", 0)
        if nurture:
            nurtured = nurture_hour(
                rules=rules, as_of=hour, dry_run=dry_run,
                send_at=hour if simulate_clock else None,
            )
            counts = nurtured.decisions.counts()
            row["enrolled"] = counts["enrolled"]
            row["emails_sent"] = nurtured.dispatch.sent if nurtured.dispatch else 0
        rows.append(row)
    create_table_artifact(
        key="backfill-summary",
        table=rows,
        description=f"Backfill {rows[0]['as_of']} → {rows[-1]['as_of']}" if rows else "Backfill",
    )
    print(f"replayed {len(rows)} hours")
    return rows
