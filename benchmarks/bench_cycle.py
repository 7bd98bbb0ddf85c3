"""Whole-cycle benchmark: the hourly lead cycle at scale, with dispatch to loopback servers.

Creates a fresh database (a SQLite file by default, or a private schema in the
PostgreSQL given by --database-url), loads a synthetic dataset, starts a real SMTP
server (aiosmtpd) and a Slack Web API on 127.0.0.1 in this (parent) process, then times
each phase in its own subprocess so one phase's memory never hides another's:

  load    migrate, generate the dataset, bulk insert, ANALYZE
  floor   one plain SQL query: default points per event, summed per contact
  first   the first cycle hour at `end`: every contact scored (no earlier run), then
          promotion → recycling → nurture → SLA, each dispatching to the loopback servers
  settle  the next hour (`end` + 1 h), no new activity: it still carries the first
          hour's mass moves (every lead promoted then is a candidate again)
  drain   the staff messages the earlier hours queued and did not send yet (at 1M the
          first hour queues ~380k Slack posts; dispatch sends 200 a run) are marked
          delivered, as weeks of hourly runs would leave them: the steady hour then
          measures a steady state, not the first hour's backlog (the count is reported)
  hour    add_hourly_activity: new events for --share of the contacts in the hour after
  steady  the hour after that (`end` + 2 h): only what changed
  rerun   the steady hour again: already decided, so nothing is written or sent

Every cycle hour runs through `run_cycle_hour` (tasks/cycle.py), the wiring of the
`lead-cycle` flow, inside a Prefect flow run as in production. Each step's read /
decide / apply / dispatch seconds come from its outcome's beat timer.
Prints a markdown table and writes benchmarks/results/cycle-<timestamp>.json.
Usage: python benchmarks/bench_cycle.py [--contacts N] [--events M] [--database-url URL]
"""

import argparse
import cProfile
import json
import re
import shutil
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_common import (
    RESULTS_DIR,
    display_path,
    fresh_database,
    machine_info,
    ratio,
    require_test_extra,
    run_child,
    vm_hwm_mb,
)
from bench_scoring import phase_floor, phase_load
from sqlalchemy import Engine, create_engine, text, update
from sqlalchemy.engine import make_url

from app.synthetic import add_hourly_activity
from leadflow.db import make_engine, upgrade
from leadflow.paths import DEFAULT_RULES_PATH, PROJECT_ROOT
from leadflow.timeutil import floor_to_hour, utc_now
from models.rules import load_rules
from models.tables import Outbox
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL
from tasks.promotion.handoff import SLACK_CHANNEL

PHASES = ("load", "floor", "first", "settle", "drain", "hour", "steady", "rerun")
CYCLE_PHASES = ("first", "settle", "steady", "rerun")
# Hours after `end` each cycle phase runs at.
CYCLE_OFFSETS = {"first": 0, "settle": 1, "steady": 2, "rerun": 2}
# 10:00 in Tokyo: inside every send window, so nurture and hand-offs really go out.
BUSINESS_HOUR_UTC = 1


# --- loopback servers (parent process) -----------------------------------------------------


class CountingSmtpServer:
    """A real aiosmtpd server on loopback that counts messages and distinct Message-IDs
    (bodies are not kept: a million emails must not fill the parent's memory)."""

    _MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received = 0
        self.message_ids: set[bytes] = set()
        self.connections = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_EHLO(
        self, server: object, session: Any, envelope: object, hostname: str, responses: list[str]
    ) -> list[str]:
        # A handler that takes over EHLO must record the greeting itself (aiosmtpd's rule).
        session.host_name = hostname
        self.connections += 1
        return responses

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.received += 1
        head = bytes(envelope.original_content or envelope.content)[:4096]
        match = self._MESSAGE_ID.search(head)
        if match:
            self.message_ids.add(match.group(1))
        return "250 Message accepted for delivery"

    def snapshot(self) -> dict[str, int]:
        """Messages, distinct Message-IDs and SMTP sessions seen so far."""
        return {
            "messages": self.received,
            "distinct_message_ids": len(self.message_ids),
            "connections": self.connections,
        }

    def close(self) -> None:
        """Stop the server."""
        self._controller.stop()


