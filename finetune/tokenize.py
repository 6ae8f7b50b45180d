"""Examples → token ids and labels, with the loss only on what the model should learn to write.

Chat examples are rendered with the model's own chat template, the way prompts are rendered at
inference (a system prompt is added when the example has none), and only the assistant turns,
each with its end-of-turn token, are labelled: the model learns to answer and to stop, not to
predict questions. Text examples are trained on every token.

    t = tokenize_example(Example(messages=({"role": "user", "content": "Hi"},
                                           {"role": "assistant", "content": "Hello"})), tokenizer, 512)
    tokenizer.decode([i for i, label in zip(t.input_ids, t.labels) if label != IGNORE])
    # 'Hello<|im_end|>'
"""

from __future__ import annotations

import dataclasses
import os

from dataclasses import dataclass
from typing import Sequence

from lm.prompts import BASE_SYSTEM

from .types import DataError, Example
from core.errors import ConfigError

IGNORE = -100
"""The label value the loss skips (PyTorch cross-entropy's ignore_index)."""
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]
    """input_ids where the loss applies, IGNORE elsewhere."""
    length: int
    """Tokens before truncation."""
    truncated: bool = False
    labelled_all: bool = False
    """The chat template did not render turn by turn, so every token is labelled (see tokenize_chat)."""
    origin: str = ""
    answer_cut: bool = False
    """max_length cut through an answer, which is then not learned (see truncate)."""
    block: int = 0
    """Which block (from 1) of a text longer than max_length this is (see windows); 0: whole."""

    @property
    def trainable(self) -> bool:
        """False when no label survived truncation: the example teaches nothing and should be reported."""
        return any(label != IGNORE for label in self.labels)


def with_system(messages: Sequence[dict], system_prompt: str) -> list[dict]:
    """Messages with `system_prompt` in front unless they start with a system message.

    >>> with_system([{"role": "user", "content": "Hi"}], "Be brief.")[0]
    {'role': 'system', 'content': 'Be brief.'}
    """
    messages = list(messages)
    if (messages and messages[0]["role"] == "system") or not system_prompt:
        return messages
    return [{"role": "system", "content": system_prompt}] + messages


def assistant_spans(render, messages: list[dict]) -> list[tuple[int, int]] | None:
    """Character spans of each assistant turn in render(messages), or None if the template cannot
    be split that way.

    render(messages, add_generation_prompt) → str is the chat template. A turn starts where the
    prompt for it ends, render(messages[:i], True), and ends where render(messages[:i+1]) ends;
    whitespace the template puts after the end-of-turn token is left out, because generation stops
    at that token and never writes it. Templates that render earlier turns differently once more
    turns follow (some drop past reasoning) break the prefix property: then None.
    """
    full = render(messages, False)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt, turn = render(messages[:i], True), render(messages[: i + 1], False)
        if not (full.startswith(prompt) and full.startswith(turn) and len(prompt) < len(turn)):
            return None
        start, end = len(prompt), len(turn)
        content_at = turn.find(message["content"], start)
        trimmed = len(turn.rstrip())
        # Keep a template's whitespace when it is all that ends the turn, so a stop signal stays labelled.
        if content_at < 0 or trimmed > content_at + len(message["content"]):
            end = trimmed
        spans.append((start, end))
    return spans


