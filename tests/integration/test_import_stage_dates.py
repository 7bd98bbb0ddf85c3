"""`became_<stage>_at` columns (and HubSpot's "Became a … Date" labels) date the stage
history of imported contacts, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from models.tables import Contact, Quarantine, StageHistory
from tasks.imports import ImportSummary, import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)  # Friday 12:00 JST
PLAIN = FIXTURES / "contacts_stage_dates.csv"
HUBSPOT = FIXTURES / "hubspot_contacts_stage_dates.csv"
BAD = FIXTURES / "contacts_stage_dates_bad.csv"


def run(engine: Engine, path: Path, *, now: datetime = NOW) -> ImportSummary:
    return import_file(
        engine, kind="contacts", path=path, source=path.name, naive_tz=TOKYO, now=now
    )


def write(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def history(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """email → [(from_stage, to_stage, at), …] in time order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Contact.email, StageHistory.from_stage, StageHistory.to_stage, StageHistory.at)
            .join(Contact, Contact.id == StageHistory.contact_id)
            .order_by(Contact.email, StageHistory.at)
        ).all()
    out: dict[str, list[tuple[Any, ...]]] = {}
    for email, from_stage, to_stage, at in rows:
        out.setdefault(email, []).append((from_stage, to_stage, at))
    return out


def all_history_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(StageHistory).order_by(StageHistory.id))]


def test_a_became_mql_at_column_dates_the_contacts_entry_into_mql(engine: Engine) -> None:
    summary = run(engine, PLAIN)

    assert (summary.rows, summary.inserted, summary.quarantined_rows) == (3, 3, 0)
    assert summary.stage_moves == 4
    assert summary.notes["stage-history rows dated from the file"] == 4
    rows = history(engine)
    # 2026-04-28 10:00 without an offset is business time (JST).
    assert rows["mika@acme.co.jp"] == [(None, "mql", datetime(2026, 4, 28, 1, 0, tzinfo=UTC))]
    assert rows["ryo@acme.co.jp"] == [
        (None, "lead", datetime(2026, 3, 31, 15, 0, tzinfo=UTC)),
        ("lead", "mql", datetime(2026, 4, 20, 1, 0, tzinfo=UTC)),
        ("mql", "sql", datetime(2026, 4, 27, 1, 30, tzinfo=UTC)),
    ]
    assert "sora@newco.jp" not in rows  # no dates: nothing invented, as before
    with engine.connect() as conn:
        move = conn.execute(select(StageHistory).where(StageHistory.to_stage == "mql")).first()
    assert move is not None
    assert (move.rule, move.kind) == ("import", "import")
    assert move.reason == "imported from contacts_stage_dates.csv (became_mql_at)"


