"""RAFT training data: questions answered from retrieved sources that include distractors.

RAFT (Zhang et al. 2024, "RAFT: Adapting Language Model to Domain Specific RAG") trains on the
prompts the model will see at inference: the question with the chunk that holds the answer (the
oracle) hidden among chunks that do not (distractors, here the retriever's own top hits, so they
are hard negatives). In a share of examples the oracle is left out and the answer is still the
gold one, so the model also learns the domain rather than only copying from sources.

    data = build_raft(load_questions("questions.jsonl"), open_collection(project, "docs"))
    data.examples[0].messages[-1]        # {'role': 'assistant', 'content': 'Port 7431 [2]'}
    write_examples_jsonl(data.examples, Path("raft.jsonl"))   # → assistant finetune --data raft.jsonl
"""

from __future__ import annotations

import dataclasses
import random
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from lm.prompts import build_messages
from lm.questions import QAPair, normalise, source_matches
from index.config import RetrievalConfig
from core.files import write_jsonl
from index.followups import searched_question
from index.types import Chunk, Hit

from .types import BadRecord, Example
from core.errors import ConfigError
from index.retriever import open_collection
from lm.questions import load_questions

if TYPE_CHECKING:
    from index.retriever import Retriever


@dataclass
class RaftConfig:
    distractors: int = 3
    """Chunks in each prompt besides the oracle: the top retrieved chunks that are not it."""
    oracle_share: float = 0.8
    """Share of examples whose prompt holds the oracle; the rest hold only distractors (and the
    gold answer, uncited). The paper found 0.6-0.8 best; 1.0 is plain retrieval-augmented SFT."""
    seed: int = 0
    """Seeds which examples keep the oracle and where it goes among the distractors."""
    candidates: int = 20
    """Chunks retrieved per question to look for the oracle and pick distractors from."""
    cite: bool = True
    """End the answer with the oracle's source number, "Port 7431 [2]", as the RAG prompt asks."""
    system_prompt: str | None = None
    """The chat's system prompt, if you set one, so training prompts match what `assistant ask` sends."""

    def __post_init__(self) -> None:
        if self.distractors < 0:
            raise ConfigError(f"distractors must be 0 or more, got {self.distractors}")
        if not 0.0 <= self.oracle_share <= 1.0:
            raise ConfigError(f"oracle_share must be between 0 and 1, got {self.oracle_share}")
        if self.distractors == 0 and self.oracle_share < 1.0:
            raise ConfigError("with distractors = 0 an example without the oracle would have no sources; "
                             "set distractors to 1 or more, or oracle_share to 1")
        if self.candidates <= self.distractors:
            raise ConfigError(f"candidates ({self.candidates}) must be more than distractors ({self.distractors}): "
                             f"one retrieved chunk may be the oracle itself")


RaftPrompt = Callable[[str, Sequence[Chunk]], tuple[list[dict], list[str]]]
"""(question, the chunks retrieval found, in order) → (the prompt's messages, the texts it shows):
the prompt rag+sft sends, supplied by the layer that answers. A small model is shown the best
sentences of those chunks, not the chunks (assistant/answering/profiles.py)."""

SearchedFor = Callable[[str, Sequence[str]], str]
"""(question, the earlier questions of its conversation) → the question as searched."""


@dataclass(frozen=True)
class RaftAsking:
    """How rag+sft asks a question of a collection, supplied by the layer that answers
    (assistant.answering.raft_asking), so that RAFT examples are asked the same way."""

    searched: SearchedFor
    """A follow-up made self-contained as `assistant chat` makes it (index/followups.py, and the
    fallback of a question that finds nothing as typed)."""
    prompt: RaftPrompt | None = None
    """The prompt over the retrieved chunks; None: whole chunks, the prompt this module writes."""


@dataclass(frozen=True)
class RaftStats:
    with_oracle: int = 0
    """Examples whose prompt holds the oracle (the answer cites it)."""
    without_oracle: int = 0
    """Examples with distractors only."""
    no_oracle: int = 0
    """Questions skipped: no chunk holds any of their answers (or not in their `source`)."""
    no_answer: int = 0
    """Questions skipped: they have no answer to train on."""
    not_shown: int = 0
    """Questions skipped (with a RaftPrompt): the sentences the prompt shows hold none of their
    answers, so there is nothing to quote."""


