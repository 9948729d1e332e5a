"""The shipped templates reproduce the prompts of the papers' own code exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlab.prompts import TemplateLibrary, shipped_templates_dir

DATA = Path(__file__).resolve().parents[1] / "data" / "reference"
QUESTION = "Janet has 3 ducks and buys 2 more. How many ducks does she have?"


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary()


def test_every_shipped_template_loads_with_a_description(library: TemplateLibrary) -> None:
    names = library.names()
    assert {"direct", "cot", "pal_gsm", "pal_chat", "react_hotpotqa", "react_fever", "rag_answer"} <= set(names)
    for template in library:
        assert template.description, template.name
        assert template.path is not None and template.path.parent == shipped_templates_dir()


def test_pal_gsm_is_byte_identical_to_pal_math_prompt(library: TemplateLibrary) -> None:
    expected = (DATA / "pal" / "gsm_pal_prompt_template.txt").read_text(encoding="utf-8")
    assert library.get("pal_gsm").render(question=QUESTION) == expected.replace("{question}", QUESTION)


def test_pal_gsm_uses_the_given_examples(library: TemplateLibrary) -> None:
    prompt = library.get("pal_gsm").render(question=QUESTION, examples=[{"question": "1+1?", "program": "x = 2"}])
    header = "\n\n# solution in Python:\n\n\n"
    assert prompt == f"Q: 1+1?{header}x = 2\n\n\n\n\n\nQ: {QUESTION}{header}"


def test_react_hotpotqa_matches_the_notebook_prompt(library: TemplateLibrary) -> None:
    instruction = (DATA / "react" / "hotpotqa_instruction.txt").read_text(encoding="utf-8")
    examples = json.loads((DATA / "react" / "prompts_naive.json").read_text(encoding="utf-8"))["webthink_simple6"]
    expected = instruction + examples + f"Question: {QUESTION}\n"
    assert library.get("react_hotpotqa").render(question=QUESTION) == expected


def test_react_fever_matches_the_notebook_prompt(library: TemplateLibrary) -> None:
    examples = json.loads((DATA / "react" / "fever.json").read_text(encoding="utf-8"))["webthink_simple3"]
    claim = "Nikolaj Coster-Waldau worked with the Fox Broadcasting Company."
    assert library.get("react_fever").render(claim=claim) == examples + f"Claim: {claim}\n"


def test_cot_renders_the_paper_layout_from_the_8_shot_pool(library: TemplateLibrary) -> None:
    exemplars = (DATA / "cot" / "gsm8k_cot_8shot_qa.txt").read_text(encoding="utf-8").rstrip("\n")
    assert library.get("cot").render(question=QUESTION) == f"{exemplars}\n\nQ: {QUESTION}\nA:"


def test_cot_appends_the_answer_sentence_only_when_missing(library: TemplateLibrary) -> None:
    examples = [
        {"question": "2+2?", "rationale": "Two plus two is 4.", "answer": 4},
        {"question": "3+3?", "rationale": "3 + 3 = 6. The answer is 6.", "answer": 6},
    ]
    prompt = library.get("cot").render(question="1+1?", examples=examples)
    assert prompt == ("Q: 2+2?\nA: Two plus two is 4. The answer is 4.\n\n"
                      "Q: 3+3?\nA: 3 + 3 = 6. The answer is 6.\n\nQ: 1+1?\nA:")


def test_pal_chat_matches_pal_chat_beta_messages(library: TemplateLibrary) -> None:
    strings = json.loads((DATA / "pal" / "math_prompts.json").read_text(encoding="utf-8"))
    messages = library.get("pal_chat").render_messages(question=QUESTION)
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == strings["MATH_CHAT_BETA_SYSTEM_MESSAGE"]
    assert messages[1].content == strings["MATH_CHAT_BETA_PROMPT"].format(question=QUESTION)


def test_rag_answer_lists_passages_with_ids_and_asks_for_citations(library: TemplateLibrary) -> None:
    passages = [{"id": "d7", "title": "Paris", "text": "Paris is the capital of France."},
                {"id": "d2", "text": "France is in Europe."}]
    prompt = library.get("rag_answer").render(question="What is the capital of France?", passages=passages)
    assert "[d7] Paris: Paris is the capital of France.\n[d2] France is in Europe.\n" in prompt
    assert "e.g. [d7]" in prompt
    assert prompt.endswith("Question: What is the capital of France?\nAnswer:")


def test_direct_is_plain_question_answer(library: TemplateLibrary) -> None:
    assert library.get("direct").render(question="Who wrote Hamlet?") == "Q: Who wrote Hamlet?\nA:"


@pytest.mark.parametrize(("copied", "source"), [
    ("examples/gsm8k_cot_8shot.jsonl", "cot/gsm8k_cot_8shot.jsonl"),
    ("examples/gsm_pal_prompt.jsonl", "pal/gsm_pal_prompt.jsonl"),
    ("examples/react_prompts_naive.json", "react/prompts_naive.json"),
    ("examples/react_fever.json", "react/fever.json"),
    ("examples/react_hotpotqa_instruction.txt", "react/hotpotqa_instruction.txt"),
])
def test_example_files_are_verbatim_copies(copied: str, source: str) -> None:
    assert (shipped_templates_dir() / copied).read_bytes() == (DATA / source).read_bytes()


def test_licences_name_every_copied_source() -> None:
    licences = (shipped_templates_dir() / "LICENSES.md").read_text(encoding="utf-8")
    for file in (shipped_templates_dir() / "examples").iterdir():
        assert file.name in licences
    for upstream in ("ysymyth/ReAct", "reasoning-machines/pal", "EleutherAI/lm-evaluation-harness"):
        assert upstream in licences
