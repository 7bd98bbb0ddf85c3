"""pandera schemas for the promotion frames: candidates in, transitions and messages out."""

import pandas as pd
import pandera.pandas as pa

from models.enums import Stage
from models.lifecycle import TransitionKind, is_allowed
from models.rules import Rules

STAGES = [stage.value for stage in Stage]


def promotion_contacts_schema(rules: Rules) -> pa.DataFrameSchema:
    """Candidates as promotion reads them: a known stage and a score inside the rules' range."""
    return pa.DataFrameSchema(
        {
            "contact_id": pa.Column(int, unique=True),
            "email": pa.Column(str, pa.Check.str_contains("@"), nullable=False),
            "lifecycle_stage": pa.Column(str, pa.Check.isin(STAGES), nullable=True),
            "score": pa.Column(
                "Float64", pa.Check.in_range(0, rules.max_score), nullable=True, coerce=True
            ),
        },
        strict=False,
    )


def _allowed(frame: pd.DataFrame) -> pd.Series:
    # Thousands of rows share a handful of (from, to, kind) moves: ask once per distinct move.
    moves = list(zip(frame["from_stage"], frame["to_stage"], frame["kind"], strict=True))
    verdicts = {
        move: is_allowed(move[0] if isinstance(move[0], str) else None, move[1],
                         TransitionKind(move[2]))
        for move in set(moves)
    }  # fmt: skip
    return pd.Series([verdicts[move] for move in moves], index=frame.index, dtype=bool)


def transitions_schema() -> pa.DataFrameSchema:
    """Decided transitions: one per contact, and only moves the lifecycle allows."""
    return pa.DataFrameSchema(
        {
            "contact_id": pa.Column(int, unique=True),
            "from_stage": pa.Column(str, nullable=True),
            "to_stage": pa.Column(str, pa.Check.isin(STAGES)),
            "kind": pa.Column(str, pa.Check.isin([k.value for k in TransitionKind])),
            "rule": pa.Column(str, pa.Check.str_length(min_value=1)),
        },
        checks=[pa.Check(_allowed, error="transition not allowed for its kind")],
        strict=True,
    )


def outbox_messages_schema() -> pa.DataFrameSchema:
    """Messages to enqueue: unique keys, a known channel, a Slack target and content."""

    def has_target(frame: pd.DataFrame) -> pd.Series:
        complete = frame["payload"].map(
            lambda p: (
                isinstance(p, dict)
                and bool(p.get("channel") or p.get("user"))
                and bool(p.get("text") or p.get("blocks"))
            )
        )
        return (frame["channel"] != "slack") | complete.astype(bool)

    return pa.DataFrameSchema(
        {
            "idempotency_key": pa.Column(str, pa.Check.str_length(1, 255), unique=True),
            "channel": pa.Column(str, pa.Check.isin(["slack", "email"])),
            "kind": pa.Column(str, pa.Check.str_length(1, 60)),
            "payload": pa.Column(object),
        },
        checks=[pa.Check(has_target, error="a Slack message needs a target and content")],
        strict=False,
    )
