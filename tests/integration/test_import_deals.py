"""`leadflow import deals`: the rules' pipeline, stage maps, deal-stage history, won customers.

Through the real import wiring (`import_file` and the CLI), on SQLite and PostgreSQL.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, select
from typer.testing import CliRunner

import app.cli
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import Settings
from models.rules import RulesError, load_rules
from models.tables import Company, Contact, Deal, DealStageHistory, Quarantine, StageHistory
from tasks.imports import ImportSummary, import_file, parse_deal_stage_map
from tests.support.seeding import Seeder

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
HEADER = "deal_id,company_domain,contact_email,name,stage,amount,created_at,closed_at,lost_reason\n"


def write(tmp_path: Path, body: str, name: str = "deals.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def run(
    engine: Engine, path: Path, *, now: datetime = NOW, stage_map: list[str] | None = None
) -> ImportSummary:
    rules = load_rules(DEFAULT_RULES_PATH)
    return import_file(
        engine,
        kind="deals",
        path=path,
        source=path.name,
        naive_tz=TOKYO,
        now=now,
        deal_stage_map=parse_deal_stage_map(stage_map or [], rules.deals),
        rules=rules,
    )


def history(engine: Engine) -> list[tuple[str, str | None, str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Deal.source_deal_id,
                DealStageHistory.from_stage,
                DealStageHistory.to_stage,
                DealStageHistory.at,
            )
            .join(Deal, Deal.id == DealStageHistory.deal_id)
            .order_by(DealStageHistory.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def stage_of(conn: Connection, model: type[Contact] | type[Company], row_id: int) -> str:
    return str(conn.execute(select(model.lifecycle_stage).where(model.id == row_id)).scalar_one())


def test_a_stage_map_lands_a_custom_deal_stage_under_the_pipeline_name(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "d1,acme.co.jp,,Pilot,Engaging,100,2026-05-01,,\n")
    summary = run(engine, path, stage_map=["Engaging=value_agreed"])
    assert (summary.rows, summary.inserted, summary.quarantined_rows) == (1, 1, 0)
    with engine.connect() as conn:
        assert conn.execute(select(Deal.stage)).scalar_one() == "value_agreed"


def test_hubspot_closed_names_land_as_won_and_lost(engine: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d1,acme.co.jp,,A,closedwon,,2026-05-01,2026-05-20,\n"
        "d2,acme.co.jp,,B,Closed Lost,,2026-05-01,2026-05-21,price\n",
    )
    assert run(engine, path).inserted == 2
    with engine.connect() as conn:
        stages = dict(conn.execute(select(Deal.source_deal_id, Deal.stage)).all())
    assert stages == {"d1": "won", "d2": "lost"}


def test_an_unknown_deal_stage_is_quarantined_by_name_and_the_rows_add_up(
    engine: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "d1,acme.co.jp,,Good,problem_agreed,,2026-05-01,,\n"
        "d2,acme.co.jp,,Odd,Negotiating,,2026-05-01,,\n",
    )
    summary = run(engine, path)
    assert summary.rows == summary.landed + summary.quarantined_rows
    assert (summary.inserted, summary.quarantined_rows) == (1, 1)
    assert summary.unknown_stages == {"Negotiating": 1}
    assert any("unknown deal stage 'Negotiating'" in line for line in summary.lines())
    with engine.connect() as conn:
        record = conn.execute(select(Quarantine)).one()
        assert [d for (d,) in conn.execute(select(Deal.source_deal_id)).all()] == ["d1"]
    assert (record.source, record.row_number, record.field) == ("deals.csv", 3, "stage")
    assert record.value == "Negotiating"
    assert "unknown deal stage 'Negotiating'" in record.reason
    assert "--stage-map 'Negotiating=<deal stage>'" in record.reason


def test_a_first_import_records_the_initial_stage_and_a_changed_stage_one_more_row(
    engine: Engine, tmp_path: Path
) -> None:
    first = write(tmp_path, "d1,acme.co.jp,,Pilot,problem_agreed,,2026-05-01,,\n", "a.csv")
    assert run(engine, first).deal_stage_changes == 1
    assert history(engine) == [("d1", None, "problem_agreed", NOW)]

    later = NOW + timedelta(days=3)
    again = run(engine, first, now=later)
    assert (again.deal_stage_changes, again.unchanged) == (0, 1)
    assert len(history(engine)) == 1

    moved = write(tmp_path, "d1,acme.co.jp,,Pilot,terms_agreed,,2026-05-01,,\n", "b.csv")
    summary = run(engine, moved, now=later)
    assert (summary.deal_stage_changes, summary.updated) == (1, 1)
    assert history(engine)[1:] == [("d1", "problem_agreed", "terms_agreed", later)]
    assert run(engine, moved, now=later + timedelta(days=1)).deal_stage_changes == 0
    assert len(history(engine)) == 2


def test_a_won_deal_makes_its_contact_a_customer_at_closed_at_and_rolls_up_the_company(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    company = seed.company(domain="acme.co.jp", name="Acme", lifecycle_stage="opportunity")
    buyer = seed.contact(
        email="hanako@acme.co.jp", company_id=company, lifecycle_stage="opportunity"
    )
    open_deal = "d1,acme.co.jp,hanako@acme.co.jp,Pilot,paperwork,500,2026-05-01,,\n"
    run(engine, write(tmp_path, open_deal, "open.csv"))
    won = "d1,acme.co.jp,hanako@acme.co.jp,Pilot,won,500,2026-05-01,2026-05-20 10:00,\n"
    summary = run(engine, write(tmp_path, won, "won.csv"))
    closed = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert summary.stage_moves == 1
    assert history(engine)[-1] == ("d1", "paperwork", "won", closed)
    with engine.connect() as conn:
        assert stage_of(conn, Contact, buyer) == "customer"
        assert stage_of(conn, Company, company) == "customer"
        moves = conn.execute(select(StageHistory).where(StageHistory.contact_id == buyer)).all()
    assert [(m.from_stage, m.to_stage, m.at, m.rule, m.kind) for m in moves] == [
        ("opportunity", "customer", closed, "deal_won", "forward")
    ]
    again = run(engine, write(tmp_path, won, "won.csv"), now=NOW + timedelta(days=1))
    assert (again.stage_moves, again.deal_stage_changes) == (0, 0)


def test_a_new_deal_makes_its_sql_contact_an_opportunity_at_the_deal_s_creation(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    buyer = seed.contact(email="jiro@acme.co.jp", lifecycle_stage="sql")
    customer = seed.contact(email="old@acme.co.jp", lifecycle_stage="customer")
    deals = (
        "d1,,jiro@acme.co.jp,Pilot,problem_agreed,,2026-05-01 09:00,,\n"
        "d2,,jiro@acme.co.jp,Second,problem_agreed,,2026-05-03 09:00,,\n"
        "d3,,old@acme.co.jp,Upsell,problem_agreed,,2026-05-02 09:00,,\n"
    )
    summary = run(engine, write(tmp_path, deals))
    opened = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)  # the earliest deal, 09:00 in Tokyo
    assert summary.stage_moves == 1
    with engine.connect() as conn:
        assert stage_of(conn, Contact, buyer) == "opportunity"
        assert stage_of(conn, Contact, customer) == "customer"  # never back into the funnel
        moves = conn.execute(select(StageHistory).where(StageHistory.contact_id == buyer)).all()
    assert [(m.from_stage, m.to_stage, m.at, m.rule) for m in moves] == [
        ("sql", "opportunity", opened, "deal_opened")
    ]
    again = run(engine, write(tmp_path, deals), now=NOW + timedelta(days=1))
    assert again.stage_moves == 0


def test_a_lost_deal_leaves_the_contact_to_recycling(
    engine: Engine, seed: Seeder, tmp_path: Path
) -> None:
    buyer = seed.contact(email="taro@acme.co.jp", lifecycle_stage="opportunity")
    lost = "d1,,taro@acme.co.jp,Pilot,closedlost,,2026-05-01,2026-05-20,budget\n"
    summary = run(engine, write(tmp_path, lost))
    assert (summary.stage_moves, summary.deal_stage_changes) == (0, 1)
    assert history(engine)[0][2:] == ("lost", datetime(2026, 5, 19, 15, 0, tzinfo=UTC))
    with engine.connect() as conn:
        assert stage_of(conn, Contact, buyer) == "opportunity"


def test_the_cli_maps_deal_stages_and_names_a_bad_target(
    settings: Settings, use_settings: Callable[[Settings], Settings], tmp_path: Path
) -> None:
    use_settings(settings)
    app.cli._register_commands()
    runner = CliRunner()
    path = write(tmp_path, "d1,acme.co.jp,,Pilot,Engaging,,2026-05-01,,\n")
    result = runner.invoke(app.cli.app, ["import", "deals", str(path)])
    assert result.exit_code == 1, result.output  # every row bad: over the bad-row limit
    assert "unknown deal stage 'Engaging': 1 row quarantined" in result.output
    result = runner.invoke(
        app.cli.app, ["import", "deals", str(path), "--stage-map", "Engaging=value_agreed"]
    )
    assert result.exit_code == 0, result.output
    assert "deal-stage-history rows written: 1" in result.output
    result = runner.invoke(
        app.cli.app, ["import", "deals", str(path), "--stage-map", "Engaging=mql"]
    )
    assert result.exit_code != 0
    assert "'mql' is not a deal stage" in result.output
    assert "Traceback" not in result.output


def test_a_deal_alias_to_no_stage_is_a_rules_error_naming_the_deals_key(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "rules.yaml"
    bad.write_text(text.replace("closedwon: won", "closedwon: shipped"), encoding="utf-8")
    with pytest.raises(RulesError, match=r"deals: .*alias 'closedwon' → 'shipped'"):
        load_rules(bad)
