"""Read beat of the dry-run decision table: who the ids in an hour's decisions are.

Decisions carry contact and owner ids; people read addresses, owner names and the score
a contact had before the hour. This reads them — only for dry runs, which print their
decisions — so the row builders in `tasks.decision_rows` stay pure.
"""

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from leadflow.db import ensure_database
from models.tables import Contact, Owner
from tasks.beats import database_beat
from tasks.decision_rows import DecisionNames
from tasks.scoring.read import MAX_LISTED_CANDIDATES, read_previous_scores

# Ids per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 5000


@dataclass(frozen=True)
class DecisionPeople:
    """The names an hour's decision rows use, and the contacts' addresses."""

    names: DecisionNames
    emails: dict[int, str]


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


@database_beat("read-decision-names")
def read_decision_people(
    database_url: str, *, contact_ids: Collection[int], scored_ids: Collection[int],
    as_of: datetime,
) -> DecisionPeople:
    """Every owner's name, the addresses of `contact_ids`, and the latest score at or
    before `as_of` of `scored_ids` (a dry run wrote none for the hour itself)."""
    wanted = sorted(set(contact_ids))
    scored = sorted(set(scored_ids))
    with ensure_database(database_url).connect() as conn:
        owners = {int(i): str(n) for i, n in conn.execute(select(Owner.id, Owner.name))}
        emails: dict[int, str] = {}
        for chunk in _chunks(wanted):
            query = select(Contact.id, Contact.email).where(Contact.id.in_(chunk))
            emails.update((int(i), str(e)) for i, e in conn.execute(query))
        previous = read_previous_scores(
            conn, as_of, scored if len(scored) <= MAX_LISTED_CANDIDATES else None
        )
    keep = set(scored)
    scores = {
        int(cid): int(score)
        for cid, score in zip(previous["contact_id"], previous["previous_score"], strict=True)
        if int(cid) in keep
    }
    return DecisionPeople(names=DecisionNames(owners=owners, previous_scores=scores), emails=emails)
