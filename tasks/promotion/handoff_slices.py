"""Compose an hour's hand-off messages a slice of contacts at a time.

A first hour at 1M contacts hands off ~183k leads: ~560k rendered Slack messages and
owner emails (~3 GB) when composed at once. A slice reads its contacts' hand-off context,
renders their messages (pure) and hands them on before the next slice is read, so at
most one slice of rendered messages is alive. A contact's messages all fall in its slice
and its keys derive from its own decisions, so the slices give the messages one slice
covering everyone gives.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from models.messages import OutboxMessage
from models.rules import Rules
from tasks.promotion.decide import PromotionDecisions, PromotionInputs
from tasks.promotion.handoff import SlackTemplates, compose_handoff_messages
from tasks.promotion.handoff_email import InternalTemplates, compose_handoff_emails
from tasks.promotion.handoff_facts import HandoffFacts
from tasks.promotion.read_handoff import read_handoff_context

# Handed-off contacts per slice: ~15k rendered messages (~75 MB) alive at a time.
HANDOFF_SLICE = 5_000


def handed_off_ids(decisions: PromotionDecisions) -> list[int]:
    """The contacts whose hand-off messages an hour composes (moved, hot or late-assigned),
    in id order."""
    return sorted(
        {
            *(t.contact_id for t in decisions.transitions),
            *(h.contact_id for h in decisions.hot),
            *(a.contact_id for a in decisions.assignments if a.late),
        }
    )


def decision_slices(decisions: PromotionDecisions, size: int) -> list[PromotionDecisions]:
    """`decisions` cut into slices of at most `size` handed-off contacts (in id order).

    A slice keeps every transition, hot mark and assignment of its contacts in their
    order, which is all the hand-off facts of a contact look at. Quarantined rows stay
    out: they have no messages.
    """
    if size < 1:
        raise ValueError(f"a hand-off slice holds at least one contact, not {size}")
    slice_of = {
        contact_id: position // size
        for position, contact_id in enumerate(handed_off_ids(decisions))
    }
    count = (len(slice_of) + size - 1) // size
    parts = [
        replace(decisions, transitions=[], hot=[], assignments=[], quarantined=[])
        for _ in range(count)
    ]
    # One pass over each list: filtering it once per slice would cost slices × decisions.
    for transition in decisions.transitions:
        parts[slice_of[transition.contact_id]].transitions.append(transition)
    for mark in decisions.hot:
        parts[slice_of[mark.contact_id]].hot.append(mark)
    for assignment in decisions.assignments:
        index = slice_of.get(assignment.contact_id)
        if index is not None:
            parts[index].assignments.append(assignment)
    return parts


@dataclass(frozen=True)
class HandoffComposer:
    """What rendering a slice's hand-offs needs besides the slice: the hour's inputs,
    rules, templates (loaded once) and time zone."""

    inputs: PromotionInputs
    rules: Rules
    tz: ZoneInfo
    slack: SlackTemplates
    internal: InternalTemplates

    @classmethod
    def load(cls, inputs: PromotionInputs, *, rules: Rules, tz: ZoneInfo) -> "HandoffComposer":
        """A composer with the Slack and internal-email templates loaded."""
        return cls(inputs, rules, tz, SlackTemplates.load(), InternalTemplates.load())

    def compose(self, conn: Connection, part: PromotionDecisions) -> list[OutboxMessage]:
        """Read one slice's hand-off context with `conn`; render its Slack messages,
        then its owner emails."""
        context = read_handoff_context(
            conn,
            contact_ids=handed_off_ids(part),
            as_of=part.as_of,
            latest=self.rules.promotion.slack.latest_activities,
        )
        # One set of facts for both channels, built from the slice's rows only.
        facts = HandoffFacts(
            part, inputs=self.inputs, context=context, rules=self.rules, tz=self.tz
        )
        slack = compose_handoff_messages(
            part,
            inputs=self.inputs,
            context=context,
            rules=self.rules,
            templates=self.slack,
            tz=self.tz,
            facts=facts,
        )
        emails = compose_handoff_emails(
            part,
            inputs=self.inputs,
            context=context,
            rules=self.rules,
            templates=self.internal,
            tz=self.tz,
            facts=facts,
        )
        return [*slack, *emails]

    def in_slices(
        self, conn: Connection, decisions: PromotionDecisions, *, size: int = HANDOFF_SLICE
    ) -> Iterator[list[OutboxMessage]]:
        """Each slice's messages in turn, composed only when the previous one is done with."""
        for part in decision_slices(decisions, size):
            yield self.compose(conn, part)
