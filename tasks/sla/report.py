"""The SLA run's summary: counts for the run ledger and the markdown artifact.

Contacts and owners are listed by id: artifacts carry no personal data.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.messages import OutboxMessage
from tasks.artifacts import superseded_note
from tasks.dispatch import DispatchSummary, dispatch_problem
from tasks.internal_email import INTERNAL_EMAIL_CHANNEL
from tasks.outbox_admin import failed_markdown
from tasks.promotion.handoff import SLACK_CHANNEL
from tasks.sla.apply import AppliedSla
from tasks.sla.decisions import SlaDecisions
from tasks.sla.messages import Reassignment
from tasks.sla.read_scope import SUMMARY_KEY as READ_IDS_KEY

MAX_LISTED = 50


@dataclass(frozen=True)
class SlaOutcome:
    """One SLA run, decided and (unless dry) applied and dispatched."""

    run_id: str
    as_of: datetime
    dry_run: bool
    decisions: SlaDecisions
    messages: list[OutboxMessage]
    reassignments: list[Reassignment]
    applied: AppliedSla | None
    slack: DispatchSummary | None
    email: DispatchSummary | None
    beat_seconds: dict[str, float] = field(default_factory=dict)
    superseded_by: str | None = None
    # Which contacts the read covered, and the highest fact ids it saw (the next run's
    # starting point: tasks.sla.read_scope).
    read_scope: str | None = None
    read_ids: dict[str, int] = field(default_factory=dict)

    def messages_on(self, channel: str) -> int:
        """Messages decided this hour for an outbox channel."""
        return sum(1 for m in self.messages if m.channel == channel)

    def dispatch_problem(self) -> str | None:
        """Why messages waiting to go could not be dispatched this run, or None.

        A channel that cannot be used (no Slack token, SMTP login refused) is a problem
        only while messages wait for it; they stay pending in the outbox either way.
        """
        return dispatch_problem(
            [("Slack", self.slack), ("Internal email", self.email)], pending_only=True
        )

    def summary(self) -> dict[str, Any]:
        """Flat counts for the run ledger, the CLI and the flow's return value."""
        decisions, applied = self.decisions, self.applied
        result: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "contacts": decisions.contacts,
            "clocks_opened": decisions.by_policy("opened"),
            "clocks_satisfied": decisions.by_policy("satisfied"),
            "clocks_breached": decisions.by_policy("breached"),
            "clocks_closed": decisions.by_policy("closed"),
            "escalations": decisions.escalations_by_level(),
            "escalations_applied": applied.escalations_by_level() if applied else {},
            "reassigned": len(applied.reassigned) if applied else len(self.reassignments),
            "follow_up_tasks_opened": applied.follow_ups_opened if applied else sum(
                1 for t in decisions.follow_ups if t.opened),
            "slack_decided": self.messages_on(SLACK_CHANNEL),
            "emails_decided": self.messages_on(INTERNAL_EMAIL_CHANNEL),
            "messages_enqueued": applied.enqueued if applied else {},
            "quarantined": decisions.bad_rows,
            "beat_seconds": self.beat_seconds,
            "superseded_by": self.superseded_by,
            "read_scope": self.read_scope,
            READ_IDS_KEY: self.read_ids,
        }
        for name, dispatch in (("slack", self.slack), ("email", self.email)):
            if dispatch is not None:
                result[f"{name}_sent"] = dispatch.sent
                result[f"{name}_pending"] = dispatch.pending
                result[f"{name}_failed"] = dispatch.failed
                result[f"{name}_error"] = dispatch.error
        return result


def _clock_table(decisions: SlaDecisions) -> list[str]:
    opened, satisfied, breached, closed = (
        decisions.by_policy(w) for w in ("opened", "satisfied", "breached", "closed")
    )
    policies = sorted(set(opened) | set(satisfied) | set(breached) | set(closed))
    lines = ["## Clocks by policy", "",
             "| policy | opened | satisfied | breached | closed unsatisfied |",
             "|---|---:|---:|---:|---:|"]
    if not policies:
        lines.append("| (none) | 0 | 0 | 0 | 0 |")
    for policy in policies:
        lines.append(f"| {policy} | {opened.get(policy, 0)} | {satisfied.get(policy, 0)} | "
                     f"{breached.get(policy, 0)} | {closed.get(policy, 0)} |")
    return lines


