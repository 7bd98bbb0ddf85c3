"""A HubSpot "all contacts" export lands as it is: labels, stages, statuses and owners."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from models.tables import Company, Contact, Owner, Quarantine, StageHistory
from tasks.imports import ImportKind, ImportSummary, import_file, parse_stage_map

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 5, 1, 3, 0, tzinfo=UTC)
HUBSPOT = FIXTURES / "hubspot_contacts.csv"


def run(
    engine: Engine,
    kind: ImportKind,
    path: Path,
    *,
    now: datetime = NOW,
    stage_map: list[str] | None = None,
) -> ImportSummary:
    return import_file(
        engine,
        kind=kind,
        path=path,
        naive_tz=TOKYO,
        now=now,
        stage_map=parse_stage_map(stage_map or []),
        max_bad_row_share=0.2,
    )


def contacts(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(Contact)).all()
    return {row.email: row for row in rows}


def test_the_export_lands_with_japanese_names_and_reports_the_custom_stage(
    engine: Engine,
) -> None:
    run(engine, "owners", FIXTURES / "owners.csv")
    summary = run(engine, "contacts", HUBSPOT)

    assert summary.hubspot
    assert (summary.rows, summary.inserted, summary.quarantined_rows) == (5, 4, 1)
    assert summary.unknown_stages == {"トライアル中": 1}
    assert summary.notes == {"owner '木村 拓也' not found: kept without an owner": 1}
    report = "\n".join(summary.lines())
    assert "unknown lifecycle stage 'トライアル中'" in report
    assert "--stage-map 'トライアル中=<stage>'" in report

    stored = contacts(engine)
    hanako = stored["hanako@acme.co.jp"]
    assert (hanako.last_name, hanako.first_name, hanako.job_title) == ("高橋", "花子", "営業部長")
    assert (hanako.hubspot_id, hanako.lifecycle_stage, hanako.lead_status) == (
        "101",
        "mql",
        "connected",
    )
    assert hanako.created_at == datetime(2026, 2, 1, 0, 30, tzinfo=UTC)
    with engine.connect() as conn:
        owners = dict(conn.execute(select(Owner.email, Owner.id)).all())
        domains = dict(conn.execute(select(Company.id, Company.domain)).all())
        names = dict(conn.execute(select(Company.domain, Company.name)).all())
        (reason,) = conn.execute(select(Quarantine.reason)).scalars().all()
    assert hanako.owner_id == owners["yamada@example.co.jp"]
    assert stored["ichiro.sasaki@hikari-denki.co.jp"].owner_id == owners["suzuki@example.co.jp"]
    assert stored["ken.kobayashi@hikari-denki.co.jp"].owner_id is None
    assert stored["ken.kobayashi@hikari-denki.co.jp"].lifecycle_stage == "sql"
    assert stored["emily@globex.com"].lifecycle_stage == "customer"
    assert domains[stored["ichiro.sasaki@hikari-denki.co.jp"].company_id] == "hikari-denki.co.jp"
    assert names["hikari-denki.co.jp"] == "ひかり電機株式会社"
    assert "misaki@sakura-soft.jp" not in stored
    assert reason.startswith("unknown lifecycle stage 'トライアル中': map it with --stage-map")


def test_a_stage_map_lands_the_custom_stage_row(engine: Engine) -> None:
    run(engine, "owners", FIXTURES / "owners.csv")
    summary = run(engine, "contacts", HUBSPOT, stage_map=["トライアル中=lead"])
    assert (summary.inserted, summary.quarantined_rows) == (5, 0)
    misaki = contacts(engine)["misaki@sakura-soft.jp"]
    assert misaki.lifecycle_stage == "lead"
    with engine.connect() as conn:
        sato = conn.execute(select(Owner.id).where(Owner.email == "sato@example.co.jp"))
        assert misaki.owner_id == sato.scalar_one()


def test_updated_at_moves_only_for_the_contact_whose_scoring_attribute_changed(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, "contacts", HUBSPOT, stage_map=["トライアル中=lead"])
    text = HUBSPOT.read_text(encoding="utf-8-sig")
    edited = tmp_path / "hubspot_contacts.csv"
    edited.write_text(
        text.replace("営業部長", "執行役員").replace("Attempted to contact", "Connected"),
        encoding="utf-8",
    )
    later = NOW + timedelta(days=1)
    summary = run(engine, "contacts", edited, now=later, stage_map=["トライアル中=lead"])
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 2, 3)
    stored = contacts(engine)
    assert stored["hanako@acme.co.jp"].job_title == "執行役員"
    assert stored["hanako@acme.co.jp"].updated_at == later
    # A lead status is not a scoring attribute: the row changes, the watermark does not.
    assert stored["ken.kobayashi@hikari-denki.co.jp"].lead_status == "connected"
    assert stored["ken.kobayashi@hikari-denki.co.jp"].updated_at == NOW
    assert stored["emily@globex.com"].updated_at == NOW


def test_a_stage_ahead_of_ours_moves_the_contact_forward_and_records_it(
    engine: Engine,
) -> None:
    run(engine, "contacts", FIXTURES / "contacts.csv")
    assert contacts(engine)["hanako@acme.co.jp"].lifecycle_stage == "lead"
    summary = run(engine, "contacts", HUBSPOT, now=NOW + timedelta(hours=1))
    assert summary.stage_moves == 1
    assert contacts(engine)["hanako@acme.co.jp"].lifecycle_stage == "mql"
    with engine.connect() as conn:
        (move,) = conn.execute(select(StageHistory)).all()
    assert (move.from_stage, move.to_stage, move.rule, move.kind) == (
        "lead",
        "mql",
        "import",
        "import",
    )
    assert move.at == NOW + timedelta(hours=1)


def test_a_companies_import_that_changes_an_industry_marks_its_contacts_for_rescoring(
    engine: Engine, tmp_path: Path
) -> None:
    run(engine, "companies", FIXTURES / "companies.csv")
    run(engine, "contacts", FIXTURES / "contacts.csv")
    changed = tmp_path / "companies.csv"
    changed.write_text(
        (FIXTURES / "companies.csv").read_text().replace("manufacturing", "it"), encoding="utf-8"
    )
    later = NOW + timedelta(days=2)
    summary = run(engine, "companies", changed, now=later)
    assert (summary.updated, summary.rescored_contacts) == (1, 1)
    stored = contacts(engine)
    assert stored["hanako@acme.co.jp"].updated_at == later
    assert stored["john.smith@globex.com"].updated_at == NOW
