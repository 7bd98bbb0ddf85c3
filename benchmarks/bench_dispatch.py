"""Email dispatch benchmark: N nurture emails drained over SMTP to a loopback server.

Creates a fresh database (a SQLite file by default, or a private schema in the
PostgreSQL given by --database-url), seeds N consenting contacts and enqueues one
nurture email each through `tasks.outbox.enqueue` (rows exactly as `apply_nurture`
writes them), then, each in its own process:

  server    a real aiosmtpd server on 127.0.0.1 (ephemeral port) that counts messages
            and connections (tests/support/smtp.py)
  dispatch  the nurture flow's dispatch beat (`tasks.nurture.hour.send`: SMTP transport
            from the settings, `dispatch_emails`), timed; peak RSS via wait4

and checks that the server received every enqueued email exactly once (by Message-ID)
and that every outbox row is `sent`. Prints a markdown summary and writes
benchmarks/results/<timestamp>.json.
Usage: python benchmarks/bench_dispatch.py [--emails N] [--database-url URL] [--profile]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from leadflow.db import make_engine, upgrade
from leadflow.email_message import message_id_for
from leadflow.paths import DEFAULT_RULES_PATH, PROJECT_ROOT
from leadflow.settings import Settings
from models.messages import OutboxMessage
from models.rules import load_rules
from models.tables import Contact
from tasks.nurture.apply import EMAIL_CHANNEL, NURTURE_KIND
from tasks.nurture.decide import PlannedEmail
from tasks.outbox import count_by_status, enqueue

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# A Tuesday, 11:00 in Tokyo: inside the default send window of every seeded contact.
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
EMAIL_FROM = "株式会社リードフロー マーケティング <marketing@leadflow.example.jp>"
STEPS = ("email_1", "email_2", "email_3a", "email_3b")


# --- setup (parent) ----------------------------------------------------------------------


def seed_and_enqueue(database_url: str, emails: int) -> dict[str, Any]:
    """Migrate, insert `emails` consenting contacts and enqueue one nurture email each."""
    started = time.perf_counter()
    upgrade(database_url)
    migrated = time.perf_counter()
    engine = make_engine(database_url)
    created = NOW - timedelta(days=30)
    contacts = [
        {
            "email": f"lead{i}@customer{i % 997}.example.jp",
            "first_name": "太郎" if i % 2 else "Alex",
            "last_name": "山田" if i % 2 else "Morgan",
            "consent": True,
            "timezone": "Asia/Tokyo",
            "lifecycle_stage": "lead",
            "created_at": created,
            "updated_at": created,
        }
        for i in range(emails)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Contact), contacts)
        ids = conn.execute(select(Contact.id, Contact.email).order_by(Contact.id)).all()
    seeded = time.perf_counter()
    planned = [
        PlannedEmail(
            email_id=f"nurture:new_lead:{contact_id}:20261101T020000Z:{STEPS[n % len(STEPS)]}",
            enrollment_key=f"new_lead:{contact_id}:20261101T020000Z",
            contact_id=contact_id,
            program="new_lead",
            step=STEPS[n % len(STEPS)],
            template=f"new_lead/{STEPS[n % len(STEPS)]}",
            locale="ja" if n % 2 else "en",
            to=address,
            first_name="太郎" if n % 2 else "Alex",
            last_name="山田" if n % 2 else "Morgan",
            company="株式会社サンプル" if n % 2 else "Example Corp",
            timezone="Asia/Tokyo",
        )
        for n, (contact_id, address) in enumerate(ids)
    ]
    # The rows `apply_nurture` writes for planned emails.
    messages = [
        OutboxMessage(
            idempotency_key=m.email_id,
            channel=EMAIL_CHANNEL,
            kind=NURTURE_KIND,
            contact_id=m.contact_id,
            payload=m.payload(),
            not_before=NOW,
        )
        for m in planned
    ]
    with engine.begin() as conn:
        enqueued = enqueue(conn, messages, run_id="bench-dispatch", now=NOW)
    done = time.perf_counter()
    engine.dispose()
    return {
        "migrate_seconds": round(migrated - started, 3),
        "seed_seconds": round(seeded - migrated, 3),
        "enqueue_seconds": round(done - seeded, 3),
        "enqueued": enqueued,
        "keys": [m.idempotency_key for m in messages],
    }


# --- the SMTP server (child) -------------------------------------------------------------


def serve() -> None:
    """Child: run the loopback SMTP server until stdin closes, then print what it got."""
    from tests.support.smtp import LoopbackSmtpServer

    server = LoopbackSmtpServer()
    print(server.port, flush=True)
    sys.stdin.read()
    server.close()
    parser = BytesHeaderParser()
    ids = [str(parser.parsebytes(raw)["Message-ID"]) for raw in server.received]
    print(json.dumps({"received": len(server.received), "connections": server.connections,
                      "message_ids": ids}))


# --- the dispatch (child) ----------------------------------------------------------------


def bench_settings(database_url: str, smtp_port: int) -> Settings:
    """Settings that send over plain SMTP to the loopback server, nothing from the env."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        email_from=EMAIL_FROM,
        public_base_url="https://track.example.test",
        signing_secret=SecretStr("bench-dispatch-signing-secret-0123456789abcdef"),
        business_timezone="Asia/Tokyo",
    )


