"""Scoring benchmark: a full run, an incremental hour, and the SQL floor, on one database.

Creates a fresh database (a SQLite file by default, or a private schema in the
PostgreSQL given by --database-url), loads a synthetic dataset, then times each phase
in its own subprocess so one phase's memory never hides another's:

  load         migrate, generate the dataset, bulk insert, ANALYZE
  floor        one plain SQL query: default points per event, summed per contact
  full         score_hour(full=True) at `end`
  hour         add_hourly_activity: new events for --share of the contacts
  incremental  score_hour() at `end` + 1 h

Prints a markdown table and writes benchmarks/results/<timestamp>.json.
Usage: python benchmarks/bench_scoring.py [--contacts N] [--events M] [--database-url URL]
       [--shards N]  (N > 1: scoring split over a Dask cluster, LEADFLOW_DASK_ADDRESS or a
                      temporary local one whose start-up is then part of the phase time)
"""

import argparse
import cProfile
import io
import json
import pstats
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
    run_child,
    vm_hwm_mb,
)
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app.synthetic import add_hourly_activity, generate_dataset, insert_dataset
from leadflow.db import make_engine, upgrade
from leadflow.paths import DEFAULT_RULES_PATH, PROJECT_ROOT
from leadflow.timeutil import floor_to_hour, utc_now
from models.rules import Rules, load_rules

PHASES = ("load", "floor", "full", "hour", "incremental")


# --- the floor -------------------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def floor_query(rules: Rules) -> str:
    """SQL that reads every event once and sums the rules' points per contact.

    No windows, no distinct counting, no caps: the least work any scorer must do.
    """
    branches: list[str] = []
    for signal in rules.scoring.behaviour.signals:
        for event_type in signal.events:
            condition = f"type = {_quote(event_type.value)}"
            if signal.details is not None:
                details = ", ".join(_quote(d) for d in signal.details)
                condition += f" AND detail IN ({details})"
            branches.append(f"WHEN {condition} THEN {signal.points}")
    points = "CASE " + " ".join(branches) + " ELSE 0 END"
    return f"SELECT contact_id, SUM({points}) AS points FROM events GROUP BY contact_id"


# --- phases (each runs in its own process) ------------------------------------------------


def _analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def phase_load(args: argparse.Namespace, engine: Engine) -> dict[str, Any]:
    """Migrate, generate and bulk-insert the dataset, then refresh planner statistics."""
    started = time.perf_counter()
    upgrade(args.database_url)
    migrated = time.perf_counter()
    dataset = generate_dataset(
        contacts=args.contacts, events=args.events, days=args.days, end=args.end, seed=args.seed
    )
    generated = time.perf_counter()
    summary = insert_dataset(engine, dataset)
    inserted = time.perf_counter()
    _analyze(engine)
    analyzed = time.perf_counter()
    return {
        "migrate_seconds": round(migrated - started, 3),
        "generate_seconds": round(generated - migrated, 3),
        "insert_seconds": round(inserted - generated, 3),
        "analyze_seconds": round(analyzed - inserted, 3),
        "contacts": summary.contacts,
        "events": summary.events,
        "companies": summary.companies,
    }


def floor_variants(query: str, dialect: str) -> dict[str, str]:
    """The floor query as planned, plus (SQLite) the same query forced to a table scan.

    SQLite answers GROUP BY contact_id by walking the (contact_id, occurred_at) index
    and looking up every row: several times slower than scanning the table and
    grouping in a temporary B-tree. The floor is the faster of the two.
    """
    variants = {"planned": query}
    if dialect == "sqlite":
        variants["table_scan"] = query.replace("FROM events", "FROM events NOT INDEXED")
    return variants


