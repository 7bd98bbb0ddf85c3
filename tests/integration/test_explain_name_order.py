"""`leadflow explain` writes a name in its script's order: "John Smith", "高橋 花子".

Through the real CLI on SQLite and PostgreSQL, after a real import.
"""

from pathlib import Path

from tests.support.import_cli import Cli, cli

__all__ = ["cli"]


def test_latin_names_read_first_last_and_japanese_names_family_name_first(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "email,first_name,last_name,company_domain,job_title\n"
        "john.smith@globex.com,John,Smith,globex.com,Director of IT\n"
        "juergen@example.de,Jürgen,Müller,example.de,CTO\n"
        "hanako@acme.co.jp,花子,高橋,acme.co.jp,部長\n"
        "taro@acme.co.jp,タロウ,ヤマダ,acme.co.jp,課長\n",
        encoding="utf-8",
    )
    assert cli("import", "contacts", path)[0] == 0

    heads = {
        email: cli("explain", email)[1].splitlines()[0]
        for email in (
            "john.smith@globex.com",
            "juergen@example.de",
            "hanako@acme.co.jp",
            "taro@acme.co.jp",
        )
    }

    assert heads["john.smith@globex.com"].startswith("john.smith@globex.com — John Smith, ")
    assert heads["juergen@example.de"].startswith("juergen@example.de — Jürgen Müller, ")
    assert heads["hanako@acme.co.jp"].startswith("hanako@acme.co.jp — 高橋 花子, ")
    assert heads["taro@acme.co.jp"].startswith("taro@acme.co.jp — ヤマダ タロウ, ")
