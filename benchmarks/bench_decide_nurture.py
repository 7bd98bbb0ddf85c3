"""Nurture decide benchmark: the frame-wise decide against the row-by-row oracle.

Builds a steady nurture hour in memory (`tests/support/nurture_inputs.py`: N contacts
with an active enrollment each, ~1 % due this hour, some exiting, 5 % new candidates)
and times `decide_nurture` only — no database, no read, no apply. Each implementation
and size runs in its own subprocess; peak RSS is the child's ru_maxrss (via wait4), and
"RSS before" is the child's resident set once the frames are built.

Usage: python benchmarks/bench_decide_nurture.py [--sizes 10000 100000]
       [--impl new legacy] [--repeat 3] [--due-share 0.01] [--as-of 2026-12-08T02:00]
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_common import run_child

ROOT = Path(__file__).resolve().parent.parent


def child(impl: str, size: int, repeat: int, due_share: float, as_of: datetime) -> None:
    """Build the frames, time `repeat` decide calls, print one JSON line."""
    sys.path.insert(0, str(ROOT))
    from leadflow.paths import DEFAULT_RULES_PATH
    from models.rules import load_rules
    from tasks.nurture.decide import decide_nurture
    from tests.support import legacy_nurture_decide as legacy
    from tests.support.nurture_inputs import nurture_frames

    rules = load_rules(DEFAULT_RULES_PATH)
    frames = nurture_frames(size, rules=rules.nurture, as_of=as_of, due_share=due_share)
    old_frames = legacy.NurtureFrames(**frames.__dict__)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds: list[float] = []
    counts: dict[str, int] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        if impl == "legacy":
            old = legacy.decide_nurture(
                old_frames,
                rules=rules.nurture,
                thresholds=rules.scoring.thresholds,
                as_of=as_of,
                business_timezone="Asia/Tokyo",
            )
            decisions_counts = old.counts()
        else:
            new = decide_nurture(
                frames,
                rules=rules.nurture,
                thresholds=rules.scoring.thresholds,
                as_of=as_of,
                business_timezone="Asia/Tokyo",
            )
            decisions_counts = new.counts()
        seconds.append(time.perf_counter() - start)
        counts = decisions_counts
    print(json.dumps({
        "impl": impl,
        "size": size,
        "rows": {name: len(frame) for name, frame in frames.__dict__.items()},
        "best_s": round(min(seconds), 3),
        "median_s": round(statistics.median(seconds), 3),
        "rss_before_mb": round(before, 1),
        "counts": counts,
    }))


def run(impl: str, size: int, args: argparse.Namespace) -> dict[str, object]:
    """One child process; adds its peak RSS from the kernel."""
    command = [
        sys.executable, __file__, "--child", impl, "--sizes", str(size),
        "--repeat", str(args.repeat), "--due-share", str(args.due_share),
        "--as-of", args.as_of,
    ]
    return run_child(command, what=f"{impl} at {size}")


def main() -> None:
    """Parse arguments; run every (size, implementation) and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--impl", nargs="+", default=["new", "legacy"],
                        choices=["new", "legacy"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--as-of", default="2026-12-08T02:00",
                        help="UTC hour of the run (default: a Tuesday, 11:00 in Tokyo)")
    parser.add_argument("--child", choices=["new", "legacy"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    as_of = datetime.fromisoformat(args.as_of).replace(tzinfo=UTC)
    if args.child:
        child(args.child, args.sizes[0], args.repeat, args.due_share, as_of)
        return
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; as_of {as_of}")
    print("| enrolled | impl | decide best s | median s | RSS before MB | peak RSS MB | moves |")
    print("|---:|---|---:|---:|---:|---:|---|")
    for size in args.sizes:
        for impl in args.impl:
            r = run(impl, size, args)
            counts = r["counts"]
            assert isinstance(counts, dict)
            moves = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            print(f"| {size:,} | {impl} | {r['best_s']} | {r['median_s']} | "
                  f"{r['rss_before_mb']} | {r['peak_rss_mb']} | {moves} |", flush=True)


if __name__ == "__main__":
    main()
