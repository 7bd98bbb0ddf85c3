"""Every consent change an import makes leaves a row in `consent_history` with its evidence
(file, line, the option or column that decided it); `leadflow explain` shows them and
`leadflow erase` deletes them.

Through the real `leadflow` command on SQLite and PostgreSQL.
"""

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.tables import ConsentHistory, Contact, StageHistory
from tests.support.import_cli import FIXTURES, HUBSPOT_ALL, OWNERS, Cli, cli, edited

__all__ = ["cli"]

OPT_IN = ("--consent-from", "Marketing contact status=Marketing contact")
UNSUBSCRIBED = ("--unsubscribed-from", "Unsubscribed from all email=true")
BOUNCED = ("--bounced-from", "Email hard bounce reason=*")
ALL_OPTIONS = (*OPT_IN, *UNSUBSCRIBED, *BOUNCED)
GRANTED_BY = "--consent-from 'Marketing contact status=Marketing contact'"
AS_OF = "2024-04-01T00:00+09:00"


def history(cli: Cli) -> list[tuple[Any, ...]]:
    """(email, from, to, source, evidence) of every consent-history row, by email and time."""
    with cli.engine.connect() as conn:
        rows = conn.execute(
            select(
                Contact.email,
                ConsentHistory.consent_from,
                ConsentHistory.consent_to,
                ConsentHistory.source,
                ConsentHistory.evidence,
            )
            .join(Contact, Contact.id == ConsentHistory.contact_id)
            .order_by(Contact.email, ConsentHistory.changed_at, ConsentHistory.id)
        ).all()
    return [tuple(row) for row in rows]


def import_contacts(cli: Cli, path: Path, *options: str) -> str:
    code, output = cli("import", "contacts", path, *options)
    assert code == 0, output
    return output


def test_new_contacts_landing_with_consent_get_a_row_naming_the_file_line_and_option(
    cli: Cli,
) -> None:
    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)

    assert "  consent-history rows written: 4" in output
    assert history(cli) == [
        ("hanako@acme.co.jp", None, True, "import", f"{HUBSPOT_ALL}:2 {GRANTED_BY}"),
        ("john.smith@globex.com", None, True, "import", f"{HUBSPOT_ALL}:5 {GRANTED_BY}"),
        ("ken.kobayashi@hikari-denki.co.jp", None, True, "import", f"{HUBSPOT_ALL}:7 {GRANTED_BY}"),
        ("lucas@nuvem.com.br", None, True, "import", f"{HUBSPOT_ALL}:8 {GRANTED_BY}"),
    ]
    with cli.engine.connect() as conn:
        changed_at, run_id = conn.execute(
            select(ConsentHistory.changed_at, ConsentHistory.run_id).limit(1)
        ).one()
        # The import's run id and instant, as on the stage history it wrote.
        stage_runs = set(conn.execute(select(StageHistory.run_id)).scalars())
        created = set(conn.execute(select(Contact.updated_at)).scalars())
    assert stage_runs == {run_id}
    assert isinstance(changed_at, datetime) and created == {changed_at}


def test_importing_the_same_file_again_writes_no_history(cli: Cli) -> None:
    import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)
    before = history(cli)

    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)

    assert "consent-history" not in output
    assert history(cli) == before


def test_a_withdrawal_and_an_opt_out_name_the_cell_and_the_option_that_decided_them(
    cli: Cli, tmp_path: Path
) -> None:
    import_contacts(cli, HUBSPOT_ALL, *OPT_IN)
    later = edited(
        HUBSPOT_ALL,
        tmp_path,
        ("2024/03/05 10:12,2024/04/02 16:40,Marketing contact,",
         "2024/03/05 10:12,2024/04/02 16:40,Non-marketing contact,"),
        name="later.csv",
    )

    output = import_contacts(cli, later, *OPT_IN, *UNSUBSCRIBED)

    assert "  consent of known contacts changed: 0 granted, 2 withdrawn" in output
    assert "  consent-history rows written: 2" in output
    changes = [row for row in history(cli) if row[1] is not None]
    assert changes == [
        (
            "hanako@acme.co.jp", True, False, "import",
            f"{later}:2 Marketing contact status='Non-marketing contact', "
            "no --consent-from matches",
        ),
        (
            "ichiro.sasaki@hikari-denki.co.jp", True, False, "import",
            f"{later}:3 --unsubscribed-from 'Unsubscribed from all email=true'",
        ),
    ]


