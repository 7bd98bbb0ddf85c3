"""Marketing consent from a HubSpot export: never guessed, mapped by options, always reported.

Through the real `leadflow import contacts` on SQLite and PostgreSQL.
"""

from pathlib import Path

from sqlalchemy import select

from models.tables import Contact, EmailSuppression, Quarantine
from tests.support.import_cli import FIXTURES, HUBSPOT_ALL, OWNERS, Cli, cli, edited

__all__ = ["cli"]

OPT_IN = ("--consent-from", "Marketing contact status=Marketing contact")
UNSUBSCRIBED = ("--unsubscribed-from", "Unsubscribed from all email=true")
BOUNCED = ("--bounced-from", "Email hard bounce reason=*")
ALL_OPTIONS = (*OPT_IN, *UNSUBSCRIBED, *BOUNCED)
LEGAL_BASIS = "Legal basis for processing contact's data"


def consent_of(cli: Cli) -> dict[str, bool]:
    with cli.engine.connect() as conn:
        return dict(conn.execute(select(Contact.email, Contact.consent)).tuples().all())


def suppressions(cli: Cli) -> list[tuple[str, str, str, str | None]]:
    with cli.engine.connect() as conn:
        rows = conn.execute(
            select(
                EmailSuppression.email,
                EmailSuppression.reason,
                EmailSuppression.source,
                EmailSuppression.detail,
            ).order_by(EmailSuppression.email, EmailSuppression.reason)
        ).tuples()
        return list(rows.all())


def import_contacts(cli: Cli, path: Path, *options: str) -> str:
    code, output = cli("import", "contacts", path, *options)
    assert code == 0, output
    return output


def test_a_hubspot_export_without_consent_options_gives_nobody_consent_and_says_so_loudly(
    cli: Cli,
) -> None:
    assert cli("import", "owners", OWNERS)[0] == 0
    output = import_contacts(cli, HUBSPOT_ALL)

    assert (
        "  WARNING: 0 of 8 contacts can receive nurture email: no consent column (this file "
        "has HubSpot's consent columns: use --consent-from 'Marketing contact status="
        "Marketing contact' --unsubscribed-from 'Unsubscribed from all email=true')"
    ) in output
    assert "    not the other 8: 8 no opt-in consent" in output
    assert set(consent_of(cli).values()) == {False}
    assert suppressions(cli) == []


def test_an_export_without_consent_columns_points_at_the_option(cli: Cli) -> None:
    output = import_contacts(cli, FIXTURES / "hubspot_contacts.csv")
    assert (
        "WARNING: 0 of 4 contacts can receive nurture email: no consent column (HubSpot "
        "exports: use --consent-from 'Marketing contact status=Marketing contact')"
    ) in output


def test_the_options_give_opt_in_and_record_unsubscribes_and_bounces_as_suppressions(
    cli: Cli,
) -> None:
    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)

    assert (
        "  nurture email: 4 of 8 contacts can receive it (consent from --consent-from "
        "'Marketing contact status=Marketing contact')"
    ) in output
    assert "    not the other 4: 2 no opt-in consent, 1 unsubscribed, 1 bounced" in output
    assert "  unsubscribed recorded (email suppressions, source import): 1" in output
    assert "  bounced recorded (email suppressions, source import): 1" in output
    assert "WARNING" not in output
    assert consent_of(cli) == {
        "hanako@acme.co.jp": True,
        "ichiro.sasaki@hikari-denki.co.jp": False,  # a marketing contact, but unsubscribed
        "misaki@sakura-soft.jp": False,  # non-marketing contact
        "john.smith@globex.com": True,
        "emily.clark@initech.co.uk": False,  # hard bounce
        "ken.kobayashi@hikari-denki.co.jp": True,
        "lucas@nuvem.com.br": True,  # "Unsubscribed from all email" = false
        "sakura.yamamoto@gmail.com": False,
    }
    assert suppressions(cli) == [
        (
            "emily.clark@initech.co.uk",
            "bounced",
            "import",
            f"{HUBSPOT_ALL}:6 --bounced-from 'Email hard bounce reason=*'",
        ),
        (
            "ichiro.sasaki@hikari-denki.co.jp",
            "unsubscribed",
            "import",
            f"{HUBSPOT_ALL}:3 --unsubscribed-from 'Unsubscribed from all email=true'",
        ),
    ]


