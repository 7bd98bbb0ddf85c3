"""`leadflow export contacts` after a promotion: some stages have history, others none."""

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.settings import Settings
from tests.support.seeding import Seeder

PROMOTED_AT = datetime(2026, 11, 20, 3, tzinfo=UTC)


@pytest.fixture
def promoted_world(
    seed: Seeder, settings: Settings, use_settings: Callable[[Settings], Settings]
) -> None:
    """Two contacts; one was promoted to MQL, so stage history has mql rows only."""
    use_settings(settings)
    owner = seed.owner(email="is@example.com")
    promoted = seed.contact(
        email="promoted@example.com", lifecycle_stage="lead", owner_id=owner
    )
    seed.contact(email="quiet@example.com", lifecycle_stage="lead")
    seed.score(contact_id=promoted, score=55, at=PROMOTED_AT)
    seed.stage_change(
        contact_id=promoted, from_stage="lead", to_stage="mql", at=PROMOTED_AT, rule="score"
    )
    seed.update_contact(promoted, lifecycle_stage="mql", lead_status="new")


def export(tmp_path: Path, *options: str) -> list[dict[str, str]]:
    """Run `leadflow export contacts -o <file> [options]` and read the CSV back."""
    _register_commands()
    output = tmp_path / "contacts.csv"
    result = CliRunner().invoke(app, ["export", "contacts", "-o", str(output), *options])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "wrote 2 contacts" in result.output
    with output.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.usefixtures("promoted_world")
def test_export_after_a_promotion_writes_the_mql_date_and_leaves_stages_never_entered_empty(
    tmp_path: Path,
) -> None:
    rows = {row["email"]: row for row in export(tmp_path)}

    promoted, quiet = rows["promoted@example.com"], rows["quiet@example.com"]
    assert promoted["lifecycle_stage"] == "mql"
    assert promoted["owner_email"] == "is@example.com"
    assert promoted["score"] == "55"
    assert promoted["became_mql_at"] == "2026-11-20T03:00:00+00:00"
    assert promoted["became_sql_at"] == promoted["became_customer_at"] == ""
    assert quiet["became_mql_at"] == quiet["score"] == ""


@pytest.mark.usefixtures("promoted_world")
def test_hubspot_export_after_a_promotion_writes_hubspot_stage_names(tmp_path: Path) -> None:
    rows = {row["Email"]: row for row in export(tmp_path, "--hubspot")}

    promoted = rows["promoted@example.com"]
    assert promoted["Lifecycle Stage"] == "marketingqualifiedlead"
    assert promoted["Lead Status"] == "NEW"
    # 03:00 UTC in the business time zone (Asia/Tokyo), as HubSpot writes times.
    assert promoted["Became a Marketing Qualified Lead Date"] == "2026-11-20 12:00"
    assert rows["quiet@example.com"]["Lifecycle Stage"] == "lead"


@pytest.mark.parametrize("target", ["missing/folder/contacts.csv", "."])
def test_export_to_a_folder_that_does_not_exist_or_to_a_folder_fails_with_one_line(
    target: str, tmp_path: Path, settings: Settings,
    use_settings: Callable[[Settings], Settings],
) -> None:
    use_settings(settings)
    _register_commands()
    output = tmp_path / target

    result = CliRunner().invoke(app, ["export", "contacts", "-o", str(output)])

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"cannot write {output}: ")