def start_servers() -> tuple[CountingSmtpServer, Any]:
    """The SMTP server and the Slack Web API (tests.support.slack_api) on loopback."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.support.slack_api import FakeSlackApi

    return CountingSmtpServer(), FakeSlackApi()


# --- cycle phases (each runs in its own process) -------------------------------------------


def _cycle(args: argparse.Namespace, as_of: datetime) -> dict[str, Any]:
    """One cycle hour through `run_cycle_hour`, inside a Prefect flow run.

    The temporary Prefect API and the flow run's own start are left out of the timing.
    """
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from tasks.clock import Clock
    from tasks.cycle import run_cycle_hour
    from tests.support.settings import settings_for

    rules = load_rules(args.rules)
    settings = settings_for(
        args.database_url,
        smtp_host="127.0.0.1",
        smtp_port=args.smtp_port,
        smtp_security="none",
        slack_token="xoxb-test-token",
        slack_api_url=args.slack_url,
    )

    @flow(name="bench-cycle")
    def timed_hour() -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        outcome = run_cycle_hour(settings=settings, rules=rules, as_of=as_of, clock=Clock.LIVE)
        seconds = time.perf_counter() - started
        # Only plain figures leave the flow, as from the lead-cycle flow (its summary):
        # Prefect walks a flow's return value, and the outcome holds every decision.
        steps = {
            report.step.value: {
                "headline": report.headline,
                "beats_seconds": {k: round(v, 3) for k, v in report.beat_seconds.items()},
                "problem": report.problem,
                "superseded_by": report.superseded_by,
            }
            for report in outcome.reports()
        }
        return steps, seconds

    with prefect_test_harness(server_startup_timeout=120):
        steps, seconds = timed_hour()
    return {"seconds": seconds, "as_of": as_of.isoformat(), "steps": steps}


def mark_staff_backlog_delivered(engine: Engine, *, at: datetime) -> dict[str, int]:
    """Mark the pending Slack posts and staff emails as sent: the backlog a first hour
    of mass hand-offs leaves, which production drains over many hours. Nurture emails
    to contacts are left alone. Returns how many rows per channel."""
    marked: dict[str, int] = {}
    with engine.begin() as conn:
        for channel in (SLACK_CHANNEL, INTERNAL_EMAIL_CHANNEL):
            marked[channel] = conn.execute(
                update(Outbox)
                .where(Outbox.status == "pending", Outbox.channel == channel)
                .values(status="sent", sent_at=at)
            ).rowcount
    return marked


def run_phase(args: argparse.Namespace) -> None:
    """Child process: run one phase and print one JSON line with its time and memory."""
    engine: Engine = make_engine(args.database_url)
    before_mb = vm_hwm_mb()
    started = time.perf_counter()
    if args.phase == "load":
        details = phase_load(args, engine)
    elif args.phase == "floor":
        details = phase_floor(args, engine)
    elif args.phase == "drain":
        details = {"marked_delivered": mark_staff_backlog_delivered(engine, at=args.end)}
    elif args.phase == "hour":
        added = add_hourly_activity(
            engine, share=args.share, at=args.end + timedelta(hours=2), seed=args.seed
        )
        details = {"contacts": added.contacts, "events": added.events}
    else:
        as_of = args.end + timedelta(hours=CYCLE_OFFSETS[args.phase])
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        details = _cycle(args, as_of)
        if profiler:
            profiler.disable()
            path = RESULTS_DIR / f"cycle-{args.stamp}-{args.phase}.prof"
            profiler.dump_stats(path)
            details["profile"] = display_path(path)
    seconds = details.pop("seconds", time.perf_counter() - started)
    engine.dispose()
    print(json.dumps({
        "phase": args.phase, "seconds": round(seconds, 3),
        "rss_before_mb": round(before_mb, 1), "details": details,
    }, default=str))  # fmt: skip


# --- the parent ---------------------------------------------------------------------------


def _child(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    """Run `phase` in a subprocess (`bench_common.run_child`)."""
    command = [
        sys.executable, __file__, "--phase", phase, "--database-url", args.database_url,
        "--contacts", str(args.contacts), "--events", str(args.events),
        "--days", str(args.days), "--seed", str(args.seed), "--share", str(args.share),
        "--end", args.end.isoformat(), "--rules", str(args.rules), "--stamp", args.stamp,
        "--smtp-port", str(args.smtp_port), "--slack-url", args.slack_url,
    ]  # fmt: skip
    if args.profile and phase in CYCLE_PHASES:
        command.append("--profile")
    return run_child(
        command, what=f"phase {phase}", env={"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    )


def _copy_of_loaded(args: argparse.Namespace) -> Callable[[], None]:
    """Point args.database_url at a copy of the database an earlier `--keep` run loaded
    (a SQLite file, or a PostgreSQL database used as a template); returns the clean-up.

    Loading 30M events takes longer than the cycle itself: load once, measure many times.
    """
    url = make_url(args.loaded)
    if url.get_backend_name() == "sqlite":
        copy = RESULTS_DIR / f"bench-{args.stamp}.db"
        shutil.copyfile(url.database or "", copy)
        args.database_url = f"sqlite:///{copy}"
        # A database loaded by an older commit gets the migrations added since.
        upgrade(args.database_url)
        return lambda: None if args.keep else copy.unlink(missing_ok=True)
    name = f"bench_{args.stamp.lower()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    args.database_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(args.database_url)

    def drop() -> None:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()

    return drop


def _dataset_size(url: str) -> tuple[int, int]:
    """How many contacts and events a loaded database holds (the report's title says so,
    not the --contacts/--events defaults)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            contacts = conn.execute(text("SELECT count(*) FROM contacts")).scalar_one()
            events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    finally:
        engine.dispose()
    return int(contacts), int(events)


