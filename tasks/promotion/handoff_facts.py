"""What a hand-off says about a contact, shared by the Slack message and the owner's email.

Pure: decisions + the read hand-off context in, plain template values out (names,
company, score, top reasons, latest activities, lead source, owner). Each channel
escapes and lays them out itself.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd

from models.rules import Rules
from tasks.promotion.decide import PromotionDecisions, PromotionInputs


@dataclass(frozen=True)
class HandoffContext:
    """What a hand-off message shows about the contacts that moved."""

    contacts: pd.DataFrame
    reasons: dict[int, list[dict[str, object]]]
    activities: pd.DataFrame


def text_or_none(value: object) -> str | None:
    """`value` as stripped text, None when missing or blank."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def missing(value: Any) -> bool:
    """Whether a frame cell is empty (None, NaN, NA)."""
    return value is None or bool(pd.isna(value))


def _display_name(row: Mapping[str, Any]) -> str:
    # Japanese order (family name first) reads naturally in both languages.
    parts = [text_or_none(row.get("last_name")), text_or_none(row.get("first_name"))]
    name = " ".join(p for p in parts if p)
    return name or str(row.get("email") or "?")


def _signal_labels(rules: Rules) -> dict[str, str]:
    labels: dict[str, str] = {}
    for behaviour in rules.scoring.behaviour.signals:
        labels[behaviour.name] = behaviour.description or behaviour.name
    for fit in rules.scoring.fit.signals:
        labels[fit.name] = fit.description or fit.name
    return labels


def top_reasons(
    signals: list[dict[str, object]], *, labels: Mapping[str, str], limit: int
) -> list[dict[str, object]]:
    """The signals that gave the most points, as {name, label, points, line}.

    A score breakdown names each entry's rule under `signal` (`name` is read as a fallback).
    """
    scored = [s for s in signals if isinstance(s.get("points"), int | float) and s["points"]]
    scored.sort(key=lambda s: (-float(s["points"]), _signal_name(s)))  # type: ignore[arg-type]
    reasons = []
    for signal in scored[:limit]:
        name = _signal_name(signal)
        label = labels.get(name, name)
        points = int(signal["points"])  # type: ignore[call-overload]
        reasons.append(
            {"name": name, "label": label, "points": points, "line": f"• {label} +{points}"}
        )
    return reasons


def _signal_name(signal: Mapping[str, object]) -> str:
    name = signal.get("signal", signal.get("name"))
    return "?" if name is None else str(name)


def records(
    frame: pd.DataFrame, key: str, wanted: Collection[int] | None = None
) -> dict[int, dict[str, Any]]:
    """The rows of `frame` as dicts, by the integer column `key`; only the `wanted` keys
    when given (the frame of every candidate can be large; a run hands off a few)."""
    if wanted is not None:
        keys = pd.to_numeric(frame[key], errors="coerce")
        frame = frame[keys.isin(list(wanted)).to_numpy()]
    columns = [str(c) for c in frame.columns]
    return {
        int(row[columns.index(key)]): dict(zip(columns, row, strict=True))
        for row in frame.itertuples(index=False, name=None)
    }


def _local(value: object, tz: tzinfo) -> str:
    # pd.NaT is a datetime too: test for a missing value before converting anything.
    if missing(value):
        return "-"
    if isinstance(value, pd.Timestamp):
        # pandas' own astimezone is an order of magnitude slower than datetime's.
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return str(value)
    return value.astimezone(tz).strftime("%m/%d %H:%M")