def test_a_reimport_with_the_option_grants_consent_and_a_second_run_changes_nothing(
    cli: Cli,
) -> None:
    import_contacts(cli, HUBSPOT_ALL)
    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)
    assert "landed: 0 inserted, 4 updated, 4 unchanged" in output
    assert "  consent of known contacts changed: 4 granted, 0 withdrawn" in output
    assert sum(consent_of(cli).values()) == 4

    again = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)
    assert "landed: 0 inserted, 0 updated, 8 unchanged" in again
    assert "consent of known contacts changed" not in again
    assert "recorded (email suppressions" not in again
    assert "nurture email: 4 of 8 contacts can receive it" in again
    assert len(suppressions(cli)) == 2


def test_a_later_export_without_the_marketing_status_withdraws_consent(
    cli: Cli, tmp_path: Path
) -> None:
    import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)
    later = edited(
        HUBSPOT_ALL,
        tmp_path,
        ("2024/03/05 10:12,2024/04/02 16:40,Marketing contact,",
         "2024/03/05 10:12,2024/04/02 16:40,Non-marketing contact,"),
    )
    output = import_contacts(cli, later, *ALL_OPTIONS)
    assert "  consent of known contacts changed: 0 granted, 1 withdrawn" in output
    assert consent_of(cli)["hanako@acme.co.jp"] is False


def test_a_blank_consent_cell_keeps_what_a_known_contact_had(cli: Cli, tmp_path: Path) -> None:
    import_contacts(cli, HUBSPOT_ALL, *OPT_IN)
    blank = edited(
        HUBSPOT_ALL,
        tmp_path,
        ("2024/03/05 10:12,2024/04/02 16:40,Marketing contact,",
         "2024/03/05 10:12,2024/04/02 16:40,,"),
    )
    output = import_contacts(cli, blank, *OPT_IN)
    assert "consent of known contacts changed" not in output
    assert consent_of(cli)["hanako@acme.co.jp"] is True


def test_an_unsubscribe_wins_over_opt_in_and_a_later_file_cannot_lift_it(
    cli: Cli, tmp_path: Path
) -> None:
    import_contacts(cli, HUBSPOT_ALL, *OPT_IN, *UNSUBSCRIBED)
    resubscribed = edited(
        HUBSPOT_ALL,
        tmp_path,
        (",Marketing contact,true,Legitimate", ",Marketing contact,,Legitimate"),
    )
    output = import_contacts(cli, resubscribed, *OPT_IN, *UNSUBSCRIBED)
    # The file now says opt-in, and the column is stored; the unsubscribe still blocks email.
    assert consent_of(cli)["ichiro.sasaki@hikari-denki.co.jp"] is True
    assert "nurture email: 5 of 8 contacts can receive it" in output
    assert "not the other 3: 2 no opt-in consent, 1 unsubscribed" in output
    assert [s[:2] for s in suppressions(cli)] == [
        ("ichiro.sasaki@hikari-denki.co.jp", "unsubscribed")
    ]


def test_a_multi_select_legal_basis_cell_matches_one_of_its_values(cli: Cli) -> None:
    output = import_contacts(
        cli, HUBSPOT_ALL, "--consent-from", f"{LEGAL_BASIS}=Freely given consent from contact"
    )
    consent = consent_of(cli)
    assert consent["hanako@acme.co.jp"] is True  # the whole cell
    assert consent["john.smith@globex.com"] is True  # one value of "…;Freely given …"
    assert consent["ichiro.sasaki@hikari-denki.co.jp"] is False  # legitimate interest only
    assert "nurture email: 2 of 8 contacts can receive it" in output


def test_a_consent_option_naming_a_column_the_file_lacks_stops_before_anything_lands(
    cli: Cli,
) -> None:
    code, output = cli("import", "contacts", HUBSPOT_ALL, "--consent-from", "Opt in=yes")
    assert code == 1
    assert f"{HUBSPOT_ALL}: no column 'Opt in', which --consent-from 'Opt in=yes' names" in output
    assert consent_of(cli) == {}


