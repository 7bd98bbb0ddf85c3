"""pandera schemas for frames that cross a boundary.

Import schemas
--------------
One schema per `leadflow import` kind. They validate the *normalised text* of a CSV
file (cells stripped, blanks as missing, emails and vocabularies lowercased, header
labels renamed to the internal column names) before anything is converted, so a
failure names the cell exactly as the file had it. Every check carries a reason a
person can act on; `{value}` in a reason is replaced by the failing cell. Checks on
the whole frame carry the column they blame as their `name`.

String length limits come from the tables, so a value that fits the schema fits the
database column on PostgreSQL too.
"""

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sqlalchemy import ColumnElement, String

from models.enums import (
    FORM_KINDS,
    PAGE_CATEGORIES,
    ActivityOutcome,
    ActivityType,
    EventType,
    LeadStatus,
    Stage,
    Team,
)
from models.tables import Activity, Company, Contact, Deal, Event, Owner

# ---------------------------------------------------------------------------------------
# Import schemas (leadflow import …)
# ---------------------------------------------------------------------------------------

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")

# A date, optionally a time, optionally an offset after the time: ISO 8601 as
# spreadsheets and HubSpot write it ("2026-04-01", "2026-04-01 09:30",
# "2026-04-01T09:30:00+09:00", "2026-04-01T00:30:00Z").
ISO_DATE = r"\d{4}-\d{2}-\d{2}"
ISO_TIME = r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
ISO_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"
ISO_TIMESTAMP = rf"{ISO_DATE}(?:[T ]{ISO_TIME}{ISO_OFFSET}?)?"
ISO_AWARE = rf"{ISO_DATE}[T ]{ISO_TIME}{ISO_OFFSET}"

EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
DOMAIN_PATTERN = r"[^\s@/:]+\.[^\s@/:]+"
# A Slack user id (U…, or W… on Enterprise Grid): it is interpolated into `<@…>` mentions,
# so anything else (`U1> <!channel`) must never get that far.
SLACK_USER_ID_PATTERN = r"[UW][A-Z0-9]+"

