"""What every benchmark script shares: where results go, the machine, a fresh database,
and running one phase in a child process whose peak memory the kernel reports.
"""

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leadflow.paths import PROJECT_ROOT

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def vm_hwm_mb() -> float:
    """This process's peak resident set so far, in MB (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_info(database_url: str) -> dict[str, Any]:
    """Where the numbers were measured."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    postgres = None
    if make_url(database_url).get_backend_name() == "postgresql":
        engine = create_engine(database_url)
        with engine.connect() as conn:
            postgres = conn.exec_driver_sql("SHOW server_version").scalar()
        engine.dispose()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    # Other engineers edit the tree while benchmarks run: name what differs from HEAD.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "tasks", "models", "leadflow"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgres": postgres,
        "load_average": os.getloadavg(),
        "git_commit": commit or None,
        "uncommitted": [line[3:] for line in dirty if line.strip()],
    }


def fresh_database(args: argparse.Namespace) -> Callable[[], None]:
    """Point args.database_url at an empty database; returns the clean-up."""
    if args.database_url is None:
        path = RESULTS_DIR / f"bench-{args.stamp}.db"
        args.database_url = f"sqlite:///{path}"

        def remove_file() -> None:
            if not args.keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

        return remove_file
    url = make_url(args.database_url)
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").unlink(missing_ok=True)
        return lambda: None
    schema = f"bench_{args.stamp.lower()}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    private = url.update_query_dict({"options": f"-csearch_path={schema}"})
    args.database_url = private.render_as_string(hide_password=False)

    def drop_schema() -> None:
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return drop_schema


def display_path(path: Path) -> str:
    resolved = path.resolve()
    if resolved.is_relative_to(PROJECT_ROOT):
        return str(resolved.relative_to(PROJECT_ROOT))
    return str(resolved)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def run_child(
    command: Sequence[str], *, what: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one benchmark phase as `command`; it prints a JSON line last.

    Adds the child's wall time, peak RSS (`ru_maxrss` via wait4, so one phase never masks
    another's), CPU seconds and the load average after it. Exits naming `what` on failure.
    """
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    wall = time.perf_counter()
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, env=environment, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{what} failed with exit code {code}")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["process_seconds"] = round(time.perf_counter() - wall, 3)
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def require_test_extra() -> None:
    """Exit with one line when the loopback SMTP server's package is missing.

    The demo's environment has no test extra; the cycle and dispatch benchmarks need it.
    """
    try:
        import aiosmtpd  # noqa: F401
    except ModuleNotFoundError:
        raise SystemExit(
            "this benchmark needs the test extra (a real SMTP server on loopback): run "
            "`bash scripts/test.sh` once, or "
            "`.venv/bin/pip install -c constraints.txt -e '.[test]'`"
        ) from None
