"""Large event files: chunked reading keeps line numbers, the bulk insert keeps the
ledger append-only (SQLite executemany, PostgreSQL COPY + INSERT … ON CONFLICT)."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from models.tables import Event, Quarantine
from tasks.imports import ImportSummary, import_file
from tests.support.event_files import event_count
from tests.support.seeding import Seeder

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
EMAILS = ["hanako@acme.co.jp", "taro@globex.com", "kenji@newco.jp"]
HEADER = "event_id,email,type,detail,occurred_at\n"


def good_line(n: int) -> str:
    return f"ev-{n:05d},{EMAILS[n % 3]},page_view,pricing,2026-03-05T10:{n % 60:02d}:00+09:00\n"


def write_events(folder: Path, lines: list[str]) -> Path:
    path = folder / "events.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def run(engine: Engine, path: Path, *, chunk_rows: int) -> ImportSummary:
    return import_file(
        engine,
        kind="events",
        path=path,
        source="events.csv",
        naive_tz=TOKYO,
        now=NOW,
        chunk_rows=chunk_rows,
    )


def quarantined(engine: Engine) -> list[tuple[int, str | None, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Quarantine.row_number, Quarantine.field, Quarantine.reason).order_by(
                Quarantine.row_number, Quarantine.id
            )
        ).all()
    return [(int(r[0]), r[1], str(r[2])) for r in rows]


def test_a_bad_row_in_the_second_chunk_is_quarantined_with_its_file_line(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    lines = [good_line(n) for n in range(120)]
    # File line 90 (the header is line 1): data row 89, in the second chunk of 50.
    lines[88] = "ev-bad,taro@globex.com,page_view,pricing,2026-02-30T10:00:00+09:00\n"
    summary = run(engine, write_events(tmp_path, lines), chunk_rows=50)
    assert summary.rows == 120
    assert summary.inserted == 119
    assert summary.quarantined_rows == 1
    assert summary.rows == summary.landed + summary.quarantined_rows
    ((line, field, reason),) = quarantined(engine)
    assert (line, field) == (90, "occurred_at")
    assert reason.startswith("the date does not exist: February 2026 has 28 days, not 30")
    assert summary.reasons[0].startswith("events.csv:90 field=occurred_at")


def test_quoted_cells_multi_line_cells_and_odd_rows_keep_their_line_numbers_between_plain_blocks(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    lines = [good_line(n) for n in range(30)]
    lines[5] = 'ev-q1,taro@globex.com,email_open,"spring, 2026",2026-03-05T10:00:00+09:00\n'
    lines[10] = 'ev-q2,taro@globex.com,email_open,"two\nlines",2026-03-05T10:00:00+09:00\n'
    lines[20] = ",,,,\n"
    lines[25] = "ev-short,taro@globex.com,page_view\n"
    summary = run(engine, write_events(tmp_path, lines), chunk_rows=7)
    # 30 records over 31 physical lines (one cell spans two).
    assert summary.rows == 30
    assert summary.inserted == 28
    assert summary.rows == summary.landed + summary.quarantined_rows
    found = [(line, field) for line, field, _ in quarantined(engine)]
    # Data row 21 starts on file line 23: the quoted line break moved it down one.
    assert found == [(23, "*"), (28, "*")]
    with engine.connect() as conn:
        stored = conn.execute(
            select(Event.source_event_id, Event.detail).where(
                Event.source_event_id.in_(["ev-q1", "ev-q2"])
            )
        ).all()
    details = {str(r[0]): r[1] for r in stored}
    assert details == {"ev-q1": "spring, 2026", "ev-q2": "two\nlines"}


def test_importing_the_same_large_file_again_lands_nothing_and_counts_every_row(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    lines = [good_line(n) for n in range(250)]
    lines[10] = "ev-stranger,nobody@unknown.invalid,page_view,pricing,2026-03-05T10:00:00+09:00\n"
    lines[200] = "ev-untyped,taro@globex.com,,pricing,2026-03-05T10:00:00+09:00\n"
    path = write_events(tmp_path, lines)
    first = run(engine, path, chunk_rows=100)
    stored = event_count(engine)
    again = run(engine, path, chunk_rows=100)
    assert (first.inserted, first.quarantined_rows) == (248, 2)
    assert (again.inserted, again.unchanged, again.quarantined_rows) == (0, 248, 2)
    assert again.rows == again.landed + again.quarantined_rows == 250
    assert stored == event_count(engine) == 248


def test_event_text_with_tabs_backslashes_and_line_breaks_lands_as_written(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    seed.contacts(emails=EMAILS)
    detail = "a\\b\tc\r\nd"
    escaped = '"' + detail + '"'
    lines = [f"ev-1,taro@globex.com,email_open,{escaped},2026-03-05T10:00:00.1234567+09:00\n"]
    summary = run(engine, write_events(tmp_path, lines), chunk_rows=10)
    assert summary.inserted == 1
    with engine.connect() as conn:
        row = conn.execute(select(Event.detail, Event.occurred_at)).one()
    assert row.detail == detail
    assert row.occurred_at == datetime(2026, 3, 5, 1, 0, 0, 123456, tzinfo=UTC)
