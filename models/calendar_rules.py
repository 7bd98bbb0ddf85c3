"""The business calendar as data: weekdays, business hours, public holidays, closures.

SLA clocks that count `business_days` or `business_hours` use it (see tasks.sla.calendar).
"""

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.nurture_rules import Weekday

MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Closure(_Strict):
    """Company closure days every year, `from` → `to` inclusive as MM-DD (may wrap the year)."""

    from_: str = Field(alias="from", pattern=MONTH_DAY)
    to: str = Field(pattern=MONTH_DAY)
    name: str = ""


class CalendarRules(_Strict):
    """Which days are business days and which hours are business hours (business time zone)."""

    weekdays: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    start: time = time(9, 0)
    end: time = time(18, 0)
    holiday_country: str | None = "JP"
    closures: list[Closure] = [Closure.model_validate({"from": "12-29", "to": "01-03",
                                                       "name": "年末年始"})]

    @model_validator(mode="after")
    def _ordered(self) -> "CalendarRules":
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self
