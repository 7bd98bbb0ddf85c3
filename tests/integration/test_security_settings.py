"""Security settings: no signing without a real secret outside development, key rotation,
secret values kept out of reprs and output, and warnings for plain-http URLs."""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.paths import DEFAULT_RULES_PATH
from leadflow.settings import (
    DEVELOPMENT_SIGNING_SECRET,
    Settings,
    SigningSecretError,
    masked_url,
)
from models.rules import load_rules
from models.tables import Outbox, Run
from tasks.nurture.hour import nurture_hour
from tests.support.seeding import Seeder
from tests.support.settings import settings_for

SECRET = "a-production-secret-of-32-characters-or-more"
OLD_SECRET = "the-previous-production-secret-still-accepted"
# A past Tuesday, 11:00 in Tokyo: run commands refuse hours after now.
AS_OF = datetime(2025, 12, 9, 2, tzinfo=UTC)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with none of the developer's LEADFLOW_* settings."""
    import os

    for name in [n for n in os.environ if n.startswith("LEADFLOW_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def from_environment() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_without_a_secret_outside_development_nothing_can_be_signed(
    environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SigningSecretError, match="set LEADFLOW_SIGNING_SECRETS"):
        from_environment().signing_keys()


def test_the_old_published_placeholder_is_too_short_to_be_accepted(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("LEADFLOW_SIGNING_SECRET", "change-me-in-production")
    with pytest.raises(SigningSecretError, match="shorter than 32 characters"):
        from_environment().signing_keys()


def test_development_mode_signs_with_the_built_in_development_secret(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("LEADFLOW_DEVELOPMENT", "true")
    assert from_environment().signing_keys() == (DEVELOPMENT_SIGNING_SECRET,)


def test_a_comma_separated_list_signs_with_the_first_and_accepts_all(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("LEADFLOW_SIGNING_SECRETS", f" {SECRET} , {OLD_SECRET} ")
    assert from_environment().signing_keys() == (SECRET, OLD_SECRET)


def test_the_single_secret_setting_still_works_and_is_accepted_after_the_list(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("LEADFLOW_SIGNING_SECRET", OLD_SECRET)
    assert from_environment().signing_keys() == (OLD_SECRET,)
    environment.setenv("LEADFLOW_SIGNING_SECRETS", SECRET)
    assert from_environment().signing_keys() == (SECRET, OLD_SECRET)


def test_secret_settings_do_not_show_their_values(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("LEADFLOW_SIGNING_SECRETS", SECRET)
    environment.setenv("LEADFLOW_SLACK_TOKEN", "xoxb-slack-token-value")
    environment.setenv("LEADFLOW_SMTP_PASSWORD", "smtp-password-value")
    shown = repr(from_environment()) + str(from_environment().model_dump())
    for value in (SECRET, "xoxb-slack-token-value", "smtp-password-value"):
        assert value not in shown


def test_links_stay_valid_for_at_least_sixty_days() -> None:
    assert settings_for("sqlite://").token_max_age_days == 90
    with pytest.raises(ValidationError, match="token_max_age_days"):
        settings_for("sqlite://", token_max_age_days=30)


def test_plain_http_urls_are_warned_about_outside_development_only() -> None:
    production = settings_for(
        "sqlite://",
        development=False,
        public_base_url="http://t.example.com",
        slack_api_url="http://slack.example.com/api/",
    )
    warnings = production.transport_warnings()
    assert len(warnings) == 2
    assert "LEADFLOW_PUBLIC_BASE_URL" in warnings[0]
    assert "LEADFLOW_SLACK_API_URL" in warnings[1]
    assert production.model_copy(update={"development": True}).transport_warnings() == []
    secure = settings_for("sqlite://", development=False, public_base_url="https://t.example")
    assert secure.transport_warnings() == []


def test_a_database_url_is_printed_without_its_password() -> None:
    shown = masked_url("postgresql+psycopg://leadflow:hunter2@db.example:5432/leads")
    assert "hunter2" not in shown
    assert shown == "postgresql+psycopg://leadflow:***@db.example:5432/leads"


def test_db_upgrade_does_not_print_the_database_password(
    use_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leadflow.db

    migrated: list[str] = []
    monkeypatch.setattr(leadflow.db, "upgrade", migrated.append)
    url = "postgresql+psycopg://leadflow:hunter2@db.example:5432/leads"
    use_settings(settings_for(url))
    _register_commands()

    result = CliRunner().invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert migrated == [url]
    assert "hunter2" not in result.output
    assert "leadflow:***@db.example" in result.output


def test_run_nurture_without_a_secret_fails_with_one_message_before_sending(
    use_settings: Any, sqlite_database_url: str, sqlite_engine: Engine
) -> None:
    use_settings(settings_for(sqlite_database_url, development=False))
    _register_commands()

    result = CliRunner().invoke(app, ["run", "nurture", "--as-of", AS_OF.isoformat()])

    assert result.exit_code == 1
    assert "no signing secret: set LEADFLOW_SIGNING_SECRETS" in result.output
    assert "Traceback" not in result.output
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar_one() == 0


def test_run_nurture_with_smtp_login_over_plain_text_fails_with_one_message(
    use_settings: Any, sqlite_database_url: str
) -> None:
    use_settings(
        settings_for(
            sqlite_database_url, smtp_host="127.0.0.1", smtp_security="none",
            smtp_user="mailer", smtp_password="pw",
        )
    )
    _register_commands()

    result = CliRunner().invoke(app, ["run", "nurture", "--as-of", AS_OF.isoformat()])

    assert result.exit_code == 1
    assert "refusing SMTP login without TLS" in result.output


def test_a_nurture_hour_without_a_secret_fails_before_deciding_or_queueing_anything(
    sqlite_database_url: str, sqlite_engine: Engine, sqlite_seed: Seeder
) -> None:
    sqlite_seed.contact(
        email="new@example.co.jp", consent=True, lifecycle_stage="lead", created_at=AS_OF
    )
    settings = settings_for(sqlite_database_url, development=False)
    with pytest.raises(SigningSecretError):
        nurture_hour(settings=settings, rules=load_rules(DEFAULT_RULES_PATH), as_of=AS_OF)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Outbox)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(Run)).scalar_one() == 0


def test_serve_refuses_to_start_without_a_secret(
    use_settings: Any, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    use_settings(settings_for(sqlite_database_url, development=False))
    _register_commands()

    result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 1
    assert "no signing secret" in result.output
    assert started == []


def test_serve_turns_off_uvicorns_access_log_which_would_record_full_tokens(
    use_settings: Any, sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    use_settings(
        settings_for(
            sqlite_database_url, development=False, signing_secrets=SECRET,
            public_base_url="http://t.example.com",
        )
    )
    _register_commands()

    result = CliRunner().invoke(app, ["serve"])

    assert result.exit_code == 0, result.output
    assert [kwargs["access_log"] for kwargs in started] == [False]
    assert "warning: LEADFLOW_PUBLIC_BASE_URL is plain http" in result.output
