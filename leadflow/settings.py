"""One settings object for the whole project, read from `LEADFLOW_*` environment variables."""

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leadflow.paths import DEFAULT_RULES_PATH

MIN_SECRET_LENGTH = 32
# Public on purpose: it only works with LEADFLOW_DEVELOPMENT=true, never in production.
DEVELOPMENT_SIGNING_SECRET = "leadflow-development-only-signing-secret-do-not-use"


class SigningSecretError(RuntimeError):
    """No usable signing secret: links cannot be signed and the tracking app cannot serve."""


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
    dask_address: str | None = Field(
        default=None,
        description="Scheduler address of an existing Dask cluster (tcp://host:8786) that "
        "sharded scoring (shards > 1) runs on; empty: a temporary local cluster per run.",
    )
    scoring_shards: int = Field(
        default=1,
        ge=1,
        description="Contact-id shards the lead cycle scores each hour on Dask "
        "(dask_address, or a temporary local cluster); 1 = one process.",
    )
    scoring_batch_contacts: int = Field(
        default=20_000,
        ge=0,
        description="A scoring hour with more candidates than this scores them in "
        "contact-id ranges of about this size, one after another, each read while the one "
        "before it is decided and written (same results, bounded memory); 0: all in one go.",
    )

    development: bool = Field(
        default=False,
        description="Development mode: allows the built-in signing secret (the demo sets it).",
    )

    slack_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_token_secret: str | None = Field(
        default=None, description="Prefect Secret block holding the Slack token (if no token)."
    )
    slack_console: bool = Field(
        default=False, description="Print Slack messages instead of posting them (development)."
    )
    ops_slack_channel: str = Field(
        default="",
        description="Slack channel (#name or id) told once about every failed or crashed "
        "flow run; empty: no notices.",
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: str = Field(default="starttls", description="starttls, tls or none")
    smtp_allow_plain_auth: bool = Field(
        default=False,
        description="Allow SMTP AUTH without TLS (smtp_security=none), e.g. for a local relay.",
    )
    email_from: str = "leadflow <marketing@example.com>"
    outbox_dir: Path = Path(".leadflow/outbox")
    reports_dir: Path = Field(
        default=Path(".leadflow/reports"),
        description="Folder the kpi-report flow writes its HTML page to (kpi-<from>-<to>.html).",
    )
    public_base_url: str = "http://127.0.0.1:8000"
    signing_secrets: SecretStr | None = Field(
        default=None,
        description="Comma-separated link-signing secrets: the first signs, all verify.",
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="One signing secret (older setting; verified after the list)."
    )
    token_max_age_days: int = Field(
        default=90,
        ge=60,
        description="Days a signed link stays valid; unsubscribe law needs at least 60.",
    )

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The business time zone as a tzinfo."""
        return ZoneInfo(self.business_timezone)

    def signing_keys(self) -> tuple[str, ...]:
        """The link-signing secrets, newest (the one that signs) first.

        Raises SigningSecretError, with one message saying what to set, when none is
        configured or one is shorter than MIN_SECRET_LENGTH. Development mode falls back to
        DEVELOPMENT_SIGNING_SECRET and accepts short secrets.
        """
        configured = [
            part.strip()
            for part in (self.signing_secrets.get_secret_value() if self.signing_secrets else "")
            .split(",")
            if part.strip()
        ]
        single = self.signing_secret.get_secret_value().strip() if self.signing_secret else ""
        if single and single not in configured:
            configured.append(single)
        if self.development:
            return tuple(configured) or (DEVELOPMENT_SIGNING_SECRET,)
        if not configured:
            raise SigningSecretError(
                "no signing secret: set LEADFLOW_SIGNING_SECRETS to a random secret of at least "
                f"{MIN_SECRET_LENGTH} characters (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'), or LEADFLOW_DEVELOPMENT=true on a "
                "development machine"
            )
        if any(len(key) < MIN_SECRET_LENGTH for key in configured):
            raise SigningSecretError(
                f"a signing secret in LEADFLOW_SIGNING_SECRETS / LEADFLOW_SIGNING_SECRET is "
                f"shorter than {MIN_SECRET_LENGTH} characters; use a long random secret"
            )
        return tuple(configured)

    def transport_warnings(self) -> list[str]:
        """Plain-HTTP URLs that carry tokens or credentials (none in development mode)."""
        if self.development:
            return []
        return [
            f"warning: {name} is plain http ({url}); use https outside development"
            for name, url in (
                ("LEADFLOW_PUBLIC_BASE_URL", self.public_base_url),
                ("LEADFLOW_SLACK_API_URL", self.slack_api_url),
            )
            if urlsplit(url).scheme.lower() == "http"
        ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call `get_settings.cache_clear()` after env changes)."""
    return Settings()


def masked_url(url: str) -> str:
    """A database URL fit to print: the password replaced by `***`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<database URL that could not be parsed>"
