"""Failure notices: one Slack message to the ops channel for each failed or crashed flow run.

Every flow lists `notify_failure` as its `on_failure` and `on_crashed` hook. The notice
names the flow, the hour it covered (`as_of`, or a backfill's range), the error in one
line and a link to the run in the Prefect UI. `LEADFLOW_OPS_SLACK_CHANNEL` empty: no
notice, and the run's log says so.

Once per run: a hook can fire again for the same run (a crash is reported by the
engine and again by the worker that saw the process die; an operator may rerun the
hook), so the notice carries the key `ops-failure:<flow run id>` in its Slack message
metadata, and the channel's history since the run started is read for that key before
posting (the Slack adapter's in-doubt check, `SlackSender.already_posted`). It needs no
database on purpose: the database being down is one of the failures to report.
"""

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from prefect import Flow
from prefect.client.schemas.objects import FlowRun, State
from prefect.logging.loggers import flow_run_logger
from prefect.utilities.urls import url_for

from leadflow.adapters.slack import SlackNotConfigured, SlackSender, slack_sender
from leadflow.settings import Settings, get_settings
from leadflow.timeutil import floor_to_hour, parse_instant, to_utc, utc_now
from models.messages import PENDING, OutboxRow
from tasks.promotion.handoff import slack_escaped, truncate_slack_text

KEY_PREFIX = "ops-failure:"
KIND = "ops_failure"
# Long enough for a dispatch problem with its first error, short enough to read at a glance.
MAX_ERROR_LENGTH = 300
# Prefect's own prefix on an exception's state message; the notice already says "failed".
PREFECT_PREFIX = "Flow run encountered an exception:"
TRACEBACK_START = "Traceback (most recent call last)"


def one_line(message: str | None) -> str:
    """`message` as one line: no traceback, no Prefect prefix, whitespace collapsed."""
    text = (message or "").split(TRACEBACK_START, 1)[0].strip()
    return " ".join(text.removeprefix(PREFECT_PREFIX).split())


def one_line_error(message: str | None, limit: int = MAX_ERROR_LENGTH) -> str:
    """A state message as one line escaped for Slack, cut to `limit` with an ellipsis."""
    text = one_line(message)
    if not text:
        return "no error message: see the run's logs"
    return truncate_slack_text(slack_escaped(text), limit)


def _hour(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return floor_to_hour(to_utc(value, naive_tz=tz))
    if isinstance(value, str) and value.strip():
        try:
            return floor_to_hour(parse_instant(value, naive_tz=tz))
        except ValueError:
            return None
    return None


def _label(hour: datetime, tz: tzinfo) -> str:
    local = hour.astimezone(tz)
    return f"{hour:%Y-%m-%dT%H:%MZ} ({local:%H:%M} {tz})"


def run_scope(parameters: Mapping[str, Any], *, started: datetime | None, tz: tzinfo) -> str:
    """What the run covered, in words: the `as_of` hour (the hour it started when empty),
    a backfill's `start` → `end`, else when it started. Never other parameters: erasure
    runs carry an email address."""
    if "start" in parameters and "end" in parameters:
        first, last = _hour(parameters["start"], tz), _hour(parameters["end"], tz)
        if first and last:
            return f"hours {_label(first, tz)} → {_label(last, tz)}"
    as_of = _hour(parameters.get("as_of"), tz)
    if as_of is None and "as_of" in parameters and started is not None:
        as_of = floor_to_hour(started)
    if as_of is not None:
        scope = f"as of {_label(as_of, tz)}"
    elif started is not None:
        scope = f"started {to_utc(started):%Y-%m-%dT%H:%MZ}"
    else:
        scope = "start time unknown"
    return scope + (" (dry run)" if parameters.get("dry_run") is True else "")


def failure_notice_text(
    *, flow_name: str, outcome: str, scope: str, error: str, ui_url: str | None, run_id: str
) -> str:
    """The notice in Slack mrkdwn; `error` comes escaped (see `one_line_error`)."""
    link = (
        f"<{slack_escaped(ui_url)}|Open the run in the Prefect UI>"
        if ui_url
        else f"Flow run `{slack_escaped(run_id)}` (set PREFECT_UI_URL for a link to the UI)"
    )
    return (
        f":rotating_light: *{slack_escaped(flow_name)}* {outcome}, {slack_escaped(scope)}\n"
        f"*Error:* {error}\n{link}"
    )


def failure_notice(
    flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any], tz: tzinfo
) -> str:
    """The notice text for a run of `flow` that ended in `state`."""
    parameters = dict(flow_run.parameters or {})
    if "as_of" in flow.parameters.properties:
        # A scheduled run passes no `as_of`: it ran the hour it started in.
        parameters.setdefault("as_of", None)
    started = flow_run.start_time or flow_run.expected_start_time or flow_run.created
    return failure_notice_text(
        flow_name=flow.name,
        outcome="crashed" if state.is_crashed() else "failed",
        scope=run_scope(parameters, started=started, tz=tz),
        error=one_line_error(state.message),
        ui_url=url_for("flow-run", obj_id=flow_run.id),
        run_id=str(flow_run.id),
    )