REQUIRED = "is required"


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _present(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Where the column has a value, and those values (no mask is built when a column
    without missing cells, most, joins as text)."""
    cells = values.to_numpy(dtype=object)
    try:
        "".join(cells)
    except TypeError:
        present = values.notna().to_numpy()
        return present, cells[present].tolist()
    return np.ones(len(cells), dtype=bool), cells.tolist()


def fullmatches(values: pd.Series, pattern: str) -> pd.Series:
    """`values.str.fullmatch(pattern)` with missing → False, for patterns that tell digits
    apart only with `\\d` (the ISO shapes): each value's *shape* (ASCII digits → 0) is
    matched once per distinct shape, so millions of timestamps cost a few regex calls."""
    present, keys = _present(values)
    out = np.zeros(len(values), dtype=bool)
    joined = "\n".join(keys)
    if keys and joined.count("\n") == len(keys) - 1:
        # One C-level pass; UTF-8 multi-byte sequences never hold the bytes of ASCII digits.
        raw = joined.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)
        shapes = raw.split(b"\n")
        compiled = re.compile(pattern)
        verdict = {
            shape: compiled.fullmatch(shape.decode("utf-8", "surrogatepass")) is not None
            for shape in dict.fromkeys(shapes)
        }
        out[present] = [verdict[shape] for shape in shapes]
    elif keys:
        out[present] = values[present].str.fullmatch(pattern).astype(bool).to_numpy()
    return pd.Series(out, index=values.index)


def mentions(values: pd.Series, char: str) -> bool:
    """Whether some present value holds `char` (one character): one C-level search over
    the joined column instead of a test per cell."""
    assert len(char) == 1
    separator = "\t" if char == "\n" else "\n"
    return char in separator.join(_present(values)[1])


def per_value(test: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], pd.Series]:
    """An element-wise `test` run once per distinct value (emails, types and details of a
    ledger repeat: millions of rows, few values); missing values pass (nullable columns
    are checked by pandera's own `nullable`)."""

    def check(series: pd.Series) -> pd.Series:
        present, keys = _present(series)
        distinct = list(dict.fromkeys(keys))
        verdicts = test(pd.Series(distinct, dtype=series.dtype)).fillna(False).astype(bool)
        table = dict(zip(distinct, verdicts.tolist(), strict=True))
        out = np.ones(len(series), dtype=bool)
        out[present] = [table[k] for k in keys]
        return pd.Series(out, index=series.index)

    return check


def _length(column: ColumnElement[Any]) -> pa.Check:
    kind = column.type
    assert isinstance(kind, String) and kind.length, f"{column} has no length limit"
    return pa.Check.str_length(max_value=kind.length, error=f"longer than {kind.length} characters")


def _one_of(values: Iterable[str]) -> pa.Check:
    allowed = [str(v) for v in values]
    return pa.Check.isin(allowed, error=f"must be one of {', '.join(allowed)}")


def _matches(pattern: str, error: str) -> pa.Check:
    # str.match (what pa.Check.str_matches runs), once per distinct value.
    return pa.Check(per_value(lambda values: values.str.match(pattern)), error=error)


def _email() -> pa.Check:
    return _matches(rf"^{EMAIL_PATTERN}$", "not a valid email address")


def _domain() -> pa.Check:
    return _matches(rf"^{DOMAIN_PATTERN}$", "not a valid domain")


def _numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.str.replace(",", "", regex=False), errors="coerce")


def _whole_number(series: pd.Series) -> pd.Series:
    number = _numbers(series)
    return series.isna() | ((number >= 0) & (number % 1 == 0))


def _positive_number(series: pd.Series) -> pd.Series:
    return series.isna() | (_numbers(series) > 0)


def _non_negative_number(series: pd.Series) -> pd.Series:
    return series.isna() | (_numbers(series) >= 0)


def _timestamp(series: pd.Series) -> pd.Series:
    shaped = fullmatches(series, ISO_TIMESTAMP)
    # The shape alone accepts 2026-02-30; the parser rejects impossible dates.
    parsed = pd.to_datetime(series.where(shaped), format="ISO8601", utc=True, errors="coerce")
    return series.isna() | (shaped & parsed.notna())


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _time_zone(series: pd.Series) -> pd.Series:
    return series.isna() | series.isin(_time_zones())


def whole_number_check() -> pa.Check:
    """A whole number ≥ 0 (thousands separators allowed)."""
    return pa.Check(_whole_number, error="must be a whole number ≥ 0")


def timestamp_check() -> pa.Check:
    """An ISO 8601 date or date-time, with or without an offset."""
    return pa.Check(
        _timestamp,
        error="not an ISO 8601 timestamp (e.g. 2026-04-01 09:30 or 2026-04-01T00:30:00Z)",
    )


def _text(
    column: ColumnElement[Any], *, required: bool = False, checks: list[pa.Check] | None = None
) -> pa.Column:
    return pa.Column(str, nullable=not required, checks=[*(checks or []), _length(column)])


def _boolean(*, required: bool = False) -> pa.Column:
    return pa.Column(
        str,
        nullable=not required,
        checks=[
            pa.Check.isin([*TRUE_WORDS, *FALSE_WORDS], error="must be true/false, 1/0 or yes/no")
        ],
    )


def _when(*, required: bool = False) -> pa.Column:
    return pa.Column(str, nullable=not required, checks=[timestamp_check()])


def _count() -> pa.Column:
    return pa.Column(str, nullable=True, checks=[whole_number_check()])


OWNERS_IMPORT = pa.DataFrameSchema(
    {
        "email": _text(Owner.__table__.c.email, required=True, checks=[_email()]),
        "name": _text(Owner.__table__.c.name),
        "team": pa.Column(str, nullable=True, checks=[_one_of(Team)]),
        "manager_email": _text(Owner.__table__.c.manager_email, checks=[_email()]),
        "slack_user_id": _text(
            Owner.__table__.c.slack_user_id,
            checks=[
                pa.Check.str_matches(
                    rf"^{SLACK_USER_ID_PATTERN}\Z",
                    error="not a Slack user id (U or W followed by capital letters and digits, "
                    "e.g. U01ABCDEF)",
                )
            ],
        ),
        "active": _boolean(),
        "weight": pa.Column(
            str, nullable=True, checks=[pa.Check(_positive_number, error="must be a number > 0")]
        ),
    },
    name="owners import",
)

COMPANIES_IMPORT = pa.DataFrameSchema(
    {
        "domain": _text(Company.__table__.c.domain, required=True, checks=[_domain()]),
        "name": _text(Company.__table__.c.name),
        "industry": _text(Company.__table__.c.industry),
        "employee_count": _count(),
        "region": _text(Company.__table__.c.region),
    },
    name="companies import",
)

# When a contact entered each stage (`became_mql_at`, …): the import dates its stage history.
STAGE_DATE_COLUMNS: dict[Stage, str] = {stage: f"became_{stage.value}_at" for stage in Stage}

UNKNOWN_STAGE_REASON = (
    "unknown lifecycle stage '{value}': map it with --stage-map '{value}=<stage>' "
    f"(stages: {', '.join(Stage)})"
)

CONTACTS_IMPORT = pa.DataFrameSchema(
    {
        "email": _text(Contact.__table__.c.email, required=True, checks=[_email()]),
        "hubspot_id": _text(Contact.__table__.c.hubspot_id),
        "first_name": _text(Contact.__table__.c.first_name),
        "last_name": _text(Contact.__table__.c.last_name),
        "company_domain": _text(Company.__table__.c.domain, checks=[_domain()]),
        "company_name": _text(Company.__table__.c.name),
        "job_title": _text(Contact.__table__.c.job_title),
        "industry": _text(Contact.__table__.c.industry),
        "employee_count": _count(),
        "region": _text(Contact.__table__.c.region),
        "lead_source": _text(Contact.__table__.c.lead_source),
        "consent": _boolean(),
        "timezone": pa.Column(
            str,
            nullable=True,
            checks=[pa.Check(_time_zone, error="not a known IANA time zone (e.g. Asia/Tokyo)")],
        ),
        "created_at": _when(),
        # Known HubSpot names, display labels and --stage-map entries are mapped to
        # leadflow stages before validation; whatever is left is a stage nobody mapped.
        "lifecycle_stage": pa.Column(
            str, nullable=True, checks=[pa.Check.isin(list(Stage), error=UNKNOWN_STAGE_REASON)]
        ),
        "lead_status": pa.Column(str, nullable=True, checks=[_one_of(LeadStatus)]),
        "owner": _text(Owner.__table__.c.email),
        **{column: _when() for column in STAGE_DATE_COLUMNS.values()},
    },
    name="contacts import",
)


def _page_view_detail(frame: pd.DataFrame) -> pd.Series:
    page_view = frame["type"].eq(EventType.PAGE_VIEW.value)
    return ~page_view | frame["detail"].isna() | frame["detail"].isin(PAGE_CATEGORIES)


def _form_submit_detail(frame: pd.DataFrame) -> pd.Series:
    form = frame["type"].eq(EventType.FORM_SUBMIT.value)
    return ~form | frame["detail"].isna() | frame["detail"].isin(FORM_KINDS)


EVENTS_IMPORT = pa.DataFrameSchema(
    {
        "event_id": _text(Event.__table__.c.source_event_id, required=True),
        "email": _text(Contact.__table__.c.email, required=True, checks=[_email()]),
        "type": pa.Column(str, nullable=False, checks=[_one_of(EventType)]),
        # Required for every type: the page category, the form kind, or the id of the
        # email/campaign/webinar/show (scoring counts distinct ids).
        "detail": _text(Event.__table__.c.detail, required=True),
        "occurred_at": _when(required=True),
    },
    checks=[
        pa.Check(
            _page_view_detail,
            name="detail",
            error=f"a page_view's detail must be a page category: {', '.join(PAGE_CATEGORIES)}",
        ),
        pa.Check(
            _form_submit_detail,
            name="detail",
            error=f"a form_submit's detail must be a form kind: {', '.join(FORM_KINDS)}",
        ),
    ],
    name="events import",
)

ACTIVITIES_IMPORT = pa.DataFrameSchema(
    {
        "activity_id": _text(Activity.__table__.c.source_activity_id, required=True),
        "email": _text(Contact.__table__.c.email, required=True, checks=[_email()]),
        "owner_email": _text(Owner.__table__.c.email, checks=[_email()]),
        "type": pa.Column(str, nullable=False, checks=[_one_of(ActivityType)]),
        "outcome": pa.Column(str, nullable=True, checks=[_one_of(ActivityOutcome)]),
        "occurred_at": _when(required=True),
        "note": pa.Column(str, nullable=True),
    },
    name="activities import",
)

DEALS_IMPORT = pa.DataFrameSchema(
    {
        "deal_id": _text(Deal.__table__.c.source_deal_id, required=True),
        "company_domain": _text(Company.__table__.c.domain, checks=[_domain()]),
        "contact_email": _text(Contact.__table__.c.email, checks=[_email()]),
        "name": _text(Deal.__table__.c.name, required=True),
        "stage": _text(Deal.__table__.c.stage, required=True),
        "amount": pa.Column(
            str,
            nullable=True,
            checks=[pa.Check(_non_negative_number, error="must be a number ≥ 0")],
        ),
        "created_at": _when(),
        "closed_at": _when(),
        "lost_reason": pa.Column(str, nullable=True),
    },
    name="deals import",
)

IMPORT_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "owners": OWNERS_IMPORT,
    "companies": COMPANIES_IMPORT,
    "contacts": CONTACTS_IMPORT,
    "events": EVENTS_IMPORT,
    "activities": ACTIVITIES_IMPORT,
    "deals": DEALS_IMPORT,
}


def required_columns(schema: pa.DataFrameSchema) -> list[str]:
    """The columns a file must have: those whose cells may not be blank."""
    return [name for name, column in schema.columns.items() if not column.nullable]


def check_fields(schema: pa.DataFrameSchema) -> dict[str, str]:
    """For frame-wide checks: the reason each reports → the column it blames."""
    return {str(check.error): str(check.name) for check in schema.checks}
