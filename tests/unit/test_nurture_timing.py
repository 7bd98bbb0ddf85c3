"""Send-time arithmetic: the window in the contact's time zone, holidays and the cap."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models.nurture_rules import FrequencyCap, SendWindow
from tasks.nurture.timing import cap_frees_at, next_allowed_send, next_send_slot

TOKYO = ZoneInfo("Asia/Tokyo")
WINDOW = SendWindow()


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def test_a_send_at_23_00_waits_for_9_00_the_next_business_morning() -> None:
    slot = next_send_slot(jst(2026, 12, 1, 23, 0), zone=TOKYO, window=WINDOW)
    assert slot == jst(2026, 12, 2, 9, 0)
    assert slot.tzinfo == UTC


def test_a_send_inside_the_window_goes_now() -> None:
    assert next_send_slot(jst(2026, 12, 1, 17, 59), zone=TOKYO, window=WINDOW) == jst(
        2026, 12, 1, 17, 59
    )


def test_a_send_at_18_00_is_already_outside_the_window() -> None:
    assert next_send_slot(jst(2026, 12, 1, 18, 0), zone=TOKYO, window=WINDOW) == jst(
        2026, 12, 2, 9, 0
    )


def test_a_friday_evening_send_waits_for_monday() -> None:
    assert next_send_slot(jst(2026, 12, 4, 19, 0), zone=TOKYO, window=WINDOW) == jst(
        2026, 12, 7, 9, 0
    )


def test_japanese_public_holidays_are_skipped() -> None:
    # 2026-11-23 (Mon) is Labour Thanksgiving Day.
    assert next_send_slot(jst(2026, 11, 23, 10, 0), zone=TOKYO, window=WINDOW) == jst(
        2026, 11, 24, 9, 0
    )


def test_golden_week_holidays_are_skipped_in_a_row() -> None:
    # 2027-05-03..05 are holidays (Mon-Wed); Thursday 6 May is the first business day.
    assert next_send_slot(jst(2027, 5, 3, 8, 0), zone=TOKYO, window=WINDOW) == jst(2027, 5, 6, 9, 0)


def test_the_window_follows_the_contacts_own_time_zone() -> None:
    london = ZoneInfo("Europe/London")
    slot = next_send_slot(jst(2026, 12, 1, 10, 0), zone=london, window=WINDOW)
    assert slot == datetime(2026, 12, 1, 9, 0, tzinfo=london)


def test_holidays_can_be_switched_off() -> None:
    window = SendWindow(skip_public_holidays=False)
    assert next_send_slot(jst(2026, 11, 23, 10, 0), zone=TOKYO, window=window) == jst(
        2026, 11, 23, 10, 0
    )


def test_the_cap_allows_up_to_max_emails_in_the_rolling_window() -> None:
    cap = FrequencyCap(max_emails=3, days=7)
    now = jst(2026, 12, 10, 10, 0)
    two = [now - timedelta(days=1), now - timedelta(days=2)]
    assert cap_frees_at(two, at=now, cap=cap) is None
    three = [*two, now - timedelta(days=6)]
    assert cap_frees_at(three, at=now, cap=cap) == now + timedelta(days=1)


def test_emails_older_than_the_rolling_window_do_not_count() -> None:
    cap = FrequencyCap(max_emails=1, days=7)
    now = jst(2026, 12, 10, 10, 0)
    assert cap_frees_at([now - timedelta(days=7)], at=now, cap=cap) is None


def test_a_capped_email_waits_for_the_cap_and_then_for_the_window() -> None:
    cap = FrequencyCap(max_emails=1, days=7)
    sent = [jst(2026, 12, 3, 17, 30)]  # Thursday
    slot = next_allowed_send(
        at=jst(2026, 12, 8, 10, 0), sent=sent, zone=TOKYO, window=WINDOW, cap=cap
    )
    # Frees Thursday 10th 17:30, still inside the window.
    assert slot == jst(2026, 12, 10, 17, 30)
    sent = [jst(2026, 12, 4, 17, 30)]  # Friday: frees Friday 11th 17:30
    slot = next_allowed_send(
        at=jst(2026, 12, 8, 10, 0), sent=sent, zone=TOKYO, window=WINDOW, cap=cap
    )
    assert slot == jst(2026, 12, 11, 17, 30)
