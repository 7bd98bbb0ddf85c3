"""Naive timestamps in files are business time (Asia/Tokyo); stored instants are UTC."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from models.tables import Activity, Contact, Deal, Event
from tasks.imports import import_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)


def test_naive_timestamps_are_read_in_asia_tokyo_and_stored_as_utc(engine: Engine) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    for kind, name in [
        ("contacts", "contacts.csv"),
        ("events", "events.csv"),
        ("activities", "activities.csv"),
        ("deals", "deals.csv"),
    ]:
        import_file(engine, kind=kind, path=FIXTURES / name, naive_tz=tokyo, now=NOW)  # type: ignore[arg-type]
    with engine.connect() as conn:
        events = dict(conn.execute(select(Event.source_event_id, Event.occurred_at)).all())
        ingested = set(conn.execute(select(Event.ingested_at)).scalars())
        created = dict(conn.execute(select(Contact.email, Contact.created_at)).all())
        deals = {r.source_deal_id: r for r in conn.execute(select(Deal)).all()}
        activity = conn.execute(
            select(Activity.occurred_at).where(Activity.source_activity_id == "act-1")
        ).scalar_one()

    assert events["ev-1"] == datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # 10:00 JST
    assert events["ev-2"] == datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # given in UTC
    assert events["ev-3"] == datetime(2026, 3, 6, 3, 30, tzinfo=UTC)  # +09:00 kept
    assert ingested == {NOW}
    assert created["hanako@acme.co.jp"] == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert created["kenji@newco.jp"] == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a date
    assert created["taro@gmail.com"] == NOW  # no created_at: the import's time
    assert deals["deal-2"].closed_at == datetime(2026, 3, 19, 15, 0, tzinfo=UTC)
    assert activity == datetime(2026, 3, 6, 1, 0, tzinfo=UTC)


def test_another_business_time_zone_reads_the_same_file_differently(engine: Engine) -> None:
    import_file(engine, kind="contacts", path=FIXTURES / "contacts.csv", naive_tz=UTC, now=NOW)
    with engine.connect() as conn:
        created = conn.execute(
            select(Contact.created_at).where(Contact.email == "hanako@acme.co.jp")
        ).scalar_one()
    assert created == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
