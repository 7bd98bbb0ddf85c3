"""Events CSV files for import tests: many well-formed rows for a few known contacts."""

from pathlib import Path

from sqlalchemy import Engine, Table, func, select

from models.tables import Event

EMAILS = ["hanako@acme.co.jp", "taro@globex.com", "kenji@newco.jp"]
EVENTS: Table = Event.__table__  # type: ignore[assignment]


def write_events(folder: Path, first: int, count: int) -> Path:
    """`events-<first>.csv` in `folder`: `count` page views with ids from `first` on,
    spread over the contacts of EMAILS (seed those first)."""
    path = folder / f"events-{first}.csv"
    lines = [
        f"ev-{n:06d},{EMAILS[n % 3]},page_view,pricing,2026-03-05T10:{n % 60:02d}:00+09:00\n"
        for n in range(first, first + count)
    ]
    path.write_text("event_id,email,type,detail,occurred_at\n" + "".join(lines), encoding="utf-8")
    return path


def event_count(engine: Engine) -> int:
    """How many rows the events table holds."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Event)).scalar_one())
