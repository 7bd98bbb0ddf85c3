"""Hypothesis strategies for SLA hours: small random but valid worlds of hand-offs.

A world is a few contacts, each with stage history (hand-offs to mql or straight to
sql, recycles, disqualifications, re-nurtures, imported moves), touches, status moves,
owner assignments (some after `as_of`: a past hour), already-fired escalations, an
`as_of` and a business time zone. Instants cluster where business time is tricky:
Golden Week, the year-end closure, weekends, midnight / opening / close in Tokyo, and the
US DST changes; times are whole minutes, with exact hours and business-day boundaries
over-represented.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import strategies as st

from models.rules import Rules
from models.sla_rules import LadderLevel, SlaDuration, SlaPolicy, SlaRules, StopCondition
from tasks.sla.decisions import SlaInputs
from tasks.sla.read import (
    ACTIVITY_COLUMNS,
    ASSIGNMENT_COLUMNS,
    CLOCK_COLUMNS,
    CONTACT_COLUMNS,
    ESCALATION_COLUMNS,
    FOLLOW_UP_COLUMNS,
    OWNER_COLUMNS,
    STAGE_COLUMNS,
    STATUS_COLUMNS,
)

JST = ZoneInfo("Asia/Tokyo")
# Days around which business time is tricky (local midnight of these, in Tokyo).
ANCHORS = [
    datetime(2026, 4, 28, tzinfo=JST),   # before Golden Week
    datetime(2026, 5, 1, tzinfo=JST),    # Friday before the long weekend
    datetime(2026, 6, 5, tzinfo=JST),    # Friday, then a plain weekend
    datetime(2026, 9, 18, tzinfo=JST),   # Silver Week
    datetime(2026, 11, 17, tzinfo=JST),  # a plain Tuesday
    datetime(2026, 12, 26, tzinfo=JST),  # Saturday before the year-end closure
    datetime(2027, 1, 3, tzinfo=JST),    # the closure's last day
    datetime(2026, 3, 7, tzinfo=JST),    # US DST starts on the 8th
    datetime(2026, 10, 31, tzinfo=JST),  # US DST ends on 1 November
]
MINUTE = timedelta(minutes=1)
OWNER, OTHER, UNKNOWN = 11, 12, 99
STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer", "other",
          "lost_renurture"]
KINDS = ["forward", "forward", "import", "recycle", "disqualify", "renurture"]
STATUSES = ["new", "attempting", "connected", "sales_ready", "retry", "recycle",
            "unqualified"]
OWNERS = pd.DataFrame(
    [(OWNER, "Owner", "owner@example.com", "is", "boss@example.com", "U0OWNER", True),
     (OTHER, "Other", "other@example.com", "fs", None, None, True)],
    columns=OWNER_COLUMNS,
)

# Minutes after the anchor: any minute in two weeks, or a local hour that matters.
_boundary = st.builds(lambda day, hour: (day * 24 + hour) * 60,
                      st.integers(-1, 14), st.sampled_from([0, 8, 9, 17, 18, 23]))
offsets = st.one_of(st.integers(-2 * 1440, 14 * 1440), _boundary,
                    st.integers(-1, 14).map(lambda d: d * 1440 + 9 * 60 - 1))


@st.composite
def contact_rows(draw: st.DrawFn, contact_id: int, base: datetime) -> dict[str, list[tuple]]:
    """One contact's rows: a first hand-off, then random moves, touches, statuses, owners."""
    def at(minutes: int) -> datetime:
        instant = base + minutes * MINUTE
        # Stored instants come back in UTC or with an offset: both must work.
        return instant.astimezone(UTC) if draw(st.booleans()) else instant

    first = draw(st.sampled_from([("lead", "mql"), ("lead", "sql"), (None, "mql"),
                                  ("subscriber", "opportunity")]))
    stages = [(contact_id, first[0], first[1], at(draw(st.integers(-1440, 3 * 1440))),
               draw(st.sampled_from(["forward", "import"])))]
    for _ in range(draw(st.integers(0, 4))):
        stages.append((contact_id, draw(st.sampled_from([None, *STAGES])),
                       draw(st.sampled_from(STAGES)), at(draw(offsets)),
                       draw(st.sampled_from(KINDS))))
    touches = [(contact_id, "call", draw(st.sampled_from(["no_answer", "connected", None])),
                at(draw(offsets))) for _ in range(draw(st.integers(0, 5)))]
    statuses = [(contact_id, draw(st.sampled_from(STATUSES)), at(draw(offsets)))
                for _ in range(draw(st.integers(0, 4)))]
    assignments = [(contact_id, draw(st.sampled_from([OWNER, OTHER, UNKNOWN])),
                    draw(st.sampled_from(["is", "fs"])), at(draw(offsets)))
                   for _ in range(draw(st.integers(0, 3)))]
    contact = (contact_id, f"lead{contact_id}@example.com",
               draw(st.sampled_from([None, OWNER, OTHER, UNKNOWN])),
               draw(st.sampled_from([None, "web", "event", " Web "])))
    fired = [(contact_id, draw(st.integers(1, 2)),
              draw(st.sampled_from(["first_touch", "follow_ups", "sql_decision", "stale_new",
                                    "custom"])), draw(st.integers(1, 3)))
             for _ in range(draw(st.integers(0, 3)))]
    return {"contacts": [contact], "stages": stages, "activities": touches,
            "statuses": statuses, "assignments": assignments, "escalations": fired}


