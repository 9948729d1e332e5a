"""Loading, declaring inputs, rendering and finding templates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptlab.chat import Message
from promptlab.errors import TemplateError, TemplateNotFoundError, TemplateSecurityError
from promptlab.prompts import PromptTemplate, RenderLimits, TemplateInput, TemplateLibrary
from promptlab.prompts.library import TEMPLATE_PATH_ENV

GREETING = "{#-\ndescription: Greets someone.\ninputs:\n  name: Who to greet.\n-#}\nHello {{ name }}!\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# -- text templates -------------------------------------------------------------------------


def test_front_matter_declares_description_and_inputs(tmp_path: Path) -> None:
    template = PromptTemplate.from_file(write(tmp_path, "greet.jinja", GREETING))
    assert template.name == "greet"
    assert template.kind == "text"
    assert template.description == "Greets someone."
    assert template.inputs["name"] == TemplateInput("name", "Who to greet.", required=True)
    assert template.render(name="Ada") == "Hello Ada!"  # the comment and one trailing newline are dropped


def test_optional_inputs_take_their_defaults(tmp_path: Path) -> None:
    write(tmp_path, "shots.json", '{"easy": [{"q": "1+1", "a": 2}]}')
    source = ("{#-\ninputs:\n  question:\n  style: {default: terse}\n"
              "  shots: {description: Examples., default_file: 'shots.json#easy'}\n-#}\n"
              "{% for s in shots %}{{ s.q }}={{ s.a }}\n{% endfor %}[{{ style }}] {{ question }}")
    template = PromptTemplate.from_file(write(tmp_path, "t.jinja", source))
    assert template.required_inputs == ("question",)
    assert template.render(question="2+2") == "1+1=2\n[terse] 2+2"
    assert template.render(question="2+2", style="long", shots=[]) == "[long] 2+2"


def test_inputs_may_be_a_plain_list(tmp_path: Path) -> None:
    template = PromptTemplate.from_file(write(tmp_path, "t.jinja", "{#- inputs: [a, b] -#}{{ a }}{{ b }}"))
    assert list(template.inputs) == ["a", "b"]
    assert template.render(a=1, b=2) == "12"


def test_missing_variable_is_named(tmp_path: Path) -> None:
    template = PromptTemplate.from_file(write(tmp_path, "greet.jinja", GREETING))
    with pytest.raises(TemplateError, match=r"template 'greet' .* missing required variable 'name'"):
        template.render()


def test_unexpected_variable_is_named(tmp_path: Path) -> None:
    template = PromptTemplate.from_file(write(tmp_path, "greet.jinja", GREETING))
    with pytest.raises(TemplateError, match=r"template 'greet' .* unexpected variable 'nmae'"):
        template.render(name="Ada", nmae="typo")


def test_a_variable_used_but_not_declared_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jinja", "{#- inputs: [question] -#}{{ question }} {{ qestion }}")
    with pytest.raises(TemplateError, match=r"uses variable 'qestion' but does not declare it"):
        PromptTemplate.from_file(path)


def test_a_declared_input_never_used_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jinja", "{#- inputs: [question, context] -#}{{ question }}")
    with pytest.raises(TemplateError, match=r"declares input 'context' but never uses it"):
        PromptTemplate.from_file(path)


def test_loop_variables_and_set_names_are_not_inputs(tmp_path: Path) -> None:
    source = "{#- inputs: [items] -#}{% set sep = ', ' %}{% for x in items %}{{ x }}{{ sep }}{% endfor %}"
    assert PromptTemplate.from_file(write(tmp_path, "t.jinja", source)).render(items=[1, 2]) == "1, 2, "


def test_missing_attribute_at_render_names_template_and_line(tmp_path: Path) -> None:
    source = "{#-\ninputs: [examples]\n-#}\n{% for e in examples %}\n{{ e.rationale }}\n{% endfor %}"
    template = PromptTemplate.from_file(write(tmp_path, "t.jinja", source))
    with pytest.raises(TemplateError, match=r"template 't' .*t\.jinja\), line 5: .*'rationale'"):
        template.render(examples=[{"question": "q"}])


def test_a_template_without_front_matter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"must start with a front-matter comment"):
        PromptTemplate.from_file(write(tmp_path, "t.jinja", "Hello {{ name }}"))


def test_bad_front_matter_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jinja", "{#-\ndescription: ok\ninputs: [a\nfoo: 1\n-#}{{ a }}")
    with pytest.raises(TemplateError, match=r"bad\.jinja\), line 4: invalid YAML"):
        PromptTemplate.from_file(path)


def test_reserved_input_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"input name 'self' is not allowed"):
        PromptTemplate.from_file(write(tmp_path, "t.jinja", "{#- inputs: [self] -#}x"))


def test_the_public_names_are_exported() -> None:
    import promptlab.prompts

    assert {"PromptTemplate", "TemplateLibrary", "TemplateInput", "RenderLimits"} <= set(promptlab.prompts.__all__)


def test_unknown_front_matter_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"unknown key 'input'"):
        PromptTemplate.from_file(write(tmp_path, "t.jinja", "{#- input: [a] -#}{{ a }}"))


def test_jinja_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.jinja", "{#-\ninputs: [a]\n-#}\nline 4\n{% if a %}\nno endif\n")
    with pytest.raises(TemplateError, match=r"broken\.jinja\), line 6: template syntax error"):
        PromptTemplate.from_file(path)


def test_missing_default_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "t.jinja", "{#-\ninputs:\n  shots: {default_file: nope.jsonl}\n-#}{{ shots }}")
    with pytest.raises(TemplateError, match=r"input 'shots': cannot read default_file .*nope\.jsonl"):
        PromptTemplate.from_file(path)


def test_from_string_infers_inputs_without_front_matter() -> None:
    template = PromptTemplate.from_string("Q: {{ question }}\n{% for x in extra %}{{ x }}{% endfor %}A:")
    assert set(template.inputs) == {"question", "extra"}
    assert template.render(question="why?", extra=["!"]) == "Q: why?\n!A:"


def test_render_messages_of_a_text_template_is_one_user_message() -> None:
    template = PromptTemplate.from_string("Hi {{ who }}")
    assert template.render_messages(who="you") == [Message(role="user", content="Hi you")]


# -- chat templates -----------------------------------------------------------------------------

CHAT = """description: Answers briefly.
inputs:
  question: The question.
  persona: {default: a terse assistant}
