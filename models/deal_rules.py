"""The deal pipeline as data: buyer-action stages in order, the won and lost outcomes.

`leadflow import deals` accepts only these names (or their aliases, or what
`--stage-map` maps); the lost-deal recycling rule reads the lost outcome from here.
Names match case- and punctuation-insensitively ("Closed Lost" = closedlost).
"""

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEAL_NAME = r"^[a-z0-9_]+$"


def fold_deal_stage(value: str) -> str:
    """Case- and punctuation-free key: "Value agreed" → valueagreed."""
    return re.sub(r"[\W_]+", "", value.casefold())


class DealRules(BaseModel):
    """`stages` (open, in pipeline order), the `won` and `lost` outcomes, and `aliases`
    (another system's name → one of ours; HubSpot's closedwon/closedlost by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[str] = Field(
        default=[
            "problem_agreed",
            "value_agreed",
            "terms_agreed",
            "internal_approval",
            "paperwork",
        ],
        min_length=1,
    )
    won: str = Field(default="won", pattern=DEAL_NAME)
    lost: str = Field(default="lost", pattern=DEAL_NAME)
    aliases: dict[str, str] = {"closedwon": "won", "closedlost": "lost"}

    @model_validator(mode="after")
    def _consistent(self) -> "DealRules":
        for stage in self.stages:
            if not re.match(DEAL_NAME, stage):
                raise ValueError(f"stage '{stage}': use lowercase letters, digits and _")
        names = self.names
        keys = [fold_deal_stage(n) for n in names]
        repeated = sorted({n for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"stage and outcome names must be unique; repeated: {repeated}")
        for alias, target in self.aliases.items():
            if target not in names:
                raise ValueError(f"alias '{alias}' → '{target}': not a stage or outcome")
            if fold_deal_stage(alias) in keys and fold_deal_stage(alias) != fold_deal_stage(target):
                raise ValueError(f"alias '{alias}' is already a stage or outcome name")
        return self

    @property
    def names(self) -> list[str]:
        """Every stage a deal can be in: the open stages, then won and lost."""
        return [*self.stages, self.won, self.lost]

    def lookup(self) -> dict[str, str]:
        """Folded name or alias → our stage name (what the importer maps with)."""
        out = {fold_deal_stage(alias): target for alias, target in self.aliases.items()}
        out.update({fold_deal_stage(name): name for name in self.names})
        return out

    def resolve(self, value: str | None) -> str | None:
        """Our stage name for `value` (a name or an alias, any case), or None if unknown."""
        if value is None:
            return None
        return self.lookup().get(fold_deal_stage(value))

    def lost_names(self) -> tuple[str, ...]:
        """The lost outcome and its aliases, lowercased (stored deals may use either)."""
        aliases = [a.lower() for a, target in self.aliases.items() if target == self.lost]
        return (self.lost, *aliases)


DEFAULT_DEAL_RULES = DealRules()
