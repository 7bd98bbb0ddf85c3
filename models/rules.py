"""The rules model: every number of the domain lives in a YAML file validated here.

A rules file is data, not code: operators change points, windows, caps and thresholds
without a deploy. `load_rules` names the bad key when a file is wrong.
"""

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.calendar_rules import CalendarRules
from models.deal_rules import DealRules
from models.enums import EventType
from models.nurture_rules import NurtureRules
from models.promotion_rules import PromotionRules
from models.sla_rules import SlaRules
from models.status_rules import LeadStatusRules, RecyclingRules


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the bad key."""


class JobLevel(StrEnum):
    """Seniority, lowest to highest; `at_least` comparisons use this order."""

    STAFF = "staff"
    MANAGER = "manager"
    DIRECTOR = "director"
    EXECUTIVE = "executive"
    C_LEVEL = "c_level"


JOB_LEVEL_RANK = {level: rank for rank, level in enumerate(JobLevel)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BehaviourSignal(_Strict):
    """Points for events of some types (and details) inside an optional recency window.

    `per` chooses the unit counted (distinct `detail` values, or every event);
    `count: once` pays `points` once when at least `min` units exist, `each` pays
    `points` per unit; `cap` bounds this signal's total.
    """

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    events: list[EventType] = Field(min_length=1)
    details: list[str] | None = None
    points: int = Field(ge=0)
    window_days: int | None = Field(default=None, gt=0)
    count: Literal["once", "each"] = "once"
    per: Literal["detail", "event"] = "detail"
    min: int = Field(default=1, ge=1)
    cap: int | None = Field(default=None, ge=0)
    description: str = ""


class FitSignal(_Strict):
    """Points for a contact attribute: a level at or above, a number ≥, or a value in a set."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    attribute: Literal["job_level", "employee_count", "industry", "region"]
    points: int = Field(ge=0)
    at_least: JobLevel | int | None = None
    any_of: list[str] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_condition(self) -> "FitSignal":
        if (self.at_least is None) == (self.any_of is None):
            raise ValueError("give exactly one of at_least or any_of")
        if self.attribute == "job_level" and not isinstance(self.at_least, JobLevel):
            raise ValueError("job_level needs at_least: one of " + ", ".join(JobLevel))
        if self.attribute == "employee_count" and not isinstance(self.at_least, int):
            raise ValueError("employee_count needs at_least: a number")
        if self.attribute in ("industry", "region") and not self.any_of:
            raise ValueError(f"{self.attribute} needs any_of: a list of values")
        return self


class BehaviourGroup(_Strict):
    """Engagement points, capped."""

    cap: int = Field(ge=0)
    signals: list[BehaviourSignal]


def fold_industry(value: str) -> str:
    """How industries compare: trimmed and case-insensitive."""
    return value.strip().casefold()