@st.composite
def sla_worlds(draw: st.DrawFn) -> SlaInputs:
    """Inputs of one SLA hour for 1–5 contacts, nothing stored yet but fired escalations."""
    base = draw(st.sampled_from(ANCHORS))
    rows: dict[str, list[tuple]] = {}
    for contact_id in range(1, draw(st.integers(1, 5)) + 1):
        for name, part in draw(contact_rows(contact_id, base)).items():
            rows.setdefault(name, []).extend(part)
    if draw(st.booleans()):
        as_of = (base + draw(offsets) * MINUTE).astimezone(UTC)
    else:
        # Right at (or a minute either side of) a clock-hour level of the first hand-off.
        handoff = rows["stages"][0][3]
        as_of = (handoff + draw(st.sampled_from([0, 24, 48, 72, 96])) * 60 * MINUTE
                 + draw(st.integers(-1, 1)) * MINUTE).astimezone(UTC)
    columns = {"contacts": CONTACT_COLUMNS, "stages": STAGE_COLUMNS,
               "activities": ACTIVITY_COLUMNS, "statuses": STATUS_COLUMNS,
               "assignments": ASSIGNMENT_COLUMNS, "escalations": ESCALATION_COLUMNS}
    frames = {name: pd.DataFrame(rows.get(name, []), columns=cols)
              for name, cols in columns.items()}
    return SlaInputs(
        as_of=as_of, owners=OWNERS, clocks=pd.DataFrame(columns=CLOCK_COLUMNS),
        follow_ups=pd.DataFrame(columns=FOLLOW_UP_COLUMNS), **frames,
    )


def _level(amount: int, unit: str, *, at_close: bool = False, touches: int | None = None,
           action: str = "notify") -> LadderLevel:
    return LadderLevel(after=SlaDuration(amount=amount, unit=unit, at_close=at_close),  # type: ignore[arg-type]
                       notify=["owner"], touches=touches, action=action)  # type: ignore[arg-type]


def other_policies(rules: Rules) -> Rules:
    """`rules` with SLA policies unlike the defaults: clock days, business hours with
    closes, a status subset without stage moves, several left statuses, and a second
    touch policy sharing follow-up days with the first."""
    policies = [
        SlaPolicy(name="custom", start="assigned", until=StopCondition(touches=2),
                  due=SlaDuration(amount=2, unit="days", at_close=True),
                  ladder=[_level(4, "business_hours", at_close=True),
                          _level(1, "days", touches=1), _level(3, "business_days", touches=2,
                                                               action="reassign")]),
        SlaPolicy(name="sql_decision", until=StopCondition(statuses=["sales_ready"]),  # type: ignore[list-item]
                  due=SlaDuration(amount=1, unit="business_days"),
                  ladder=[_level(1, "business_days"), _level(12, "hours")]),
        SlaPolicy(name="stale_new", start="assigned",
                  until=StopCondition(left_statuses=["new", "attempting"]),  # type: ignore[list-item]
                  due=SlaDuration(amount=3, unit="business_hours"),
                  ladder=[_level(3, "business_hours"), _level(0, "business_days",
                                                              at_close=True, touches=1)]),
    ]
    sla = SlaRules(policies=policies, max_escalation_age=SlaDuration(amount=2,
                                                                     unit="business_days"))
    return rules.model_copy(update={"sla": sla})
