"""What a cycle hour reports: step headlines, dispatch problems, reruns, the artifact."""

from datetime import UTC, datetime

import pandas as pd

from tasks.cycle import CycleOutcome, CycleStep, cycle_markdown, step_artifacts
from tasks.dispatch import DispatchSummary
from tasks.nurture.decide import NurtureDecisions
from tasks.nurture.report import NurtureOutcome
from tasks.promotion.decide import PromotionDecisions
from tasks.promotion.report import PromotionOutcome
from tasks.recycling.decisions import RecyclingDecisions
from tasks.recycling.report import RecyclingOutcome
from tasks.scoring.report import ScoringOutcome
from tasks.sla.decisions import SlaDecisions
from tasks.sla.report import SlaOutcome

HOUR = datetime(2026, 11, 20, 3, tzinfo=UTC)
LATEST = "2026-11-20T04:00:00+00:00"


def scoring(snapshots: int = 2) -> ScoringOutcome:
    return ScoringOutcome(
        run_id="s", as_of=HOUR, dry_run=False, full=False, reason="incremental",
        candidates=3, scored=3, snapshots_written=snapshots, contacts_updated=snapshots,
        quarantined=[], score_distribution={"0-9": 3}, changed=pd.DataFrame(),
        beat_seconds={"read": 0.25, "decide": 0.5, "apply": 0.125},
    )


def promotion(
    *, dispatch: DispatchSummary | None = None, superseded_by: str | None = None
) -> PromotionOutcome:
    return PromotionOutcome(
        run_id="p", as_of=HOUR, dry_run=False, candidates=0,
        decisions=PromotionDecisions(as_of=HOUR), messages=0, applied=None,
        dispatch=dispatch, superseded_by=superseded_by,
    )


def recycling(superseded_by: str | None = None) -> RecyclingOutcome:
    return RecyclingOutcome(
        run_id="r", as_of=HOUR, dry_run=False, candidates=0,
        decisions=RecyclingDecisions(as_of=HOUR), messages=0, applied=None, slack=None,
        email=None, superseded_by=superseded_by,
    )


def nurture(superseded_by: str | None = None) -> NurtureOutcome:
    return NurtureOutcome(
        as_of=HOUR, dry_run=False, run_id="n", read={},
        decisions=NurtureDecisions(as_of=HOUR), superseded_by=superseded_by,
    )


def sla(
    *, slack: DispatchSummary | None = None, superseded_by: str | None = None
) -> SlaOutcome:
    return SlaOutcome(
        run_id="e", as_of=HOUR, dry_run=False, decisions=SlaDecisions(as_of=HOUR),
        messages=[], reassignments=[], applied=None, slack=slack, email=None,
        superseded_by=superseded_by,
    )


def test_a_clean_hour_has_no_dispatch_problem_and_one_flat_row_of_headlines() -> None:
    outcome = CycleOutcome(
        as_of=HOUR, dry_run=False, scoring=scoring(), promotion=promotion(),
        recycling=recycling(), nurture=nurture(), sla=sla(),
    )

    assert outcome.dispatch_problem() is None
    assert outcome.superseded_by() is None
    assert outcome.row() == {
        "as_of": HOUR.isoformat(), "scored": 3, "snapshots": 2, "quarantined": 0,
        "promoted": 0, "late_assigned": 0, "slack_sent": 0, "slack_pending": 0,
        "handoff_emails_sent": 0, "recycled": 0, "enrolled": 0, "emails_sent": 0,
        "sla_breached": 0, "escalations": 0,
    }
    assert [r.step for r in outcome.reports()] == list(CycleStep)


def test_dispatch_problems_of_every_step_are_named_by_their_step() -> None:
    no_token = DispatchSummary(error="no Slack token", pending=2)
    outcome = CycleOutcome(
        as_of=HOUR, dry_run=False, scoring=scoring(), promotion=promotion(dispatch=no_token),
        sla=sla(slack=no_token),
    )

    problem = outcome.dispatch_problem()

    assert problem is not None
    assert problem.startswith("Dispatch stopped in promotion: Slack dispatch could not run")
    assert "; sla: Slack dispatch could not run: no Slack token (2 messages pending)" in problem
    assert outcome.summary()["dispatch_problems"] == outcome.problems()
    markdown = cycle_markdown(outcome)
    assert "| promotion |" in markdown and "**stopped**" in markdown
    assert "- sla: Slack dispatch could not run" in markdown


def test_an_hour_is_already_decided_only_when_every_step_says_so() -> None:
    partly = CycleOutcome(
        as_of=HOUR, dry_run=False, scoring=scoring(0), promotion=promotion(superseded_by=LATEST),
        recycling=recycling(), nurture=nurture(LATEST), sla=sla(superseded_by=LATEST),
    )
    rerun = CycleOutcome(
        as_of=HOUR, dry_run=False, scoring=scoring(0), promotion=promotion(superseded_by=LATEST),
        recycling=recycling(LATEST), nurture=nurture(LATEST), sla=sla(superseded_by=LATEST),
    )

    assert partly.superseded_by() is None
    assert rerun.superseded_by() == LATEST
    assert rerun.summary()["superseded_by"] == LATEST
    assert "**Already decided:**" in cycle_markdown(rerun)
    assert "**Already decided:**" not in cycle_markdown(partly)


def test_the_combined_artifact_lists_each_step_with_its_beat_times() -> None:
    outcome = CycleOutcome(as_of=HOUR, dry_run=True, scoring=scoring(), nurture=nurture())

    markdown = cycle_markdown(outcome)

    assert markdown.startswith("# lead-cycle 2026-11-20 03:00 UTC (dry run")
    assert "| scoring | scored 3, snapshots 2, quarantined 0 | read 0.25, decide 0.50, " in markdown
    assert "| nurture | enrolled 0, emails_sent 0 | - | ok |" in markdown
    assert "## Dispatch problems\n\nNone." in markdown


def test_each_step_keeps_its_own_artifact_key() -> None:
    outcome = CycleOutcome(
        as_of=HOUR, dry_run=False, scoring=scoring(), promotion=promotion(),
        recycling=recycling(), nurture=nurture(), sla=sla(),
    )

    artifacts = step_artifacts(outcome)

    assert [a.key for a in artifacts] == [
        "hourly-scoring-summary", "mql-promotion-summary", "lead-recycling-summary",
        "nurture-scheduler-summary", "sla-escalation-summary",
    ]
    assert artifacts[1].markdown.startswith("# mql-promotion 2026-11-20 03:00 UTC")
