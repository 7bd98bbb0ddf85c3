"""Import benchmark: `leadflow import events FILE` on a fresh database, twice.

Creates a fresh database (a SQLite file by default, or a private schema in the
PostgreSQL given by --database-url), writes a synthetic events CSV with a small share
of hostile rows, and times each phase in its own subprocess (peak RSS per phase):

  setup   migrate, generate the dataset, write the CSV files, import owners, companies
          and contacts through `import_file` (as `leadflow import …` does)
  first   `import_file(kind="events")` of the events file: every good row lands
  second  the same file again: nothing lands, the hostile rows are quarantined again

Prints a markdown table and writes benchmarks/results/<timestamp>.json.
Usage: python benchmarks/bench_import.py [--events N] [--contacts C] [--database-url URL]
"""

import argparse
import cProfile
import io
import json
import pstats
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a script, so its sibling is importable by name.
from bench_common import fresh_database, machine_info, run_child, vm_hwm_mb
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.synthetic import generate_dataset, write_csv
from leadflow.db import make_engine, upgrade
from leadflow.paths import PROJECT_ROOT
from leadflow.timeutil import floor_to_hour, utc_now
from models.tables import Event, Quarantine
from tasks.imports import ImportKind, import_file

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PHASES = ("setup", "first", "second")
TOKYO = ZoneInfo("Asia/Tokyo")

# Hostile rows, each with the field the quarantine must name.
HOSTILE = (
    ("{id}", "{email}", "page_view", "pricing", "2026-13-45T99:00:00+09:00", "occurred_at"),
    ("{id}", "nobody-{n}@unknown.invalid", "page_view", "pricing", "{when}", "email"),
    ("{id}", "{email}", "", "pricing", "{when}", "type"),
)


def add_hostile_rows(path: Path, *, every: int) -> dict[str, int]:
    """Rewrite the events CSV with one hostile row after every `every` good rows.

    Returns how many hostile rows name each field (their reasons must name it too).
    """
    counts = {fields[-1]: 0 for fields in HOSTILE}
    if every <= 0:
        return counts
    temporary = path.with_suffix(".tmp")
    n = 0
    with path.open(encoding="utf-8") as source, temporary.open("w", encoding="utf-8") as out:
        out.write(source.readline())
        for number, line in enumerate(source, start=1):
            out.write(line)
            if number % every == 0:
                _, email, _, _, when = line.rstrip("\n").split(",")
                template = HOSTILE[n % len(HOSTILE)]
                cells = [
                    cell.format(id=f"hostile-{n:09d}", email=email, when=when, n=n)
                    for cell in template[:-1]
                ]
                out.write(",".join(cells) + "\n")
                counts[template[-1]] += 1
                n += 1
    temporary.replace(path)
    return counts