def test_a_blank_consent_cell_writes_no_history(cli: Cli, tmp_path: Path) -> None:
    import_contacts(cli, HUBSPOT_ALL, *OPT_IN)
    before = history(cli)
    blank = edited(
        HUBSPOT_ALL,
        tmp_path,
        ("2024/03/05 10:12,2024/04/02 16:40,Marketing contact,",
         "2024/03/05 10:12,2024/04/02 16:40,,"),
    )

    import_contacts(cli, blank, *OPT_IN)

    assert history(cli) == before


def test_a_native_files_consent_column_is_the_evidence(cli: Cli, tmp_path: Path) -> None:
    assert cli("import", "owners", OWNERS)[0] == 0
    path = FIXTURES / "contacts.csv"
    import_contacts(cli, path)
    revoked = edited(path, tmp_path, (",webinar,true,", ",webinar,no,"))

    import_contacts(cli, revoked)

    assert history(cli) == [
        ("hanako@acme.co.jp", None, True, "import", f"{path}:2 consent=true"),
        ("hanako@acme.co.jp", True, False, "import", f"{revoked}:2 consent=no"),
        ("john.smith@globex.com", None, True, "import", f"{path}:3 consent=yes"),
    ]


def test_a_dry_run_writes_no_history(cli: Cli) -> None:
    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS, "--dry-run")

    assert "  consent-history rows written: 4" in output
    assert history(cli) == []


def test_explain_shows_the_consent_now_and_each_change_with_its_evidence(
    cli: Cli, tmp_path: Path
) -> None:
    import_contacts(cli, HUBSPOT_ALL, *OPT_IN)
    later = edited(
        HUBSPOT_ALL,
        tmp_path,
        ("2024/03/05 10:12,2024/04/02 16:40,Marketing contact,",
         "2024/03/05 10:12,2024/04/02 16:40,Non-marketing contact,"),
        name="later.csv",
    )
    import_contacts(cli, later, *OPT_IN)

    code, output = cli("explain", "hanako@acme.co.jp", "--as-of", AS_OF)

    assert code == 0, output
    lines = output.splitlines()
    start = lines.index("marketing consent: not granted")
    when, run = r"  \d{4}-\d\d-\d\dT\d\d:\d\d\+09:00  ", r" \(import, run [0-9a-f-]{36}\): "
    assert re.fullmatch(
        when + "- → granted" + run + re.escape(f"{HUBSPOT_ALL}:2 {GRANTED_BY}"), lines[start + 1]
    ), lines[start + 1]
    assert re.fullmatch(
        when + "granted → not granted" + run + re.escape(
            f"{later}:2 Marketing contact status='Non-marketing contact', no --consent-from "
            "matches"
        ),
        lines[start + 2],
    ), lines[start + 2]
    assert len(lines) == start + 3
    code, output = cli("explain", "misaki@sakura-soft.jp", "--as-of", AS_OF)
    assert "marketing consent: not granted\n  no consent changes recorded" in output


def test_erasing_a_person_deletes_their_consent_history_and_keeps_everyone_elses(
    cli: Cli,
) -> None:
    import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)

    code, output = cli("erase", "hanako@acme.co.jp")

    assert code == 0, output
    assert "  consent history rows: 1" in output
    assert [row[0] for row in history(cli)] == [
        "john.smith@globex.com", "ken.kobayashi@hikari-denki.co.jp", "lucas@nuvem.com.br",
    ]