def test_hubspot_became_date_labels_write_one_row_per_dated_stage_in_time_order(
    engine: Engine,
) -> None:
    summary = run(engine, HUBSPOT)

    assert summary.hubspot
    assert (summary.rows, summary.inserted, summary.quarantined_rows) == (4, 4, 0)
    rows = history(engine)
    assert rows["hanako@acme.co.jp"] == [
        (None, "lead", datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
        ("lead", "mql", datetime(2026, 4, 28, 1, 0, tzinfo=UTC)),
    ]
    # No "Became an Opportunity Date": the opportunity stage is not invented.
    assert rows["emily@globex.com"] == [
        (None, "lead", datetime(2025, 10, 1, 0, 0, tzinfo=UTC)),
        ("lead", "mql", datetime(2025, 11, 4, 1, 0, tzinfo=UTC)),
        ("mql", "sql", datetime(2025, 11, 20, 1, 0, tzinfo=UTC)),
        ("sql", "customer", datetime(2026, 2, 27, 8, 30, tzinfo=UTC)),
    ]
    assert rows["ken@sakura-soft.jp"] == [
        (None, "lead", datetime(2026, 2, 1, 0, 0, tzinfo=UTC)),
        ("lead", "other", datetime(2026, 2, 10, 2, 0, tzinfo=UTC)),
    ]
    with engine.connect() as conn:
        reason = conn.execute(
            select(StageHistory.reason).where(StageHistory.to_stage == "customer")
        ).scalar_one()
    assert reason == "imported from hubspot_contacts_stage_dates.csv (Became a Customer Date)"


def test_reimporting_the_same_files_adds_no_stage_history(engine: Engine) -> None:
    run(engine, PLAIN)
    run(engine, HUBSPOT)
    before = all_history_rows(engine)

    later = NOW + timedelta(days=1)
    again = [run(engine, PLAIN, now=later), run(engine, HUBSPOT, now=later)]

    assert [s.stage_moves for s in again] == [0, 0]
    assert all(not s.notes for s in again)
    assert all_history_rows(engine) == before


def test_a_corrected_date_for_a_recorded_stage_keeps_the_recorded_row_and_says_so(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, PLAIN)
    before = all_history_rows(engine)
    corrected = write(tmp_path, PLAIN.read_text().replace("2026-04-28 10:00", "2026-04-28 11:15"))

    summary = run(engine, corrected, now=NOW + timedelta(hours=1))

    assert summary.stage_moves == 0
    assert summary.notes == {
        "became_mql_at not used: the contact's stage history already covers it "
        "(kept as recorded)": 1
    }
    assert all_history_rows(engine) == before


def test_a_known_contact_without_history_moving_forward_gets_its_moves_dated(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, FIXTURES / "contacts.csv")  # hanako: lead, no stage history yet
    moved = write(
        tmp_path,
        "email,lifecycle_stage,became_mql_at,became_sql_at\n"
        "hanako@acme.co.jp,sql,2026-04-20 10:00,2026-04-24 15:00\n",
    )

    summary = run(engine, moved, now=NOW + timedelta(hours=1))

    assert (summary.updated, summary.stage_moves) == (1, 2)
    assert history(engine)["hanako@acme.co.jp"] == [
        ("lead", "mql", datetime(2026, 4, 20, 1, 0, tzinfo=UTC)),
        ("mql", "sql", datetime(2026, 4, 24, 6, 0, tzinfo=UTC)),
    ]


def test_a_contact_with_history_gets_only_the_dated_moves_after_it(
    engine: Engine, tmp_path: Path
) -> None:
    first = write(tmp_path, "email,lifecycle_stage,became_mql_at\nmika@acme.co.jp,mql,2026-04-10\n")
    run(engine, first)
    later = write(
        tmp_path,
        "email,lifecycle_stage,became_mql_at,became_sql_at\n"
        "mika@acme.co.jp,sql,2026-04-12 09:00,2026-04-20 09:00\n",
        name="later.csv",
    )

    summary = run(engine, later, now=NOW + timedelta(hours=1))

    assert summary.stage_moves == 1
    assert history(engine)["mika@acme.co.jp"] == [
        (None, "mql", datetime(2026, 4, 9, 15, 0, tzinfo=UTC)),
        ("mql", "sql", datetime(2026, 4, 20, 0, 0, tzinfo=UTC)),
    ]
    assert list(summary.notes) == [
        "became_mql_at not used: the contact's stage history already covers it (kept as recorded)",
        "stage-history rows dated from the file",
    ]


def test_a_move_dated_before_the_recorded_history_is_stamped_with_the_import_time(
    engine: Engine, tmp_path: Path
) -> None:
    run(
        engine,
        write(tmp_path, "email,lifecycle_stage,became_mql_at\nmika@acme.co.jp,mql,2026-04-10\n"),
    )
    stale = write(
        tmp_path,
        "email,lifecycle_stage,became_sql_at\nmika@acme.co.jp,sql,2026-04-01\n",
        name="stale.csv",
    )
    later = NOW + timedelta(hours=1)

    summary = run(engine, stale, now=later)

    assert summary.stage_moves == 1
    assert history(engine)["mika@acme.co.jp"][-1] == ("mql", "sql", later)


def test_lost_renurture_and_other_have_became_columns_of_their_own(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "email,lifecycle_stage,became_opportunity_at,became_lost_renurture_at,became_other_at\n"
        "lost@acme.co.jp,lost_renurture,2026-03-02 10:00,2026-04-02 10:00,\n"
        "competitor@rival.co.jp,other,,,2026-04-03 10:00\n",
    )

    run(engine, path)

    rows = history(engine)
    assert rows["lost@acme.co.jp"] == [
        (None, "opportunity", datetime(2026, 3, 2, 1, 0, tzinfo=UTC)),
        ("opportunity", "lost_renurture", datetime(2026, 4, 2, 1, 0, tzinfo=UTC)),
    ]
    assert rows["competitor@rival.co.jp"] == [
        (None, "other", datetime(2026, 4, 3, 1, 0, tzinfo=UTC))
    ]


def test_bad_future_and_out_of_order_dates_are_quarantined_naming_the_field(
    engine: Engine,
) -> None:
    summary = run(engine, BAD)

    assert (summary.rows, summary.landed, summary.quarantined_rows) == (4, 1, 3)
    with engine.connect() as conn:
        records = conn.execute(
            select(Quarantine.row_number, Quarantine.field, Quarantine.value, Quarantine.reason)
            .where(Quarantine.source == BAD.name)
            .order_by(Quarantine.row_number)
        ).all()
        emails = set(conn.execute(select(Contact.email)).scalars())
    assert [tuple(r[:3]) for r in records] == [
        (2, "became_mql_at", "2026-04-31 10:00"),
        (3, "became_mql_at", "2026-05-01 12:30"),
        (4, "became_sql_at", "2026-04-10 10:00"),
    ]
    assert records[0].reason.startswith("the date does not exist: April 2026 has 30 days, not 31")
    assert records[1].reason == (
        "in the future: after the time of the import (2026-05-01T03:00:00+00:00)"
    )
    assert records[2].reason.startswith("out of order: before became_mql_at (2026-04-20 10:00)")
    assert emails == {"good@acme.co.jp"}
    assert list(history(engine)) == ["good@acme.co.jp"]


def test_a_bad_hubspot_date_is_quarantined_under_its_hubspot_label(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Record ID,Email,Lifecycle Stage,Became a Marketing Qualified Lead Date,"
        "Became a Sales Qualified Lead Date\n"
        "301,a@acme.co.jp,salesqualifiedlead,2026-04-20 10:00,2026-04-10 10:00\n"
        "302,b@acme.co.jp,marketingqualifiedlead,yesterday,\n",
    )

    summary = run(engine, path)

    assert (summary.rows, summary.quarantined_rows) == (2, 2)
    with engine.connect() as conn:
        fields = (
            conn.execute(select(Quarantine.field).order_by(Quarantine.row_number)).scalars().all()
        )
    assert fields == [
        "Became a Sales Qualified Lead Date",
        "Became a Marketing Qualified Lead Date",
    ]