def _import(args: argparse.Namespace, kind: ImportKind, path: Path) -> dict[str, Any]:
    engine = make_engine(args.database_url)
    started, cpu = time.perf_counter(), time.process_time()
    summary = import_file(
        engine,
        kind=kind,
        path=path,
        naive_tz=TOKYO,
        now=utc_now(),
        chunk_rows=args.chunk_rows,
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    engine.dispose()
    return {
        "seconds": seconds,
        # This process's CPU time in import_file (not the PostgreSQL server's): less moved
        # by a busy machine than the wall time.
        "cpu_seconds": round(cpu, 3),
        "rows": summary.rows,
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "landed": summary.landed,
        "quarantined_rows": summary.quarantined_rows,
        "quarantine_records": summary.quarantine_records,
        "adds_up": summary.rows == summary.landed + summary.quarantined_rows,
        "reasons": summary.reasons[:5],
    }


def phase_setup(args: argparse.Namespace) -> dict[str, Any]:
    """Migrate, generate, write the CSV files, import owners, companies and contacts."""
    started = time.perf_counter()
    upgrade(args.database_url)
    dataset = generate_dataset(
        contacts=args.contacts, events=args.events, days=args.days, end=args.end, seed=args.seed
    )
    paths = write_csv(args.folder, dataset)
    hostile = add_hostile_rows(paths["events"], every=args.hostile_every)
    written = time.perf_counter()
    imported = {
        kind: _import(args, kind, paths[kind])["seconds"]
        for kind in ("owners", "companies", "contacts")
    }
    return {
        "seconds": time.perf_counter() - started,
        "write_seconds": round(written - started, 3),
        "import_seconds": {k: round(v, 3) for k, v in imported.items()},
        "events_file": str(paths["events"]),
        "events_file_mb": round(paths["events"].stat().st_size / 1e6, 1),
        "hostile_rows": hostile,
    }


def phase_import(args: argparse.Namespace) -> dict[str, Any]:
    """`import_file` of the events file, the function `leadflow import events` calls."""
    path = Path(args.folder) / "events.csv"
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    details = _import(args, "events", path)
    if profiler:
        profiler.disable()
        out = RESULTS_DIR / f"{args.stamp}-{args.phase}.prof"
        profiler.dump_stats(out)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(text.getvalue(), file=sys.stderr)
        details["profile"] = str(out.relative_to(PROJECT_ROOT))
    engine = make_engine(args.database_url)
    with engine.connect() as conn:
        details["events_in_table"] = conn.execute(select(func.count()).select_from(Event)).scalar()
        details["quarantine_in_table"] = conn.execute(
            select(func.count()).select_from(Quarantine)
        ).scalar()
    engine.dispose()
    details["rows_per_second"] = round(details["rows"] / details["seconds"])
    details["rows_per_cpu_second"] = round(details["rows"] / details["cpu_seconds"])
    return details


def run_phase(args: argparse.Namespace) -> None:
    """Child process: one phase, one JSON line on stdout."""
    before = vm_hwm_mb()
    details = phase_setup(args) if args.phase == "setup" else phase_import(args)
    seconds = details.pop("seconds")
    result = {"phase": args.phase, "seconds": round(seconds, 3), "rss_before_mb": round(before, 1)}
    print(json.dumps({**result, "details": details}, default=str))


def _child(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--phase", phase, "--database-url", args.database_url,
        "--contacts", str(args.contacts), "--events", str(args.events), "--days", str(args.days),
        "--seed", str(args.seed), "--end", args.end.isoformat(), "--stamp", args.stamp,
        "--hostile-every", str(args.hostile_every), "--folder", str(args.folder),
    ]  # fmt: skip
    if args.chunk_rows:
        command += ["--chunk-rows", str(args.chunk_rows)]
    if args.profile and phase != "setup":
        command.append("--profile")
    return run_child(command, what=f"phase {phase}")


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown table plus the machine."""
    machine = report["machine"]
    lines = [
        f"### Import benchmark — {report['events']:,} events + hostile rows, "
        f"{report['contacts']:,} contacts ({report['backend']})",
        "",
        "| phase | wall (s) | rows/s | rows/CPU-s | peak RSS (MB) | rows in | landed (new) "
        "| quarantined | adds up | load after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, phase in report["phases"].items():
        d = phase["details"]
        if name == "setup":
            lines.append(
                f"| setup | {phase['seconds']:.1f} | | | {phase['peak_rss_mb']:.0f} | | | | "
                f"| {phase['load_average_after'][0]:.1f} |"
            )
            continue
        lines.append(
            f"| {name} | {phase['seconds']:.2f} | {d['rows_per_second']:,} | "
            f"{d['rows_per_cpu_second']:,} | "
            f"{phase['peak_rss_mb']:.0f} | {d['rows']:,} | {d['landed']:,} ({d['inserted']:,}) "
            f"| {d['quarantined_rows']:,} | {d['adds_up']} | "
            f"{phase['load_average_after'][0]:.1f} |"
        )
    lines += [
        "",
        f"- hostile rows: {report['phases']['setup']['details']['hostile_rows']}",
        f"- machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, "
        f"PostgreSQL {machine['postgres'] or 'n/a'}, load average before "
        f"{', '.join(f'{x:.2f}' for x in machine['load_average'])}, commit {machine['git_commit']}",
    ]
    return "\n".join(lines)


def _check(phases: dict[str, Any], hostile: int) -> list[str]:
    problems = []
    first, second = phases["first"]["details"], phases["second"]["details"]
    for name, d in (("first", first), ("second", second)):
        if not d["adds_up"]:
            problems.append(f"{name}: rows in != landed + quarantined")
        if d["quarantined_rows"] != hostile:
            problems.append(f"{name}: {d['quarantined_rows']} quarantined, {hostile} hostile")
    if second["inserted"] != 0:
        problems.append(f"second import inserted {second['inserted']} rows")
    if first["events_in_table"] != second["events_in_table"]:
        problems.append("the events table grew on the second import")
    return problems


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Parent: fresh database and folder, each phase in a child, then the report."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    requested_url = args.database_url
    args.folder = RESULTS_DIR / f"import-{args.stamp}"
    cleanup = fresh_database(args)
    try:
        machine = machine_info(requested_url or args.database_url)
        phases: dict[str, Any] = {}
        for phase in PHASES:
            print(f"… {phase}", file=sys.stderr, flush=True)
            phases[phase] = _child(args, phase)
            print(f"  {phases[phase]['seconds']:.2f} s", file=sys.stderr, flush=True)
    finally:
        cleanup()
        if not args.keep:
            shutil.rmtree(args.folder, ignore_errors=True)
    hostile = sum(phases["setup"]["details"]["hostile_rows"].values())
    report: dict[str, Any] = {
        "timestamp": args.stamp,
        "backend": make_url(args.database_url).get_backend_name(),
        "events": args.events,
        "contacts": args.contacts,
        "hostile_every": args.hostile_every,
        "chunk_rows": args.chunk_rows,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine,
        "phases": phases,
        "problems": _check(phases, hostile),
    }
    path = RESULTS_DIR / f"{args.stamp}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    print(markdown(report))
    for problem in report["problems"]:
        print(f"PROBLEM: {problem}")
    print(f"\nwritten {path.relative_to(PROJECT_ROOT)}")
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (--phase/--stamp/--folder are for the child processes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in results/")
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--contacts", type=int, help="default: events / 30")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--hostile-every", type=int, default=1000, help="one hostile row per this many (0: none)"
    )
    parser.add_argument("--chunk-rows", type=int, help="rows per chunk (default: the importer's)")
    parser.add_argument("--end", type=datetime.fromisoformat)
    parser.add_argument("--keep", action="store_true", help="keep the database and CSV files")
    parser.add_argument("--profile", action="store_true", help="cProfile the import phases")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--stamp", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.contacts = args.contacts or max(1000, args.events // 30)
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