def _beats(step: dict[str, Any]) -> str:
    return " · ".join(f"{name} {seconds:.2f}" for name, seconds in step["beats_seconds"].items())


def markdown(report: dict[str, Any]) -> str:
    """The report as markdown: phases, each cycle hour's steps, ratios and the machine."""
    machine = report["machine"]
    lines = [
        f"### Cycle benchmark — {report['contacts']:,} contacts, {report['events']:,} events "
        f"({report['backend']})",
        "",
        "| phase | wall time (s) | peak RSS (MB) | load after |",
        "|---|---:|---:|---:|",
    ]
    for name, phase in report["phases"].items():
        lines.append(
            f"| {name} | {phase['seconds']:.2f} | {phase['peak_rss_mb']:.0f} | "
            f"{phase['load_average_after'][0]:.1f} |"
        )
    for name in CYCLE_PHASES:
        phase = report["phases"].get(name)
        if phase is None:
            continue
        lines += ["", f"**{name} hour** ({phase['details']['as_of']}): "
                  f"{phase['seconds']:.2f} s", "",
                  "| step | seconds per beat | headline |", "|---|---|---|"]  # fmt: skip
        for step, data in phase["details"]["steps"].items():
            headline = ", ".join(f"{k} {v:,}" for k, v in data["headline"].items())
            extra = " (already decided)" if data["superseded_by"] else ""
            extra += f" — **{data['problem']}**" if data["problem"] else ""
            lines.append(f"| {step} | {_beats(data)} | {headline}{extra} |")
    ratios, servers = report["ratios"], report["servers"]
    lines += [
        "",
        f"- first-hour scoring / floor: **{ratios['first_scoring_over_floor']}×**; "
        f"steady hour / first hour: **{ratios['steady_over_first']}**",
        f"- loopback SMTP received {servers['smtp']['messages']:,} emails "
        f"({servers['smtp']['distinct_message_ids']:,} distinct Message-IDs, "
        f"{servers['smtp']['connections']:,} SMTP sessions); Slack received "
        f"{servers['slack_posts']:,} posts",
        *_drained_line(report["phases"].get("drain")),
        f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"PostgreSQL {machine['postgres'] or 'n/a'}, load average before "
        f"{', '.join(f'{x:.2f}' for x in machine['load_average'])}, commit {machine['git_commit']}",
    ]
    return "\n".join(lines)


