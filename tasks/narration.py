"""What each step of the cycle did, in one sentence an operator understands.

The flows log these lines (Prefect's run log, the CLI's output) instead of raw counts:
"Promotion at 2026-12-01 23:00 JST: 3 leads promoted (mql 2, sql 1); …". Pure: each
function reads the step's JSON summary (the flow's return value), so the CLI, the flows
and the tests phrase a run the same way.
"""

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

Summary = Mapping[str, Any]


def _n(value: object) -> int:
    """A count from a summary: an int, or the sum of a by-kind mapping."""
    if isinstance(value, Mapping):
        return sum(int(v) for v in value.values() if isinstance(v, int | float))
    return int(value) if isinstance(value, int | float) else 0


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _breakdown(counts: object) -> str:
    """ "(mql 2, sql 1)" from a by-kind mapping; "" when empty."""
    if not isinstance(counts, Mapping):
        return ""
    parts = [f"{name} {value}" for name, value in counts.items() if value]
    return f" ({', '.join(parts)})" if parts else ""


def when(as_of: str | datetime, tz: tzinfo) -> str:
    """An hour as operators read it: business time with its zone, e.g. "2026-12-01 23:00 JST"."""
    moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or tz}"


def _frame(title: str, summary: Summary, tz: tzinfo, body: str) -> str:
    head = f"{title} at {when(summary['as_of'], tz)}"
    if summary.get("superseded_by"):
        return (
            f"{head}: already decided (the latest applied hour is "
            f"{when(summary['superseded_by'], tz)}), so nothing was written or sent"
        )
    tail = " (dry run: nothing written or sent)" if summary.get("dry_run") else ""
    quarantined = _n(summary.get("quarantined"))
    if quarantined:
        tail += f"; {_plural(quarantined, 'row')} set aside as invalid (see the run artifact)"
    return f"{head}: {body}{tail}"


def already_decided_words(summary: Summary) -> str:
    """What a run of an hour decided already did, as a clause: a rerun decided, wrote and
    sent nothing — unless scoring (which writes a past hour's late events once) saved
    score changes in it; a dry run shows no decisions for it, as a real run would take none.
    """
    head = f"the latest applied hour is {summary.get('superseded_by')}"
    scoring = summary.get("scoring")
    snapshots = _n(scoring.get("snapshots")) if isinstance(scoring, Mapping) else 0
    if summary.get("dry_run"):
        return (
            f"{head}, so a real run of this hour would decide, write and send nothing "
            "(scoring aside) and this dry run lists no decisions for it"
        )
    if snapshots:
        return (
            f"{head}: promotion, recycling, nurture and SLA decided, wrote and sent "
            f"nothing; scoring saved {_plural(snapshots, 'score change')} from late events"
        )
    return (
        f"{head}; this rerun decided, wrote and sent nothing; what is due goes out "
        "with the next new hour"
    )


def _sent(summary: Summary, name: str, what: str) -> str:
    """ "2 Slack messages sent, 1 waiting" from `<name>_sent` / `<name>_pending`."""
    sent, pending = _n(summary.get(f"{name}_sent")), _n(summary.get(f"{name}_pending"))
    text = f"{_plural(sent, what)} sent"
    return text + (f", {pending:,} waiting to be sent" if pending else "")


def scoring_sentence(summary: Summary, tz: tzinfo) -> str:
    """Scoring: how many leads were re-scored and why, and how many scores changed."""
    scored = _plural(_n(summary.get("scored")), "lead")
    if summary.get("full"):
        # A full run reads every contact: "with new activity" would not be true.
        which = f"{scored} re-scored, every one ({summary.get('reason') or 'full run'})"
    else:
        which = (
            f"{scored} re-scored of {_n(summary.get('candidates')):,} with new activity"
            f" ({summary.get('reason') or 'incremental'})"
        )
    body = f"{which}; {_plural(_n(summary.get('snapshots_written')), 'score change')} saved"
    return _frame("Scoring", summary, tz, body)


