"""A large import reports its progress after every chunk, against the file's line count."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from tasks.imports import import_file
from tests.support.seeding import Seeder

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_an_event_file_reports_rows_read_after_each_chunk_out_of_its_lines(
    engine: Engine, tmp_path: Path
) -> None:
    Seeder(engine).contact(email="a@example.com")
    path = tmp_path / "events.csv"
    rows = [f"e{i},a@example.com,page_view,pricing,2026-11-01T0{i % 10}:00" for i in range(7)]
    path.write_text("event_id,email,type,detail,occurred_at\n" + "\n".join(rows) + "\n")
    heard: list[tuple[int, int | None]] = []

    summary = import_file(
        engine, kind="events", path=path, naive_tz=ZoneInfo("Asia/Tokyo"), now=NOW,
        chunk_rows=3, on_progress=lambda done, total: heard.append((done, total)),
    )

    assert heard == [(3, 7), (6, 7), (7, 7)]
    assert summary.inserted == 7
