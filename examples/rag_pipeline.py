"""Retrieval-augmented generation: promptlab as the generation step of a retrieval pipeline.

documents -> BM25 retriever -> ``rag_answer`` template with the retrieved passages -> the
model's answer -> the ids of the passages it cited.

    python examples/rag_pipeline.py                                   # the embedded SmolLM2-135M model
    python examples/rag_pipeline.py --question "Who directed The Interview?"
    python examples/rag_pipeline.py --backend mock:examples/data/rag_mock.json
    python examples/rag_pipeline.py --documents my_docs.jsonl          # {"id", "text", "title"?} per line

The bundled documents (examples/data/rag_documents.jsonl) are short extracts of Wikipedia
articles (CC BY-SA 4.0) quoted in the ReAct paper's prompts.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from promptlab.backends import Backend, load_backend
from promptlab.config import GenerationConfig
from promptlab.prompts import PromptTemplate, TemplateLibrary
from promptlab.tools import Passage, Retriever, cited_ids

DOCUMENTS = Path(__file__).parent / "data" / "rag_documents.jsonl"
QUESTION = "What is the elevation range of the High Plains?"
CONFIG = GenerationConfig(max_new_tokens=96, temperature=0.0, stop=("\n\n", "\nQuestion:"))


@dataclass
class SourcedAnswer:
    """An answer with the passages it was given and the ids of those it cited."""

    answer: str
    passages: list[Passage]
    cited: list[str]


def answer_with_sources(question: str, retriever: Retriever, backend: Backend,
                        template: PromptTemplate) -> SourcedAnswer:
    """Retrieve passages for ``question``, ask the model, and read which passages it cited."""
    passages = retriever.retrieve(question)
    prompt = template.render(question=question, passages=[
        {"id": p.id, "text": p.text, "title": p.metadata.get("title", "")} for p in passages])
    answer = backend.complete(prompt, CONFIG).text.strip()
    return SourcedAnswer(answer, passages, cited_ids(answer, passages))


def load_documents(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="llamacpp", help="backend spec (default: the embedded model)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--documents", type=Path, default=DOCUMENTS, help="JSONL: {id, text, title?} per line")
    parser.add_argument("--k", type=int, default=3, help="passages to retrieve")
    args = parser.parse_args(argv)

    retriever = Retriever.bm25(load_documents(args.documents), k=args.k)
    template = TemplateLibrary.default().get("rag_answer")
    with load_backend(args.backend) as backend:
        result = answer_with_sources(args.question, retriever, backend, template)

    print(f"Question: {args.question}\n\nRetrieved:")
    for passage in result.passages:
        print(f"  [{passage.id}] (score {passage.score:.2f}) {passage.text[:90]}")
    print(f"\nAnswer: {result.answer}")
    print(f"Cited: {', '.join(result.cited) if result.cited else 'no retrieved passage'}")
    return 0 if result.answer else 1


if __name__ == "__main__":
    raise SystemExit(main())
