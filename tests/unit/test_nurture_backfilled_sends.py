"""A live backfill sends a past hour's email now, after the hour it was decided for.

The later past hours of that backfill must still see the email as what it was at their
hour: queued, and so counted against the frequency cap from the hour it was queued,
exactly as a simulation of the same hours (where it is still pending then) counts it.
"""

from datetime import timedelta

from tests.unit.test_nurture_decide import AS_OF, contact, decide, enrollment, frames, sent

# Today, from the point of view of a backfilled AS_OF: when the backfill really sent it.
REAL_NOW = AS_OF + timedelta(days=20)


def test_an_email_a_backfill_sent_after_the_hour_still_counts_against_the_frequency_cap() -> None:
    key = "new_lead:1:20261128T000000Z"
    other = "webinar:1:20261201T000000Z"
    sends = [
        sent(other, "webinar_1", AS_OF - timedelta(days=6, hours=1)),
        sent(other, "webinar_2", AS_OF - timedelta(days=5)),
        {**sent(other, "webinar_3", AS_OF - timedelta(days=2)), "sent_at": REAL_NOW},
    ]
    data = frames(contacts=[contact()], enrollments=[enrollment(key, "email_2")], sends=sends)

    decisions = decide(data)

    assert decisions.emails == []
    [state] = decisions.enrollments
    assert state.next_step_at == AS_OF + timedelta(days=1) - timedelta(hours=1)
    assert "frequency cap" in str(decisions.history[-1].detail)


def test_the_same_email_still_pending_at_the_hour_is_counted_the_same_way() -> None:
    key = "new_lead:1:20261128T000000Z"
    other = "webinar:1:20261201T000000Z"
    sends = [
        sent(other, "webinar_1", AS_OF - timedelta(days=6, hours=1)),
        sent(other, "webinar_2", AS_OF - timedelta(days=5)),
        sent(other, "webinar_3", AS_OF - timedelta(days=2), status="pending"),
    ]
    pending = frames(contacts=[contact()], enrollments=[enrollment(key, "email_2")], sends=sends)
    backfilled = frames(
        contacts=[contact()], enrollments=[enrollment(key, "email_2")],
        sends=[*sends[:2], {**sends[2], "status": "sent", "sent_at": REAL_NOW}],
    )

    assert decide(backfilled) == decide(pending)
