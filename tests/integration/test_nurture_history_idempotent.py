"""Applying the same nurture decisions twice (two runs at once) writes history once."""

from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select

from models.tables import Contact, NurtureHistory
from tasks.nurture.apply import apply_nurture
from tasks.nurture.decide import EnrollmentState, HistoryEntry, NurtureDecisions

AS_OF = datetime(2026, 11, 17, 2, tzinfo=UTC)


def decisions_for(contact_id: int) -> NurtureDecisions:
    key = f"new_lead:{contact_id}:20261117T020000Z"
    return NurtureDecisions(
        as_of=AS_OF,
        enrollments=[
            EnrollmentState(
                enrollment_key=key, contact_id=contact_id, program="new_lead", step="email_1",
                status="active", entered_at=AS_OF, next_step_at=AS_OF, last_sent_at=None,
                exit_reason=None, is_new=True,
            )
        ],
        history=[
            HistoryEntry(enrollment_key=key, contact_id=contact_id, at=AS_OF, action="entered",
                         step=None),
            HistoryEntry(enrollment_key=key, contact_id=contact_id, at=AS_OF, action="held",
                         step="email_1", detail="outside the send window"),
        ],
    )


def test_two_runs_applying_the_same_enrollment_write_each_history_row_once(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        contact_id = conn.execute(
            insert(Contact).values(email="a@example.com", created_at=AS_OF, updated_at=AS_OF)
        ).inserted_primary_key[0]  # type: ignore[index]
    for run_id in ("run-a", "run-b"):
        with engine.begin() as conn:
            apply_nurture(conn, decisions_for(contact_id), run_id=run_id, now=AS_OF)
    with engine.connect() as conn:
        rows = conn.execute(
            select(NurtureHistory.action, func.count()).group_by(NurtureHistory.action)
        ).all()
    assert dict(rows) == {"entered": 1, "held": 1}
