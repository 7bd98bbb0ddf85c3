"""Retry dates that come due (pure): a reminder to the owner, once per lead and date."""

from datetime import datetime, tzinfo

import pandas as pd

from models.enums import LeadStatus
from tasks.recycling.decisions import RetryReminder
from tasks.recycling.frames import ts
from tasks.recycling.timeline import instants, latest_status_rows, texts


def retry_reminders(
    contacts: pd.DataFrame,
    history: pd.DataFrame,
    *,
    as_of: datetime,
    tz: tzinfo,
    bad_owners: set[int],
) -> tuple[list[RetryReminder], int]:
    """Reminders for the contacts at `retry` whose re-approach date is today (in `tz`)
    and has come, and how many of those have no owner to remind (none, or one whose row
    was quarantined: `bad_owners`)."""
    today = as_of.astimezone(tz).date()
    waiting = contacts[(contacts["lead_status"] == LeadStatus.RETRY.value).to_numpy(dtype=bool)]
    set_by = latest_status_rows(history, LeadStatus.RETRY.value).reindex(waiting.index)
    retry_at = instants(set_by["retry_at"])
    local_day = retry_at.dt.tz_convert(tz).dt.date
    due = (retry_at.notna() & (retry_at <= pd.Timestamp(as_of)) & (local_day == today)).to_numpy(
        dtype=bool
    )
    waiting, set_by = waiting[due], set_by[due]
    owner = pd.to_numeric(waiting["owner_id"]).astype("Int64")
    unowned_mask = (owner.isna() | owner.isin(list(bad_owners))).to_numpy(dtype=bool)
    owned, notes = waiting[~unowned_mask], set_by[~unowned_mask]
    reminders = [
        RetryReminder(
            contact_id=int(contact_id),
            owner_id=int(owner_id),
            retry_at=ts(retry) or as_of,
            note=note,
        )
        for contact_id, owner_id, retry, note in zip(
            owned.index,
            owned["owner_id"],
            notes["retry_at"],
            texts(notes["reason"]),
            strict=True,
        )
    ]
    return reminders, int(unowned_mask.sum())