def promotion_sentence(summary: Summary, tz: tzinfo) -> str:
    """Promotion: stage moves, owners, and the hand-offs sent to sales."""
    decided = summary.get("decided") or {}
    stages = {
        k: v
        for k, v in decided.items()
        if k
        not in {"hot", "assigned", "unassigned", "late_assigned", "handed_over", "awaiting_owner"}
    }
    moved = summary.get("promoted") if not summary.get("dry_run") else stages
    parts = [f"{_plural(_n(moved), 'lead')} promoted{_breakdown(moved)}"]
    if _n(decided.get("hot")):
        parts.append(f"{_n(decided.get('hot')):,} marked hot")
    assigned = _n(summary.get("assigned")) or _n(decided.get("assigned"))
    if assigned:
        parts.append(f"{_plural(assigned, 'owner')} assigned")
    if _n(decided.get("unassigned")) or _n(decided.get("awaiting_owner")):
        waiting = _n(decided.get("unassigned")) + _n(decided.get("awaiting_owner"))
        parts.append(f"{_plural(waiting, 'lead')} waiting for an active owner in their team")
    if not summary.get("dry_run"):
        # Hand-offs, hot-lead posts and DMs alike: the Slack outbox drained this run.
        parts.append(_sent(summary, "messages", "Slack message"))
        parts.append(_sent(summary, "emails", "hand-off email"))
    return _frame("Promotion", summary, tz, "; ".join(parts))


def recycling_sentence(summary: Summary, tz: tzinfo) -> str:
    """Recycling: leads sent back to marketing, disqualified or re-nurtured."""
    recycled = summary.get("recycled") if not summary.get("dry_run") else summary.get("decided")
    parts = [f"{_plural(_n(recycled), 'lead')} recycled to marketing{_breakdown(recycled)}"]
    for key, words in (
        ("disqualified", "disqualified"),
        ("renurtured", "back to nurture after a lost deal"),
    ):
        if _n(summary.get(key)):
            parts.append(f"{_n(summary.get(key)):,} {words}")
    if _n(summary.get("reminders_decided")):
        parts.append(f"{_plural(_n(summary.get('reminders_decided')), 'retry reminder')} due")
    return _frame("Recycling", summary, tz, "; ".join(parts))


def nurture_sentence(summary: Summary, tz: tzinfo) -> str:
    """Nurture: enrolments, emails scheduled and sent, and leads held back or leaving."""
    decided = summary.get("decided") or {}
    parts = [
        f"{_plural(_n(decided.get('enrolled')), 'lead')} enrolled",
        f"{_plural(_n(decided.get('emails')), 'email')} due",
    ]
    dispatch = summary.get("dispatch")
    if isinstance(dispatch, Mapping):
        transport = f" via {summary['transport']}" if summary.get("transport") else ""
        parts.append(f"{_n(dispatch.get('sent')):,} sent{transport}")
        if _n(dispatch.get("retried")):
            parts.append(f"{_n(dispatch.get('retried')):,} to retry")
    for key, words in (
        ("held", "held back (send window, frequency cap or consent)"),
        ("exited", "left their program"),
        ("completed", "finished a program"),
    ):
        if _n(decided.get(key)):
            parts.append(f"{_n(decided.get(key)):,} {words}")
    return _frame("Nurture", summary, tz, "; ".join(parts))


def sla_sentence(summary: Summary, tz: tzinfo) -> str:
    """SLA: clocks started, met and breached, escalations sent and leads reassigned."""
    parts = [
        f"{_plural(_n(summary.get('clocks_opened')), 'clock')} started",
        f"{_n(summary.get('clocks_satisfied')):,} met",
        f"{_n(summary.get('clocks_breached')):,} breached",
    ]
    escalations = summary.get("escalations")
    parts.append(
        f"{_plural(_n(escalations), 'escalation')}"
        + (f" by level{_breakdown(escalations)}" if _n(escalations) else "")
    )
    if _n(summary.get("reassigned")):
        parts.append(f"{_plural(_n(summary.get('reassigned')), 'lead')} reassigned")
    if not summary.get("dry_run") and (
        _n(summary.get("slack_decided")) or _n(summary.get("emails_decided"))
    ):
        parts.append(_sent(summary, "slack", "Slack message"))
        parts.append(_sent(summary, "email", "email") + " to sales")
    return _frame("SLA", summary, tz, "; ".join(parts))


SENTENCES = {
    "scoring": scoring_sentence,
    "promotion": promotion_sentence,
    "recycling": recycling_sentence,
    "nurture": nurture_sentence,
    "sla": sla_sentence,
}
"""Each cycle step's sentence, by the step's name (tasks.cycle.CycleStep values)."""
