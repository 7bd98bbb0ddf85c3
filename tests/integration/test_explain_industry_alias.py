"""`leadflow explain` on an industry alias: the rule line lists the signal's own industries
(not the dozens of HubSpot labels loading adds) and the contact's industry says which one
it counts as.

Through the real `leadflow import contacts` and `leadflow explain` on SQLite and PostgreSQL.
"""

from pathlib import Path

import yaml

from leadflow.paths import DEFAULT_RULES_PATH
from models.rules import load_rules
from tests.support.import_cli import HUBSPOT_ALL, Cli, cli

__all__ = ["cli"]

AS_OF = "2024-04-01T00:00+09:00"
OWN = "manufacturing, it, software, saas, 製造業, 情報通信業"


def fit_line(cli: Cli, email: str, *options: str | Path) -> str:
    code, output = cli("explain", email, "--as-of", AS_OF, *options)
    assert code == 0, output
    (line,) = [row for row in output.splitlines() if "target_industry:" in row]
    return line


def aliases_in_default_rules() -> int:
    """How many distinct labels (compared ignoring case) the default rules alias."""
    fit = load_rules(DEFAULT_RULES_PATH).scoring.fit
    return len({alias.strip().casefold() for alias in fit.industry_aliases})


def test_an_alias_shows_the_industry_it_counts_as_and_the_rule_lists_its_own_industries(
    cli: Cli,
) -> None:
    assert cli("import", "contacts", HUBSPOT_ALL)[0] == 0
    count = aliases_in_default_rules()
    assert count >= 30

    assert fit_line(cli, "hanako@acme.co.jp") == (
        "  +   5  target_industry: industry = Computer Software (alias of software) "
        f"(rule: in {OWN} or one of {count} aliases, 5 pts)"
    )
    assert "industry = COMPUTER_SOFTWARE (alias of software) (rule:" in fit_line(
        cli, "lucas@nuvem.com.br"
    )
    assert (
        "industry = Electrical/Electronic Manufacturing (alias of manufacturing) (rule:"
        in fit_line(cli, "ken.kobayashi@hikari-denki.co.jp")
    )
    assert fit_line(cli, "emily.clark@initech.co.uk") == (
        "  +   0  target_industry: industry = Marketing and Advertising "
        f"(rule: in {OWN} or one of {count} aliases, 5 pts)"
    )


def test_an_industry_the_rules_name_themselves_is_not_called_an_alias(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email,industry\nit@example.jp,IT\n", encoding="utf-8")
    assert cli("import", "contacts", path)[0] == 0

    assert fit_line(cli, "it@example.jp").startswith(
        "  +   5  target_industry: industry = IT (rule: in "
    )


def test_rules_saved_after_loading_explain_the_same_way(cli: Cli, tmp_path: Path) -> None:
    # A dumped rules file carries the aliases inside `any_of` too; explain still tells them apart.
    dumped = tmp_path / "dumped.yaml"
    rules = load_rules(DEFAULT_RULES_PATH).model_dump(mode="json")
    dumped.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    assert cli("import", "contacts", HUBSPOT_ALL)[0] == 0

    assert fit_line(cli, "hanako@acme.co.jp", "--rules", dumped) == (
        "  +   5  target_industry: industry = Computer Software (alias of software) "
        f"(rule: in {OWN} or one of {aliases_in_default_rules()} aliases, 5 pts)"
    )


def test_without_aliases_the_rule_line_is_the_signals_list_alone(
    cli: Cli, tmp_path: Path
) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    start = text.index("    industry_aliases:")
    end = text.index("\n\n", start)
    path = tmp_path / "no_aliases.yaml"
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    assert cli("import", "contacts", HUBSPOT_ALL)[0] == 0

    assert fit_line(cli, "hanako@acme.co.jp", "--rules", path) == (
        f"  +   0  target_industry: industry = Computer Software (rule: in {OWN}, 5 pts)"
    )
