"""Lead-status moves from newly recorded sales activities, in the caller's transaction.

Shared by `leadflow log-activity` and `leadflow import activities`: read each touched
contact's status and when it was set, decide the moves its new activities bring
(`changes_from_new_activities`), apply them with `apply_status_changes`.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from models.rules import Rules
from tasks.status.apply import AppliedStatusChanges, apply_status_changes
from tasks.status.decide import Touch, changes_from_new_activities
from tasks.status.read import read_current_statuses


def move_statuses_from_activities(
    conn: Connection,
    touches: Sequence[Touch],
    *,
    rules: Rules,
    source: str,
    run_id: str | None,
    now: datetime,
) -> AppliedStatusChanges:
    """Apply the status moves that these newly recorded activities bring.

    Only outcomes the rules map to a status are considered, only for contacts whose
    status can still move, and only activities at or after the contact's latest status
    change.
    """
    moving = {outcome.value for outcome in rules.lead_status.activity_outcomes}
    relevant = [t for t in touches if t.outcome in moving]
    if not relevant:
        return AppliedStatusChanges()
    current = read_current_statuses(
        conn, (t.contact_id for t in relevant), movable_under=rules.lead_status
    )
    changes = changes_from_new_activities(
        relevant, current, rules=rules.lead_status, source=source
    )
    return apply_status_changes(conn, changes, rules=rules, run_id=run_id, now=now)