def test_a_consent_option_without_a_value_is_one_clear_error(cli: Cli) -> None:
    code, output = cli(
        "import", "contacts", HUBSPOT_ALL, "--unsubscribed-from", "Unsubscribed from all email"
    )
    assert code == 1
    assert (
        "--unsubscribed-from 'Unsubscribed from all email': write it as COLUMN=VALUE"
    ) in output
    assert consent_of(cli) == {}


def test_consent_from_is_refused_for_a_file_with_its_own_consent_column(cli: Cli) -> None:
    path = FIXTURES / "contacts.csv"
    code, output = cli("import", "contacts", path, "--consent-from", "lead_source=webinar")
    assert code == 1
    assert "has a 'consent' column and --consent-from was given: use one of them" in output


def test_a_native_file_reports_who_its_consent_column_lets_us_email(cli: Cli) -> None:
    output = import_contacts(cli, FIXTURES / "contacts.csv")
    assert (
        "  nurture email: 2 of 4 contacts can receive it (consent from the 'consent' column)"
    ) in output
    assert "    not the other 2: 2 no opt-in consent" in output


def test_a_dry_run_counts_the_same_and_records_nothing(cli: Cli) -> None:
    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS, "--dry-run")
    assert "nurture email: 4 of 8 contacts can receive it" in output
    assert "unsubscribed recorded (email suppressions, source import): 1" in output
    assert consent_of(cli) == {}
    assert suppressions(cli) == []


def test_hostile_consent_cells_match_only_what_the_options_say(cli: Cli, tmp_path: Path) -> None:
    header = "Record ID,Email,Marketing contact status,Unsubscribed from all email\n"
    rows = [
        "1,spaces@example.jp,  MARKETING   CONTACT  ,",  # case and spacing: consent
        "2,multi@example.jp,Marketing contact;Other,",  # one value of a multi-select
        "3,formula@example.jp,=HYPERLINK(\"x\"),",  # formula text: given, no match
        "4,glued@example.jp,Marketingcontact,",  # not the value: no consent
        "5,yes@example.jp,Marketing contact,YES",  # yes = true: unsubscribed
        "6,one@example.jp,Marketing contact,1",  # 1 = true: unsubscribed
        "7,maybe@example.jp,Marketing contact,maybe",  # not true: consent stays
        "8,nul@example.jp,Marketing contact\x00,",  # NUL byte: the row is quarantined
        "9,long@example.jp," + "Marketing contact " * 400 + ",",  # long: no match
        "10,quote@example.jp,\"Marketing contact\"\"\",",  # a stray quote inside
        "11,blank@example.jp,,",  # blank: a new contact gets none
    ]
    path = tmp_path / "hubspot_hostile_consent.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")

    code, output = cli("import", "contacts", path, *OPT_IN, *UNSUBSCRIBED)
    assert code == 0, output
    assert "11 rows of contacts (HubSpot export)" in output
    assert "landed: 10 inserted, 0 updated, 0 unchanged" in output
    assert "quarantined: 1 row" in output
    assert consent_of(cli) == {
        "spaces@example.jp": True,
        "multi@example.jp": True,
        "formula@example.jp": False,
        "glued@example.jp": False,
        "yes@example.jp": False,
        "one@example.jp": False,
        "maybe@example.jp": True,
        "long@example.jp": False,
        "quote@example.jp": False,
        "blank@example.jp": False,
    }
    assert {s[0] for s in suppressions(cli)} == {"yes@example.jp", "one@example.jp"}
    assert "nurture email: 3 of 10 contacts can receive it" in output
    with cli.engine.connect() as conn:
        (record,) = conn.execute(select(Quarantine.row_number, Quarantine.field)).all()
    assert tuple(record) == (9, "Marketing contact status")


def test_an_erased_address_gets_no_consent_back_from_a_later_export(cli: Cli) -> None:
    import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)
    code, output = cli("erase", "hanako@acme.co.jp")
    assert code == 0, output

    output = import_contacts(cli, HUBSPOT_ALL, *ALL_OPTIONS)
    assert "landed: 1 inserted, 0 updated, 7 unchanged" in output
    assert consent_of(cli)["hanako@acme.co.jp"] is False
    assert "nurture email: 3 of 8 contacts can receive it" in output
    assert (
        "    not the other 5: 2 no opt-in consent, 1 unsubscribed, 1 bounced, "
        "1 address erased earlier"
    ) in output
