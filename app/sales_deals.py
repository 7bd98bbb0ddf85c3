"""The demo's field-sales team: which SQL contacts get a deal, and how each deal goes (pure).

Deterministic from a seed and the contact: part of the SQL contacts get a deal a few
business days after they became sql; the deal then moves through the rules' pipeline,
dwelling some business days in each stage, and ends won (with an amount in JPY) or lost
(with a lost reason). Nothing here reads a database or a clock: `app.sales_deal_sync`
turns the plans into the CSV files `leadflow import deals` takes, once per business day.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from models.deal_rules import DealRules
from tasks.sla.calendar import BusinessCalendar

# The reps' CRM changes reach leadflow once per business day, at this business time:
# stage moves are dated by that import, as they would be with a daily CRM sync.
SYNC_AT = time(17, 0)
# Contracts are signed (won) or called off (lost) between these business times.
CLOSE_FROM, CLOSE_HOURS = time(10, 0), 7
DEAL_SHARE = 0.65  # of SQL contacts: DOMAIN's opportunity rate is 50–70 %
WON_SHARE = 0.5  # of deals; lost deals close sooner, so the won share of a month is lower
OPEN_AFTER_DAYS = (1, 2)  # business days from sql to the deal
# Business days a deal dwells in each stage: a month-long demo compresses months of
# selling into days, keeping internal approval the usual bottleneck.
DWELL_DAYS = {
    "problem_agreed": (1, 2),
    "value_agreed": (1, 2),
    "terms_agreed": (1, 1),
    "internal_approval": (1, 3),
    "paperwork": (1, 1),
}
DEFAULT_DWELL_DAYS = (1, 2)
# Where a lost deal dies: most early, before terms are on the table.
LOST_AT_WEIGHTS = (0.35, 0.3, 0.2, 0.1, 0.05)
LOST_REASONS = (
    "budget not approved",
    "chose a competitor",
    "timing: next fiscal year",
    "no decision",
    "price",
)
DEAL_KINDS = ("annual licence", "pilot", "enterprise plan", "onboarding package")
AMOUNT_RANGE_JPY = (1_000_000, 10_000_000)
AMOUNT_STEP_JPY = 100_000


def draw(seed: int, key: int, salt: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, key, salt): the team's dice."""
    digest = hashlib.sha256(f"{seed}:{key}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _between(seed: int, key: int, salt: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return low + int(draw(seed, key, salt) * (high - low + 1))


@dataclass(frozen=True)
class DealStep:
    """The deal enters `stage` at the sync of business day `day` (closes: at `closed_at`)."""

    day: date
    stage: str
    closed_at: datetime | None = None


@dataclass(frozen=True)
class DealPlan:
    """How one SQL contact's deal goes: its steps in order, the last one won or lost."""

    deal_id: str
    contact_id: int
    kind: str
    amount: int
    steps: tuple[DealStep, ...]
    lost_reason: str | None

    @property
    def opened_on(self) -> date:
        """The business day the deal is opened (its first stage)."""
        return self.steps[0].day

    @property
    def outcome(self) -> str:
        """The last step's stage: won or lost."""
        return self.steps[-1].stage

    def state_on(self, day: date) -> DealStep | None:
        """The step the deal has reached by the sync of `day` (None: not opened yet)."""
        reached = [step for step in self.steps if step.day <= day]
        return reached[-1] if reached else None


def deal_id_of(contact_id: int) -> str:
    """The deal's id in the CRM files: one simulated deal per contact."""
    return f"demo-deal-{contact_id}"


def _amount(seed: int, contact_id: int) -> int:
    low, high = AMOUNT_RANGE_JPY
    # Log-uniform: many deals near the low end, a few large ones.
    value = math.exp(math.log(low) + draw(seed, contact_id, "amount") * math.log(high / low))
    return int(round(value / AMOUNT_STEP_JPY) * AMOUNT_STEP_JPY)


def _lost_at(seed: int, contact_id: int, stages: int) -> int:
    weights = list(LOST_AT_WEIGHTS[:stages]) or [1.0]
    weights += [weights[-1]] * (stages - len(weights))
    roll = draw(seed, contact_id, "lost_at") * sum(weights)
    for index, weight in enumerate(weights):
        roll -= weight
        if roll < 0:
            return index
    return stages - 1


def plan_deal(
    seed: int, contact_id: int, sql_at: datetime, *, deals: DealRules, calendar: BusinessCalendar
) -> DealPlan | None:
    """The deal of a contact that became sql at `sql_at` (None: sales opens no deal).

    Opened `OPEN_AFTER_DAYS` business days after sql, then one stage after another
    (`DWELL_DAYS` business days each); a won deal passes every stage, a lost one stops
    after the stage it dies in. Closes carry a time of day on their business day.
    """
    if draw(seed, contact_id, "deal") >= DEAL_SHARE:
        return None
    delay = _between(seed, contact_id, "open", OPEN_AFTER_DAYS)
    day = calendar.add_business_days(sql_at, delay).astimezone(calendar.zone).date()
    won = draw(seed, contact_id, "won") < WON_SHARE
    last = len(deals.stages) - 1 if won else _lost_at(seed, contact_id, len(deals.stages))
    steps = []
    for index, stage in enumerate(deals.stages[: last + 1]):
        steps.append(DealStep(day=day, stage=stage))
        dwell = DWELL_DAYS.get(stage, DEFAULT_DWELL_DAYS)
        for _ in range(_between(seed, contact_id, f"dwell:{index}", dwell)):
            day = calendar.next_business_day(day)
    minutes = int(draw(seed, contact_id, "close_time") * CLOSE_HOURS * 60)
    closing = datetime.combine(day, CLOSE_FROM, tzinfo=calendar.zone) + timedelta(minutes=minutes)
    steps.append(
        DealStep(day=day, stage=deals.won if won else deals.lost, closed_at=closing.astimezone(UTC))
    )
    reason = LOST_REASONS[int(draw(seed, contact_id, "reason") * len(LOST_REASONS))]
    return DealPlan(
        deal_id=deal_id_of(contact_id),
        contact_id=contact_id,
        kind=DEAL_KINDS[int(draw(seed, contact_id, "kind") * len(DEAL_KINDS))],
        amount=_amount(seed, contact_id),
        steps=tuple(steps),
        lost_reason=None if won else reason,
    )


def sync_instants(start: datetime, end: datetime, calendar: BusinessCalendar) -> list[datetime]:
    """The daily CRM syncs (`SYNC_AT` on business days) in (start, end], oldest first, UTC."""
    out = []
    day = start.astimezone(calendar.zone).date()
    while (at := datetime.combine(day, SYNC_AT, tzinfo=calendar.zone)) <= end:
        if at > start and calendar.is_business_day(day):
            out.append(at.astimezone(UTC))
        day += timedelta(days=1)
    return out
