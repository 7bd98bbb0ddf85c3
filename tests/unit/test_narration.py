"""The cycle's log lines read as sentences an operator understands."""

from zoneinfo import ZoneInfo

from tasks.narration import (
    nurture_sentence,
    promotion_sentence,
    recycling_sentence,
    scoring_sentence,
    sla_sentence,
    when,
)

TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = "2026-12-01T14:00:00+00:00"


def test_an_hour_is_shown_in_business_time_with_its_zone() -> None:
    assert when(HOUR, TOKYO) == "2026-12-01 23:00 JST"


def test_scoring_says_how_many_leads_were_rescored_and_how_many_scores_changed() -> None:
    line = scoring_sentence(
        {"as_of": HOUR, "scored": 12, "candidates": 40, "reason": "incremental",
         "snapshots_written": 5, "quarantined": 0},
        TOKYO,
    )
    assert line == ("Scoring at 2026-12-01 23:00 JST: 12 leads re-scored of 40 with new "
                    "activity (incremental); 5 score changes saved")


def test_a_full_scoring_run_says_every_lead_was_rescored_not_that_they_had_new_activity() -> None:
    line = scoring_sentence(
        {"as_of": HOUR, "full": True, "scored": 200, "candidates": 200,
         "reason": "no run of an earlier hour", "snapshots_written": 0, "quarantined": 0},
        TOKYO,
    )
    assert line == ("Scoring at 2026-12-01 23:00 JST: 200 leads re-scored, every one (no run "
                    "of an earlier hour); 0 score changes saved")


def test_promotion_names_the_stages_owners_and_hand_offs_without_raw_dicts() -> None:
    line = promotion_sentence(
        {"as_of": HOUR, "decided": {"mql": 2, "sql": 1, "hot": 1, "assigned": 3,
                                    "unassigned": 0, "awaiting_owner": 0},
         "promoted": {"mql": 2, "sql": 1}, "assigned": 3, "messages_sent": 3,
         "messages_pending": 0, "emails_sent": 2, "emails_pending": 1, "quarantined": 0},
        TOKYO,
    )
    assert "{" not in line
    assert "3 leads promoted (mql 2, sql 1)" in line
    assert "3 owners assigned" in line
    assert "3 Slack messages sent" in line
    assert "2 hand-off emails sent, 1 waiting to be sent" in line


def test_a_dry_run_says_so_and_counts_what_would_happen() -> None:
    line = promotion_sentence(
        {"as_of": HOUR, "dry_run": True, "decided": {"mql": 1}, "promoted": {}},
        TOKYO,
    )
    assert "1 lead promoted (mql 1)" in line
    assert line.endswith("(dry run: nothing written or sent)")


def test_a_rerun_of_a_decided_hour_says_nothing_was_written_or_sent() -> None:
    line = sla_sentence(
        {"as_of": HOUR, "superseded_by": "2026-12-01T15:00:00+00:00"}, TOKYO
    )
    assert line == ("SLA at 2026-12-01 23:00 JST: already decided (the latest applied hour "
                    "is 2026-12-02 00:00 JST), so nothing was written or sent")


def test_sla_recycling_and_nurture_sentences_count_what_happened() -> None:
    sla = sla_sentence(
        {"as_of": HOUR, "clocks_opened": {"first_touch": 2, "sql_decision": 1},
         "clocks_satisfied": {"first_touch": 1}, "clocks_breached": {"first_touch": 1},
         "escalations": {"1": 1}, "reassigned": 0, "slack_decided": 1, "emails_decided": 1,
         "slack_sent": 1, "email_sent": 1},
        TOKYO,
    )
    assert "3 clocks started; 1 met; 1 breached; 1 escalation by level (1 1)" in sla
    assert "1 Slack message sent; 1 email sent to sales" in sla
    recycling = recycling_sentence(
        {"as_of": HOUR, "recycled": {"unreachable": 2}, "disqualified": 1}, TOKYO
    )
    assert "2 leads recycled to marketing (unreachable 2); 1 disqualified" in recycling
    nurture = nurture_sentence(
        {"as_of": HOUR, "decided": {"enrolled": 4, "emails": 3, "held": 1},
         "dispatch": {"sent": 3, "retried": 0}, "transport": "smtp"},
        TOKYO,
    )
    assert nurture.startswith("Nurture at 2026-12-01 23:00 JST: 4 leads enrolled; 3 emails "
                              "due; 3 sent via smtp; 1 held back")


def test_rows_set_aside_as_invalid_are_mentioned() -> None:
    line = scoring_sentence({"as_of": HOUR, "quarantined": 2}, TOKYO)
    assert line.endswith("2 rows set aside as invalid (see the run artifact)")
