"""Settings built for a test, untouched by the developer's LEADFLOW_* environment or .env."""

import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from leadflow.settings import Settings


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings on `database_url`: every other field at its default unless overridden.

    Every field is passed explicitly, so `LEADFLOW_*` variables and a `.env` file cannot
    leak into a test. Email goes to `.eml` files in a fresh temporary folder unless the
    test gives `outbox_dir` or `smtp_host`; Slack is not configured unless the test gives
    `slack_token` + `slack_api_url` (see `tests.support.slack_api`) or `slack_console`.
    Development mode is on (links are signed with the built-in development secret unless
    the test gives `signing_secret(s)`); tests of production checks pass `development=False`.
    """
    values: dict[str, Any] = {
        name: field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }
    values["outbox_dir"] = Path(tempfile.mkdtemp(prefix="leadflow-test-outbox-"))
    values["reports_dir"] = Path(tempfile.mkdtemp(prefix="leadflow-test-reports-"))
    values["development"] = True
    values.update(overrides, database_url=database_url)
    unknown = set(values) - set(Settings.model_fields)
    if unknown:
        raise TypeError(f"Settings has no field(s) {sorted(unknown)}")
    return Settings(**values, _env_file=None)  # type: ignore[call-arg]


def environment_for(settings: Settings) -> dict[str, str | None]:
    """The `LEADFLOW_*` variables that make `Settings()` read back `settings` (None: unset).

    Flows read `get_settings()`; a test points them at its database with these variables.
    """
    environment: dict[str, str | None] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        environment[f"LEADFLOW_{name.upper()}"] = None if value is None else str(value)
    return environment
