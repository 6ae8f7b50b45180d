"""One answer as it streams in: a title, the text, its numbered sources, a line of metadata."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from .sources_list import SourcesList


def answer_meta(answer) -> str:
    """'rag · collection docs · 412 prompt + 38 new tokens · 1.52 s (first token 0.21 s) · 30.1 tokens/s'"""
    m = answer.metadata()
    parts = [m["mode"], f"model {Path(m['model']).name}"]
    if m["adapter"]:
        parts.append(f"adapter {Path(m['adapter']).parent.name}")
    if m["collection"]:
        parts.append(f"collection {m['collection']}")
    parts.append(f"{m['prompt_tokens']} prompt + {m['new_tokens']} new tokens")
    parts.append(f"{m['retrieval_seconds'] + m['seconds']:.2f} s (first token {m['first_token_seconds']:.2f} s)")
    parts.append(f"{m['tokens_per_second']:.1f} tokens/s")
    if m["turns_dropped"] or m["sources_dropped"]:
        parts.append(f"dropped to fit: {m['turns_dropped']} turns, {m['sources_dropped']} sources")
    if m["stopped"]:
        parts.append("stopped")
    return " · ".join(parts)


def answer_sources(answer) -> list[tuple[str, bool, object]]:
    return [(source.label(), source.cited, source.chunk) for source in answer.sources]


class AnswerView(Vertical):
    DEFAULT_CSS = """
    AnswerView { height: auto; padding: 0 1; margin: 0 0 1 0; }
    AnswerView .answer-title { text-style: bold; color: $accent; width: 1fr; }
    AnswerView .answer-text { height: auto; }
    AnswerView .answer-meta { color: $text-muted; width: 1fr; }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.heading = title
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Label(self.heading, classes="answer-title", markup=False)
        yield Static("…", classes="answer-text", markup=False)
        yield SourcesList()
        yield Label("", classes="answer-meta", markup=False)

    def on_mount(self) -> None:
        self.query_one(SourcesList).display = False

    def append(self, text: str) -> None:
        self.text += text
        self.query_one(".answer-text", Static).update(self.text.lstrip())

    def finish(self, text: str, sources: list[tuple[str, bool, object]], meta: str) -> None:
        self.text = text
        self.query_one(".answer-text", Static).update(text.strip() or "(empty answer)")
        self.query_one(SourcesList).show(sources)
        self.query_one(".answer-meta", Label).update(meta)

    def fail(self, message: str) -> None:
        self.add_class("-failed")
        self.query_one(".answer-text", Static).update(self.text.strip() or "(no answer)")
        self.query_one(".answer-meta", Label).update(message)