def _local_labels(values: pd.Series, tz: tzinfo) -> list[str]:
    """`_local` of every value, vectorised when the column holds aware instants."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        labels = values.dt.tz_convert(tz).dt.strftime("%m/%d %H:%M")
        return [str(label) if not missing(label) else "-" for label in labels]
    return [_local(value, tz) for value in values]


@dataclass(frozen=True)
class Handoff:
    """One hand-off to announce: `key` is the natural key its messages' keys derive from.

    `late`: the owner comes after the hand-off (the team had no active owner then).
    """

    contact_id: int
    rule: str
    key: str
    late: bool = False


class HandoffFacts:
    """The facts of one run's hand-offs: per contact, what the messages show."""

    def __init__(
        self,
        decisions: PromotionDecisions,
        *,
        inputs: PromotionInputs,
        context: HandoffContext,
        rules: Rules,
        tz: tzinfo,
    ) -> None:
        self.decisions = decisions
        self.rules = rules
        self.tz = tz
        involved = {
            *(t.contact_id for t in decisions.transitions),
            *(h.contact_id for h in decisions.hot),
            *(a.contact_id for a in decisions.assignments),
        }
        # Late-assignment contacts may sit in a stage no rule moves from (not candidates).
        self.contacts = {**records(inputs.unowned, "contact_id", involved),
                         **records(inputs.contacts, "contact_id", involved)}
        self.details = records(context.contacts, "contact_id", involved)
        self.owners = records(inputs.owners, "owner_id")
        self.assigned = {a.contact_id: a.owner_id for a in decisions.assignments}
        self.stage_after = {t.contact_id: t for t in decisions.transitions}
        self.hot = {h.contact_id for h in decisions.hot}
        self.reasons = context.reasons
        self.labels = _signal_labels(rules)
        self.recent: dict[int, list[dict[str, Any]]] = {}
        touches = context.activities
        labels = _local_labels(touches["at"], tz) if "at" in touches.columns else None
        columns = [str(c) for c in touches.columns]
        for position, row in enumerate(touches.itertuples(index=False, name=None)):
            touch = dict(zip(columns, row, strict=True))
            if labels is not None:
                touch["at_label"] = labels[position]
            self.recent.setdefault(int(touch["contact_id"]), []).append(touch)
        self.as_of_label = decisions.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        self._shown: dict[int, dict[str, Any]] = {}

    def handoffs(self) -> list[Handoff]:
        """This run's hand-offs: moves into a notify stage, then late assignments and
        hand-overs to the stage's team there.

        Their keys are the assignment's natural key (contact + hour).
        """
        notify = {stage.value for stage in self.rules.promotion.slack.notify_stages}
        found = [
            Handoff(t.contact_id, t.rule, t.key)
            for t in self.decisions.transitions
            if t.to_stage.value in notify
        ]
        for assignment in self.decisions.assignments:
            if assignment.late and self.stage_of(assignment.contact_id) in notify:
                stamp = assignment.at.strftime("%Y%m%dT%H%M%SZ")
                prefix = "handover" if assignment.handover else "late"
                found.append(
                    Handoff(assignment.contact_id, assignment.reason,
                            f"{prefix}:{assignment.contact_id}:{stamp}",
                            late=not assignment.handover)
                )
        return found

    def owner_of(self, contact_id: int) -> dict[str, Any] | None:
        """The contact's owner after this run (its new one if assigned now), or None."""
        current = self.contacts[contact_id]["owner_id"]
        owner_id = self.assigned.get(contact_id, None if missing(current) else int(current))
        return self.owners.get(owner_id) if owner_id is not None else None

    def stage_of(self, contact_id: int) -> str:
        """The contact's lifecycle stage after this run."""
        transition = self.stage_after.get(contact_id)
        if transition is not None:
            return transition.to_stage.value
        return str(self.contacts[contact_id]["lifecycle_stage"])

    def entered_at(self, contact_id: int) -> datetime:
        """When the contact entered its current stage: this run's hour if it moved now or
        when that is unknown (no stage history), so the hand-off starts now."""
        transition = self.stage_after.get(contact_id)
        if transition is not None:
            return transition.at
        at = self.contacts[contact_id].get("last_stage_at")
        # pd.NaT is an instance of datetime (and NaT.astimezone raises): test it first.
        if missing(at):
            return self.decisions.as_of
        if isinstance(at, pd.Timestamp):
            return at.to_pydatetime()
        return at if isinstance(at, datetime) else self.decisions.as_of

    def about(self, contact_id: int, *, kind: str, rule: str) -> dict[str, Any]:
        """Template values for one message: kind, rule, contact, reasons, activities.

        The owner is left to the channel (a Slack mention or an email address).
        """
        # A hot lead's hand-off, channel post, DM and email show the same facts: build once.
        shown = self._shown.get(contact_id)
        if shown is None:
            shown = self._shown[contact_id] = self._facts_of(contact_id)
        return {"kind": kind, "rule": rule, **shown}

    def _facts_of(self, contact_id: int) -> dict[str, Any]:
        slack = self.rules.promotion.slack
        row = self.details.get(contact_id, {})
        contact = self.contacts[contact_id]
        score = contact["score"]
        touches = self.recent.get(contact_id, [])
        return {
            "as_of_label": self.as_of_label,
            "contact": {
                "name": _display_name(row) if row else str(contact["email"]),
                "email": str(contact["email"]),
                "job_title": text_or_none(row.get("job_title")),
                "company": text_or_none(row.get("company_name"))
                or text_or_none(row.get("company_domain"))
                or "-",
                "lead_source": text_or_none(row.get("lead_source")),
                "stage": self.stage_of(contact_id),
                "score": "-" if missing(score) else int(score),
                "hot": contact_id in self.hot or not missing(contact["hot_at"]),
            },
            "reasons": top_reasons(
                self.reasons.get(contact_id, []), labels=self.labels, limit=slack.top_reasons
            ),
            "activities": [
                {
                    "type": t["type"],
                    "detail": text_or_none(t["detail"]),
                    "at": t["at_label"] if "at_label" in t else _local(t["at"], self.tz),
                }
                for t in touches[: slack.latest_activities]
            ],
        }