def run_dispatch(args: argparse.Namespace) -> None:
    """Child: the nurture flow's dispatch beat, timed; prints one JSON line."""
    from leadflow.db import ensure_database
    from tasks.nurture.hour import send

    settings = bench_settings(args.database_url, args.smtp_port)
    rules = load_rules(DEFAULT_RULES_PATH)
    ensure_database(args.database_url)  # the once-per-process migration check, untimed
    # CPU time, not wall time: on a shared machine waiting for a core is not our cost.
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    report, transport, deliveries = send.fn(settings, rules, NOW)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "seconds": round(seconds, 3),
        # CPU time moves far less than wall time when other processes share the cores.
        "cpu_seconds": round(time.process_time() - cpu_started, 3),
        "transport": transport,
        "deliveries": len(deliveries),
        "report": {
            name: getattr(report, name)
            for name in ("claimed", "sent", "retried", "failed", "deferred", "postponed",
                         "in_doubt", "lost")
        },
        "errors": report.errors[:5],
    }
    if profiler:
        path = RESULTS_DIR / f"{args.stamp}-dispatch.prof"
        profiler.dump_stats(path)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(30)
        print(text.getvalue(), file=sys.stderr)
        result["profile"] = str(path.relative_to(PROJECT_ROOT))
    print(json.dumps(result))


# --- the parent ----------------------------------------------------------------------------


def _python(*arguments: str) -> list[str]:
    return [sys.executable, __file__, *arguments]


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def dispatch_in_child(args: argparse.Namespace, smtp_port: int) -> dict[str, Any]:
    """Run the dispatch in a subprocess (`bench_common.run_child`)."""
    command = _python("--phase", "dispatch", "--database-url", args.database_url,
                      "--smtp-port", str(smtp_port), "--stamp", args.stamp)
    if args.profile:
        command.append("--profile")
    from bench_common import run_child

    result = run_child(command, what="dispatch")
    result["process_cpu_seconds"] = result["cpu_seconds"]
    return result


