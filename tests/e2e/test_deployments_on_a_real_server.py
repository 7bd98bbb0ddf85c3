"""End to end: a real `prefect server`, `prefect deploy` from prefect.yaml, a process worker,
and the `leadflow` CLI, each as its own process, as an operator would use them."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
END = datetime(2026, 11, 20, 3, tzinfo=UTC)


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


@pytest.fixture(scope="module")
def imported(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small realistic dataset written as CSV and imported through the CLI."""
    from leadflow.synthetic import generate_dataset, write_csv

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
    environment: dict[str, str], imported: Path
) -> None:
    run(environment, str(BIN / "prefect"), "work-pool", "create", "leadflow", "--type", "process")
    run(environment, str(BIN / "prefect"), "--no-prompt", "deploy", "--name", "hourly")
    out = run(
        environment, str(BIN / "prefect"), "deployment", "run", "hourly-scoring/hourly",
        "--param", f"as_of={END.replace(hour=5).isoformat()}", "--param", "dry_run=true",
    )
    assert "Created flow run" in out
    run(environment, str(BIN / "prefect"), "worker", "start", "--pool", "leadflow",
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
    deployed = [state for name, state in runs if name.startswith("hourly-scoring 2026-11-20T05")]
    assert deployed == ["COMPLETED"], runs
