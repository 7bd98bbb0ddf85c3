"""One settings object for the whole project, read from `LEADFLOW_*` environment variables."""

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadflow.paths import DEFAULT_RULES_PATH


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as `LEADFLOW_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///.leadflow/leadflow.db",
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL in production.",
    )
    business_timezone: str = Field(default="Asia/Tokyo")
    rules_path: Path = Field(default=DEFAULT_RULES_PATH)
    max_bad_row_share: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="A run fails when more than this share of input rows is quarantined.",
    )

    slack_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_token_secret: str | None = Field(
        default=None, description="Prefect Secret block holding the Slack token (if no token)."
    )
    slack_console: bool = Field(
        default=False, description="Print Slack messages instead of posting them (development)."
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: str = Field(default="starttls", description="starttls, tls or none")
    email_from: str = "leadflow <marketing@example.com>"
    outbox_dir: Path = Path(".leadflow/outbox")
    public_base_url: str = "http://127.0.0.1:8000"
    signing_secret: str = "change-me-in-production"

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The business time zone as a tzinfo."""
        return ZoneInfo(self.business_timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call `get_settings.cache_clear()` after env changes)."""
    return Settings()
