"""The ops failure notice's words: one-line errors, the hour a run covered, the UI link."""

from datetime import UTC, datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from prefect.client.schemas.objects import FlowRun
from prefect.states import Crashed, Failed

from flows.erase_contact import erase_contact
from flows.hourly_scoring import hourly_scoring
from flows.notify import (
    failure_notice,
    failure_notice_text,
    one_line_error,
    post_failure_notice,
    run_scope,
)
from tests.support.settings import settings_for

TOKYO = ZoneInfo("Asia/Tokyo")
STARTED = datetime(2026, 11, 20, 3, 12, tzinfo=UTC)


def test_a_multi_line_error_becomes_one_line_without_the_traceback_or_prefects_prefix() -> None:
    message = (
        "Flow run encountered an exception: RulesError: rules.yaml: not valid YAML:\n"
        "  while parsing a flow sequence\n    in line 1, column 12\n"
        "Traceback (most recent call last):\n  File \"x.py\", line 1\n"
    )

    assert one_line_error(message) == (
        "RulesError: rules.yaml: not valid YAML: while parsing a flow sequence in line 1, "
        "column 12"
    )


def test_an_error_is_escaped_for_slack_so_no_mention_or_link_goes_live() -> None:
    error = one_line_error("bad name <!channel> & <https://evil.example|click>")

    assert error == "bad name &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"


def test_a_long_error_is_cut_with_an_ellipsis_never_inside_an_entity() -> None:
    error = one_line_error("x" * 20 + "&" * 50, limit=30)

    assert len(error) <= 30
    assert error.endswith("&amp;…")


def test_an_empty_state_message_points_to_the_logs() -> None:
    assert one_line_error(None) == "no error message: see the run's logs"


def test_the_scope_of_an_hourly_run_is_its_as_of_hour_in_utc_and_business_time() -> None:
    scope = run_scope({"as_of": "2026-11-20T03:00:00Z"}, started=STARTED, tz=TOKYO)

    assert scope == "as of 2026-11-20T03:00Z (12:00 Asia/Tokyo)"


def test_a_naive_as_of_is_business_time_like_the_flow_reads_it() -> None:
    scope = run_scope({"as_of": "2026-11-20T12:30:00", "dry_run": True}, started=None, tz=TOKYO)

    assert scope == "as of 2026-11-20T03:00Z (12:00 Asia/Tokyo) (dry run)"


def test_an_empty_as_of_is_the_hour_the_run_started() -> None:
    scope = run_scope({"as_of": None}, started=STARTED, tz=TOKYO)

    assert scope == "as of 2026-11-20T03:00Z (12:00 Asia/Tokyo)"


def test_a_backfill_names_its_range() -> None:
    scope = run_scope(
        {"start": "2026-11-01T00:00:00Z", "end": "2026-11-02T00:00:00+00:00"},
        started=STARTED,
        tz=TOKYO,
    )

    assert scope == (
        "hours 2026-11-01T00:00Z (09:00 Asia/Tokyo) → 2026-11-02T00:00Z (09:00 Asia/Tokyo)"
    )


def test_an_erasure_run_is_named_by_its_start_never_by_its_email_address() -> None:
    scope = run_scope({"email": "tanaka@example.co.jp"}, started=STARTED, tz=TOKYO)

    assert scope == "started 2026-11-20T03:12Z"


def test_the_notice_links_to_the_run_in_the_ui() -> None:
    text = failure_notice_text(
        flow_name="mql-promotion",
        outcome="failed",
        scope="as of 2026-11-20T03:00Z (12:00 Asia/Tokyo)",
        error="Slack dispatch could not run",
        ui_url="http://ui.example/runs/flow-run/abc?x=1&y=2",
        run_id="abc",
    )

    assert text.splitlines() == [
        ":rotating_light: *mql-promotion* failed, as of 2026-11-20T03:00Z (12:00 Asia/Tokyo)",
        "*Error:* Slack dispatch could not run",
        "<http://ui.example/runs/flow-run/abc?x=1&amp;y=2|Open the run in the Prefect UI>",
    ]


def test_without_a_ui_url_the_notice_names_the_run_id_and_the_setting() -> None:
    text = failure_notice_text(
        flow_name="backfill", outcome="crashed", scope="started 2026-11-20T03:12Z",
        error="Execution was aborted by a termination signal.", ui_url=None, run_id="abc",
    )

    assert text.splitlines()[-1] == (
        "Flow run `abc` (set PREFECT_UI_URL for a link to the UI)"
    )


def flow_run(**parameters: object) -> FlowRun:
    """A flow run as a hook receives it, started at STARTED."""
    return FlowRun(flow_id=uuid4(), parameters=parameters, start_time=STARTED)


def test_without_an_ops_channel_nothing_is_posted_and_the_log_says_so() -> None:
    settings = settings_for("sqlite://", ops_slack_channel="")

    outcome = post_failure_notice(settings, hourly_scoring, flow_run(), Failed(message="x"))

    assert outcome == "No failure notice sent: LEADFLOW_OPS_SLACK_CHANNEL is empty."


def test_without_a_slack_token_the_notice_is_logged_as_not_posted_and_nothing_raises() -> None:
    settings = settings_for("sqlite://", ops_slack_channel="#ops-alerts")

    outcome = post_failure_notice(settings, hourly_scoring, flow_run(), Failed(message="x"))

    assert outcome == (
        "Could not post the failure notice to #ops-alerts: no Slack token. Set "
        "LEADFLOW_SLACK_TOKEN (or LEADFLOW_SLACK_TOKEN_SECRET, a Prefect Secret block)."
    )


def test_a_scheduled_run_without_an_as_of_is_reported_for_the_hour_it_started() -> None:
    text = failure_notice(hourly_scoring, flow_run(), Failed(message="boom"), TOKYO)

    assert text.splitlines()[:2] == [
        ":rotating_light: *hourly-scoring* failed, as of 2026-11-20T03:00Z (12:00 Asia/Tokyo)",
        "*Error:* boom",
    ]


def test_a_crashed_erasure_run_says_crashed_and_never_shows_the_address() -> None:
    run = flow_run(email="tanaka@example.co.jp")
    crashed = Crashed(message="Execution was aborted by a termination signal.")

    text = failure_notice(erase_contact, run, crashed, TOKYO)

    assert text.splitlines()[0] == (
        ":rotating_light: *erase-contact* crashed, started 2026-11-20T03:12Z"
    )
    assert "tanaka" not in text
