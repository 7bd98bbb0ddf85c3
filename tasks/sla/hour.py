"""One SLA hour — read → decide → compose → apply → dispatch — the only way it runs.

The `sla-escalation` flow, the CLI (through the flow) and the tests all call `sla_hour`,
so the tests exercise what production runs.
"""

from datetime import datetime, tzinfo

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
from tasks.sla.read import read_sla_inputs
from tasks.sla.read_context import read_message_context
from tasks.sla.read_scope import SlaScope, sla_rules_hash, sla_scope
from tasks.sla.report import SlaOutcome

FLOW_NAME = "sla-escalation"


@database_beat("read-sla-inputs")
def read_sla(
    database_url: str, rules: Rules, as_of: datetime, tz: tzinfo, full: bool = False
) -> tuple[SlaScope, SlaInputs]:
    """Read the hand-offs, touches, statuses, owners and clocks of the unsettled contacts
    whose SLA can have changed since the previous run (every unsettled one when `full`,
    on the first run or after a rules change)."""
    with ensure_database(database_url).connect() as conn:
        scope = sla_scope(conn, flow=FLOW_NAME, rules=rules, as_of=as_of, tz=tz, full=full)
        return scope, read_sla_inputs(conn, rules=rules, as_of=as_of, scope=scope)


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
    clock: Clock = Clock.LIVE, full: bool = False,
) -> SlaOutcome:
    """Open, close and escalate SLA clocks for one hour, then drain Slack and email.

    An hour at or before the latest applied hour does nothing at all: it was decided
    already. Records the run in the run ledger; `dry_run` stops after composing the
    messages and writes and sends nothing. `clock` dates the
    sends (`tasks.clock`). `full` reads every unsettled contact instead of only those
    whose clocks can have changed since the previous run (`tasks.sla.read_scope`).
    """
    url = settings.database_url
    engine = ensure_database(url)
    timer = BeatTimer()
    earlier = superseded_by(engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run)
    with recorded_run(
        engine, flow=FLOW_NAME, as_of=as_of, dry_run=dry_run,
        rules_hash=sla_rules_hash(rules, settings.tz),
    ) as run:
        decisions = SlaDecisions(as_of=as_of)
        messages: list[OutboxMessage] = []
        reassignments: dict[str, Reassignment] = {}
        scope = None
        if earlier is None:
            with timer.beat("read"):
                scope, inputs = read_sla(url, opaque(rules), as_of, settings.tz, full)
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
            read_scope=scope.reason if scope else None,
            read_ids=scope.read_ids if scope else {},
        )
        run.summary = outcome.summary()
    return outcome