def phase_floor(args: argparse.Namespace, engine: Engine) -> dict[str, Any]:
    """The plain aggregate query (each variant once); every result row is fetched.

    Returns the best variant's time as `seconds`.
    """
    query = floor_query(load_rules(args.rules))
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    variants: dict[str, Any] = {}
    rows = 0
    with engine.connect() as conn:
        for name, sql in floor_variants(query, engine.dialect.name).items():
            started, cpu = time.perf_counter(), time.process_time()
            rows = len(conn.exec_driver_sql(sql).fetchall())
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            plan = [" ".join(str(v) for v in row) for row in conn.exec_driver_sql(explain + sql)]
            variants[name] = {"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                              "plan": plan}  # fmt: skip
    best = min(variants, key=lambda name: variants[name]["seconds"])
    return {
        "rows": rows,
        "query": query,
        "variants": variants,
        "best": best,
        "seconds": variants[best]["seconds"],
        "scorer_cpu_seconds": variants[best]["cpu_seconds"],
    }


def _scoring(args: argparse.Namespace, engine: Engine, *, as_of: datetime, full: bool) -> Any:
    """One scoring hour through `score_hour`, the path every flow and the CLI use.

    Its beats run as Prefect tasks inside a flow run, as in production; the temporary
    Prefect API and the flow run's own start are left out of the timing: the phase time
    is the hour alone, and the beats come from the outcome.
    """
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from leadflow.settings import Settings
    from tasks.scoring.hour import score_hour

    rules = load_rules(args.rules)
    settings = Settings(database_url=args.database_url)

    @flow(name="bench-scoring")
    def timed_hour() -> tuple[Any, float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        result = score_hour(
            settings=settings, rules=rules, as_of=as_of, full=full, shards=args.shards
        )
        return result, time.perf_counter() - started, time.process_time() - cpu

    with prefect_test_harness(server_startup_timeout=120):
        outcome, seconds, cpu = timed_hour()
    return {
        "seconds": seconds,
        # This process only: on SQLite that includes the database's work, on PostgreSQL
        # the server's CPU is not in it.
        "scorer_cpu_seconds": round(cpu, 3),
        "beats_seconds": outcome.beat_seconds,
        "run_id": outcome.run_id,
        "full": outcome.full,
        "reason": outcome.reason,
        "candidates": outcome.candidates,
        "scored": outcome.scored,
        "snapshots_written": outcome.snapshots_written,
        "score_distribution": outcome.score_distribution,
    }


def phase_full(args: argparse.Namespace, engine: Engine) -> dict[str, Any]:
    """A full scoring run at `end`."""
    return _scoring(args, engine, as_of=args.end, full=True)


def phase_hour(args: argparse.Namespace, engine: Engine) -> dict[str, Any]:
    """New events for --share of the contacts in the hour after `end`."""
    added = add_hourly_activity(
        engine, share=args.share, at=args.end + timedelta(hours=1), seed=args.seed
    )
    return {"contacts": added.contacts, "events": added.events}


def phase_incremental(args: argparse.Namespace, engine: Engine) -> dict[str, Any]:
    """An ordinary (incremental) scoring run one hour after the full run."""
    return _scoring(args, engine, as_of=args.end + timedelta(hours=1), full=False)


PHASE_FUNCTIONS: dict[str, Callable[[argparse.Namespace, Engine], dict[str, Any]]] = {
    "load": phase_load,
    "floor": phase_floor,
    "full": phase_full,
    "hour": phase_hour,
    "incremental": phase_incremental,
}


def run_phase(args: argparse.Namespace) -> None:
    """Child process: run one phase and print one JSON line with its time and memory."""
    engine = make_engine(args.database_url)
    before_mb = vm_hwm_mb()
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    details = PHASE_FUNCTIONS[args.phase](args, engine)
    if profiler:
        profiler.disable()
    # A phase that times several variants reports its best one.
    seconds = details.pop("seconds", time.perf_counter() - started)
    if profiler:
        path = RESULTS_DIR / f"{args.stamp}-{args.phase}.prof"
        profiler.dump_stats(path)
        text_ = io.StringIO()
        pstats.Stats(profiler, stream=text_).sort_stats("cumulative").print_stats(25)
        details["profile"] = str(path.relative_to(PROJECT_ROOT))
        print(text_.getvalue(), file=sys.stderr)
    engine.dispose()
    result = {
        "phase": args.phase,
        "seconds": round(seconds, 3),
        "rss_before_mb": round(before_mb, 1),
        "details": details,
    }
    print(json.dumps(result, default=str))


# --- the parent ---------------------------------------------------------------------------


def _child(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    """Run `phase` in a subprocess (`bench_common.run_child`)."""
    command = [
        sys.executable, __file__, "--phase", phase, "--database-url", args.database_url,
        "--contacts", str(args.contacts), "--events", str(args.events),
        "--days", str(args.days), "--seed", str(args.seed), "--share", str(args.share),
        "--end", args.end.isoformat(), "--rules", str(args.rules), "--stamp", args.stamp,
        "--shards", str(args.shards),
    ]  # fmt: skip
    if args.profile and phase in ("full", "incremental"):
        command.append("--profile")
    return run_child(command, what=f"phase {phase}")


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table plus the ratios and the machine."""
    machine = report["machine"]
    lines = [
        f"### Scoring benchmark — {report['contacts']:,} contacts, {report['events']:,} events "
        f"({report['backend']}, {report['shards']} shard(s))",
        "",
        "| phase | wall time (s) | peak RSS (MB) | RSS after imports (MB) | load after | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, phase in report["phases"].items():
        details = phase["details"]
        if name in ("full", "incremental"):
            beats = ", ".join(
                f"{k.split('_')[0]} {v:.1f}" for k, v in details["beats_seconds"].items()
            )
            note = (
                f"CPU {details['scorer_cpu_seconds']:.2f} s; "
                f"candidates {details['candidates']:,}, scored {details['scored']:,}, "
                f"snapshots {details['snapshots_written']:,}; s per beat: {beats}"
            )
        elif name == "floor":
            timings = ", ".join(f"{k} {v['seconds']} s" for k, v in details["variants"].items())
            note = (
                f"CPU {details['scorer_cpu_seconds']:.2f} s; {details['rows']:,} result rows; "
                f"best of: {timings}"
            )
        elif name == "hour":
            note = f"{details['events']:,} events for {details['contacts']:,} contacts"
        else:
            note = (
                f"generate {details['generate_seconds']} s, insert {details['insert_seconds']} s, "
                f"analyze {details['analyze_seconds']} s"
            )
        lines.append(
            f"| {name} | {phase['seconds']:.2f} | {phase['peak_rss_mb']:.0f} | "
            f"{phase['rss_before_mb']:.0f} | {phase['load_average_after'][0]:.1f} | {note} |"
        )
    ratios = report["ratios"]
    lines += [
        "",
        f"- full / floor: **{ratios['full_over_floor']}×** (wall); CPU of the scoring "
        f"process: **{ratios['full_cpu_over_floor_cpu']}×**",
        f"- incremental / full: **{ratios['incremental_over_full']}**",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"PostgreSQL {machine['postgres'] or 'n/a'}, load average before "
        f"{', '.join(f'{x:.2f}' for x in machine['load_average'])}, commit {machine['git_commit']}",
    ]
    return "\n".join(lines)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Parent process: fresh database, every phase in a child, then the report."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    requested_url = args.database_url
    cleanup = fresh_database(args)
    try:
        machine = machine_info(requested_url or args.database_url)
        phases: dict[str, Any] = {}
        for phase in PHASES:
            print(f"… {phase}", file=sys.stderr, flush=True)
            phases[phase] = _child(args, phase)
            print(
                f"  {phases[phase]['seconds']:.2f} s, peak {phases[phase]['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
    finally:
        cleanup()
    report: dict[str, Any] = {
        "timestamp": args.stamp,
        "backend": make_url(args.database_url).get_backend_name(),
        "contacts": args.contacts,
        "events": args.events,
        "days": args.days,
        "seed": args.seed,
        "share": args.share,
        "shards": args.shards,
        "end": args.end.isoformat(),
        "rules": display_path(args.rules),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine,
        "phases": phases,
        "ratios": {
            "full_over_floor": ratio(phases["full"]["seconds"], phases["floor"]["seconds"]),
            "full_cpu_over_floor_cpu": ratio(
                phases["full"]["details"]["scorer_cpu_seconds"],
                phases["floor"]["details"]["scorer_cpu_seconds"],
            ),
            "incremental_over_full": ratio(
                phases["incremental"]["seconds"], phases["full"]["seconds"]
            ),
        },
    }
    path = RESULTS_DIR / f"{args.stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    print(markdown(report))
    print(f"\nwritten {path.relative_to(PROJECT_ROOT)}")
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (the --phase/--stamp/--profile plumbing is for child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in results/")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--days", type=int, default=180, help="history window of the events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.01, help="contacts active in the hour")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES_PATH)
    parser.add_argument(
        "--end", type=datetime.fromisoformat, help="as_of of the full run (default: this hour)"
    )
    parser.add_argument(
        "--shards", type=int, default=1, help="score_hour(shards=N): contact-id ranges on Dask"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the scoring phases into results/"
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--stamp", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.end = floor_to_hour(args.end or utc_now())
    args.stamp = args.stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the whole benchmark, or one phase when called as a child."""
    args = parse_args(argv)
    if args.phase:
        run_phase(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
