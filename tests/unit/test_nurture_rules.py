"""Nurture programs are data: the model rejects broken programs with a clear message."""

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import _register_commands, app
from leadflow.email_render import check_nurture_templates
from leadflow.paths import DEFAULT_RULES_PATH, RULES_DIR
from models.nurture_rules import NurtureRules, required_templates, template_problems
from models.rules import RulesError, load_rules, parse_rules


def program(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "demo",
        "entry": {"trigger": "created", "stages": ["lead"]},
        "steps": steps,
        **extra,
    }


def nurture(*programs: dict[str, Any]) -> NurtureRules:
    return NurtureRules.model_validate({"programs": list(programs)})


def error_of(*programs: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as caught:
        nurture(*programs)
    return str(caught.value)


def test_shipped_rules_files_define_the_four_domain_programs() -> None:
    for path in [DEFAULT_RULES_PATH, *sorted((RULES_DIR / "presets").glob("*.yaml"))]:
        rules = load_rules(path)
        names = [p.name for p in rules.nurture.programs]
        assert names[0] == "new_lead"
        assert {"document_download", "webinar", "lost_deal", "low_score"} <= set(names)


def test_new_lead_program_waits_five_then_seven_days_and_branches_on_opening_email_2() -> None:
    new_lead = load_rules(DEFAULT_RULES_PATH).nurture.program("new_lead")
    assert [s.id for s in new_lead.steps if s.send] == [
        "email_1",
        "email_2",
        "email_3a",
        "email_3b",
    ]
    waits = [s.wait.days for s in new_lead.steps if s.wait]
    assert waits == [5, 7]
    branch = new_lead.step("opened_email_2").branch
    assert branch is not None and branch.condition.opened == "email_2"
    assert (branch.then, branch.otherwise) == ("email_3a", "email_3b")


def test_a_rules_file_without_a_nurture_section_gets_the_default_new_lead_program() -> None:
    data = load_rules(DEFAULT_RULES_PATH).model_dump(mode="json", by_alias=True)
    del data["nurture"]
    rules = parse_rules(data, source=Path("no-nurture.yaml"))
    assert [p.name for p in rules.nurture.programs] == ["new_lead"]


def test_a_step_going_to_an_unknown_step_is_rejected() -> None:
    message = error_of(program([{"id": "a", "send": "a", "next": "nowhere"}]))
    assert "unknown step 'nowhere'" in message


def test_unreachable_steps_are_rejected() -> None:
    message = error_of(
        program([{"id": "a", "send": "a", "next": "end"}, {"id": "orphan", "send": "b"}])
    )
    assert "unreachable steps: orphan" in message


def test_loops_are_rejected() -> None:
    message = error_of(
        program(
            [
                {"id": "a", "send": "a"},
                {"id": "pause", "wait": {"days": 3}},
                {"id": "again", "branch": {"if": {"opened": "a"}, "then": "a", "else": "b"}},
                {"id": "b", "send": "b"},
            ]
        )
    )
    assert "loop" in message and "a → pause → again → a" in message


def test_an_open_check_right_after_the_send_is_rejected() -> None:
    message = error_of(
        program(
            [
                {"id": "a", "send": "a"},
                {"id": "pause", "wait": {"hours": 6}},
                {"id": "check", "branch": {"if": {"opened": "a"}, "then": "b", "else": "end"}},
                {"id": "b", "send": "b"},
            ]
        )
    )
    assert "wait at least 2 days" in message


def test_a_branch_on_a_step_that_sends_nothing_is_rejected() -> None:
    message = error_of(
        program(
            [
                {"id": "pause", "wait": {"days": 3}},
                {"id": "check", "branch": {"if": {"opened": "pause"}, "then": "b", "else": "end"}},
                {"id": "b", "send": "b"},
            ]
        )
    )
    assert "not a send step" in message


def test_a_rules_file_error_names_the_bad_nurture_key(tmp_path: Path) -> None:
    data = load_rules(DEFAULT_RULES_PATH).model_dump(mode="json", by_alias=True)
    data["nurture"]["frequency_cap"]["max_emails"] = 0
    with pytest.raises(RulesError) as caught:
        parse_rules(data, source=tmp_path / "bad.yaml")
    assert "nurture.frequency_cap.max_emails" in str(caught.value)


def test_unknown_templates_are_reported_per_program_step_and_file() -> None:
    rules = nurture(program([{"id": "hello", "send": "no_such_template"}]))
    problems = template_problems(rules, available=set())
    assert "demo.hello: missing template email/demo/no_such_template.ja.subject.j2" in problems
    assert len(problems) == len(rules.locales) * 3


def test_every_shipped_template_exists_and_renders_in_both_languages() -> None:
    rules = load_rules(DEFAULT_RULES_PATH).nurture
    assert len(required_templates(rules)) >= 17
    assert check_nurture_templates(rules) == []


def test_a_template_using_an_undefined_variable_fails_the_check(tmp_path: Path) -> None:
    folder = tmp_path / "email" / "demo"
    folder.mkdir(parents=True)
    for locale in ("ja", "en"):
        (folder / f"hello.{locale}.subject.j2").write_text("Hi {{ contact.nickname }}")
        (folder / f"hello.{locale}.txt.j2").write_text("text")
        (folder / f"hello.{locale}.html.j2").write_text("<p>html</p>")
    rules = nurture(program([{"id": "hello", "send": "hello"}]))
    problems = check_nurture_templates(rules, tmp_path)
    assert problems and "nickname" in problems[0] and "demo.hello (ja)" in problems[0]


def test_rules_check_command_reports_the_nurture_programs() -> None:
    _register_commands()
    result = CliRunner().invoke(app, ["rules", "check", str(DEFAULT_RULES_PATH)])
    assert result.exit_code == 0, result.output
    assert "6 nurture programs" in result.output


def test_rules_check_command_fails_on_a_looping_program(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace(
        "- {id: email_3b, send: email_3b}", "- {id: email_3b, send: email_3b, next: email_1}"
    )
    path = tmp_path / "loop.yaml"
    path.write_text(text, encoding="utf-8")
    _register_commands()
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert "loop" in result.output
