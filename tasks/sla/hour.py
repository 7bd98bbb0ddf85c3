"""One SLA hour — read → decide → compose → apply → dispatch — the only way it runs.

The `sla-escalation` flow, the CLI (through the flow) and the tests all call `sla_hour`,
so the tests exercise what production runs.
"""

from datetime import datetime

from leadflow.db import ensure_database
from leadflow.runs import recorded_run, superseded_by
from leadflow.settings import Settings
from leadflow.timeutil import utc_now
from models.enums import Team
from models.messages import OutboxMessage
from models.rules import Rules
from tasks.beats import BeatTimer, database_beat, opaque, plain_beat
from tasks.clock import Clock
from tasks.dispatch import drain_staff_messages
from tasks.owners import OwnerRequest, pick_owners
from tasks.sla.apply import AppliedSla, apply_sla
from tasks.sla.decide import decide_sla
from tasks.sla.decisions import SlaDecisions, SlaInputs
from tasks.sla.messages import Reassignment, SlaTemplates, compose_sla_messages
from tasks.sla.read import read_message_context, read_sla_inputs
from tasks.sla.report import SlaOutcome

FLOW_NAME = "sla-escalation"


@database_beat("read-sla-inputs")
def read_sla(database_url: str, rules: Rules, as_of: datetime) -> SlaInputs:
    """Read the unsettled contacts' hand-offs, touches, statuses, owners and clocks."""
    with ensure_database(database_url).connect() as conn:
        return read_sla_inputs(conn, rules=rules, as_of=as_of)


@plain_beat("decide-sla")
def decide(inputs: SlaInputs, rules: Rules, settings: Settings) -> SlaDecisions:
    """Decide clocks, ladder levels that fire and follow-up tasks (pure)."""
    return decide_sla(inputs, rules, tz=settings.tz,
                      max_bad_row_share=settings.max_bad_row_share)


@database_beat("compose-sla-messages")
def compose(
    database_url: str,
    decisions: SlaDecisions,
    inputs: SlaInputs,
    rules: Rules,
    settings: Settings,
) -> tuple[list[OutboxMessage], dict[str, Reassignment]]:
    """Pick the new owners of reassigned leads and render every escalation message.

    Picking only reads the team's rotation; apply records the picks of escalations that
    are really new.
    """
    escalations = decisions.escalations
    movable = [
        e for e in escalations
        if e.action == "reassign" and e.owner_id is not None
        and e.team in Team._value2member_map_
    ]
    with ensure_database(database_url).connect() as conn:
        picks = pick_owners(conn, [
            OwnerRequest(e.contact_id, Team(str(e.team)), f"sla {e.policy} level {e.level}",
                         skip=e.owner_id)
            for e in movable
        ])
        context = read_message_context(
            conn, contact_ids=[e.contact_id for e in escalations], as_of=decisions.as_of
        )
    reassignments = {
        e.key: Reassignment(e.contact_id, e.owner_id, pick.owner_id, pick.team.value,
                            pick.reason)
        for e, pick in zip(movable, picks, strict=True)
    }
    messages = compose_sla_messages(
        escalations, owners=inputs.owners, context=context, reassignments=reassignments,
        rules=rules, templates=SlaTemplates.load(), tz=settings.tz,
    )
    return messages, reassignments


@database_beat("apply-sla")
def apply(
    database_url: str,
    decisions: SlaDecisions,
    messages: list[OutboxMessage],
    reassignments: dict[str, Reassignment],
    run_id: str,
) -> AppliedSla:
    """Write clocks, escalations, owners, follow-up tasks and messages in one transaction."""
    return apply_sla(ensure_database(database_url), decisions, messages,
                     reassignments=reassignments, run_id=run_id, now=utc_now())


def sla_hour(
    *, settings: Settings, rules: Rules, as_of: datetime, dry_run: bool = False,
    clock: Clock = Clock.LIVE,
) -> SlaOutcome:
    """Open, close and escalate SLA clocks for one hour, then drain Slack and email.

    An hour at or before the latest applied hour does nothing at all: it was decided
    already. Records the run in the run ledger; `dry_run` stops after composing the
    messages and writes and sends nothing. `clock` dates the
    sends (`tasks.clock`).
    """
    url = settings.database_url
    engine = ensure_database(url)
    timer = BeatTimer()
    earlier = superseded_by(engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=rules.fingerprint("sla"),
    ) as run:
        decisions = SlaDecisions(as_of=as_of)
        messages: list[OutboxMessage] = []
        reassignments: dict[str, Reassignment] = {}
        if earlier is None:
            with timer.beat("read"):
                inputs = read_sla(url, opaque(rules), as_of)
            with timer.beat("decide"):
                decisions = decide(opaque(inputs), opaque(rules), opaque(settings))
                messages, reassignments = compose(
                    url, opaque(decisions), opaque(inputs), opaque(rules), opaque(settings)
                )
        applied = slack = email = None
        if not dry_run and earlier is None:
            with timer.beat("apply"):
                applied = apply(url, opaque(decisions), opaque(messages),
                                opaque(reassignments), run.run_id)
            with timer.beat("dispatch"):
                slack, email = drain_staff_messages(
                    settings, rules, as_of=as_of, clock=clock
                )
        outcome = SlaOutcome(
            run_id=run.run_id,
            as_of=as_of,
            dry_run=dry_run,
            decisions=decisions,
            messages=messages,
            reassignments=list(reassignments.values()),
            applied=applied,
            slack=slack,
            email=email,
            beat_seconds=timer.seconds,
            superseded_by=earlier.as_of.isoformat() if earlier else None,
        )
        run.summary = outcome.summary()
    return outcome
