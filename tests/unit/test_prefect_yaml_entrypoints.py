"""Every deployment in prefect.yaml points at a flow that imports, as `prefect deploy` needs."""

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "prefect.yaml").read_text(encoding="utf-8")
)["deployments"]


def test_prefect_yaml_declares_deployments_with_unique_names() -> None:
    names = [deployment["name"] for deployment in DEPLOYMENTS]
    assert names
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "deployment", DEPLOYMENTS, ids=[deployment["name"] for deployment in DEPLOYMENTS]
)
def test_each_deployment_entrypoint_imports_a_prefect_flow(deployment: dict[str, Any]) -> None:
    path, _, function = str(deployment["entrypoint"]).partition(":")
    assert function, f"{deployment['name']}: entrypoint must be 'path.py:function'"
    source = ROOT / path
    assert source.is_file(), f"{deployment['name']}: {path} does not exist"
    module_name = ".".join(Path(path).with_suffix("").parts)
    module = importlib.import_module(module_name)
    assert Path(str(module.__file__)).resolve() == source.resolve()
    flow = getattr(module, function, None)
    assert isinstance(flow, Flow), f"{deployment['name']}: {deployment['entrypoint']} is not a flow"


def test_the_lead_cycle_at_five_past_and_the_kpi_report_at_seven_are_the_scheduled_ones() -> None:
    scheduled = [deployment for deployment in DEPLOYMENTS if deployment.get("schedules")]
    assert [(d["name"], d["entrypoint"]) for d in scheduled] == [
        ("hourly", "flows/lead_cycle.py:lead_cycle"),
        ("daily", "flows/kpi_report.py:kpi_report_flow"),
    ]
    [schedule] = scheduled[0]["schedules"]
    assert (schedule["cron"], schedule["timezone"], schedule["active"]) == (
        "5 * * * *", "Asia/Tokyo", True
    )
    [daily] = scheduled[1]["schedules"]
    assert (daily["cron"], daily["timezone"], daily["active"]) == ("0 7 * * *", "Asia/Tokyo", True)


@pytest.mark.parametrize(
    "deployment", DEPLOYMENTS, ids=[deployment["name"] for deployment in DEPLOYMENTS]
)
def test_each_deployment_runs_one_at_a_time_and_a_late_run_waits(
    deployment: dict[str, Any],
) -> None:
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
