"""CSV exports neutralise cells a spreadsheet would run as formulas (OWASP CSV injection)."""

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.settings import Settings
from tasks.export import neutralise_formula, neutralise_formulas
from tests.support.seeding import Seeder

PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SCORED_AT = datetime(2026, 11, 20, 3, tzinfo=UTC)
HOSTILE = [
    '=HYPERLINK("https://evil.example","x")@example.com',
    "+1+cmd|' /C calc'!A0@example.com",
    "-2+3@example.com",
    "@SUM(1+1)@example.com",
    "\t=1+1@example.com",
    "\r=1+1@example.com",
]


def test_every_formula_prefix_gets_a_single_quote() -> None:
    for cell in HOSTILE:
        assert neutralise_formula(cell) == "'" + cell
    assert neutralise_formula("taro@example.com") == "taro@example.com"
    assert neutralise_formula(-5) == -5


def test_numbers_keep_their_sign_and_only_text_columns_change() -> None:
    frame = pd.DataFrame({"email": ["=1+1", "a@b.c"], "score": pd.array([-5, 3], dtype="Int64")})
    out = neutralise_formulas(frame)
    assert out["email"].tolist() == ["'=1+1", "a@b.c"]
    assert out["score"].tolist() == [-5, 3]


def test_the_contacts_export_writes_hostile_cells_as_text_not_formulas(
    seed: Seeder,
    settings: Settings,
    use_settings: Callable[[Settings], Settings],
    tmp_path: Path,
) -> None:
    use_settings(settings)
    owner = seed.owner(email="=owner()@example.com")
    for email in HOSTILE:
        contact = seed.contact(email=email, lifecycle_stage="lead", owner_id=owner)
        seed.update_contact(contact, lead_status="-new", score=-5, scored_at=SCORED_AT)
    seed.contact(email="safe@example.com", lifecycle_stage="lead")
    _register_commands()
    output = tmp_path / "contacts.csv"

    result = CliRunner().invoke(app, ["export", "contacts", "-o", str(output)])

    assert result.exit_code == 0, result.output + repr(result.exception)
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cells = [value for row in rows for value in row.values() if value]
    formulas = [c for c in cells if c.startswith(PREFIXES) and not c.lstrip("-").isdigit()]
    assert formulas == []
    by_email = {row["email"]: row for row in rows}
    assert set(by_email) == {"'" + email for email in HOSTILE} | {"safe@example.com"}
    hostile = by_email["'" + HOSTILE[0]]
    assert hostile["owner_email"] == "'=owner()@example.com"
    assert hostile["lead_status"] == "'-new"
    assert hostile["score"] == "-5"


def test_an_export_with_neutralised_formulas_imports_back_unchanged(
    seed: Seeder,
    settings: Settings,
    use_settings: Callable[[Settings], Settings],
    tmp_path: Path,
) -> None:
    use_settings(settings)
    seed.contact(
        email="calc@example.com", first_name="=cmd|' /C calc'!A0", last_name="@Plus",
        job_title="+SUM(1,2)", lifecycle_stage="lead",
    )
    _register_commands()
    output = tmp_path / "contacts.csv"
    runner = CliRunner()
    assert runner.invoke(app, ["export", "contacts", "-o", str(output)]).exit_code == 0
    assert "'=cmd|" in output.read_text(encoding="utf-8")  # neutralised in the file

    result = runner.invoke(app, ["import", "contacts", str(output)])

    assert result.exit_code == 0, result.output
    assert "quarantined: 0 rows" in result.output
    from sqlalchemy import select

    from leadflow.db import ensure_database
    from models.tables import Contact

    with ensure_database(settings.database_url).connect() as conn:
        row = conn.execute(
            select(Contact.first_name, Contact.last_name, Contact.job_title)
        ).one()
    assert tuple(row) == ("=cmd|' /C calc'!A0", "@Plus", "+SUM(1,2)")
