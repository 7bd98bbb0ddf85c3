from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import load_rules
from models.tables import Contact, StageHistory
from tasks.imports import import_file
from tasks.promotion.hour import promote_hour
from tests.support.seeding import Seeder

pytestmark = pytest.mark.usefixtures("prefect_harness")
RULES = load_rules(DEFAULT_RULES_PATH)
NOW = datetime(2026, 11, 20, 3, 25, tzinfo=UTC)


def test_scratch(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    w = Seeder(engine, created_at=NOW - timedelta(days=10))
    w.owner(email="is1@example.jp")
    p = tmp_path / "c.csv"
    p.write_text("email,lifecycle_stage,became_mql_at\nx@a.example,mql,2026-11-20T03:10:00Z\ny@b.example,mql,\n")
    s = import_file(engine, kind="contacts", path=p, source="c.csv", naive_tz=ZoneInfo("Asia/Tokyo"), now=NOW)
    print(s)
    with engine.connect() as conn:
        print(conn.execute(select(StageHistory)).all())
    o = promote_hour(settings=settings, rules=RULES, as_of=NOW.replace(minute=0))
    print(o.summary())
    with engine.connect() as conn:
        print(conn.execute(select(Contact.owner_id, Contact.lifecycle_stage)).all())
    o = promote_hour(settings=settings, rules=RULES, as_of=NOW.replace(minute=0) + timedelta(hours=1))
    print(o.summary())
    with engine.connect() as conn:
        print(conn.execute(select(Contact.owner_id)).all())
