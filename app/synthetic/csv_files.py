"""`write_csv`: the importer's four CSV files."""

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from app.synthetic.dataset import SyntheticDataset
from app.synthetic.events import _epoch_seconds
from app.synthetic.vocab import _JST_OFFSET_S

_CSV_CHUNK = 250_000


def _iso_jst(values: pd.Series) -> npt.NDArray[np.str_]:
    """ISO 8601 with the +09:00 offset, as a Japanese CRM export writes it."""
    local = _epoch_seconds(values) + _JST_OFFSET_S
    return np.strings.add(np.datetime_as_string(local.astype("datetime64[s]"), unit="s"), "+09:00")


def _csv_text(values: pd.Series) -> pd.Series:
    """Booleans as true/false, missing values as empty cells."""
    if values.dtype == bool:
        return values.map({True: "true", False: "false"})
    return values


def write_csv(folder: Path | str, dataset: SyntheticDataset) -> dict[str, Path]:
    """Write owners.csv, companies.csv, contacts.csv and events.csv in the importer's formats.

    Timestamps are ISO 8601 with the +09:00 offset; booleans are `true`/`false`. Returns
    the written paths by table name.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("owners", "companies", "contacts", "events")}

    owners = dataset.owners[
        ["email", "name", "team", "manager_email", "slack_user_id", "active", "weight"]
    ].copy()
    owners["active"] = _csv_text(owners["active"])
    owners.to_csv(paths["owners"], index=False)
    dataset.companies[["domain", "name", "industry", "employee_count", "region"]].to_csv(
        paths["companies"], index=False
    )
    contacts = dataset.contacts.copy()
    contacts["consent"] = _csv_text(contacts["consent"])
    contacts["created_at"] = _iso_jst(contacts["created_at"])
    contacts[
        [
            "email", "first_name", "last_name", "company_domain", "company_name", "job_title",
            "industry", "employee_count", "region", "lead_source", "consent", "timezone",
            "created_at", "lifecycle_stage", "lead_status", "owner_email",
        ]
    ].to_csv(paths["contacts"], index=False)  # fmt: skip

    emails = dataset.contacts["email"].to_numpy(dtype=object)
    events = dataset.events
    with paths["events"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["event_id", "email", "type", "detail", "occurred_at"])
        for start in range(0, len(events), _CSV_CHUNK):
            chunk = events.iloc[start : start + _CSV_CHUNK]
            writer.writerows(
                zip(
                    dataset.event_ids(start, start + len(chunk)),
                    emails[chunk["contact_id"].to_numpy() - 1].tolist(),
                    chunk["type"].astype(str).tolist(),
                    chunk["detail"].astype(str).tolist(),
                    _iso_jst(chunk["occurred_at"]).tolist(),
                    strict=True,
                )
            )
    return paths
