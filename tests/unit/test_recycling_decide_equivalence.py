"""The frame-based recycling decide decides exactly what the row-by-row one did (property
tests).

tests/support/legacy_recycling_decide.py is the per-row implementation it replaced; every
example compares recycles, stage moves (stamps, reasons, order), retry reminders, the
count of retries without an owner and quarantine.
"""

import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings

from models.rules import load_rules, parse_rules
from tasks.recycling.decide import decide_recycling
from tasks.recycling.decisions import RecyclingDecisions
from tasks.recycling.frames import RecyclingFrames
from tests.support import legacy_recycling_decide as legacy
from tests.support.decide_worlds import AS_OF, TOKYO, recycling_worlds

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "rules" / "default.yaml")


def _other_rules() -> Any:
    """Two unreachable touches recycle, and voicemail counts as reaching the lead."""
    data = RULES.model_dump(mode="json")
    data["recycling"] = {**data["recycling"], "unreachable_after_attempts": 2,
                         "unreachable_outcomes": ["no_answer"]}
    return parse_rules(data, source=Path("equivalence.yaml"))


OTHER_RULES = _other_rules()


def plain(value: Any) -> Any:
    """A decision as nested tuples, NaN read as None (NaN never equals itself)."""
    if is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, plain(getattr(value, f.name))) for f in fields(value))
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def assert_same(new: RecyclingDecisions, old: RecyclingDecisions) -> None:
    assert [plain(c) for c in new.recycles] == [plain(c) for c in old.recycles]
    assert [plain(t) for t in new.transitions] == [plain(t) for t in old.transitions]
    assert new.reminders == old.reminders
    assert new.unowned_retries == old.unowned_retries
    assert new.quarantined == old.quarantined
    assert new.counts() == old.counts()


def both(frames: RecyclingFrames, rules: Any = RULES, tz: Any = TOKYO) -> None:
    new = decide_recycling(frames, rules=rules, as_of=AS_OF, tz=tz)
    assert_same(new, legacy.decide_recycling(frames, rules=rules, as_of=AS_OF, tz=tz))
    for name, count in new.counts().items():
        event(f"{name}: {'some' if count else 'none'}")
    stamped = [c.at for c in new.recycles] + [t.at for t in new.transitions]
    event(f"stamped at the fact: {'some' if any(at != AS_OF for at in stamped) else 'none'}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recycling_worlds())
def test_frame_recycling_decides_what_the_row_by_row_recycling_did(
    frames: RecyclingFrames,
) -> None:
    both(frames)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recycling_worlds())
def test_frame_recycling_agrees_in_a_zone_with_daylight_saving(frames: RecyclingFrames) -> None:
    both(frames, tz=ZoneInfo("America/New_York"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recycling_worlds())
def test_frame_recycling_agrees_under_other_unreachable_rules(frames: RecyclingFrames) -> None:
    both(frames, OTHER_RULES)
