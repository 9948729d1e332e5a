"""Model chat templates render exactly as transformers' apply_chat_template renders them.

Every template in tests/data/reference/chat_templates (the models' official strings, and
chujiezheng's adapted ones with their documented preprocessing) is rendered with the same
conversations through promptlab and through a real transformers tokenizer, built offline
from a tiny WordLevel vocabulary, and the two strings are compared character for character.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptlab.backends.tool_calls import syntax_of_template
from promptlab.chat import Message, ToolCall, render_chat_template, template_payload
from promptlab.errors import TemplateError

DATA = Path(__file__).resolve().parents[1] / "data" / "reference" / "chat_templates"
BOS, EOS = "<s>", "</s>"

SYSTEM = {"role": "system", "content": "You are a helpful assistant.\nAnswer briefly."}
CONVERSATIONS: dict[str, list[dict[str, str]]] = {
    "user": [{"role": "user", "content": "What is 2+2?"}],
    "system_user": [SYSTEM, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [
        {"role": "user", "content": "  Hi there!  "},
        {"role": "assistant", "content": "Hello. How can I help?"},
        {"role": "user", "content": "Name a prime.\nJust one, please."},
    ],
    "system_multi_turn": [
        SYSTEM,
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Ça va? 日本語 {{ not jinja }}"},
    ],
    "ends_with_assistant": [
        {"role": "user", "content": "Say yes."},
        {"role": "assistant", "content": "Yes."},
    ],
}


def _official() -> list[tuple[str, str]]:
    return [(f"official/{p.stem}", p.read_text(encoding="utf-8")) for p in sorted((DATA / "official").glob("*.jinja"))]


def _chujiezheng() -> list[tuple[str, str]]:
    templates = []
    for path in sorted((DATA / "chujiezheng").glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        if path.stem != "qwen2.5-instruct":  # its string literals hold real newlines: it is used raw
            source = source.replace("    ", "").replace("\n", "")
        templates.append((f"chujiezheng/{path.stem}", source))
    return templates


TEMPLATES = _official() + _chujiezheng() if DATA.is_dir() else []


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {"[UNK]": 0, BOS: 1, EOS: 2}
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=BOS, eos_token=EOS,
                                                unk_token="[UNK]")


def _transformers(tokenizer: Any, template: str, messages: list[dict[str, str]], add_generation_prompt: bool) -> Any:
    tokenizer.chat_template = template
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    except Exception as exc:  # the template refused the conversation
        return exc


def _promptlab(template: str, messages: list[dict[str, str]], add_generation_prompt: bool) -> Any:
    try:
        return render_chat_template(template, messages, add_generation_prompt=add_generation_prompt,
                                    bos_token=BOS, eos_token=EOS)
    except TemplateError as exc:
        return exc


def test_the_template_set_is_complete() -> None:
    names = {name for name, _ in TEMPLATES}
    assert {"official/llama-3-instruct", "official/gemma-it", "official/mistral-instruct-v0.1",
            "official/qwen2.5-instruct"} <= names
    assert len([n for n in names if n.startswith("chujiezheng/")]) == 18


@pytest.mark.parametrize("add_generation_prompt", [True, False], ids=["gen", "nogen"])
@pytest.mark.parametrize("conversation", list(CONVERSATIONS))
@pytest.mark.parametrize(("name", "template"), TEMPLATES, ids=[name for name, _ in TEMPLATES])
def test_promptlab_renders_like_transformers(tokenizer: Any, name: str, template: str, conversation: str,
                                             add_generation_prompt: bool) -> None:
    messages = CONVERSATIONS[conversation]
    expected = _transformers(tokenizer, template, messages, add_generation_prompt)
    actual = _promptlab(template, messages, add_generation_prompt)
    if isinstance(expected, Exception):
        assert isinstance(actual, TemplateError), f"transformers raised {expected!r}, promptlab rendered {actual!r}"
    else:
        assert isinstance(expected, str) and expected  # a real rendering, not an empty string
        assert actual == expected


@pytest.mark.parametrize(("name", "message"), [
    ("gemma-it", "System role not supported"),
    ("mistral-instruct-v0.1", "Conversation roles must alternate"),
])
def test_official_templates_refuse_a_system_message_in_both(tokenizer: Any, name: str, message: str) -> None:
    template = (DATA / "official" / f"{name}.jinja").read_text(encoding="utf-8")
    conversation = CONVERSATIONS["system_user"]
    with pytest.raises(TemplateError, match=message):
        render_chat_template(template, conversation)
    assert message in str(_transformers(tokenizer, template, conversation, True))


def test_the_conversations_exercise_real_differences(tokenizer: Any) -> None:
    template = (DATA / "official" / "llama-3-instruct.jinja").read_text(encoding="utf-8")
    with_prompt = render_chat_template(template, CONVERSATIONS["user"], bos_token=BOS)
    without = render_chat_template(template, CONVERSATIONS["user"], add_generation_prompt=False, bos_token=BOS)
    assert with_prompt.startswith(BOS)
    assert with_prompt == without + "<|start_header_id|>assistant<|end_header_id|>\n\n"


HUB_FEATURES = (
    "{% set today = strftime_now('%Y') %}{% for m in messages %}"
    "{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
    "{% else %}[{{ m.role }}|{{ today }}] {{ m.content | trim }}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}>>{% endif %}"
)


def test_transformers_globals_and_generation_tag_are_supported(tokenizer: Any) -> None:
    messages = CONVERSATIONS["multi_turn"]
    expected = _transformers(tokenizer, HUB_FEATURES, messages, True)
    assert isinstance(expected, str)
    assert render_chat_template(HUB_FEATURES, messages) == expected


# ----------------------------------------------------------------------------- tools
TOOLS = [
    {"type": "function", "function": {
        "name": "calculator", "description": "Evaluate an arithmetic expression.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                       "required": ["expression"]}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search the documents; returns the best passages.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "k": {"type": "integer"}},
                       "required": ["query"]}}},
]
CALL = ToolCall(id="call_0", name="calculator", arguments={"expression": "6*7"}, arguments_json='{"expression": "6*7"}')
TOOL_CONVERSATIONS: dict[str, list[Message]] = {
    "user": [Message(role="user", content="What is 6 times 7?")],
    "system_user": [Message(role="system", content="Be brief."), Message(role="user", content="What is 6 times 7?")],
    "round_trip": [
        Message(role="system", content="Be brief."),
        Message(role="user", content="What is 6 times 7?"),
        Message(role="assistant", content="", tool_calls=(CALL,)),
        Message(role="tool", content="42", tool_call_id="call_0", name="calculator"),
    ],
}
TOOL_TEMPLATES = [(name, template) for name, template in TEMPLATES if "qwen2.5" in name] + [
    (f"tool_use/{p.stem}", p.read_text(encoding="utf-8")) for p in sorted((DATA / "tool_use").glob("*.jinja"))]


def test_the_tool_template_set_is_complete() -> None:
    names = {name for name, _ in TOOL_TEMPLATES}
    assert {"official/qwen2.5-instruct", "tool_use/meta-llama-Llama-3.1-8B-Instruct",
            "tool_use/NousResearch-Hermes-3-Llama-3.1-8B-tool_use"} <= names


@pytest.mark.parametrize("conversation", list(TOOL_CONVERSATIONS))
@pytest.mark.parametrize(("name", "template"), TOOL_TEMPLATES, ids=[name for name, _ in TOOL_TEMPLATES])
def test_tools_render_like_transformers(tokenizer: Any, name: str, template: str, conversation: str) -> None:
    messages = TOOL_CONVERSATIONS[conversation]
    tokenizer.chat_template = template
    expected = tokenizer.apply_chat_template([template_payload(m) for m in messages], tools=TOOLS, tokenize=False,
                                             add_generation_prompt=True)
    actual = render_chat_template(template, messages, bos_token=BOS, eos_token=EOS, tools=TOOLS)
    assert "calculator" in expected and "Search the documents" in expected
    assert actual == expected
    if conversation == "round_trip":
        assert "42" in actual and "6*7" in actual


@pytest.mark.parametrize(("name", "syntax"), [
    ("official/qwen2.5-instruct", "hermes"), ("tool_use/NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "hermes"),
    ("tool_use/meta-llama-Llama-3.1-8B-Instruct", "llama3"), ("tool_use/meta-llama-Llama-3.2-3B-Instruct", "llama3"),
    ("official/llama-3-instruct", None), ("chujiezheng/chatml", None),
])
def test_the_tool_syntax_is_read_from_the_template(name: str, syntax: str | None) -> None:
    template = dict(TEMPLATES + TOOL_TEMPLATES)[name]
    found = syntax_of_template(template)
    assert (found.name if found is not None else None) == syntax