def _escalation_table(outcome: SlaOutcome) -> list[str]:
    decided = outcome.decisions.escalations_by_level()
    applied = outcome.applied.escalations_by_level() if outcome.applied else {}
    lines = ["", "## Escalations by policy and level", "",
             "| policy | level | decided | applied |", "|---|---:|---:|---:|"]
    if not decided:
        lines.append("| (none) | | 0 | 0 |")
    for name, count in decided.items():
        policy, level = name.rsplit(":", 1)
        lines.append(f"| {policy} | {level} | {count} | {applied.get(name, 0)} |")
    listed = outcome.decisions.escalations[:MAX_LISTED]
    if listed:
        lines += ["", "| contact | policy | level | action | owner | detail |",
                  "|---:|---|---:|---|---:|---|"]
        for e in listed:
            lines.append(f"| {e.contact_id} | {e.policy} | {e.level} | {e.action} | "
                         f"{e.owner_id if e.owner_id is not None else '-'} | {e.detail or ''} |")
        if len(outcome.decisions.escalations) > MAX_LISTED:
            lines.append(f"| … | | | | | {len(outcome.decisions.escalations) - MAX_LISTED} more |")
    return lines


def _reassignment_table(outcome: SlaOutcome) -> list[str]:
    changes = outcome.applied.reassigned if outcome.applied else outcome.reassignments
    lines = ["", "## Reassignments", "", f"{len(changes)} lead(s) reassigned."]
    if changes:
        lines += ["", "| contact | team | from owner | to owner |", "|---:|---|---:|---:|"]
        for c in changes[:MAX_LISTED]:
            to = c.to_owner_id if c.to_owner_id is not None else "(no other active owner)"
            lines.append(f"| {c.contact_id} | {c.team} | {c.from_owner_id} | {to} |")
    return lines


def _dispatch_section(title: str, *, decided: int, enqueued: int,
                      dispatch: DispatchSummary | None) -> list[str]:
    shown = dispatch or DispatchSummary()
    lines = ["", f"## {title}", "", "| decided | new in outbox | sent | pending | failed |",
             "|---:|---:|---:|---:|---:|",
             f"| {decided} | {enqueued} | {shown.sent} | {shown.pending} | {shown.failed} |"]
    if shown.errors:
        lines += ["", "Unsent this run:", "", *[f"- {e}" for e in shown.errors[:MAX_LISTED]]]
    return lines + failed_markdown(shown.failures, limit=MAX_LISTED)


def sla_markdown(outcome: SlaOutcome) -> str:
    """The run artifact: clocks by policy, escalations by level, reassignments, messages."""
    as_of = outcome.as_of.strftime("%Y-%m-%d %H:%M UTC")
    title = f"# sla-escalation {as_of}" + (
        " (dry run: nothing written)" if outcome.dry_run else "")
    decisions = outcome.decisions
    lines = [title, "", *superseded_note(outcome.superseded_by),
             f"Run `{outcome.run_id}` read {decisions.contacts} contacts with open SLA work"
             f"{f' ({outcome.read_scope})' if outcome.read_scope else ''}; "
             f"{decisions.bad_rows} input rows quarantined.", ""]
    problem = outcome.dispatch_problem()
    if problem:
        lines[1:1] = ["", f"**Dispatch stopped:** {problem}"]
    lines += _clock_table(decisions)
    lines += _escalation_table(outcome)
    lines += _reassignment_table(outcome)
    applied = outcome.applied
    opened = sum(1 for t in decisions.follow_ups if t.opened)
    done = sum(1 for t in decisions.follow_ups if not t.opened and t.done_at is not None)
    lines += ["", "## Follow-up tasks", "", "| opened | marked done |", "|---:|---:|",
              f"| {applied.follow_ups_opened if applied else opened} | {done} |"]
    enqueued = applied.enqueued if applied else {}
    lines += _dispatch_section("Slack messages", decided=outcome.messages_on(SLACK_CHANNEL),
                               enqueued=enqueued.get(SLACK_CHANNEL, 0), dispatch=outcome.slack)
    lines += _dispatch_section("Internal emails",
                               decided=outcome.messages_on(INTERNAL_EMAIL_CHANNEL),
                               enqueued=enqueued.get(INTERNAL_EMAIL_CHANNEL, 0),
                               dispatch=outcome.email)
    return "\n".join(lines) + "\n"