def check(keys: list[str], server: dict[str, Any], statuses: dict[str, int]) -> dict[str, Any]:
    """Did every enqueued email arrive exactly once, and is every outbox row sent?"""
    domain = "leadflow.example.jp"
    expected = {message_id_for(key, domain=domain) for key in keys}
    counts = Counter(server["message_ids"])
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    missing = len(expected - set(counts))
    unexpected = len(set(counts) - expected)
    return {
        "received_equals_enqueued": server["received"] == len(keys),
        "duplicates": duplicates,
        "missing": missing,
        "unexpected": unexpected,
        "outbox": statuses,
        "ok": server["received"] == len(keys) and not (duplicates or missing or unexpected)
        and statuses == {"sent": len(keys)},
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Parent: fresh database, setup, server and dispatch children, checks, report."""
    from bench_common import fresh_database, machine_info

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    requested_url = args.database_url
    cleanup = fresh_database(args)
    server_process = None
    try:
        machine = machine_info(requested_url or args.database_url)
        print(f"… setup: {args.emails:,} emails", file=sys.stderr, flush=True)
        setup = seed_and_enqueue(args.database_url, args.emails)
        keys = setup.pop("keys")
        server_process = subprocess.Popen(
            _python("--serve"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=_environment(), text=True,
        )
        assert server_process.stdin is not None and server_process.stdout is not None
        line = server_process.stdout.readline()
        if not line.strip():
            raise SystemExit("the loopback SMTP server did not start (see its error above)")
        port = int(line)
        print(f"… dispatch to 127.0.0.1:{port}", file=sys.stderr, flush=True)
        dispatch = dispatch_in_child(args, port)
        server_process.stdin.close()
        server = json.loads(server_process.stdout.read().strip().splitlines()[-1])
        _, _, server_usage = os.wait4(server_process.pid, 0)
        server["cpu_seconds"] = round(server_usage.ru_utime + server_usage.ru_stime, 3)
        engine = make_engine(args.database_url)
        with engine.connect() as conn:
            statuses = count_by_status(conn, channel=EMAIL_CHANNEL)
        engine.dispose()
    finally:
        if server_process is not None and server_process.poll() is None:
            server_process.kill()
        cleanup()
    verdict = check(keys, server, statuses)
    report: dict[str, Any] = {
        "timestamp": args.stamp,
        "backend": make_url(args.database_url).get_backend_name(),
        "emails": args.emails,
        "now": NOW.isoformat(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine,
        "setup": setup,
        "dispatch": dispatch,
        "emails_per_second": round(args.emails / dispatch["seconds"], 1),
        "dispatcher_cpu_ms_per_email": round(dispatch["cpu_seconds"] * 1000 / args.emails, 2),
        "server": {"received": server["received"], "connections": server["connections"],
                   "cpu_seconds": server["cpu_seconds"]},
        "check": verdict,
    }
    path = RESULTS_DIR / f"{args.stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    print(markdown(report))
    print(f"\nwritten {path.relative_to(PROJECT_ROOT)}")
    if not verdict["ok"]:
        raise SystemExit(f"check failed: {verdict}")
    return report


def markdown(report: dict[str, Any]) -> str:
    """The result as a few markdown lines."""
    machine, dispatch, verdict = report["machine"], report["dispatch"], report["check"]
    return "\n".join([
        f"### Dispatch benchmark — {report['emails']:,} nurture emails ({report['backend']})",
        "",
        "| emails/s | wall time (s) | dispatcher CPU ms/email | peak RSS (MB) | "
        "SMTP connections | received | duplicates | load after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| **{report['emails_per_second']:,.0f}** | {dispatch['seconds']:.2f} | "
        f"{report['dispatcher_cpu_ms_per_email']:.1f} | "
        f"{dispatch['peak_rss_mb']:.0f} | {report['server']['connections']:,} | "
        f"{report['server']['received']:,} | {verdict['duplicates']} | "
        f"{dispatch['load_average_after'][0]:.1f} |",
        "",
        f"- check: {'ok' if verdict['ok'] else 'FAILED'} (outbox {verdict['outbox']}, "
        f"missing {verdict['missing']}, unexpected {verdict['unexpected']})",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"SQLite {machine['sqlite']}, PostgreSQL {machine['postgres'] or 'n/a'}, load average "
        f"before {', '.join(f'{x:.2f}' for x in machine['load_average'])}, "
        f"commit {machine['git_commit']}",
    ])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (--phase/--serve/--smtp-port/--stamp are for child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in results/")
    parser.add_argument("--emails", type=int, default=5_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the dispatch into results/"
    )
    parser.add_argument("--phase", choices=["dispatch"], help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--smtp-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stamp", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.stamp = args.stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the whole benchmark, or one child's part."""
    args = parse_args(argv)
    from bench_common import require_test_extra

    require_test_extra()
    if args.serve:
        serve()
    elif args.phase == "dispatch":
        run_dispatch(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
