"""Row-level validation: failing rows become quarantine records, the rest pass on."""

import pandas as pd
import pandera.pandas as pa

from tasks.validation import split_valid_rows

SCHEMA = pa.DataFrameSchema(
    {
        "contact_id": pa.Column(int, pa.Check.gt(0)),
        "lead_source": pa.Column(str, nullable=True),
    }
)


def test_when_every_row_fails_the_rest_is_empty_and_every_row_is_quarantined() -> None:
    frame = pd.DataFrame({"contact_id": [-1, -2], "lead_source": [None, None]})

    checked = split_valid_rows(frame, SCHEMA, source="test:contacts")

    assert checked.good.empty
    assert [(r.source, r.field, r.value) for r in checked.rejected] == [
        ("test:contacts", "contact_id", "-1"),
        ("test:contacts", "contact_id", "-2"),
    ]


def test_rows_that_pass_are_kept_and_the_failing_one_is_named_by_its_row_number() -> None:
    frame = pd.DataFrame({"contact_id": [7, -1], "lead_source": ["web", None]})

    checked = split_valid_rows(
        frame, SCHEMA, source="test:contacts", row_numbers=pd.Series([70, 10])
    )

    assert checked.good["contact_id"].tolist() == [7]
    assert [(r.row_number, r.field) for r in checked.rejected] == [(10, "contact_id")]