messages:
  - role: system
    content: You are {{ persona }}.
  - role: user
    content: |-
      Question: {{ question }}
      Answer in one line.
"""


def test_chat_template_renders_messages(tmp_path: Path) -> None:
    template = PromptTemplate.from_file(write(tmp_path, "brief.chat.yaml", CHAT))
    assert template.name == "brief"
    assert template.kind == "chat"
    assert template.render_messages(question="Why?") == [
        Message(role="system", content="You are a terse assistant."),
        Message(role="user", content="Question: Why?\nAnswer in one line."),
    ]


def test_chat_template_refuses_render(tmp_path: Path) -> None:
    template = PromptTemplate.from_file(write(tmp_path, "brief.chat.yaml", CHAT))
    with pytest.raises(TemplateError, match="is a chat template: use render_messages"):
        template.render(question="Why?")


def test_chat_template_checks_declared_inputs(tmp_path: Path) -> None:
    path = write(tmp_path, "c.chat.yaml", CHAT.replace("{{ question }}", "{{ query }}"))
    with pytest.raises(TemplateError, match=r"uses variable 'query'"):
        PromptTemplate.from_file(path)


def test_chat_template_bad_role_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"message 1 has role 'narrator'"):
        PromptTemplate.from_file(write(tmp_path, "c.chat.yaml", CHAT.replace("role: system", "role: narrator")))


def test_chat_template_syntax_error_points_at_the_file_line(tmp_path: Path) -> None:
    path = write(tmp_path, "c.chat.yaml", CHAT.replace("Answer in one line.", "Answer {% if %}"))
    with pytest.raises(TemplateError, match=r"c\.chat\.yaml\), line 11: template syntax error"):
        PromptTemplate.from_file(path)


def test_chat_template_bad_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"c\.chat\.yaml\), line 2: invalid YAML"):
        PromptTemplate.from_file(write(tmp_path, "c.chat.yaml", "description: x\n  - : [\n"))


# -- the library ------------------------------------------------------------------------------


def test_user_directories_override_shipped_templates(tmp_path: Path) -> None:
    write(tmp_path, "direct.jinja", "{#- inputs: [question] -#}Question: {{ question }}")
    library = TemplateLibrary([tmp_path])
    assert library.get("direct").render(question="x") == "Question: x"
    assert "cot" in library  # the shipped ones are still there
    assert TemplateLibrary().get("direct").render(question="x") == "Q: x\nA:"


def test_get_accepts_a_path(tmp_path: Path) -> None:
    path = write(tmp_path, "greet.jinja", GREETING)
    assert TemplateLibrary(shipped=False).get(str(path)).render(name="Bo") == "Hello Bo!"
    assert TemplateLibrary(shipped=False).get(path).name == "greet"


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(TemplateNotFoundError, match=r"no template named 'cott' \(did you mean 'cot'\?\).*direct"):
        TemplateLibrary().get("cott")


def test_missing_template_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(TemplateNotFoundError, match=r"template file .*nope\.jinja.* does not exist"):
        TemplateLibrary().get(str(tmp_path / "nope.jinja"))


def test_a_missing_user_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"template directory .*missing.* does not exist"):
        TemplateLibrary([tmp_path / "missing"])


def test_default_reads_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "greet.jinja", GREETING)
    monkeypatch.setenv(TEMPLATE_PATH_ENV, str(tmp_path))
    assert "greet" in TemplateLibrary.default().names()


def test_library_reloads_a_changed_file(tmp_path: Path) -> None:
    path = write(tmp_path, "greet.jinja", GREETING)
    library = TemplateLibrary([tmp_path], shipped=False)
    assert library.get("greet").render(name="A") == "Hello A!"
    path.write_text(GREETING.replace("Hello", "Bye"), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert library.get("greet").render(name="A") == "Bye A!"


def test_shipped_templates_are_package_data_read_once_per_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptlab.prompts import library as library_module

    monkeypatch.setattr(library_module, "shipped_templates_dir", lambda: tmp_path)
    path = write(tmp_path, "shipped_greet.jinja", GREETING)
    first = TemplateLibrary().get("shipped_greet")
    path.write_text(GREETING.replace("Hello", "Bye"), encoding="utf-8")
    os.utime(path, ns=(1, 1))
    os.utime(tmp_path, ns=(1, 1))
    again = TemplateLibrary().get("shipped_greet")
    assert again is first and again.render(name="A") == "Hello A!"


def test_a_missing_shipped_directory_is_no_template_not_a_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptlab.prompts import library as library_module

    monkeypatch.setattr(library_module, "shipped_templates_dir", lambda: tmp_path / "gone")
    with pytest.raises(TemplateNotFoundError, match="no template named 'cot'"):
        TemplateLibrary().get("cot")


def test_libraries_share_one_parse_per_file_and_limits(tmp_path: Path) -> None:
    write(tmp_path, "greet.jinja", GREETING)
    first = TemplateLibrary([tmp_path], shipped=False).get("greet")
    assert TemplateLibrary([tmp_path], shipped=False).get("greet") is first
    tight = TemplateLibrary([tmp_path], shipped=False, limits=RenderLimits(max_output_chars=3)).get("greet")
    assert tight is not first
    with pytest.raises(TemplateSecurityError, match="max_output_chars"):
        tight.render(name="A")


def test_a_file_added_to_a_directory_is_found(tmp_path: Path) -> None:
    library = TemplateLibrary([tmp_path], shipped=False)
    assert "greet" not in library
    write(tmp_path, "greet.jinja", GREETING)
    os.utime(tmp_path, ns=(1, 1))  # a different directory mtime even on coarse clocks
    assert library.get("greet").render(name="A") == "Hello A!"
