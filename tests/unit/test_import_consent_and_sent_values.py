"""Pure pieces of the contacts import: what HubSpot sent is merged like the other columns
(blank keeps, same value spelt otherwise keeps), and the consent ledger's rows and evidence."""

from datetime import UTC, datetime

import pandas as pd

from tasks.imports.consent import consent_verdicts, parse_consent_options
from tasks.imports.consent_history import ERASED_EVIDENCE, consent_history_rows
from tasks.imports.hubspot_sent import SENT_COLUMNS, merge_sent_values

NOW = datetime(2026, 5, 1, 3, tzinfo=UTC)


def frame(rows: list[tuple[object, ...]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns, dtype=object)


def test_a_given_cell_replaces_the_pair_a_blank_keeps_it_and_a_respelling_changes_nothing() -> None:
    columns = ["email", *SENT_COLUMNS]
    stored = frame(
        [
            ("blank@x.jp", "Trial", "mql", "In Progress", "connected"),
            ("respelt@x.jp", "Lead", "lead", "Attempted to contact", "attempting"),
            ("unknown@x.jp", "lead", "lead", "In Progress", "connected"),
            ("moved@x.jp", "lead", "lead", None, None),
        ],
        columns,
    )
    incoming = frame(
        [
            ("blank@x.jp", None, None, None, None),
            ("respelt@x.jp", "LEAD", "lead", "ATTEMPTED_TO_CONTACT", "attempting"),
            ("unknown@x.jp", "lead", "lead", "Nurturing", None),
            ("moved@x.jp", "Trial", "sql", "Open", "new"),
        ],
        columns,
    )

    merged, changed = merge_sent_values(incoming, stored)

    rows = [tuple(None if pd.isna(v) else v for v in row) for row in merged.itertuples(False)]
    assert rows == [
        ("Trial", "mql", "In Progress", "connected"),
        ("Lead", "lead", "Attempted to contact", "attempting"),
        ("lead", "lead", "Nurturing", None),
        ("Trial", "sql", "Open", "new"),
    ]
    assert changed.tolist() == [False, False, True, True]


def test_a_stage_map_that_changed_moves_the_as_value_but_keeps_the_spelling() -> None:
    columns = ["email", *SENT_COLUMNS]
    stored = frame([("t@x.jp", "Trial", "mql", None, None)], columns)
    incoming = frame([("t@x.jp", "trial", "sql", None, None)], columns)

    merged, changed = merge_sent_values(incoming, stored)

    assert merged.iloc[0, :2].tolist() == ["Trial", "sql"]
    assert changed.tolist() == [True]


def test_consent_evidence_names_the_rule_the_unmatched_cell_or_the_strongest_opt_out() -> None:
    mapping = parse_consent_options(
        consent_from=["Status=Marketing contact"],
        unsubscribed_from=["Unsubscribed=true"],
        bounced_from=["Bounce=*"],
    )
    cells = pd.DataFrame(
        {
            "consent_source_0": ["Marketing contact", "Non-marketing   contact", None, "x" * 80,
                                 "Marketing contact"],
            "consent_source_1": [None, None, None, None, "true"],
            "consent_source_2": [None, None, None, None, "Mailbox full"],
        },
        dtype="str",
    )

    out = consent_verdicts(
        cells, mapping, consent=pd.Series([None] * 5, dtype="str"), label="consent"
    )

    assert out["consent"].tolist()[:2] == ["true", "false"]
    evidence = [None if pd.isna(v) else v for v in out["consent_evidence"]]
    assert evidence == [
        "--consent-from 'Status=Marketing contact'",
        "Status='Non-marketing contact', no --consent-from matches",
        None,
        "Status='" + "x" * 59 + "…', no --consent-from matches",
        "--bounced-from 'Bounce=*'",
    ]


def test_history_rows_are_new_contacts_with_consent_and_known_ones_whose_consent_moved() -> None:
    rows = pd.DataFrame(
        {
            "email": ["new-yes@x.jp", "new-no@x.jp", "kept@x.jp", "off@x.jp", "erased@x.jp"],
            "line": [2, 3, 4, 5, 6],
            "consent_evidence": ["consent=true", "consent=false", "consent=true",
                                 "consent=no", "consent=yes"],
        }
    )
    stored = pd.DataFrame({"id": [3, 4, 5], "consent": [True, True, True]})
    inserts = pd.DataFrame(
        {"email": ["new-yes@x.jp", "new-no@x.jp"], "consent": [True, False]}
    )
    updates = pd.DataFrame(
        {"id": [3, 4, 5], "email": ["kept@x.jp", "off@x.jp", "erased@x.jp"],
         "consent": [True, False, False]}
    )
    ids = {"new-yes@x.jp": 1, "new-no@x.jp": 2, "kept@x.jp": 3, "off@x.jp": 4, "erased@x.jp": 5}

    out = consent_history_rows(
        rows=rows, stored=stored, inserts=inserts, updates=updates, ids=ids,
        erased={"erased@x.jp"}, file="c.csv", run_id="run-1", now=NOW,
    )

    assert [tuple(r) for r in out.itertuples(index=False)] == [
        (1, None, True, NOW, "import", "c.csv:2 consent=true", "run-1"),
        (4, True, False, NOW, "import", "c.csv:5 consent=no", "run-1"),
        (5, True, False, NOW, "import", f"c.csv:6 {ERASED_EVIDENCE}", "run-1"),
    ]


def test_an_import_that_changes_no_consent_has_no_history_rows() -> None:
    rows = pd.DataFrame({"email": ["a@x.jp"], "line": [2]})
    out = consent_history_rows(
        rows=rows,
        stored=pd.DataFrame({"id": [1], "consent": [False]}),
        inserts=pd.DataFrame(columns=["email", "consent"]),
        updates=pd.DataFrame({"id": [1], "email": ["a@x.jp"], "consent": [False]}),
        ids={"a@x.jp": 1}, erased=set(), file="c.csv", run_id="r", now=NOW,
    )
    assert out.empty
