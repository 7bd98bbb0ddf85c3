"""A malformed file: each bad row is quarantined with file, row, field and reason; good
rows still land."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from models.tables import Event, Quarantine
from tasks.imports import ImportKind, ImportSummary, import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)


def run(engine: Engine, kind: ImportKind, path: Path, **options: object) -> ImportSummary:
    return import_file(
        engine,
        kind=kind,
        path=path,
        naive_tz=TOKYO,
        now=NOW,
        max_bad_row_share=0.2,
        **options,  # type: ignore[arg-type]
    )


def seed_contacts(engine: Engine) -> None:
    run(engine, "contacts", FIXTURES / "contacts.csv")


def test_each_bad_row_is_quarantined_with_file_row_field_and_reason(engine: Engine) -> None:
    seed_contacts(engine)
    path = FIXTURES / "events_malformed.csv"
    summary = run(engine, "events", path)

    with engine.connect() as conn:
        quarantined = conn.execute(
            select(
                Quarantine.source,
                Quarantine.row_number,
                Quarantine.field,
                Quarantine.value,
                Quarantine.reason,
            ).order_by(Quarantine.row_number)
        ).all()
        landed = conn.execute(select(Event.source_event_id).order_by(Event.id)).scalars().all()

    assert {row.source for row in quarantined} == {str(path)}
    assert [(r.row_number, r.field, r.value) for r in quarantined] == [
        (3, "type", "page_visit"),
        (4, "email", "not-an-email"),
        (5, "occurred_at", "yesterday"),
        (6, "email", "nobody@unknown.jp"),
        (7, "event_id", None),
        (8, "detail", "brochure"),
        (9, "*", "ev-17,hanako@acme.co.jp,email_open,mail-3,2026-03-05 16:00,extra"),
    ]
    reasons = {r.row_number: r.reason for r in quarantined}
    assert reasons[3].startswith("must be one of page_view, email_open")
    assert reasons[5].startswith("not an ISO 8601 timestamp")
    assert reasons[6] == "no contact with this email"
    assert reasons[7] == "is required"
    assert reasons[9] == "has 6 fields, the header has 5"

    assert landed == ["ev-10", "ev-18", "ev-19"]
    assert (summary.rows, summary.inserted, summary.quarantined_rows) == (10, 3, 7)
    assert summary.too_many_bad_rows
    assert summary.reasons[0] == (
        f"{path}:3 field=type must be one of page_view, email_open, email_click, form_submit, "
        "webinar_attended, trade_show_visit"
    )


def test_a_file_under_the_bad_row_limit_passes(engine: Engine, tmp_path: Path) -> None:
    seed_contacts(engine)
    path = tmp_path / "events.csv"
    good = "".join(
        f"ok-{i},hanako@acme.co.jp,email_open,mail-{i},2026-03-05 10:00\n" for i in range(9)
    )
    path.write_text(
        "event_id,email,type,detail,occurred_at\n"
        + good
        + "bad,hanako@acme.co.jp,email_open,mail-x,not a time\n"
    )
    summary = run(engine, "events", path)
    assert (summary.inserted, summary.quarantined_rows) == (9, 1)
    assert not summary.too_many_bad_rows


def test_line_numbers_stay_right_when_a_big_file_is_read_in_chunks(
    engine: Engine, tmp_path: Path
) -> None:
    seed_contacts(engine)
    lines = ["event_id,email,type,detail,occurred_at"]
    for i in range(2, 40):
        email = "ghost@x.jp" if i % 10 == 0 else "kenji@newco.jp"
        lines.append(f"e{i},{email},email_open,m{i},2026-03-05 10:00")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    summary = run(engine, "events", path, chunk_rows=7)
    with engine.connect() as conn:
        rows = conn.execute(select(Quarantine.row_number).order_by(Quarantine.row_number))
        assert rows.scalars().all() == [10, 20, 30]
    assert (summary.rows, summary.inserted, summary.quarantined_rows) == (38, 35, 3)


def test_a_dry_run_counts_but_writes_nothing(engine: Engine) -> None:
    seed_contacts(engine)
    summary = run(engine, "events", FIXTURES / "events.csv", dry_run=True)
    assert summary.inserted == 5
    with engine.connect() as conn:
        assert conn.execute(select(Event.id)).first() is None