@dataclass
class RaftData:
    examples: list[Example]
    stats: RaftStats
    skipped: list[BadRecord] = field(default_factory=list)
    """Each skipped question's origin and why, for the report."""


def _holds(chunk_text: str, answers: Sequence[str]) -> bool:
    return any(answer and answer in chunk_text for answer in answers)


def _in_context(chunk_text: str, context: str) -> bool:
    # A paragraph may be split into several chunks, or a chunk may hold several paragraphs.
    return chunk_text in context or context in chunk_text


_store_texts: "weakref.WeakKeyDictionary[object, list[str]]" = weakref.WeakKeyDictionary()


def _normalised_store(retriever) -> list[str]:
    # Normalised once per retriever: the fallback scan runs for every question whose oracle
    # was not retrieved, over every chunk of the collection.
    if retriever not in _store_texts:
        _store_texts[retriever] = [normalise(chunk.text) for chunk in retriever.chunks]
    return _store_texts[retriever]


def find_oracle(pair: QAPair, hits: Sequence[Hit], retriever: "Retriever") -> Chunk | None:
    """The chunk that holds the answer, or None.

    A chunk qualifies when its text contains one of `pair.answers` (case and whitespace ignored)
    and, if `pair.source` is set, it comes from that document. Retrieved chunks are tried first,
    in rank order, then the whole collection (`retriever.chunks`). When `pair.context` is set (the
    SQuAD paragraph) a chunk of that passage is preferred, since a short answer like "France" also
    appears in other chunks of the same article.
    """
    answers = [normalise(a) for a in pair.answers if a.strip()]
    if not answers:
        return None
    candidates = [(h.chunk, normalise(h.chunk.text)) for h in hits]
    everything = list(zip(retriever.chunks, _normalised_store(retriever)))
    passes = [True, False] if pair.context else [False]
    context = normalise(pair.context or "")
    for need_context in passes:
        for pool in (candidates, everything):
            for chunk, text in pool:
                if (_holds(text, answers) and (pair.source is None or source_matches(chunk, pair.source))
                        and (not need_context or _in_context(text, context))):
                    return chunk
    return None


def _overlaps(a: Chunk, b: Chunk) -> bool:
    # Neighbouring chunks of one section share `chunk_overlap` tokens, often the answer sentence.
    return a.source == b.source and a.locator == b.locator and a.start < b.end and b.start < a.end


def pick_distractors(hits: Sequence[Hit], oracle: Chunk, n: int) -> list[Chunk]:
    """The `n` best-ranked retrieved chunks that are neither the oracle nor overlap it."""
    chosen = [h.chunk for h in hits if h.chunk.id != oracle.id and not _overlaps(h.chunk, oracle)]
    return chosen[:n]


def raft_example(pair: QAPair, oracle: Chunk | None, distractors: list[Chunk], position: int,
                 config: RaftConfig, prompt: RaftPrompt | None = None) -> Example | None:
    """One training example: the inference prompt over the sources, then the gold answer.

    With `oracle`, it goes in at `position` (0-based) among `distractors` and the answer cites
    its number: "7431 [2]" for position 1. Without it, the answer is given uncited. With `prompt`,
    the messages are its prompt over those chunks and the answer is the first gold answer that the
    shown text holds, uncited (the quote's citation is added when it is answered); None when none is.
    """
    chunks = list(distractors)
    if oracle is not None:
        chunks.insert(position, oracle)
    if prompt is not None:
        messages, shown = prompt(pair.question, chunks)
        answer = next((a for a in pair.answers if a and any(a in text for text in shown)), None)
        if answer is None:
            return None
        return Example(messages=(*messages, {"role": "assistant", "content": answer}), kind="chat", origin=pair.origin)
    answer = pair.answers[0]
    if oracle is not None:
        if config.cite:
            answer = f"{answer} [{position + 1}]"
    messages = build_messages(pair.question, chunks, system_prompt=config.system_prompt)
    messages.append({"role": "assistant", "content": answer})
    return Example(messages=tuple(messages), kind="chat", origin=pair.origin)


