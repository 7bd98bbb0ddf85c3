"""`leadflow backfill` (catch-up after an outage) and `leadflow simulate` (replay).

Both replay many hours of the lead cycle inside this process through the `backfill`
flow, with a progress bar on stderr, resumably (see `app.replay`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from app.cli import DryRunFlag, RulesOption, app, check_rules, fail
from app.cli.scoring_commands import parse_as_of, refuse_future

FromOption = Annotated[
    str,
    typer.Option("--from", help="First hour, ISO 8601 (naive = business time zone)."),
]
ToOption = Annotated[
    str, typer.Option("--to", help="Last hour, inclusive, ISO 8601 (naive = business time zone).")
]
EveryHoursOption = Annotated[
    int, typer.Option("--every-hours", help="Replay every N-th hour (1 = every hour).")
]


@app.command("backfill")
def backfill_command(
    start: FromOption, end: ToOption, dry_run: DryRunFlag = False, rules: RulesOption = None
) -> None:
    """Catch up after an outage: run the lead cycle for every missed hour, oldest first.

    Each hour is decided as of that hour; what is due goes out now, through the real
    email and Slack transports, stamped with the real time. Rerunning the same command
    after a crash continues after the last completed hour.
    """
    replay(start_text=start, end_text=end, every_hours=1, dry_run=dry_run, rules=rules,
           simulate=False)


@app.command("simulate")
def simulate_command(
    start: FromOption,
    end: ToOption,
    every_hours: EveryHoursOption = 1,
    dry_run: DryRunFlag = False,
    rules: RulesOption = None,
) -> None:
    """Replay a period under a simulated clock (demos, rule changes, tests).

    Each hour is the present: its sends are recorded and dated at that hour. Never
    reaches real people: email goes to `.eml` files (LEADFLOW_OUTBOX_DIR) and Slack to
    the console, whatever the SMTP and Slack settings say. Resumable like `backfill`.
    """
    replay(start_text=start, end_text=end, every_hours=every_hours, dry_run=dry_run,
           rules=rules, simulate=True)


def replay(
    *,
    start_text: str,
    end_text: str,
    every_hours: int,
    dry_run: bool,
    rules: Path | None,
    simulate: bool,
) -> None:
    """Check the range and rules, then replay the hours not done yet with a progress bar;
    prints the summed counts; exits 1 with one line when some hour could not dispatch."""
    from app.cli.nurture_commands import check_sending
    from app.replay import ReplayNotSafe, run_replay
    from flows.backfill import backfill_hours

    start = parse_as_of(start_text, option="--from")
    end = parse_as_of(end_text, option="--to")
    if end < start:
        fail(f"--to {end_text!r} is before --from {start_text!r}: give the earlier hour as --from")
    if every_hours < 1:
        fail(f"--every-hours {every_hours} must be 1 or more")
    if not simulate and not dry_run:
        refuse_future(end, option="--to")
    rules_path = check_rules(rules)
    try:
        result = run_replay(
            backfill_hours(start, end, every_hours), simulate=simulate, dry_run=dry_run,
            rules_path=rules_path, progress=_progress_bar,
            check=None if dry_run else check_sending,
            announce=lambda plan: typer.echo(
                _plan_line(plan.hours, plan.done, plan.last_completed), err=True
            ),
        )
    except ReplayNotSafe as error:
        fail(str(error))
    if not result.plan.left:
        return
    mode = " (dry run: nothing written or sent)" if dry_run else ""
    typer.echo(f"replayed {len(result.rows)} hours{mode}")
    for name, value in result.totals().items():
        typer.echo(f"{name}: {value}")
    if dry_run:
        from app.cli.decisions_table import print_decisions

        print_decisions(
            [row for hour in result.rows for row in _decisions(hour)],
            artifact="backfill-dry-run-decisions",
            nothing="no decisions: nothing would change in these hours",
        )
    if not result.completed:
        fail(result.message or "the replay did not complete")


def _plan_line(hours: list[datetime], done: list[datetime], last: datetime | None) -> str:
    if not done:
        return (
            f"{len(hours)} hours to replay, "
            f"{hours[0]:%Y-%m-%dT%H:%MZ} → {hours[-1]:%Y-%m-%dT%H:%MZ}"
        )
    through = f"the ledger's last completed hour is {last:%Y-%m-%dT%H:%MZ}" if last else ""
    if len(done) == len(hours):
        return f"all {len(hours)} hours already done ({through}): nothing to replay"
    return (
        f"resuming: {len(done)} of {len(hours)} hours already done ({through}); "
        f"replaying the {len(hours) - len(done)} left from {hours[len(done)]:%Y-%m-%dT%H:%MZ}"
    )


@contextmanager
def _progress_bar(*, total: int, done: int) -> Iterator[None]:
    """Hours done, hours left and the ETA on stderr, fed by the backfill flow."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from flows.backfill import reporting_progress

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("hours done, {task.fields[left]} left, ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("replaying", total=total, completed=done, left=total - done)

        def advance(_done: int, _total: int, hour: datetime) -> None:
            left = total - int(progress.tasks[task].completed) - 1
            progress.update(task, advance=1, left=left, description=f"{hour:%Y-%m-%d %H:%M}Z")

        with reporting_progress(advance):
            yield


def _decisions(hour: dict[str, object]) -> list[dict[str, object]]:
    """A dry-run hour's decision rows (each stamped with its `as_of`)."""
    rows = hour.get("decisions")
    return list(rows) if isinstance(rows, list) else []
