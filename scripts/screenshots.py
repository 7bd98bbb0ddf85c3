"""Takes the README's pictures with headless Chromium: the KPI report page and a
`lead-cycle` flow run in a real Prefect UI.

Run it through scripts/screenshots.sh (which installs Chromium and the CJK fonts first).
It uses the demo's database (`leadflow demo` writes .leadflow/demo/demo.db; run the demo
first), starts a throwaway `prefect server` on a free loopback port with its own
PREFECT_HOME, runs a dry run of the lead cycle for the next 10:00 business time against it, and
screenshots that run's page and its summary artifact. Nothing is sent: the cycle hour is a dry run.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/images] [--demo .leadflow/demo]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WIDTH, HEIGHT = 1280, 900


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium() -> str:
    """The Chromium binary (Debian's `chromium`)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("Chromium not found: run scripts/screenshots.sh (it installs Debian's chromium)")


def screenshot(url: str, target: Path, *, height: int = HEIGHT, wait_ms: int = 8000) -> None:
    """One headless-Chromium screenshot of `url` at WIDTH × height pixels."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={WIDTH},{height}",
                f"--virtual-time-budget={wait_ms}", f"--screenshot={target}", url,
            ],
            check=True, capture_output=True, timeout=120,
        )
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def api(base: str, path: str, body: dict[str, object] | None = None) -> object:
    """A JSON call to the Prefect server's REST API (POST when `body` is given)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}{path}", data=data, headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers /health (exit with its log if it died)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("prefect server stopped:\n" + log.read_text()[-3000:])
        try:
            api(base, "/health")
            return
        except OSError:
            time.sleep(0.5)
    sys.exit("prefect server did not start in 120 s:\n" + log.read_text()[-3000:])


def flow_run_picture(demo: Path, out: Path) -> None:
    """Start a Prefect server, run one dry-run cycle hour on the demo data, screenshot it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "PREFECT_HOME": home,
            "PREFECT_API_URL": base,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_API_URL": base,
            "LEADFLOW_DATABASE_URL": f"sqlite:///{demo / 'demo.db'}",
            "LEADFLOW_DEVELOPMENT": "true",
            "LEADFLOW_OUTBOX_DIR": str(demo / "emails"),
            "LEADFLOW_SLACK_CONSOLE": "true",
        }
        log = Path(home) / "server.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                 "--port", str(port)],
                env=env, stdout=sink, stderr=subprocess.STDOUT,
            )
        try:
            wait_healthy(base, server, log)
            # The next 10:00 business time: the demo's leads have waits, nurture steps and
            # SLA clocks falling due by then, so the dry run has decisions to show.
            tz = ZoneInfo(os.environ.get("LEADFLOW_BUSINESS_TIMEZONE", "Asia/Tokyo"))
            now = datetime.now(tz)
            morning = now.replace(hour=10, minute=0, second=0, microsecond=0)
            if morning <= now:
                morning += timedelta(days=1)
            subprocess.run([str(BIN / "leadflow"), "run", "cycle", "--dry-run", "--as-of",
                            morning.isoformat()], env=env, check=True, capture_output=True,
                           timeout=600)
            runs = api(base, "/flow_runs/filter", {
                "flows": {"name": {"any_": ["lead-cycle"]}}, "limit": 1,
                "sort": "START_TIME_DESC",
            })
            if not isinstance(runs, list) or not runs:
                sys.exit("the lead-cycle run did not reach the server")
            run_id = runs[0]["id"]
            screenshot(f"http://127.0.0.1:{port}/runs/flow-run/{run_id}",
                       out / "prefect-flow-run.png", height=1400, wait_ms=15000)
            artifacts = api(base, "/artifacts/filter", {
                "artifacts": {"flow_run_id": {"any_": [run_id]},
                              "key": {"any_": ["lead-cycle-summary"]}},
                "limit": 1,
            })
            if isinstance(artifacts, list) and artifacts:
                screenshot(f"http://127.0.0.1:{port}/artifacts/artifact/{artifacts[0]['id']}",
                           out / "prefect-cycle-artifact.png", wait_ms=15000)
        finally:
            server.terminate()
            server.wait(timeout=60)


def report_picture(demo: Path, out: Path) -> None:
    """Write the demo period's KPI report as HTML and screenshot its top and charts."""
    page = demo / "kpi-report.html"
    if not page.exists():
        sys.exit(f"{page} not found: run `leadflow demo` first (it writes the report)")
    screenshot(page.resolve().as_uri(), out / "kpi-report.png", height=2200, wait_ms=2000)


def main() -> None:
    """Parse the options and take both pictures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--demo", type=Path, default=ROOT / ".leadflow" / "demo")
    options = parser.parse_args()
    demo = options.demo.resolve()
    if not (demo / "demo.db").exists():
        sys.exit(f"{demo / 'demo.db'} not found: run `leadflow demo` first")
    report_picture(demo, options.out)
    flow_run_picture(demo, options.out)


if __name__ == "__main__":
    main()
