"""The generated dataset and the summaries of loading it."""

from dataclasses import dataclass
from datetime import datetime

import pandas as pd


@dataclass(frozen=True)
class SyntheticDataset:
    """Generated frames, with dataset-local ids starting at 1.

    `contacts.company_id`, `contacts.owner_id` and `events.contact_id` refer to those
    local ids. Events carry no id column (3 M strings would cost ~200 MB): an event's
    source id is derived from its row position, see `event_ids`.
    """

    owners: pd.DataFrame
    companies: pd.DataFrame
    contacts: pd.DataFrame
    events: pd.DataFrame
    end: datetime
    days: int
    seed: int

    @property
    def event_id_prefix(self) -> str:
        """The prefix of every source event id of this dataset."""
        return f"syn{self.seed}-"

    def event_ids(self, start: int, stop: int) -> list[str]:
        """Source event ids of the event rows `start` to `stop` (row positions)."""
        prefix = self.event_id_prefix
        return [f"{prefix}{n:09d}" for n in range(start, stop)]


@dataclass(frozen=True)
class InsertSummary:
    """What `insert_dataset` wrote; add the offsets to dataset-local ids to get table ids."""

    owners: int
    companies: int
    contacts: int
    events: int
    owner_id_offset: int
    company_id_offset: int
    contact_id_offset: int


@dataclass(frozen=True)
class HourlyActivity:
    """What `add_hourly_activity` appended."""

    contacts: int
    events: int
