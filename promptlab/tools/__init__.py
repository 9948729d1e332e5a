"""Tools an agent can call: the Tool contract, ``@tool``, a registry, and the built-in tools."""

from promptlab.tools._wiki_http import WikipediaError
from promptlab.tools.base import Observation, ObservationKind, Tool, ToolArgumentError
from promptlab.tools.calculator import Calculator, CalculatorError, calculate
from promptlab.tools.decorator import FunctionTool, tool
from promptlab.tools.python import PythonTool
from promptlab.tools.registry import ToolRegistry
from promptlab.tools.retriever import BM25Index, Passage, Retriever, cited_ids, format_passages
from promptlab.tools.wiki_local import LocalWikipedia, WikiFixture, WikiPage
from promptlab.tools.wikipedia import (
    WIKIPEDIA_API_URL,
    WikipediaEnv,
    WikipediaLookup,
    WikipediaSearch,
    paper_sentences,
    wikipedia_tools,
)

__all__ = [
    "WIKIPEDIA_API_URL",
    "BM25Index",
    "Calculator",
    "CalculatorError",
    "FunctionTool",
    "LocalWikipedia",
    "Observation",
    "ObservationKind",
    "Passage",
    "PythonTool",
    "Retriever",
    "Tool",
    "ToolArgumentError",
    "ToolRegistry",
    "WikiFixture",
    "WikiPage",
    "WikipediaEnv",
    "WikipediaError",
    "WikipediaLookup",
    "WikipediaSearch",
    "calculate",
    "cited_ids",
    "format_passages",
    "paper_sentences",
    "tool",
    "wikipedia_tools",
]