class FitGroup(_Strict):
    """Attribute points, capped.

    `industry_aliases` maps an industry as another tool writes it (HubSpot's option
    label "Computer Software" or internal value COMPUTER_SOFTWARE) to an industry some
    industry signal names in `any_of` (software). After loading, each industry signal's
    `any_of` also holds the aliases of its values, so scoring matches them like the
    value itself; the contact keeps its industry as written.
    """

    cap: int = Field(ge=0)
    signals: list[FitSignal]
    industry_aliases: dict[str, str] = {}

    @model_validator(mode="after")
    def _aliases_join_their_industry(self) -> "FitGroup":
        industry = [s for s in self.signals if s.attribute == "industry"]
        known = {fold_industry(v) for s in industry for v in s.any_of or []}
        targets: dict[str, str] = {}
        for alias, target in self.industry_aliases.items():
            key = fold_industry(alias)
            if not key:
                raise ValueError("industry_aliases: an alias is empty")
            if fold_industry(target) not in known:
                raise ValueError(
                    f"industry_aliases: '{alias}' → '{target}': '{target}' is in no industry "
                    f"signal's any_of ({', '.join(sorted(known)) or 'there is no industry signal'})"
                )
            if targets.setdefault(key, fold_industry(target)) != fold_industry(target):
                raise ValueError(
                    f"industry_aliases: '{alias}' maps to both '{targets[key]}' and '{target}'"
                )
        # The model is frozen, and decide reads `any_of`; the expansion is idempotent, so a
        # dumped and reloaded rules file validates to the same signals.
        expanded = [
            signal.model_copy(update={"any_of": self._with_aliases(signal.any_of or [])})
            if signal.attribute == "industry"
            else signal
            for signal in self.signals
        ]
        object.__setattr__(self, "signals", expanded)
        return self

    def _with_aliases(self, values: list[str]) -> list[str]:
        wanted = {fold_industry(v) for v in values}
        out = list(values)
        present = set(wanted)
        for alias, target in self.industry_aliases.items():
            if fold_industry(target) in wanted and fold_industry(alias) not in present:
                out.append(alias)
                present.add(fold_industry(alias))
        return out

    def industry_alias_of(self, value: str | None) -> str | None:
        """The industry an alias stands for ("Computer Software" → software), else None."""
        if value is None:
            return None
        key = fold_industry(value)
        for alias, target in self.industry_aliases.items():
            if fold_industry(alias) == key:
                return target
        return None


class JobLevelKeywords(_Strict):
    """Title keywords (Japanese and English, case-insensitive) per job level; highest wins."""

    c_level: list[str] = []
    executive: list[str] = []
    director: list[str] = []
    manager: list[str] = []


class Thresholds(_Strict):
    """Score lines that drive lifecycle actions."""

    mql: int = 50
    hot: int = 70
    low_score: int = 30
    low_score_days: int = 60


class Scoring(_Strict):
    """Behaviour + fit scoring preset."""

    behaviour: BehaviourGroup
    fit: FitGroup
    job_levels: JobLevelKeywords
    thresholds: Thresholds = Thresholds()

    @model_validator(mode="after")
    def _unique_names(self) -> "Scoring":
        names = [s.name for s in self.behaviour.signals] + [s.name for s in self.fit.signals]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"signal names must be unique; repeated: {', '.join(duplicates)}")
        return self


class Rules(BaseModel):
    """A whole rules file: scoring, nurture, promotion, lead status, SLA, calendar, recycling,
    deals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    scoring: Scoring
    nurture: NurtureRules = NurtureRules()
    promotion: PromotionRules
    lead_status: LeadStatusRules = LeadStatusRules()
    sla: SlaRules = SlaRules()
    calendar: CalendarRules = CalendarRules()
    recycling: RecyclingRules = RecyclingRules()
    deals: DealRules = DealRules()

    @property
    def max_score(self) -> int:
        """The highest total a contact can reach."""
        return self.scoring.behaviour.cap + self.scoring.fit.cap

    def fingerprint(self, section: str | None = None) -> str:
        """A stable hash of the rules content (or of one section), stored with results.

        Scoring stores the hash of `scoring` only, so editing a nurture program does not
        force every contact to be rescored.
        """
        data = self.model_dump(mode="json")
        if section is not None:
            data = data[section]
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _format_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid rules file"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {key}: {item['msg']}")
    return "\n".join(lines)


def parse_rules(data: Any, *, source: Path) -> Rules:
    """Validate already-loaded YAML data as a rules file."""
    if not isinstance(data, dict):
        raise RulesError(f"{source}: a rules file must be a mapping at the top level")
    try:
        return Rules.model_validate(data)
    except ValidationError as error:
        raise RulesError(_format_error(source, error)) from None


def load_rules(path: Path | str) -> Rules:
    """Load and validate a rules YAML file; errors name the file and the bad key."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError(f"{source}: cannot read rules file ({error.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesError(f"{source}: not valid YAML: {error}") from None
    return parse_rules(data, source=source)
