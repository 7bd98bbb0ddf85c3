"""Export contacts with their stage, status, scores, owner and stage dates."""

import pandas as pd
from sqlalchemy import Connection, func, select

from models.enums import STAGE_TO_HUBSPOT, Stage
from models.tables import Contact, Owner, StageHistory

# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

EXPORT_STAGES = [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.OTHER]
EXPORT_COLUMNS = [
    "email",
    "lifecycle_stage",
    "lead_status",
    "engagement_score",
    "fit_score",
    "score",
    "owner_email",
    "scored_at",
    *[f"became_{stage.value}_at" for stage in EXPORT_STAGES],
]


def read_contacts_export(conn: Connection) -> pd.DataFrame:
    """One row per contact; `became_<stage>_at` is the first time it entered that stage."""
    first_entry = (
        select(
            StageHistory.contact_id, StageHistory.to_stage, func.min(StageHistory.at).label("at")
        )
        .group_by(StageHistory.contact_id, StageHistory.to_stage)
        .subquery()
    )
    contacts = pd.DataFrame.from_records(
        conn.execute(
            select(
                Contact.id,
                Contact.email,
                Contact.lifecycle_stage,
                Contact.lead_status,
                Contact.engagement_score,
                Contact.fit_score,
                Contact.score,
                Owner.email.label("owner_email"),
                Contact.scored_at,
            )
            .outerjoin(Owner, Owner.id == Contact.owner_id)
            .order_by(Contact.email)
        ).all(),
        columns=["id", *EXPORT_COLUMNS[:8]],
    )
    entries = pd.DataFrame.from_records(
        conn.execute(select(first_entry)).all(), columns=["id", "to_stage", "at"]
    )
    for stage in EXPORT_STAGES:
        contacts[f"became_{stage.value}_at"] = first_entered(contacts["id"], entries, stage)
    return contacts[EXPORT_COLUMNS]


def first_entered(ids: pd.Series, entries: pd.DataFrame, stage: Stage) -> pd.Series:
    """When each contact in `ids` first entered `stage` (UTC), NaT where it never did.

    Built from a plain dict, not by mapping over a datetime Series: pandas 3 cannot cast
    an all-missing mapping result to datetimes when no contact ever entered the stage.
    """
    rows = entries[entries["to_stage"] == stage.value]
    first = dict(zip(rows["id"].tolist(), rows["at"].tolist(), strict=True))
    found = [first.get(contact_id) for contact_id in ids.tolist()]
    return pd.Series(pd.to_datetime(found, utc=True), index=ids.index, dtype="datetime64[ns, UTC]")


def to_hubspot_stages(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename lifecycle stages to HubSpot's internal names for re-import there."""
    out = frame.copy()
    out["lifecycle_stage"] = out["lifecycle_stage"].map(
        lambda s: STAGE_TO_HUBSPOT.get(Stage(s), s) if s in Stage._value2member_map_ else s
    )
    return out


def neutralise_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with a single quote
    (OWASP's rule); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell passed through `neutralise_formula`.

    Numbers stay numbers: a negative score is not a formula and keeps its minus sign.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_formula)
    return out


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """Write the export with ISO 8601 UTC timestamps and empty cells for missing values.

    Text cells starting with = + - @, a tab or CR get a leading single quote, so a
    spreadsheet shows them instead of running them as formulas; lines end in CRLF.
    """
    out = frame.copy()
    for column in out.columns:
        if column.endswith("_at"):
            out[column] = pd.to_datetime(out[column], utc=True).map(
                lambda v: "" if pd.isna(v) else v.isoformat()
            )
    for column in ("engagement_score", "fit_score", "score"):
        out[column] = out[column].astype("Int64")
    # CRLF (RFC 4180) also makes the writer quote a cell holding a bare CR; with "\n" it
    # would not, and the CR would end the row in a spreadsheet.
    neutralise_formulas(out).to_csv(path, index=False, lineterminator="\r\n")
