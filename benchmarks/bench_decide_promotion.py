"""Decide-beat benchmark of promotion and recycling: seconds and peak RSS, frame vs per-row.

Builds synthetic inputs (tests/support/decide_inputs.py: a first full promotion run with
--mql-share of the candidates over the MQL line; a recycling hour with leads in every
status) and times the pure decide functions alone — no database. Each measurement runs
in its own subprocess, so its peak RSS (the child's ru_maxrss) is its own:

  promotion  decide_promotions (tasks/promotion/decide.py)
  recycling  decide_recycling + compose_retry_reminders (the `decide-recycling` beat)

`--legacy` also times the per-row implementations kept as test oracles
(tests/support/legacy_*_decide.py), i.e. the code before issue 13.
Usage: python benchmarks/bench_decide_promotion.py [--sizes 10000 100000] [--legacy]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench_common import run_child

ROOT = Path(__file__).resolve().parents[1]
CAPABILITIES = ("promotion", "recycling")


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure(capability: str, size: int, *, legacy: bool, mql_share: float) -> dict[str, Any]:
    """Build inputs, then time one decide (in this process)."""
    sys.path.insert(0, str(ROOT))
    from models.rules import load_rules
    from tests.support.decide_inputs import AS_OF, promotion_inputs, recycling_frames

    rules = load_rules(ROOT / "rules" / "default.yaml")
    tz = ZoneInfo("Asia/Tokyo")
    figures: dict[str, Any] = {}
    if capability == "promotion":
        if legacy:
            from tests.support.legacy_promotion_decide import decide_promotions
        else:
            from tasks.promotion.decide import decide_promotions
        inputs = promotion_inputs(size, mql_share=mql_share)
        # The first call pays pandera's one-off backend registration; not the work.
        decide_promotions(promotion_inputs(50), rules, as_of=AS_OF)
        figures["rss_before_mb"] = _vm_hwm_mb()
        start, cpu = time.perf_counter(), time.process_time()
        decisions = decide_promotions(inputs, rules, as_of=AS_OF)
        figures["decide_s"] = time.perf_counter() - start
        figures["decide_cpu_s"] = time.process_time() - cpu
        figures["counts"] = decisions.counts()
    else:
        if legacy:
            from tests.support.legacy_recycling_decide import decide_recycling
        else:
            from tasks.recycling.decide import decide_recycling
        from tasks.recycling.reminders import compose_retry_reminders

        frames = recycling_frames(size)
        decide_recycling(recycling_frames(50), rules=rules, as_of=AS_OF, tz=tz)
        figures["rss_before_mb"] = _vm_hwm_mb()
        start, cpu = time.perf_counter(), time.process_time()
        decided = decide_recycling(frames, rules=rules, as_of=AS_OF, tz=tz)
        figures["decide_s"] = time.perf_counter() - start
        figures["decide_cpu_s"] = time.process_time() - cpu
        figures["counts"] = decided.counts()
        if not legacy:
            # The composer was not kept as an oracle: its "before" is not measurable here.
            start = time.perf_counter()
            messages = compose_retry_reminders(decided, frames, language="ja", tz=tz)
            figures["compose_s"] = time.perf_counter() - start
            figures["counts"]["messages"] = len(messages)
    return figures


def _child(capability: str, size: int, *, legacy: bool, mql_share: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", capability, "--sizes", str(size),
               "--mql-share", str(mql_share), *(["--legacy"] if legacy else [])]
    return run_child(command, what=f"{capability} at {size}")


def main() -> None:
    """Run every (capability, size, implementation) and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--mql-share", type=float, default=0.2)
    parser.add_argument("--legacy", action="store_true", help="time the per-row oracles too")
    parser.add_argument("--only", choices=CAPABILITIES)
    parser.add_argument("--child", choices=CAPABILITIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        figures = _measure(args.child, args.sizes[0], legacy=args.legacy,
                           mql_share=args.mql_share)
        print(json.dumps(figures))
        return
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs")
    # CPU seconds are the steadier figure on a shared machine: wall time grows with load.
    print("| capability | contacts | implementation | decide s | decide CPU s | compose s "
          "| peak RSS MB | RSS before decide MB | decided |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    capabilities = [args.only] if args.only else list(CAPABILITIES)
    for capability in capabilities:
        for size in args.sizes:
            for legacy in ([False, True] if args.legacy else [False]):
                f = _child(capability, size, legacy=legacy, mql_share=args.mql_share)
                compose = f"{f['compose_s']:.2f}" if "compose_s" in f else "–"
                counts = ", ".join(f"{k} {v}" for k, v in f["counts"].items() if v)
                print(f"| {capability} | {size:,} | {'per-row (legacy)' if legacy else 'frames'} "
                      f"| {f['decide_s']:.2f} | {f['decide_cpu_s']:.2f} | {compose} "
                      f"| {f['peak_rss_mb']:.0f} "
                      f"| {f['rss_before_mb']:.0f} | {counts} |", flush=True)


if __name__ == "__main__":
    main()
