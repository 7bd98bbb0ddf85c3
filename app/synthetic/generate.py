"""`generate_dataset`: the whole deterministic dataset from a seed."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from app.synthetic.calendars import _email_calendar, _show_calendar, _webinar_calendar
from app.synthetic.dataset import SyntheticDataset
from app.synthetic.events import _events
from app.synthetic.people import _companies, _contacts, _owners
from app.synthetic.vocab import _DAY_S


def generate_dataset(
    *, contacts: int, events: int, days: int, end: datetime, seed: int = 7
) -> SyntheticDataset:
    """Generate owners, companies, `contacts` contacts and `events` events.

    Events fall in the `days` days before `end` (inclusive); every contact is created
    inside that window and acts only after its creation. The same arguments always
    produce the same dataset.
    """
    if contacts < 1 or events < 0 or days < 1:
        raise ValueError("need contacts >= 1, events >= 0 and days >= 1")
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    end = end.astimezone(UTC)
    rng = np.random.default_rng(seed)
    end_s = int(end.timestamp())
    start_s = end_s - days * _DAY_S
    setup = datetime.fromtimestamp(start_s, UTC) - timedelta(days=90)

    emails = _email_calendar(start_s, end_s)
    webinars = _webinar_calendar(start_s, end_s)
    shows = _show_calendar(start_s, end_s)
    owners = _owners(rng, setup)
    company_count = max(1, contacts // 8)
    companies = _companies(rng, company_count, setup)
    contact_frame = _contacts(
        rng,
        contacts,
        companies,
        owners,
        start_s=start_s,
        end_s=end_s,
        webinars=webinars,
        shows=shows,
    )
    first_contact = contact_frame.groupby("company_id")["created_at"].min()
    companies["created_at"] = (
        companies["id"]
        .map(first_contact)
        .fillna(pd.Timestamp(setup))
        .astype(contact_frame["created_at"].dtype)
    )
    event_frame = _events(
        rng,
        contact_frame,
        events,
        end_s=end_s,
        emails=emails,
        webinars=webinars,
        shows=shows,
    )
    return SyntheticDataset(
        owners=owners,
        companies=companies.drop(columns=["japanese"]),
        contacts=contact_frame,
        events=event_frame,
        end=end,
        days=days,
        seed=seed,
    )
