"""`leadflow erase`: a person goes everywhere leadflow wrote them; a salted hash stays."""

import json
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, insert, select
from typer.testing import CliRunner

import app.cli
from leadflow.adapters.email import EmlDirectoryTransport
from leadflow.settings import Settings, get_settings
from models.tables import (
    Base,
    Contact,
    Deal,
    EmailSend,
    EmailSuppression,
    Erasure,
    NurtureEnrollment,
    NurtureHistory,
    Outbox,
    OwnerAssignment,
    Quarantine,
)
from tasks.erase.decide import DEPENDENT_TABLES
from tasks.erase.report import erasure_markdown
from tasks.erase.run import erase_person
from tasks.imports import import_file
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

WHEN = datetime(2026, 11, 20, 3, tzinfo=UTC)
PERSON = "hanako@acme.co.jp"
OTHER = "taro@acme.co.jp"
CONTACTS_HEADER = (
    "email,first_name,last_name,company_domain,company_name,consent,lifecycle_stage\n"
)


def add(engine: Engine, table: Any, **values: Any) -> int:
    """Insert one row of a table the seeder has no method for; return its id."""
    with engine.begin() as conn:
        return int(conn.execute(insert(table).values(**values).returning(table.id)).scalar_one())


def write_eml(directory: Path, *, to: str, email_id: str) -> Path:
    """An `.eml` file as the development transport writes it."""
    message = EmailMessage()
    message["To"] = to
    message["From"] = "marketing@example.com"
    message["Message-ID"] = f"<{email_id}@example.com>"
    message["X-Leadflow-Email-Id"] = email_id
    message.set_content("こんにちは")
    return Path(EmlDirectoryTransport(directory).deliver(message))


def person_everywhere(seed: Seeder, engine: Engine, outbox_dir: Path) -> int:
    """A contact with a row in every table that references contacts, a file and quarantine."""
    owner = seed.owner(email="is@example.com")
    person = seed.contact(email=PERSON, first_name="花子", consent=True)
    seed.event(contact_id=person, type="page_view", detail="pricing", occurred_at=WHEN)
    seed.activity(contact_id=person, type="call", occurred_at=WHEN)
    seed.snapshot(contact_id=person, score=40, as_of=WHEN)
    seed.stage_change(contact_id=person, from_stage="lead", to_stage="mql", at=WHEN, rule="r")
    add(engine, OwnerAssignment, contact_id=person, owner_id=owner, team="is", at=WHEN,
        reason="round robin")
    key = "nurture:welcome:1:2026-11-20T03"
    add(engine, NurtureEnrollment, enrollment_key=key, contact_id=person, program="welcome",
        entered_at=WHEN, updated_at=WHEN)
    add(engine, NurtureHistory, enrollment_key=key, contact_id=person, at=WHEN,
        action="entered")
    add(engine, EmailSend, email_id="email-1", enrollment_key=key, contact_id=person,
        program="welcome", step="day0", template="welcome", locale="ja", queued_at=WHEN)
    add(engine, Outbox, idempotency_key="email-1", channel="email", kind="nurture_email",
        contact_id=person, payload={"to": PERSON, "first_name": "花子"}, created_at=WHEN)
    add(engine, EmailSuppression, contact_id=person, email=PERSON, reason="unsubscribed",
        source="link", created_at=WHEN)
    add(engine, Deal, source_deal_id="d-1", contact_id=person, name="Acme renewal",
        stage="proposal", created_at=WHEN, updated_at=WHEN)
    add(engine, Quarantine, source="events.csv", row_number=7, field="contact_email",
        value=PERSON.upper(), reason=f"no contact with email {PERSON}", created_at=WHEN)
    add(engine, Quarantine, source="events.csv", row_number=8, field="occurred_at",
        value="yesterday", reason="not a timestamp", created_at=WHEN)
    write_eml(outbox_dir, to=f"高橋 花子 <{PERSON}>", email_id="email-1")
    return person


def rows_for(engine: Engine, contact_id: int) -> dict[str, int]:
    """Rows per dependent table that still point at the contact."""
    with engine.connect() as conn:
        return {
            name: conn.execute(
                select(func.count())
                .select_from(Base.metadata.tables[name])
                .where(Base.metadata.tables[name].c.contact_id == contact_id)
            ).scalar_one()
            for name in DEPENDENT_TABLES
        }


def test_erasing_a_person_removes_them_from_every_table_and_the_outbox_folder(
    seed: Seeder, engine: Engine, settings: Settings
) -> None:
    person = person_everywhere(seed, engine, settings.outbox_dir)
    bystander = seed.contact(email=OTHER, consent=True)
    seed.event(contact_id=bystander, type="page_view", occurred_at=WHEN)
    kept_file = write_eml(settings.outbox_dir, to=OTHER, email_id="email-2")

    outcome = erase_person(settings=settings, email=f"  {PERSON.upper()} ")

    assert rows_for(engine, person) == dict.fromkeys(DEPENDENT_TABLES, 0)
    with engine.connect() as conn:
        assert conn.execute(select(Contact.email)).scalars().all() == [OTHER]
        assert conn.execute(select(Deal.name, Deal.contact_id)).all() == [("Acme renewal", None)]
        quarantine = conn.execute(select(Quarantine.value, Quarantine.reason)).all()
    assert sorted(quarantine, key=str) == sorted(
        [(None, "no contact with email [erased]"), ("yesterday", "not a timestamp")], key=str
    )
    assert [p.name for p in settings.outbox_dir.glob("*.eml")] == [kept_file.name]
    assert rows_for(engine, bystander)["events"] == 1
    assert outcome.counts["contacts"] == 1
    assert outcome.counts["events"] == 1
    assert outcome.counts["outbox"] == 1
    assert outcome.counts["eml_files"] == 1
    assert outcome.counts["quarantine_scrubbed"] == 1


