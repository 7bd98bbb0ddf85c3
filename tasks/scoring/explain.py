"""`leadflow explain`: why a contact has the score it has, signal by signal, and where
its marketing consent came from."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from models.rules import FitGroup, FitSignal, Rules, fold_industry
from models.tables import ConsentHistory, Contact, Event, Owner, ScoreSnapshot
from tasks.scoring.decide import classify_job_levels, score_contacts
from tasks.scoring.explain_sales import SalesWork, format_sales_work, read_sales_work
from tasks.scoring.read import read_contacts, read_facts

# Han, kana (full and half width) and Hangul: names in these scripts are written family
# name first (高橋 花子); Latin-script names given name first (John Smith, Jürgen Müller).
_FAMILY_FIRST_SCRIPT = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af]"
)


def display_name(*, first: str | None, last: str | None) -> str:
    """A person's name in the order their script writes it: "高橋 花子", "John Smith".

    Contacts store first_name (given) and last_name (family); a name with Japanese,
    Chinese or Korean characters in either part is written family name first.
    """
    family_first = any(_FAMILY_FIRST_SCRIPT.search(part or "") for part in (first, last))
    parts = (last, first) if family_first else (first, last)
    return " ".join(part for part in parts if part)


class UnknownContact(LookupError):
    """No contact has the given email."""


@dataclass(frozen=True)
class Explanation:
    """A contact's live score at as_of with its breakdown, its events and its stored score,
    the sales side (status history, SLA clocks, follow-up tasks) and its consent history,
    oldest first."""

    email: str
    as_of: datetime
    contact: dict[str, object]
    score: dict[str, object]
    events: pd.DataFrame
    stored: dict[str, object] | None
    sales: SalesWork
    consent: list[Any] = field(default_factory=list)


def read_consent_history(conn: Connection, *, contact_id: int) -> list[Any]:
    """The contact's consent changes as stored, oldest first."""
    h = ConsentHistory
    return list(
        conn.execute(
            select(h.consent_from, h.consent_to, h.changed_at, h.source, h.evidence, h.run_id)
            .where(h.contact_id == contact_id)
            .order_by(h.changed_at, h.id)
        )
    )


def read_explanation(conn: Connection, *, email: str, rules: Rules, as_of: datetime) -> Explanation:
    """Recompute one contact's score at `as_of` with the same code as the flow."""
    row = conn.execute(
        select(
            Contact.id,
            Contact.email,
            Contact.first_name,
            Contact.last_name,
            Contact.job_title,
            Contact.lifecycle_stage,
            Contact.lead_status,
            Contact.consent,
            Owner.email.label("owner_email"),
        )
        .outerjoin(Owner, Owner.id == Contact.owner_id)
        .where(Contact.email == email.strip().lower())
    ).first()
    if row is None:
        raise UnknownContact(f"no contact with email {email!r}")
    contact = row
    ids = select(Contact.id).where(Contact.id == contact.id)
    attributes = read_contacts(conn, ids)
    facts = read_facts(conn, rules, as_of, ids)
    scores = score_contacts(contacts=attributes, facts=facts, rules=rules, as_of=as_of)
    events = pd.DataFrame.from_records(
        conn.execute(
            select(Event.occurred_at, Event.type, Event.detail)
            .where(Event.contact_id == contact.id, Event.occurred_at <= as_of)
            .order_by(Event.occurred_at.desc())
        ).all(),
        columns=["occurred_at", "type", "detail"],
    )
    snapshot = conn.execute(
        select(ScoreSnapshot.as_of, ScoreSnapshot.score, ScoreSnapshot.run_id)
        .where(ScoreSnapshot.contact_id == contact.id, ScoreSnapshot.as_of <= as_of)
        .order_by(ScoreSnapshot.as_of.desc())
        .limit(1)
    ).first()
    level = classify_job_levels(attributes["job_title"], rules.scoring.job_levels).iat[0]
    return Explanation(
        email=contact.email,
        as_of=as_of,
        contact={
            "name": display_name(first=contact.first_name, last=contact.last_name),
            "job_title": contact.job_title,
            "job_level": level,
            "industry": attributes["industry"].iat[0],
            "employee_count": attributes["employee_count"].iat[0],
            "region": attributes["region"].iat[0],
            "lifecycle_stage": contact.lifecycle_stage,
            "lead_status": contact.lead_status,
            "owner_email": contact.owner_email,
            "consent": contact.consent,
        },
        score=scores.iloc[0].to_dict(),
        events=events,
        stored=None
        if snapshot is None
        else {"as_of": snapshot.as_of, "score": snapshot.score, "run_id": snapshot.run_id},
        sales=read_sales_work(conn, contact_id=contact.id),
        consent=read_consent_history(conn, contact_id=contact.id),
    )


