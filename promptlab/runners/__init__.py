"""Runners: prompting strategies that turn a question into an answer with a trace."""

from promptlab.runners._sampling import (
    Adaptive,
    Ballot,
    SamplingPlan,
    conclude,
    record_samples,
    sample,
    self_consistency,
)
from promptlab.runners.answers import (
    Extractor,
    answer_is,
    answers_match,
    default_extractor,
    last_number,
    normalize_answer,
    parse_number,
    regex_extractor,
)
from promptlab.runners.arithmetic import ArithmeticCheck, Correction, check_arithmetic
from promptlab.runners.code import extract_code
from promptlab.runners.cot import ChainOfThoughtRunner
from promptlab.runners.direct import DirectRunner
from promptlab.runners.flow import Chat, Effect, Generate, Runner
from promptlab.runners.grounding import given_numbers, is_grounded
from promptlab.runners.hybrid import HybridRunner
from promptlab.runners.pal import PALRunner
from promptlab.runners.pal_grammar import program_grammar
from promptlab.runners.react import ReActRunner
from promptlab.runners.react_json import ChatReActRunner
from promptlab.runners.react_native import ToolCallingReActRunner, chat_react_runner
from promptlab.runners.react_parse import ActionParseError, ParsedAction, parse_action
from promptlab.runners.result import RunResult
from promptlab.runners.slots import action_constraint, tool_call_constraint
from promptlab.runners.voting import Vote, majority_vote

__all__ = [
    "ActionParseError",
    "Adaptive",
    "ArithmeticCheck",
    "Ballot",
    "ChainOfThoughtRunner",
    "Chat",
    "ChatReActRunner",
    "Correction",
    "DirectRunner",
    "Effect",
    "Extractor",
    "Generate",
    "HybridRunner",
    "PALRunner",
    "ParsedAction",
    "ReActRunner",
    "RunResult",
    "Runner",
    "SamplingPlan",
    "ToolCallingReActRunner",
    "Vote",
    "action_constraint",
    "answer_is",
    "answers_match",
    "chat_react_runner",
    "check_arithmetic",
    "conclude",
    "default_extractor",
    "extract_code",
    "given_numbers",
    "is_grounded",
    "last_number",
    "majority_vote",
    "normalize_answer",
    "parse_action",
    "parse_number",
    "program_grammar",
    "record_samples",
    "regex_extractor",
    "sample",
    "self_consistency",
    "tool_call_constraint",
]