def test_the_audit_row_and_the_run_summary_hold_counts_and_a_hash_but_no_address(
    seed: Seeder, engine: Engine, settings: Settings
) -> None:
    person_everywhere(seed, engine, settings.outbox_dir)

    outcome = erase_person(settings=settings, email=PERSON)

    with engine.connect() as conn:
        [audit] = conn.execute(select(Erasure.run_id, Erasure.email_hash, Erasure.counts)).all()
    assert audit.run_id == outcome.run_id
    assert len(audit.email_hash) == 64
    assert audit.counts["contacts"] == 1 and audit.counts["email_sends"] == 1
    for text in (json.dumps(audit.counts), json.dumps(outcome.summary()),
                 erasure_markdown(outcome)):
        assert "hanako" not in text.lower()
        assert audit.email_hash not in text


def test_a_dry_run_reports_what_would_go_and_changes_nothing(
    seed: Seeder, engine: Engine, settings: Settings
) -> None:
    person = person_everywhere(seed, engine, settings.outbox_dir)
    before = rows_for(engine, person)

    outcome = erase_person(settings=settings, email=PERSON, dry_run=True)

    assert outcome.dry_run
    assert outcome.counts["nurture_history"] == 1 and outcome.counts["eml_files"] == 1
    assert rows_for(engine, person) == before
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Erasure)).scalar_one() == 0
        assert conn.execute(select(Quarantine.value).where(Quarantine.row_number == 7)).scalar()
    assert outcome.lines()[0].startswith("dry run, nothing changed")


def test_a_reimported_erased_address_gets_no_consent_and_the_import_says_so(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    erase_person(settings=settings, email=PERSON)
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        CONTACTS_HEADER
        + f"{PERSON},花子,高橋,acme.co.jp,Acme,true,lead\n"
        + f"{OTHER},太郎,高橋,acme.co.jp,Acme,true,lead\n",
        encoding="utf-8",
    )

    summary = import_file(engine, kind="contacts", path=csv, naive_tz=ZoneInfo("Asia/Tokyo"),
                          now=WHEN + timedelta(days=1))
    again = import_file(engine, kind="contacts", path=csv, naive_tz=ZoneInfo("Asia/Tokyo"),
                        now=WHEN + timedelta(days=2))

    with engine.connect() as conn:
        consent = dict(conn.execute(select(Contact.email, Contact.consent)).tuples().all())
    assert consent == {PERSON: False, OTHER: True}
    assert any("erased earlier" in line and "(1 row)" in line for line in summary.lines())
    assert any("erased earlier" in line for line in again.lines())


def test_eml_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = write_eml(tmp_path / "outbox", to=PERSON, email_id="email-1")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner on a fresh SQLite file, with `.eml` files in tmp_path/outbox."""
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LEADFLOW_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    app.cli._register_commands()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_erase_command_prints_what_it_removed_and_a_dry_run_first_changes_nothing(
    cli: CliRunner, tmp_path: Path
) -> None:
    from leadflow.db import ensure_database

    settings = get_settings()
    engine = ensure_database(settings.database_url)
    person_everywhere(Seeder(engine), engine, settings.outbox_dir)

    dry = cli.invoke(app.cli.app, ["erase", PERSON, "--dry-run"])
    real = cli.invoke(app.cli.app, ["erase", PERSON])

    assert dry.exit_code == 0, dry.output
    assert "dry run, nothing changed — would remove:" in dry.output
    assert "  events: 1" in dry.output
    assert real.exit_code == 0, real.output
    assert "removed:" in real.output and "  .eml files deleted: 1" in real.output
    assert PERSON not in real.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Contact)).scalar_one() == 0


@pytest.mark.usefixtures("prefect_harness")
def test_the_erase_flow_artifact_shows_counts_without_the_address(
    sqlite_seed: Seeder, sqlite_database_url: str, tmp_path: Path, use_settings: Any
) -> None:
    from prefect.client.orchestration import get_client

    from flows.erase_contact import ARTIFACT_KEY, erase_contact

    settings = use_settings(settings_for(sqlite_database_url, outbox_dir=tmp_path / "outbox"))
    person_everywhere(sqlite_seed, sqlite_seed.engine, settings.outbox_dir)

    state = erase_contact(email=PERSON, return_state=True)

    assert state.is_completed()
    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/artifacts/filter",
            json={
                "artifacts": {
                    "key": {"any_": [ARTIFACT_KEY]},
                    "flow_run_id": {"any_": [str(state.state_details.flow_run_id)]},
                },
                "limit": 1,
                "offset": 0,
            },
        )
    [artifact] = response.json()
    markdown = str(artifact["data"])
    assert "| email sends | 1 |" in markdown
    assert "hanako" not in markdown.lower()
