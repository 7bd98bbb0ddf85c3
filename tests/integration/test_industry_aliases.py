"""Industry aliases are rules data: HubSpot's industry labels score as the target industry.

`leadflow rules check` validates them; `leadflow explain` scores an imported HubSpot
contact with the same code as the hourly flow and shows the industry as the file wrote it.
"""

from pathlib import Path

from typer.testing import CliRunner

import app.cli
from leadflow.paths import DEFAULT_RULES_PATH
from models.rules import load_rules, parse_rules
from tests.support.import_cli import HUBSPOT_ALL, Cli, cli

__all__ = ["cli"]

AS_OF = "2024-04-01T00:00+09:00"


def rules_check(path: Path) -> tuple[int, str]:
    app.cli._register_commands()
    result = CliRunner().invoke(app.cli.app, ["rules", "check", str(path)])
    return result.exit_code, result.output


def rules_file(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def fit_line(cli: Cli, email: str, *rules: str | Path) -> str:
    code, output = cli("explain", email, "--as-of", AS_OF, *rules)
    assert code == 0, output
    (line,) = [row for row in output.splitlines() if "target_industry:" in row]
    return line


def test_rules_check_accepts_the_default_rules_with_their_hubspot_aliases() -> None:
    code, output = rules_check(DEFAULT_RULES_PATH)
    assert code == 0, output
    fit = load_rules(DEFAULT_RULES_PATH).scoring.fit
    assert fit.industry_alias_of("  computer software ") == "software"
    assert fit.industry_alias_of("INFORMATION_TECHNOLOGY_AND_SERVICES") == "it"
    assert fit.industry_alias_of("software") is None


def test_rules_check_names_an_alias_whose_industry_no_signal_targets(tmp_path: Path) -> None:
    path = rules_file(tmp_path, ("Computer Software: software", "Computer Software: softwear"))
    code, output = rules_check(path)
    assert code == 1
    assert "scoring.fit" in output
    assert (
        "industry_aliases: 'Computer Software' → 'softwear': 'softwear' is in no industry "
        "signal's any_of"
    ) in output


def test_rules_check_refuses_one_label_aliased_to_two_industries(tmp_path: Path) -> None:
    path = rules_file(
        tmp_path, ("      Internet: software\n", "      Internet: software\n      internet: it\n")
    )
    code, output = rules_check(path)
    assert code == 1
    assert "industry_aliases: 'internet' maps to both 'software' and 'it'" in output


def test_loaded_rules_validate_again_to_the_same_rules() -> None:
    rules = load_rules(DEFAULT_RULES_PATH)
    again = parse_rules(rules.model_dump(mode="json"), source=DEFAULT_RULES_PATH)
    assert again == rules
    assert again.fingerprint("scoring") == rules.fingerprint("scoring")


def test_hubspot_industry_labels_score_the_target_industry_and_explain_shows_the_label(
    cli: Cli,
) -> None:
    assert cli("import", "contacts", HUBSPOT_ALL)[0] == 0

    assert fit_line(cli, "hanako@acme.co.jp").startswith(
        "  +   5  target_industry: industry = Computer Software (alias of software) "
        "(rule: in manufacturing,"
    )
    assert "+   5  target_industry: industry = Information Technology and Services" in fit_line(
        cli, "ichiro.sasaki@hikari-denki.co.jp"
    )
    assert "+   5  target_industry: industry = COMPUTER_SOFTWARE" in fit_line(
        cli, "lucas@nuvem.com.br"
    )
    assert "+   5  target_industry: industry = Electrical/Electronic Manufacturing" in fit_line(
        cli, "ken.kobayashi@hikari-denki.co.jp"
    )
    assert "+   0  target_industry: industry = Marketing and Advertising" in fit_line(
        cli, "emily.clark@initech.co.uk"
    )


def test_without_the_aliases_the_same_hubspot_label_scores_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    start = text.index("    industry_aliases:")
    end = text.index("\n\n", start)
    path = tmp_path / "no_aliases.yaml"
    path.write_text(text[:start] + text[end + 1 :], encoding="utf-8")
    assert cli("import", "contacts", HUBSPOT_ALL)[0] == 0

    assert "+   0  target_industry: industry = Computer Software" in fit_line(
        cli, "hanako@acme.co.jp", "--rules", path
    )