def label_spans(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[bool]:
    """Per token: does its character range overlap one of `spans`?

    >>> label_spans([(0, 3), (3, 5), (5, 9)], [(3, 6)])
    [False, True, True]
    """
    return [any(tok_start < end and tok_end > start for start, end in spans) for tok_start, tok_end in offsets]


def tokenize_chat(example: Example, tokenizer, system_prompt: str = BASE_SYSTEM) -> Tokenized:
    """A chat Example → ids with labels on the assistant turns (not yet truncated)."""
    messages = with_system(example.messages, system_prompt)

    def render(part: list[dict], add_generation_prompt: bool) -> str:
        return tokenizer.apply_chat_template(part, tokenize=False, add_generation_prompt=add_generation_prompt)

    text = render(messages, False)
    # The template writes the special tokens itself; letting the tokenizer add more would double them.
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    spans = assistant_spans(render, messages)
    if spans is not None and example.untrained:  # weight 0, or train_on = "last": context, not learned
        spans = [span for turn, span in enumerate(spans) if turn not in example.untrained]
    mask = label_spans(encoded["offset_mapping"], spans) if spans is not None else [True] * len(ids)
    labels = [token if keep else IGNORE for token, keep in zip(ids, mask)]
    return Tokenized(ids, labels, len(ids), labelled_all=spans is None, origin=example.origin)


def tokenize_text(example: Example, tokenizer) -> Tokenized:
    """A text Example → ids (with the tokenizer's usual BOS, if any) + EOS, every token labelled."""
    ids = list(tokenizer(example.text, add_special_tokens=True)["input_ids"])
    if tokenizer.eos_token_id is not None and (not ids or ids[-1] != tokenizer.eos_token_id):
        ids.append(tokenizer.eos_token_id)  # the document ends here: learn where texts end
    return Tokenized(ids, list(ids), len(ids), origin=example.origin)


def truncate(tokenized: Tokenized, max_length: int, answers: bool = False) -> Tokenized:
    """Keep the first `max_length` tokens (the prompt and the start of the answer matter most).
    `answers` (a chat): an answer the cut goes through is not learned, its start kept as context:
    learned without its end-of-turn token, it would teach the model not to stop.

    >>> truncate(Tokenized([1, 2, 3, 4], [IGNORE, 2, IGNORE, 4], 4), 2, answers=True).labels
    [-100, 2]
    >>> truncate(Tokenized([1, 2, 3, 4], [IGNORE, 2, 3, 4], 4), 3, answers=True).labels
    [-100, -100, -100]
    """
    if len(tokenized.input_ids) <= max_length:
        return tokenized
    labels = list(tokenized.labels[:max_length])
    cut = answers and labels[-1] != IGNORE and tokenized.labels[max_length] != IGNORE
    if cut:
        end = len(labels)
        while end and labels[end - 1] != IGNORE:
            end -= 1
        labels[end:] = [IGNORE] * (len(labels) - end)
    return Tokenized(tokenized.input_ids[:max_length], labels, tokenized.length, truncated=True,
                     labelled_all=tokenized.labelled_all, origin=tokenized.origin, answer_cut=cut)


def windows(tokenized: Tokenized, max_length: int, overlap: int | None = None) -> list[Tokenized]:
    """A text longer than `max_length` as blocks of it, each starting `overlap` tokens (default an
    eighth) before the previous one ends; the overlap is context, learned once only. Cut at
    max_length instead, a long text lost everything after its first block (a 2,000-line file kept 1 %).

    >>> [(w.input_ids, w.labels) for w in windows(Tokenized([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 5), 3, 1)]
    [([1, 2, 3], [1, 2, 3]), ([3, 4, 5], [-100, 4, 5])]
    """
    ids = tokenized.input_ids
    if len(ids) <= max_length:
        return [tokenized]
    overlap = min(max_length // 8 if overlap is None else overlap, max_length - 1)
    step = max_length - overlap
    starts = list(range(0, len(ids) - overlap, step))
    return [Tokenized(ids[start : start + max_length],
                      [IGNORE] * (overlap if start else 0) + list(tokenized.labels[start + (overlap if start else 0): start + max_length]),
                      tokenized.length, origin=f"{tokenized.origin} (block {n}/{len(starts)})", block=n)
            for n, start in enumerate(starts, start=1)]


def tokenize_example(example: Example, tokenizer, max_length: int, system_prompt: str = BASE_SYSTEM) -> Tokenized:
    """One Example → Tokenized, at most `max_length` tokens; check `.trainable` before training on it."""
    if max_length < 1:
        raise ConfigError(f"max_length must be at least 1, got {max_length}")
    if example.kind == "text":
        return truncate(tokenize_text(example, tokenizer), max_length)
    return truncate(tokenize_chat(example, tokenizer, system_prompt), max_length, answers=True)


def tokenize_all(examples: Sequence[Example], tokenizer, max_length: int,
                 system_prompt: str = BASE_SYSTEM) -> list[Tokenized]:
    """Each example tokenized, in order: a chat cut at max_length (tokenize_example), a long text
    split into overlapping blocks of max_length (windows)."""
    if max_length < 1:
        raise ConfigError(f"max_length must be at least 1, got {max_length}")
    if any(e.kind == "chat" for e in examples) and not getattr(tokenizer, "chat_template", None):
        raise DataError("the tokenizer has no chat template, so chat examples cannot be rendered; "
                         "use an instruct model's tokenizer or train on text data")
    return [block for e in examples for block in
            (windows(tokenize_text(e, tokenizer), max_length) if e.kind == "text"
             else [tokenize_example(e, tokenizer, max_length, system_prompt)])]


# ---------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class DataSummary:
    records: int
    chat: int
    text: int
    tokens: int
    """Tokens trained on as input, after truncation."""
    trained_tokens: int
    """Tokens with a label (the loss is computed on these)."""
    truncated: int
    untrainable: int
    """Examples with no label left after truncation."""
    labelled_all: int
    """Chat examples whose template could not be split by turn, so all their tokens are labelled."""
    max_length: int
    histogram: tuple[int, ...]
    """Examples per length bin (lengths before truncation)."""
    edges: tuple[int, ...]
    """HISTOGRAM_BINS + 1 bin edges from the shortest length: bin i is edges[i] <= length < edges[i + 1]."""
    skipped: int = 0
    """Bad records left out (--skip-bad)."""
    duplicates: int = 0
    """Exact repeats removed."""
    files: tuple[tuple[str, str, str], ...] = ()
    """(path, train or eval, the format it was read in) per data file."""
    answers_cut: int = 0
    """Examples whose last answer max_length cut through: that answer is not learned."""
    split_texts: int = 0
    """Texts longer than max_length, trained as overlapping blocks instead of cut."""
    blocks: int = 0
    """The blocks those texts became."""
    cleaned: dict = dataclasses.field(default_factory=dict)
    """With --clean: records per cleaning step, {"near duplicate": 2, "personal data": 1}."""
    examples_at: dict = dataclasses.field(default_factory=dict)
    """Where the first few of each kind are: {"untrainable": ("data.jsonl:3", ...), "answers cut": ...}."""


SHOWN_AT = 5
"""Examples named per kind in the summary (untrainable, answers cut)."""


def histogram(values: Sequence[int], bins: int = HISTOGRAM_BINS) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Counts of integer `values` in `bins` equal-width bins starting at the smallest, and the bin
    edges (bin i holds edges[i] <= value < edges[i + 1]; widths are whole tokens, at least 1).

    >>> histogram([1, 2, 2, 11], bins=2)
    ((3, 1), (1, 7, 13))
    """
    low = min(values, default=0)
    width = max(1, -(-(max(values, default=0) - low + 1) // bins))  # ceiling division
    counts = [0] * bins
    for value in values:
        counts[(value - low) // width] += 1
    return tuple(counts), tuple(low + width * i for i in range(bins + 1))


def summarize(examples: Sequence[Example], tokenized: Sequence[Tokenized], max_length: int) -> DataSummary:
    """What the data amounts to once tokenized: counts, tokens, truncation, lengths."""
    whole = [t for t in tokenized if t.block <= 1]  # one per example
    counts, edges = histogram([t.length for t in whole])
    return DataSummary(
        records=len(examples),
        chat=sum(e.kind == "chat" for e in examples),
        text=sum(e.kind == "text" for e in examples),
        tokens=sum(len(t.input_ids) for t in tokenized),
        trained_tokens=sum(label != IGNORE for t in tokenized for label in t.labels),
        truncated=sum(t.truncated for t in tokenized),
        split_texts=sum(t.block == 1 for t in tokenized), blocks=sum(t.block > 0 for t in tokenized),
        untrainable=sum(not t.trainable for t in tokenized),
        answers_cut=sum(t.answer_cut for t in tokenized),
        examples_at={"nothing to train on": tuple(t.origin for t in tokenized if not t.trainable)[:SHOWN_AT],
                     "answers cut": tuple(t.origin for t in tokenized if t.answer_cut)[:SHOWN_AT]},
        labelled_all=sum(t.labelled_all for t in tokenized),
        max_length=max_length,
        histogram=counts,
        edges=edges,
    )


def render_summary(summary: DataSummary, console, bar_width: int = 30) -> None:
    """Print `summary` on a rich Console: a table of counts, then a length histogram."""
    from rich.table import Table

    table = Table(title="Training data", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for path, role, format in summary.files:
        shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
        console.print(f"[bold]{role}[/bold] {shown}: read as [cyan]{format}[/cyan]", highlight=False)
    rows = [("records", summary.records), ("bad records skipped", summary.skipped),
            ("duplicates removed", summary.duplicates), ("chat / text", f"{summary.chat} / {summary.text}"),
            ("tokens", f"{summary.tokens:,}"), ("trained tokens", f"{summary.trained_tokens:,}"),
            (f"truncated (> {summary.max_length} tokens)", summary.truncated),
            ("long texts → blocks (not cut)", f"{summary.split_texts} → {summary.blocks}"),
            ("answers cut (not learned)", summary.answers_cut),
            ("nothing to train on (left out)", summary.untrainable)]
    rows += [(f"cleaned: {step}", count) for step, count in summary.cleaned.items()]
    if summary.labelled_all:
        rows.append(("all tokens labelled (template)", summary.labelled_all))
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    for kind, where in summary.examples_at.items():
        if where:
            console.print(f"{kind}: {', '.join(where)}" + (" ..." if len(where) == SHOWN_AT else ""), highlight=False)
    console.print("[bold]Length in tokens[/bold] (before truncation)")
    most = max(summary.histogram) or 1
    for count, low, high in zip(summary.histogram, summary.edges, summary.edges[1:]):
        bar = "█" * round(bar_width * count / most)
        over = " [red](truncated)[/red]" if low > summary.max_length else ""
        console.print(f"{low:>7} – {high - 1:<7} {bar} {count}{over}")
