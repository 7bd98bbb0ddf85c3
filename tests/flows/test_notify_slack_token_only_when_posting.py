"""Only a run that has a Slack message to post needs a Slack token.

Through the real `leadflow run promotion|cycle` on SQLite and PostgreSQL, with no token
and no console sender: an hour with nothing for Slack succeeds; an hour that hands a
lead off still fails and says why (tests/flows/test_cli_dispatch_runs.py).
"""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.settings import Settings

pytestmark = pytest.mark.usefixtures("prefect_harness")

HOUR = datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.mark.parametrize("flow", ["promotion", "cycle"])
def test_a_run_with_nothing_for_slack_succeeds_without_a_slack_token(
    settings: Settings, use_settings: Callable[[Settings], Settings], flow: str
) -> None:
    use_settings(settings.model_copy(update={"slack_token": None, "slack_console": False}))
    _register_commands()

    result = CliRunner().invoke(app, ["run", flow, "--as-of", HOUR.isoformat()])

    assert result.exit_code == 0, result.output
    assert "Failed" not in result.output
    assert "could not run" not in result.output