def build_raft(pairs: Sequence[QAPair], retriever: "Retriever", config: RaftConfig | None = None,
               retrieval: RetrievalConfig | None = None, asking: RaftAsking | None = None) -> RaftData:
    """RAFT examples for `pairs`, searching `retriever` the way `assistant ask` does.

    `retrieval` is the search used at inference (mode, fusion, reranker); its `k` is replaced by
    `config.candidates`. Exactly round(oracle_share × found) examples keep the oracle, chosen with
    `random.Random(config.seed)`: the same inputs and seed give the same examples. `asking`: how
    rag+sft searches a follow-up and prompts (without it, follow-ups by index/followups.py's rules
    and whole chunks); with its `prompt` (a small model's prompt of best sentences, answered by a
    quote), every example keeps the oracle: a prompt that does not show the answer leaves nothing
    to quote.
    """
    config = config or RaftConfig()
    prompt = asking.prompt if asking else None
    retrieval = retrieval or RetrievalConfig()
    rng = random.Random(config.seed)
    found: list[tuple[QAPair, Chunk, list[Chunk]]] = []
    skipped: list[BadRecord] = []
    no_answer = no_oracle = 0
    for pair in pairs:
        if not pair.answers:
            no_answer += 1
            skipped.append(BadRecord(pair.origin, "no answer given"))
            continue
        # a follow-up is searched, and asked, as `assistant chat` searches it after the same questions
        if pair.history:
            searched = asking.searched(pair.question, pair.history) if asking else \
                searched_question(pair.question, pair.history, retriever).text
            pair = dataclasses.replace(pair, question=searched)
        hits = retriever.search(pair.question, retrieval, k=config.candidates)
        oracle = find_oracle(pair, hits, retriever)
        if oracle is None:
            no_oracle += 1
            where = f" in {pair.source!r}" if pair.source else ""
            skipped.append(BadRecord(pair.origin, f"no chunk{where} contains the answer {pair.answers[0]!r}"))
            continue
        found.append((pair, oracle, pick_distractors(hits, oracle, config.distractors)))

    share = 1.0 if prompt is not None else config.oracle_share
    keep = set(rng.sample(range(len(found)), round(share * len(found))))
    examples = []
    for i, (pair, oracle, distractors) in enumerate(found):
        included = i in keep
        position = rng.randrange(len(distractors) + 1) if included else 0
        example = raft_example(pair, oracle if included else None, distractors, position, config, prompt)
        if example is None:
            keep.discard(i)
            skipped.append(BadRecord(pair.origin, "the sentences the prompt shows hold none of its answers"))
        else:
            examples.append(example)
    stats = RaftStats(with_oracle=len(keep), without_oracle=len(examples) - len(keep), no_oracle=no_oracle,
                      no_answer=no_answer, not_shown=len(found) - len(examples))
    return RaftData(examples, stats, skipped)


def raft_from_files(files: Sequence[str | Path], project_dir: Path, collection: str,
                    config: RaftConfig | None = None, asking: RaftAsking | None = None) -> RaftData:
    """RAFT examples for the questions in `files` (JSONL or SQuAD), answered from `collection`:
    what `assistant data raft` writes and `assistant finetune --raft` trains on."""
    pairs = [pair for path in files for pair in load_questions(Path(path))]
    return build_raft(pairs, open_collection(Path(project_dir), collection), config, asking=asking)


def example_json(example: Example) -> dict:
    """An Example as one record of OpenAI chat JSONL ({"messages": [...]}) or of text JSONL."""
    if example.kind == "text":
        return {"text": example.text}
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in example.messages]}


def write_examples_jsonl(examples: Sequence[Example], path: Path | str) -> Path:
    """Write `examples` as JSONL, all at once: a killed run never leaves half a file behind.

    The output is what `assistant finetune --data` reads (the OpenAI `messages` format).
    """
    return write_jsonl(Path(path), map(example_json, examples))


__all__ = ["RaftAsking", "RaftConfig", "RaftData", "RaftPrompt", "RaftStats", "SearchedFor", "build_raft", "find_oracle", "pick_distractors",
           "raft_example", "write_examples_jsonl"]
