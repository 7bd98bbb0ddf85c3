"""How long does the SLA decide beat take for N open hand-offs, frame-based vs row-by-row?

Builds the inputs of one SLA hour with tests/support/sla_inputs.py (N contacts handed
over in the 30 days before the hour: touches, status moves, owners, recycles), then times
`decide_sla` only — no database, no validation of the timing by tests. Each measurement
runs in its own subprocess, so its peak RSS (ru_maxrss) is its own; "RSS before" is the
child's resident set after imports and building the inputs. "CPU s" is the process CPU
time of the decide (less sensitive than wall time to a busy machine).

    .venv/bin/python benchmarks/bench_decide_sla.py --contacts 10000 100000
    .venv/bin/python benchmarks/bench_decide_sla.py --contacts 10000 --impl both
    .venv/bin/python benchmarks/bench_decide_sla.py --contacts 100000 --hour-after

`--impl legacy` times tests/support/legacy_sla_decide.py (the per-row version kept as
the tests' oracle); expect minutes at 100 000. `--hour-after` times the next hour with
the first hour's clocks, escalations and tasks stored (the steady state).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from leadflow.paths import DEFAULT_RULES_PATH, PROJECT_ROOT

HOUR = timedelta(hours=1)


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(contacts: int, impl: str, *, hour_after: bool, seed: int) -> dict[str, Any]:
    """Time one decide of `impl` over `contacts` synthetic hand-offs (in this process)."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from models.rules import load_rules
    from tasks.sla.decide import decide_sla
    from tests.support import legacy_sla_decide
    from tests.support.sla_inputs import sla_inputs, stored_state

    rules = load_rules(DEFAULT_RULES_PATH)
    decide = decide_sla if impl == "new" else legacy_sla_decide.decide_sla
    inputs = sla_inputs(contacts, seed=seed)
    if hour_after:
        inputs = stored_state(inputs, decide_sla(inputs, rules, tz="Asia/Tokyo"), later=HOUR)
    before = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    decisions = decide(inputs, rules, tz="Asia/Tokyo")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "impl": impl, "contacts": contacts, "hour_after": hour_after,
        "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "clocks": len(decisions.clocks), "escalations": len(decisions.escalations),
        "follow_ups": len(decisions.follow_ups),
    }


def main() -> None:
    """Run every (size, implementation) in its own subprocess and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--impl", choices=["new", "legacy", "both"], default="new")
    parser.add_argument("--hour-after", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    impls = ["legacy", "new"] if args.impl == "both" else [args.impl]
    if args.child:
        print(json.dumps(measure(args.contacts[0], impls[0], hour_after=args.hour_after,
                                 seed=args.seed)))
        return
    print(f"{'impl':<7}{'contacts':>9}{'decide s':>10}{'CPU s':>8}{'RSS before MB':>15}"
          f"{'peak RSS MB':>13}{'clocks':>9}{'escal.':>8}{'tasks':>8}")
    for contacts in args.contacts:
        for impl in impls:
            command = [sys.executable, __file__, "--child", "--contacts", str(contacts),
                       "--impl", impl, "--seed", str(args.seed)]
            if args.hour_after:
                command.append("--hour-after")
            out = subprocess.run(command, check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['impl']:<7}{r['contacts']:>9}{r['seconds']:>10.2f}{r['cpu_seconds']:>8.2f}"
                  f"{r['rss_before_mb']:>15.0f}{r['peak_rss_mb']:>13.0f}{r['clocks']:>9}"
                  f"{r['escalations']:>8}{r['follow_ups']:>8}", flush=True)


if __name__ == "__main__":
    main()