def _at(value: object, tz: tzinfo) -> str:
    """An instant in the business time zone, to the minute; other values as they are."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz).isoformat(timespec="minutes")
    return str(value)


def format_explanation(explanation: Explanation, rules: Rules, *, tz: tzinfo = UTC) -> str:
    """Human-readable text: each signal, its points, dates, windows and the caps applied;
    then the lead-status history, SLA clocks and follow-up tasks (times in `tz`)."""
    e = explanation
    score = e.score
    breakdown = score["breakdown"]
    assert isinstance(breakdown, dict)
    paid = {item["signal"]: item for item in breakdown["signals"]}
    c = e.contact
    lines = [
        f"{e.email} — {c['name'] or '(no name)'}, {c['job_title'] or '(no title)'} "
        f"[{c['job_level']}]",
        f"stage {c['lifecycle_stage']}, status {c['lead_status'] or '-'}, "
        f"owner {c['owner_email'] or '-'}",
        f"score at {_at(e.as_of, tz)}: {score['score']} = engagement "
        f"{score['engagement_score']} + fit {score['fit_score']}",
        "",
        f"behaviour (cap {rules.scoring.behaviour.cap}; raw {breakdown['behaviour_raw']}"
        + (", capped" if breakdown["behaviour_raw"] > rules.scoring.behaviour.cap else "")
        + ")",
    ]
    for signal in rules.scoring.behaviour.signals:
        item = paid.get(signal.name)
        window = f"last {signal.window_days} days" if signal.window_days else "any time"
        rule = (
            f"{signal.points} pts {'once' if signal.count == 'once' else 'per ' + signal.per}"
            + (f", needs ≥{signal.min} {signal.per}s" if signal.min > 1 else "")
            + (f", cap {signal.cap}" if signal.cap is not None else "")
            + f", {window}"
        )
        matching = e.events[e.events["type"].isin([t.value for t in signal.events])]
        if signal.details is not None:
            matching = matching[matching["detail"].isin(signal.details)]
        if item:
            lines.append(
                f"  + {item['points']:>3}  {signal.name}: {item['units']} {signal.per}(s), "
                f"latest {_at(item['last_at'], tz)} ({rule})"
            )
        elif not matching.empty and signal.window_days:
            since = e.as_of - timedelta(days=signal.window_days)
            latest = matching["occurred_at"].max()
            lines.append(
                f"  +   0  {signal.name}: latest {_at(latest, tz)} is before the window "
                f"start {_at(since, tz)} ({rule})"
            )
        elif not matching.empty:
            lines.append(
                f"  +   0  {signal.name}: {len(matching)} event(s), below the minimum ({rule})"
            )
        else:
            lines.append(f"  +   0  {signal.name}: no events ({rule})")
    lines += [
        "",
        f"fit (cap {rules.scoring.fit.cap}; raw {breakdown['fit_raw']}"
        + (", capped" if breakdown["fit_raw"] > rules.scoring.fit.cap else "")
        + ")",
    ]
    fit = rules.scoring.fit
    for fit_signal in fit.signals:
        points = paid.get(fit_signal.name, {}).get("points", 0)
        value = c["job_level"] if fit_signal.attribute == "job_level" else c[fit_signal.attribute]
        lines.append(
            f"  + {points:>3}  {fit_signal.name}: {fit_signal.attribute} = "
            f"{_fit_value(fit_signal, value, fit)} "
            f"(rule: {_fit_condition(fit_signal, fit)}, {fit_signal.points} pts)"
        )
    if e.stored:
        lines += [
            "",
            f"stored snapshot: {e.stored['score']} at {_at(e.stored['as_of'], tz)} "
            f"(run {e.stored['run_id']})",
        ]
    else:
        lines += ["", "no stored snapshot yet (run `leadflow run scoring`)"]
    lines += format_sales_work(e.sales, tz=tz, sla=rules.sla)
    lines += format_consent_history(e.consent, consent=bool(c["consent"]), tz=tz)
    return "\n".join(lines)


def _alias_target(value: str, fit: FitGroup) -> str | None:
    """The industry `value` is an alias of, unless it is that industry itself."""
    target = fit.industry_alias_of(value)
    return target if target is not None and fold_industry(target) != fold_industry(value) else None


def _fit_condition(signal: FitSignal, fit: FitGroup) -> str:
    """A fit signal's condition as the rules file gives it: an industry signal lists its own
    `any_of`, not the aliases that loading the rules added to it (HubSpot has dozens)."""
    if signal.at_least is not None:
        return f"≥ {signal.at_least}"
    values = signal.any_of or []
    if signal.attribute != "industry":
        return "in " + ", ".join(values)
    own = [v for v in values if _alias_target(v, fit) is None]
    aliases = len(values) - len(own)
    return "in " + ", ".join(own) + (f" or one of {aliases} aliases" if aliases else "")


def _fit_value(signal: FitSignal, value: object, fit: FitGroup) -> str:
    """The contact's value; an industry that is an alias says which industry it counts as."""
    if signal.attribute == "industry" and isinstance(value, str):
        target = _alias_target(value, fit)
        if target is not None:
            return f"{value} (alias of {target})"
    return str(value)


def format_consent_history(history: list[Any], *, consent: bool, tz: tzinfo) -> list[str]:
    """The consent section: the contact's consent now, then each change with its source
    and evidence (times in `tz`)."""

    def state(value: bool | None) -> str:
        return "-" if value is None else "granted" if value else "not granted"

    lines = ["", f"marketing consent: {state(consent)}"]
    for row in history:
        run = f", run {row.run_id}" if row.run_id else ""
        evidence = f": {row.evidence}" if row.evidence else ""
        lines.append(
            f"  {_at(row.changed_at, tz)}  {state(row.consent_from)} → {state(row.consent_to)} "
            f"({row.source}{run}){evidence}"
        )
    if not history:
        lines.append("  no consent changes recorded")
    return lines
