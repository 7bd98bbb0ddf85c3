"""End to end: a real `prefect server`, `prefect deploy` from prefect.yaml, a process worker,
and the `leadflow` CLI, each as its own process, as an operator would use them.

The server runs its scheduler service as in production, on a shorter loop, so the schedules
that `prefect deploy --all` puts on must turn into scheduled flow runs within seconds (with
SQLAlchemy 2.1 Prefect 3.8's scheduler fails every loop and none ever appear)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
END = datetime(2026, 11, 20, 3, tzinfo=UTC)
# The scheduler service's main loop runs every 60 s by default; 5 s lets the schedule test
# see its runs quickly. Each scheduled deployment is kept at least MIN_RUNS runs ahead.
MIN_RUNS = 3
SCHEDULER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
    "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": str(MIN_RUNS),
}
SCHEDULED_RUNS_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running Prefect server and the environment every CLI call below shares."""
    home = tmp_path_factory.mktemp("e2e")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "LEADFLOW_DATABASE_URL": f"sqlite:///{home / 'leadflow.db'}",
        "LEADFLOW_PROJECT_DIR": str(ROOT),
        "LEADFLOW_OUTBOX_DIR": str(home / "outbox"),
        "LEADFLOW_DEVELOPMENT": "true",
        **SCHEDULER_SETTINGS,
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=log, stderr=subprocess.STDOUT, cwd=home,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "prefect server did not start:\n" + (home / "server.log").read_text()
                    ) from None
                time.sleep(0.5)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def run(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run a command from the project directory; fail the test with its output if it fails."""
    result = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def api(env: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    """POST a JSON body to the server's REST API and return its decoded answer."""
    request = urllib.request.Request(
        env["PREFECT_API_URL"] + path, data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def server_errors(env: dict[str, str]) -> str:
    """The last error lines of the server's log (the log sits next to PREFECT_HOME)."""
    log = Path(env["PREFECT_HOME"]).parent / "server.log"
    lines = [line for line in log.read_text().splitlines() if "Error" in line]
    return "\n".join(lines[-5:]) or "(no error in the server log)"


def scheduled_deployments() -> dict[str, list[str]]:
    """prefect.yaml's deployments that have schedules, each with its cron expressions."""
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return {
        deployment["name"]: [schedule["cron"] for schedule in deployment["schedules"]]
        for deployment in config["deployments"]
        if deployment.get("schedules")
    }


@pytest.fixture(scope="module")
def work_pool(environment: dict[str, str]) -> str:
    """The process work pool that prefect.yaml's deployments send their runs to."""
    run(environment, str(BIN / "prefect"), "work-pool", "create", "leadflow", "--type", "process")
    return "leadflow"


@pytest.fixture(scope="module")
def imported(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small realistic dataset written as CSV and imported through the CLI."""
    from app.synthetic import generate_dataset, write_csv

    folder = tmp_path_factory.mktemp("csv")
    files = write_csv(folder, generate_dataset(contacts=60, events=1500, days=30, end=END))
    for kind in ("owners", "companies", "contacts", "events"):
        run(environment, str(BIN / "leadflow"), "import", kind, str(files[kind]))
    return folder


def test_cli_run_scoring_against_the_server_then_explain_and_export(
    environment: dict[str, str], imported: Path, tmp_path: Path
) -> None:
    out = run(environment, str(BIN / "leadflow"), "run", "scoring", "--as-of", END.isoformat())
    assert "scored: 60" in out
    again = run(environment, str(BIN / "leadflow"), "run", "scoring", "--as-of", END.isoformat())
    assert "snapshots_written: 0" in again
    export = tmp_path / "contacts.csv"
    run(environment, str(BIN / "leadflow"), "export", "contacts", "-o", str(export))
    lines = export.read_text().splitlines()
    assert lines[0].startswith("email,lifecycle_stage,lead_status,engagement_score")
    assert len(lines) == 61
    top_email = lines[1].split(",")[0]
    explained = run(environment, str(BIN / "leadflow"), "explain", top_email,
                    "--as-of", END.isoformat())
    assert "behaviour (cap 80" in explained


def test_deployment_runs_on_a_process_worker_with_parameters_from_the_cli(
    environment: dict[str, str], imported: Path, work_pool: str
) -> None:
    run(environment, str(BIN / "prefect"), "--no-prompt", "deploy", "--name", "hourly-scoring",
        "--name", "hourly-recycling", "--name", "hourly-sla")
    hour = END.replace(hour=5).isoformat()
    for deployment, dry_run in (("hourly-scoring/hourly-scoring", "true"),
                                ("lead-recycling/hourly-recycling", "false"),
                                ("sla-escalation/hourly-sla", "false")):
        out = run(
            environment, str(BIN / "prefect"), "deployment", "run", deployment,
            "--param", f"as_of={hour}", "--param", f"dry_run={dry_run}",
        )
        assert "Created flow run" in out
    run(environment, str(BIN / "prefect"), "worker", "start", "--pool", work_pool,
        "--run-once", timeout=600)
    runs = json.loads(
        run(environment, str(BIN / "python"), "-c",
            "import json, asyncio\n"
            "from prefect.client.orchestration import get_client\n"
            "async def main():\n"
            "    async with get_client() as c:\n"
            "        rs = await c.read_flow_runs()\n"
            "        print(json.dumps([[r.name, r.state_type.value] for r in rs]))\n"
            "asyncio.run(main())\n")
    )
    for flow in ("hourly-scoring", "lead-recycling", "sla-escalation"):
        deployed = [state for name, state in runs if name.startswith(f"{flow} 2026-11-20T05")]
        assert deployed == ["COMPLETED"], (flow, runs)


def row_counts(env: dict[str, str]) -> dict[str, int]:
    """Rows per leadflow table (the run ledger left out: every run adds its row)."""
    from sqlalchemy import create_engine, func, select

    from models.tables import Base

    engine = create_engine(env["LEADFLOW_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in Base.metadata.tables.items()
                if name != "runs"
            }
    finally:
        engine.dispose()


def test_the_lead_cycle_deployment_rerun_for_a_past_hour_changes_and_sends_nothing(
    environment: dict[str, str], imported: Path, work_pool: str
) -> None:
    # Slack goes to the worker's console: no workspace here, and nothing may be posted.
    worker_env = {**environment, "LEADFLOW_SLACK_CONSOLE": "true"}
    run(environment, str(BIN / "prefect"), "--no-prompt", "deploy", "--name", "hourly")
    hour = END.replace(hour=7).isoformat()
    outbox = Path(environment["LEADFLOW_OUTBOX_DIR"])

    def cycle() -> None:
        out = run(environment, str(BIN / "prefect"), "deployment", "run", "lead-cycle/hourly",
                  "--param", f"as_of={hour}")
        assert "Created flow run" in out
        run(worker_env, str(BIN / "prefect"), "worker", "start", "--pool", work_pool,
            "--run-once", timeout=600)

    cycle()
    after_first = row_counts(environment)
    emails_first = sorted(outbox.glob("*.eml")) if outbox.exists() else []
    cycle()

    assert row_counts(environment) == after_first
    assert (sorted(outbox.glob("*.eml")) if outbox.exists() else []) == emails_first
    runs = api(environment, "/flow_runs/filter", {
        "flow_runs": {"name": {"like_": "lead-cycle 2026-11-20T07"}}, "limit": 10,
    })
    states = [(r["state_type"], (r.get("state") or {}).get("message")) for r in runs]
    assert sorted(state for state, _ in states) == ["COMPLETED", "COMPLETED"], states
    artifacts = api(environment, "/artifacts/filter", {
        "artifacts": {"key": {"any_": ["lead-cycle-summary"]}}, "limit": 10,
    })
    texts = [str(a["data"]) for a in artifacts]
    assert any("Already decided" in text or "already decided" in text for text in texts), texts
    assert len({a["flow_run_id"] for a in artifacts}) == 2


def test_deploying_all_puts_every_schedule_on_and_the_scheduler_creates_upcoming_runs(
    environment: dict[str, str], work_pool: str
) -> None:
    expected = scheduled_deployments()
    assert expected, "prefect.yaml has no scheduled deployment"
    deployed_at = datetime.now(UTC)
    run(environment, str(BIN / "prefect"), "--no-prompt", "deploy", "--all")

    deployments = {d["name"]: d for d in api(environment, "/deployments/filter", {})}
    for name, crons in expected.items():
        deployment = deployments[name]
        assert deployment["work_pool_name"] == work_pool, name
        assert not deployment["paused"], f"{name} was deployed paused"
        schedules = deployment["schedules"]
        assert sorted(s["schedule"]["cron"] for s in schedules) == sorted(crons), name
        assert all(s["active"] for s in schedules), f"{name} has an inactive schedule"
    names = {d["id"]: name for name, d in deployments.items()}

    deadline = time.monotonic() + SCHEDULED_RUNS_TIMEOUT
    while True:
        flow_runs = api(environment, "/flow_runs/filter", {
            "flow_runs": {
                "deployment_id": {"any_": list(names)},
                "state": {"type": {"any_": ["SCHEDULED"]}},
            },
            "sort": "EXPECTED_START_TIME_ASC",
            "limit": 200,
        })
        upcoming: dict[str, list[dict[str, Any]]] = {name: [] for name in deployments}
        for flow_run in flow_runs:
            if flow_run["auto_scheduled"]:
                upcoming[names[flow_run["deployment_id"]]].append(flow_run)
        if all(len(upcoming[name]) >= MIN_RUNS for name in expected):
            break
        if time.monotonic() > deadline:
            counts = {name: len(runs) for name, runs in upcoming.items()}
            pytest.fail(
                f"the scheduler made no runs for the schedules within {SCHEDULED_RUNS_TIMEOUT:.0f}"
                f" s: scheduled runs per deployment {counts}; server errors:\n"
                + server_errors(environment)
            )
        time.sleep(1)

    for name, crons in expected.items():
        minutes = {int(cron.split()[0]) for cron in crons}
        starts = [datetime.fromisoformat(r["expected_start_time"]) for r in upcoming[name]]
        assert all(start > deployed_at - timedelta(minutes=1) for start in starts), (name, starts)
        assert {start.minute for start in starts} <= minutes, (name, starts)
        assert len({start.replace(minute=0, second=0) for start in starts}) == len(starts), starts
    for name in deployments.keys() - expected.keys():
        assert upcoming[name] == [], f"{name} has no schedule but got runs: {upcoming[name]}"
