"""The import's column-at-once shortcuts give exactly what the cell-by-cell code they
replace gives, on hostile values: missing cells, white space of every kind, full-width
digits, undecodable bytes, line breaks inside cells, impossible dates."""

from collections.abc import Sequence

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from models.schemas import (
    EMAIL_PATTERN,
    ISO_AWARE,
    ISO_TIMESTAMP,
    fullmatches,
    mentions,
    per_value,
)
from tasks.imports.convert import _years
from tasks.imports.normalise import _clean, _nothing_to_clean, by_value
from tasks.imports.records import _MAYBE_BLANK, _maybe_blank

TRICKY = [
    "2026-04-01",
    "2026-04-01 09:30",
    "2026-04-01T09:30:00+09:00",
    "2026-04-01T00:30:00Z",
    "2026-04-01T00:30:00z",
    "2026-04-01T00:30:00.1234567+0900",
    "2026-02-30T10:00:00Z",
    "２０２６-04-01",
    "2026-04-01\n2026-04-02",
    "2026/04/01",
    "2026-04-01T09:30:00+09:00 ",
    " 2026-04-01",
    "\udc802026-04-01",
    "",
    "0099-01-01",
    "20",
    "x",
]
CHARS = st.sampled_from(["0", "1", "9", "-", ":", "T", " ", "Z", "+", ".", "\n", "２", "a", ","])
CELL = st.one_of(st.none(), st.sampled_from(TRICKY), st.text(CHARS, max_size=30))


def series(values: Sequence[str | None]) -> pd.Series:
    return pd.Series(values, dtype="str")


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, max_size=12))
def test_iso_shapes_are_matched_as_the_regex_matches_each_cell(values: list[str | None]) -> None:
    column = series(values)
    for pattern in (ISO_TIMESTAMP, ISO_AWARE):
        expected = column.str.fullmatch(pattern).fillna(False).astype(bool)
        assert fullmatches(column, pattern).tolist() == expected.tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, max_size=12), st.sampled_from(["/", ".", "z", "\n", "\t"]))
def test_a_character_is_found_in_the_column_exactly_when_some_cell_holds_it(
    values: list[str | None], char: str
) -> None:
    column = series(values)
    expected = bool(column.str.contains(char, regex=False).fillna(False).any())
    assert mentions(column, char) is expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["a@b.jp", "a@b", " a@b.jp", "@x.y"])), max_size=30
    )
)
def test_emails_checked_once_per_distinct_value_pass_and_fail_as_each_cell_would(
    values: list[str | None],
) -> None:
    column = series(values)
    # Missing cells pass: pandera's `nullable` judges them.
    matched = column.str.match(rf"^{EMAIL_PATTERN}$").fillna(False).astype(bool)
    expected = matched | column.isna()
    check = per_value(lambda v: v.str.match(rf"^{EMAIL_PATTERN}$"))
    assert check(column).tolist() == expected.tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, max_size=12))
def test_years_read_at_once_equal_the_first_four_characters_as_numbers(
    values: list[str | None],
) -> None:
    column = series(values)
    expected = pd.to_numeric(column.str.slice(0, 4), errors="coerce")
    assert _years(column).astype("float64").fillna(-1).tolist() == expected.fillna(-1).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(["a", " ", "\t", "\u3000", "\xa0", "\n"]), max_size=4)))
def test_a_column_judged_clean_is_left_exactly_as_cleaning_would_leave_it(
    values: list[str],
) -> None:
    column = series(values)
    if _nothing_to_clean(column):
        cleaned = column.str.strip()
        assert cleaned.where(cleaned != "").tolist() == column.tolist()


def test_cleaning_by_distinct_value_equals_cleaning_every_cell() -> None:
    values = [" Page_View ", "page-view", None, "", "form submit", "\u3000x"] * 600
    column = series(values)

    def fold(v: pd.Series) -> pd.Series:
        return _clean(v, reference=False).str.lower()

    assert by_value(column, fold).astype("str").tolist() == fold(column).tolist()


# The block path asks only of text without quotes (a quote sends it the careful way first).
BLOCK_CHARS = st.sampled_from(["a", ",", " ", "\t", "\n", "\r", "\u3000", "b"])


@settings(max_examples=500, deadline=None)
@given(st.text(BLOCK_CHARS, min_size=1, max_size=40))
def test_a_block_may_hold_a_blank_row_exactly_when_the_pattern_says_so(text: str) -> None:
    expected = _MAYBE_BLANK.search(text, 0, len(text) - 1) is not None
    assert _maybe_blank(text) is expected