def _drained_line(phase: dict[str, Any] | None) -> list[str]:
    if phase is None:
        return []
    marked = phase["details"]["marked_delivered"]
    return [
        f"- before the steady hour, the queued backlog was marked delivered: "
        f"{marked[SLACK_CHANNEL]:,} Slack posts, {marked[INTERNAL_EMAIL_CHANNEL]:,} staff emails"
    ]


def _scoring_seconds(phase: dict[str, Any]) -> float | None:
    """Scoring's wall time: plan + shards when it ran in batches or shards (its read,
    decide and apply beats are then sums over them), else the sum of its beats."""
    step = phase["details"]["steps"].get("scoring")
    if not step:
        return None
    beats = step["beats_seconds"]
    if "shards" in beats:
        return float(beats.get("plan", 0.0) + beats["shards"])
    return float(sum(beats.values()))


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Parent process: fresh database, loopback servers, every phase in a child, the report."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    requested_url = args.database_url
    cleanup = _copy_of_loaded(args) if args.loaded else fresh_database(args)
    if args.loaded:
        args.contacts, args.events = _dataset_size(args.database_url)
    smtp, slack = start_servers()
    args.smtp_port, args.slack_url = smtp.port, slack.url
    try:
        machine = machine_info(requested_url or args.database_url)
        phases: dict[str, Any] = {}
        wanted = ("load",) if args.load_only else PHASES[1:] if args.loaded else PHASES
        for phase in wanted:
            print(f"… {phase}", file=sys.stderr, flush=True)
            phases[phase] = _child(args, phase)
            print(f"  {phases[phase]['seconds']:.2f} s, peak {phases[phase]['peak_rss_mb']:.0f} MB",
                  file=sys.stderr, flush=True)  # fmt: skip
        servers = {"smtp": smtp.snapshot(), "slack_posts": len(slack.posted())}
        if args.load_only:
            print(f"loaded and kept: {args.database_url}")
            return phases
    finally:
        smtp.close()
        slack.close()
        cleanup()
    report: dict[str, Any] = {
        "timestamp": args.stamp,
        "backend": make_url(args.database_url).get_backend_name(),
        "contacts": args.contacts, "events": args.events, "days": args.days,
        "seed": args.seed, "share": args.share, "end": args.end.isoformat(),
        "rules": display_path(args.rules),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine,
        "phases": phases,
        "servers": servers,
        "ratios": {
            "first_scoring_over_floor": ratio(
                _scoring_seconds(phases["first"]), phases["floor"]["seconds"]
            ),
            "steady_over_first": ratio(phases["steady"]["seconds"], phases["first"]["seconds"]),
        },
    }  # fmt: skip
    path = RESULTS_DIR / f"cycle-{args.stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    print(markdown(report))
    print(f"\nwritten {path.relative_to(PROJECT_ROOT)}")
    return report


def last_business_hour(now: datetime) -> datetime:
    """The latest weekday 10:00 Tokyo time (01:00 UTC) at least a day before `now`."""
    day = (now - timedelta(days=1)).replace(hour=BUSINESS_HOUR_UTC, minute=0, second=0,
                                            microsecond=0)  # fmt: skip
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (--phase/--stamp/--smtp-port/--slack-url are for child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in results/")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=30_000_000)
    parser.add_argument("--days", type=int, default=180, help="history window of the events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.01, help="contacts active in the hour")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES_PATH)
    parser.add_argument(
        "--end", type=datetime.fromisoformat,
        help="as_of of the first cycle hour (default: the latest weekday 10:00 JST a day ago)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--load-only", action="store_true", help="load the dataset, keep it, measure nothing"
    )
    parser.add_argument(
        "--loaded",
        help="URL of a database an earlier --keep run loaded: measure on a copy, skip load",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the cycle hours into results/"
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--stamp", help=argparse.SUPPRESS)
    parser.add_argument("--smtp-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slack-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.end = floor_to_hour(args.end or last_business_hour(utc_now()))
    if args.end.tzinfo is None:
        args.end = args.end.replace(tzinfo=UTC)
    args.stamp = args.stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.keep = args.keep or args.load_only
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the whole benchmark, or one phase when called as a child."""
    args = parse_args(argv)
    require_test_extra()
    if args.phase:
        run_phase(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
