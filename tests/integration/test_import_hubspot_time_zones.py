"""HubSpot's `Time Zone` / `IP Timezone` columns become the contact's IANA time zone.

A value that names no IANA zone never costs the contact: it lands without that zone
(a known contact keeps its own) and the summary counts the value. Through the real
`leadflow import contacts` on SQLite and PostgreSQL.
"""

from pathlib import Path

from sqlalchemy import select

from models.tables import Contact, Quarantine
from tests.support.import_cli import HUBSPOT_ALL, Cli, cli, edited

__all__ = ["cli"]


def zones(cli: Cli) -> dict[str, str | None]:
    with cli.engine.connect() as conn:
        return dict(conn.execute(select(Contact.email, Contact.timezone)).tuples().all())


def test_the_export_s_zones_land_as_iana_names_whatever_way_hubspot_wrote_them(
    cli: Cli,
) -> None:
    code, output = cli("import", "contacts", HUBSPOT_ALL)
    assert code == 0, output
    assert "landed: 8 inserted" in output
    assert "quarantined: 0 rows" in output
    assert (
        "  note: Time Zone 'Mars/Olympus Mons' is not an IANA time zone: not taken as the "
        "timezone (1 row)"
    ) in output
    assert zones(cli) == {
        "hanako@acme.co.jp": "Asia/Tokyo",  # Time Zone, as an IANA name
        "ichiro.sasaki@hikari-denki.co.jp": "Asia/Tokyo",  # IP Timezone asia_slash_tokyo
        "misaki@sakura-soft.jp": "Asia/Tokyo",
        "john.smith@globex.com": "America/New_York",  # america_slash_new_york
        "emily.clark@initech.co.uk": "Europe/London",  # "(GMT+00:00) Europe/London"
        "ken.kobayashi@hikari-denki.co.jp": None,  # Mars/Olympus Mons, no IP Timezone
        "lucas@nuvem.com.br": "America/Sao_Paulo",
        "sakura.yamamoto@gmail.com": None,  # neither column filled
    }


def test_time_zone_wins_over_ip_timezone_and_hostile_values_are_left_out(
    cli: Cli, tmp_path: Path
) -> None:
    header = "Record ID,Email,Time Zone,IP Timezone"
    rows = [
        "1,both@example.jp,America/Los Angeles,asia_slash_tokyo",  # Time Zone wins
        "2,fallback@example.jp,Mars/Olympus,europe_slash_paris",  # bad Time Zone: IP's
        "3,path@example.jp,../../etc/passwd,",
        "4,utc@example.jp,utc,",
        "5,legacy@example.jp,us_slash_eastern,",
        "6,injection@example.jp,Asia/Tokyo; DROP TABLE contacts,",
        "7,offset@example.jp,+09:00,",
        "8,long@example.jp," + "A" * 5000 + ",",
        "9,nul@example.jp,Asia/Tokyo\x00,",  # a NUL byte: the row is quarantined
        "10,spaces@example.jp,  America/Argentina/Buenos Aires  ,",
        "11,cased@example.jp,ASIA/TOKYO,",
    ]
    path = tmp_path / "hubspot_hostile_zones.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

    code, output = cli("import", "contacts", path)
    assert code == 0, output
    assert "11 rows of contacts (HubSpot export)" in output
    assert "landed: 10 inserted, 0 updated, 0 unchanged" in output
    assert "quarantined: 1 row" in output
    assert zones(cli) == {
        "both@example.jp": "America/Los_Angeles",
        "fallback@example.jp": "Europe/Paris",
        "path@example.jp": None,
        "utc@example.jp": "UTC",
        "legacy@example.jp": "US/Eastern",
        "injection@example.jp": None,
        "offset@example.jp": None,
        "long@example.jp": None,
        "spaces@example.jp": "America/Argentina/Buenos_Aires",
        "cased@example.jp": "Asia/Tokyo",
    }
    notes = [line for line in output.splitlines() if "is not an IANA time zone" in line]
    assert len(notes) == 5
    assert f"  note: Time Zone '{'A' * 59}…' is not an IANA time zone" in output
    assert all(len(line) < 160 for line in notes)
    with cli.engine.connect() as conn:
        (record,) = conn.execute(select(Quarantine.row_number, Quarantine.field)).all()
    assert tuple(record) == (10, "Time Zone")


def test_a_bad_zone_in_a_later_export_keeps_the_zone_a_contact_has(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli("import", "contacts", HUBSPOT_ALL)[0] == 0
    later = edited(
        HUBSPOT_ALL,
        tmp_path,
        (",asia_slash_tokyo,Asia/Tokyo,", ",,Asia/Tokio,"),  # hanako
        (",america_slash_new_york,,", ",america_slash_chicago,,"),  # john moved
    )
    code, output = cli("import", "contacts", later)
    assert code == 0, output
    assert "landed: 0 inserted, 1 updated, 7 unchanged" in output
    assert "note: Time Zone 'Asia/Tokio' is not an IANA time zone" in output
    stored = zones(cli)
    assert stored["hanako@acme.co.jp"] == "Asia/Tokyo"
    assert stored["john.smith@globex.com"] == "America/Chicago"