def _notice_row(channel: str, text: str, flow_run: FlowRun) -> OutboxRow:
    return OutboxRow(
        id=0,
        idempotency_key=f"{KEY_PREFIX}{flow_run.id}",
        channel="slack",
        kind=KIND,
        contact_id=None,
        payload={
            "channel": channel,
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        },
        status=PENDING,
        attempts=0,
        last_error=None,
        not_before=None,
        # The history check reads the channel from here on: no notice predates the run.
        created_at=to_utc(flow_run.start_time or flow_run.created or utc_now()),
        sent_at=None,
        run_id=str(flow_run.id),
    )


def post_failure_notice(
    settings: Settings, flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any]
) -> str:
    """Post the notice for this run unless the ops channel already has it; return what
    happened as a sentence for the run's log. Never raises: a notice that cannot be
    posted must not hide the failure it reports."""
    channel = settings.ops_slack_channel.strip()
    if not channel:
        return "No failure notice sent: LEADFLOW_OPS_SLACK_CHANNEL is empty."
    row = _notice_row(channel, failure_notice(flow, flow_run, state, settings.tz), flow_run)
    try:
        sender = slack_sender(settings)
        if isinstance(sender, SlackSender) and sender.already_posted(channel, row):
            return f"The failure notice for this run is already in {channel}; not posted again."
        sender(row)
    except SlackNotConfigured:
        return (
            f"Could not post the failure notice to {channel}: no Slack token. Set "
            "LEADFLOW_SLACK_TOKEN (or LEADFLOW_SLACK_TOKEN_SECRET, a Prefect Secret block)."
        )
    except Exception as error:
        # Whatever went wrong (Slack refused, network, a missing Secret block) is one log
        # line; raising would only add a traceback under the run's real error.
        return f"Could not post the failure notice to {channel}: {one_line(str(error))}."
    return f"Posted the failure notice to {channel}."


def notify_failure(flow: Flow[Any, Any], flow_run: FlowRun, state: State[Any]) -> None:
    """Prefect hook (`on_failure`, `on_crashed`): tell the ops channel this run failed.

    A subflow's run stays quiet: the run that started it fails too and posts.
    """
    if flow_run.parent_task_run_id is not None:
        return
    logger = flow_run_logger(flow_run, flow)
    try:
        settings = get_settings()
    except Exception as error:
        logger.warning(f"No failure notice sent: the settings are invalid: {one_line(str(error))}")
        return
    outcome = post_failure_notice(settings, flow, flow_run, state)
    if outcome.startswith("Posted"):
        logger.info(outcome)
    else:
        logger.warning(outcome)
