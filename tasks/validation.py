"""Lazy pandera validation that splits a frame into good rows and quarantine records.

Pure: decide beats import it. The quarantine table writer is `tasks.quarantine`.
"""

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors


class TooManyBadRows(RuntimeError):
    """More rows failed validation than the configured share allows (the one bad-row guard)."""


def timezone_aware(series: pd.Series) -> pd.Series:
    """Per row: is the value a timezone-aware instant (or missing)? A pandera check.

    A column whose dtype carries a time zone answers for all its values at once; only
    object columns are looked at value by value.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return pd.Series(True, index=series.index)
    return series.map(lambda v: v is None or pd.isna(v) or getattr(v, "tzinfo", None) is not None)


def check_bad_row_share(
    *,
    what: str,
    bad: int,
    total: int,
    limit: float,
    first: "QuarantineRecord | None" = None,
) -> None:
    """Raise `TooManyBadRows` when `bad / total` passes `limit`; say what and the first reason.

    Every beat that validates rows (scoring inputs, promotion candidates, planned emails,
    imported files) guards with this one function, so the message reads the same.
    """
    if not bad or not total or bad / total <= limit:
        return
    message = f"{bad} of {total} {what} failed validation ({bad / total:.0%} > limit {limit:.0%})"
    if first is not None:
        where = f"{first.source} row {first.row_number}"
        field_name = f" field {first.field}" if first.field else ""
        message += f"; first: {where}{field_name}: {first.reason}"
    raise TooManyBadRows(message)


@dataclass(frozen=True)
class QuarantineRecord:
    """One rejected row: where it came from, which field, the value and why."""

    source: str
    row_number: int
    field: str | None
    value: str | None
    reason: str


@dataclass(frozen=True)
class ValidatedFrame:
    """The rows that passed, and a record per failure of the rows that did not."""

    good: pd.DataFrame
    rejected: list[QuarantineRecord] = field(default_factory=list)
    total_rows: int = 0

    @property
    def bad_rows(self) -> int:
        """How many distinct input rows were rejected."""
        return len({(r.source, r.row_number) for r in self.rejected})


def split_valid_rows(
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    source: str,
    row_numbers: pd.Series | None = None,
) -> ValidatedFrame:
    """Validate lazily; failing rows become quarantine records, the rest pass on.

    `row_numbers` maps the frame's index to what a person can look up (a file line, a
    contact id); by default the index itself. Frame-level failures (a missing column) are
    not row problems and are raised as they are.
    """
    if frame.empty:
        # Nothing to check row by row; pandera's fixed cost is ~50 ms per call.
        return ValidatedFrame(good=frame, total_rows=0)
    numbers = row_numbers if row_numbers is not None else pd.Series(frame.index, index=frame.index)
    try:
        good = schema.validate(frame, lazy=True)
        return ValidatedFrame(good=good, total_rows=len(frame))
    except SchemaErrors as errors:
        cases = errors.failure_cases
        if cases["index"].isna().any():
            # A frame-level failure (missing column, wrong frame shape) is not a row problem.
            raise
    row_cases = cases
    rejected: list[QuarantineRecord] = []
    bad_index: set[Any] = set()
    for case in row_cases.itertuples(index=False):
        idx = case.index
        bad_index.add(idx)
        column = None if pd.isna(case.column) else str(case.column)
        value = None if pd.isna(case.failure_case) else str(case.failure_case)
        rejected.append(
            QuarantineRecord(
                source=source,
                row_number=int(numbers.loc[idx]),
                field=column,
                value=value,
                reason=str(case.check),
            )
        )
    good = frame.drop(index=list(bad_index))
    if not good.empty:
        # Coerce what passed; an empty remainder is left as it is, as an empty input is
        # (pandera would refuse an all-empty text column's dtype).
        good = schema.validate(good)
    return ValidatedFrame(good=good, rejected=rejected, total_rows=len(frame))
