"""Task templates: label data turned into instruction examples. A classification row (`text`,
`label`), a sentence pair (`sentence1`, `sentence2`, `label`), a translation pair (`source`,
`target`) or a tagged sentence (`tokens`, `labels` in BIO) carries no instruction of its own; the
template writes one, the label (or translation, or the entities) is the answer. A template is
chosen by name (`--format classification`), never guessed: label data found in a file read
without one is refused with the command to use, rather than trained as plain text without its labels.

    >>> TEMPLATES["classification"].to_example({"text": "Great tool!", "label": "positive"}, "r.tsv:2").messages
    ({'role': 'user', 'content': 'Classify this text. Answer with its label only.\\n\\nGreat tool!'}, {'role': 'assistant', 'content': 'positive'})
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..types import Example
from ._common import chat_example, required_list, required_text


def _label(record: dict) -> str:
    value = record.get("label")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("missing field 'label'")
    return str(value).strip()


def _classification(record: dict, prompt: str) -> tuple[str, str]:
    return prompt.format(text=required_text(record, "text").strip()), _label(record)


def _pair(record: dict, prompt: str) -> tuple[str, str]:
    return prompt.format(sentence1=required_text(record, "sentence1").strip(),
                         sentence2=required_text(record, "sentence2").strip()), _label(record)


def _translation(record: dict, prompt: str) -> tuple[str, str]:
    return prompt.format(source=required_text(record, "source").strip()), required_text(record, "target").strip()


def entities(tokens: list[str], tags: list[str]) -> list[tuple[str, str]]:
    """BIO tags → (type, words) spans, in order.

    >>> entities(["张", "三", "在", "北京"], ["B-PER", "I-PER", "O", "B-LOC"])
    [('PER', '张三'), ('LOC', '北京')]
    >>> entities(["Ann", "met", "Bo", "Li"], ["B-PER", "O", "B-PER", "I-PER"])
    [('PER', 'Ann'), ('PER', 'Bo Li')]
    """
    spans: list[tuple[str, list[str]]] = []
    for token, tag in zip(tokens, tags):
        if tag.startswith("B-") or (tag.startswith("I-") and (not spans or spans[-1][0] != tag[2:] or spans[-1][1] is None)):
            spans.append((tag[2:], [token]))
        elif tag.startswith("I-"):
            spans[-1][1].append(token)
        else:
            spans.append(("O", None))
    return [(kind, _glue(words).join(words)) for kind, words in spans if kind != "O" and words]


def _glue(tokens: list[str]) -> str:
    """Chinese and Japanese tokens join without spaces, others with one."""
    return "" if any(re.search(r"[\u3040-\u30ff\u3400-\u9fff]", token) for token in tokens) else " "


def _ner(record: dict, prompt: str) -> tuple[str, str]:
    tokens, tags = required_list(record, "tokens"), required_list(record, "labels")
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} labels")
    if not all(isinstance(x, str) for x in [*tokens, *tags]):
        raise ValueError("tokens and labels must be lists of strings")
    found = entities(tokens, tags)
    return prompt.format(text=_glue(tokens).join(tokens)), "\n".join(f"{kind}: {words}" for kind, words in found) or "none"


@dataclass(frozen=True)
class Template:
    name: str
    fields: str
    needs: tuple[str, ...]
    build: Callable[[dict, str], tuple[str, str]]
    prompt: str
    """The instruction, with the record's fields in braces; `--task-prompt` replaces it."""

    def detect(self, record: dict) -> bool:
        return all(name in record for name in self.needs)

    def to_example(self, record: dict, origin: str, prompt: str | None = None) -> Example:
        try:
            question, answer = self.build(record, prompt or self.prompt)
        except (KeyError, IndexError) as err:
            fields = ", ".join(self.needs)
            raise ValueError(f"the task prompt names {err} but the {self.name} template fills only {{{fields}}}") from None
        return chat_example([("user", question), ("assistant", answer)], origin)


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("classification", "text, label", ("text", "label"), _classification,
             "Classify this text. Answer with its label only.\n\n{text}"),
    Template("pair", "sentence1, sentence2, label", ("sentence1", "sentence2", "label"), _pair,
             "Label this pair of sentences. Answer with the label only.\n\nSentence 1: {sentence1}\n"
             "Sentence 2: {sentence2}"),
    Template("translation", "source, target", ("source", "target"), _translation, "Translate this text.\n\n{source}"),
    Template("ner", "tokens, labels (BIO tags)", ("tokens", "labels"), _ner,
             "List the named entities in this text, one per line as TYPE: words.\n\n{text}"),
)}
"""Checked in this order when label data is looked for: a pair has a label too."""


def task_of(record: dict) -> Template | None:
    """The template whose fields `record` has, the most specific first."""
    for name in ("pair", "ner", "translation", "classification"):
        if TEMPLATES[name].detect(record):
            return TEMPLATES[name]
    return None


__all__ = ["TEMPLATES", "Template", "entities", "task_of"]
