"""Pure pieces of the HubSpot import: consent rules, date forms, time zone names."""

import pandas as pd
import pytest

from tasks.imports.consent import (
    ConsentMapping,
    cells_match,
    consent_verdicts,
    parse_consent_options,
)
from tasks.imports.dates import normalise_dates, parse_date_format
from tasks.imports.timezones import iana_zones


def test_consent_options_parse_into_rules_and_share_a_column_read_twice() -> None:
    mapping = parse_consent_options(
        consent_from=["Marketing contact status=Marketing contact", "Legal basis=Consent"],
        unsubscribed_from=["Unsubscribed from all email=true"],
        bounced_from=["marketing contact status=Bounced"],
    )
    assert [r.shown for r in mapping.rules] == [
        "--consent-from 'Marketing contact status=Marketing contact'",
        "--consent-from 'Legal basis=Consent'",
        "--unsubscribed-from 'Unsubscribed from all email=true'",
        "--bounced-from 'marketing contact status=Bounced'",
    ]
    assert mapping.columns() == {
        "consent_source_0": "marketing contact status",
        "consent_source_1": "Legal basis",
        "consent_source_2": "Unsubscribed from all email",
    }


@pytest.mark.parametrize("entry", ["Marketing contact status", "=yes", "Column=", " = "])
def test_a_consent_option_without_column_or_value_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="write it as COLUMN=VALUE"):
        parse_consent_options(consent_from=[entry])


def test_cells_match_ignoring_case_spacing_and_multi_select_separators() -> None:
    cells = pd.Series(
        [" Marketing  CONTACT", "Other;marketing contact", "Marketing contacts", None, ""],
        dtype="str",
    )
    assert cells_match(cells, "Marketing contact").tolist() == [True, True, False, False, False]
    assert cells_match(cells, "*").tolist() == [True, True, True, False, False]
    flags = pd.Series(["TRUE", "yes", "1", "false", "no"], dtype="str")
    assert cells_match(flags, "true").tolist() == [True, True, True, False, False]


def test_an_opt_out_wins_over_opt_in_and_a_blank_opt_in_column_gives_no_verdict() -> None:
    mapping = parse_consent_options(
        consent_from=["Status=Marketing contact"], unsubscribed_from=["Unsub=true"]
    )
    frame = pd.DataFrame(
        {
            "consent_source_0": ["Marketing contact", "Marketing contact", "Non-marketing", None],
            "consent_source_1": [None, "true", None, None],
        },
        dtype="str",
    )
    verdicts = consent_verdicts(frame, mapping, consent=pd.Series([None] * 4, dtype="str"))
    assert verdicts["consent"].fillna("-").tolist() == ["true", "false", "false", "-"]
    assert verdicts["unsubscribed_by"].notna().tolist() == [False, True, False, False]


def test_without_rules_the_file_s_consent_column_stands() -> None:
    frame = pd.DataFrame(index=range(2))
    consent = pd.Series(["true", None], dtype="str")
    verdicts = consent_verdicts(frame, ConsentMapping(), consent=consent)
    assert verdicts["consent"].fillna("-").tolist() == ["true", "-"]


def test_year_first_dates_always_and_day_or_month_first_only_when_told() -> None:
    values = pd.Series(
        ["2024/3/5 9:05", "2024/03/05 10:12:30", "05/03/2024 10:00 PM", "2024-03-05", None],
        dtype="str",
    )
    assert normalise_dates(values, None).fillna("-").tolist() == [
        "2024-03-05 09:05",
        "2024-03-05 10:12:30",
        "05/03/2024 10:00 PM",
        "2024-03-05",
        "-",
    ]
    assert normalise_dates(values, "dmy").tolist()[2] == "2024-03-05 22:00"
    assert normalise_dates(values, "mdy").tolist()[2] == "2024-05-03 22:00"


def test_an_unknown_date_format_names_the_choices() -> None:
    assert parse_date_format(" DMY ") == "dmy"
    assert parse_date_format(None) is None
    with pytest.raises(ValueError, match=r"use dmy .* or mdy"):
        parse_date_format("ymd")


def test_hubspot_zone_spellings_become_iana_names() -> None:
    values = pd.Series(
        [
            "america_slash_new_york",
            "America/New York",
            "(GMT-05:00) America/New_York",
            "brazil_slash_denoronha",
            "Mars/Olympus",
            None,
        ],
        dtype="str",
    )
    assert iana_zones(values).fillna("-").tolist() == [
        "America/New_York",
        "America/New_York",
        "America/New_York",
        "Brazil/DeNoronha",
        "-",
        "-",
    ]
