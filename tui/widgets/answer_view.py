"""One answer as it streams in: a title, the text (as Markdown: a passage's code block, steps or
table shown as such), its evidence or a warning, its numbered sources, a line of metadata."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Markdown, Static

from .sources_list import SourcesList


def answer_meta(answer) -> str:
    """The same metadata line the CLI prints under an answer."""
    from assistant.render import answer_line

    return answer_line(answer)


def answer_sources(answer) -> list[tuple[str, bool, object]]:
    return [(source.label(), source.cited, source.chunk) for source in answer.sources]


class AnswerView(Vertical):
    DEFAULT_CSS = """
    AnswerView { height: auto; padding: 0 1; margin: 0 0 1 0; }
    AnswerView .answer-title { text-style: bold; color: $accent; width: 1fr; }
    AnswerView .answer-text { height: auto; margin: 0; padding: 0; }
    AnswerView .answer-meta { color: $text-muted; width: 1fr; }
    AnswerView .answer-searched { color: $text-muted; text-style: italic; width: 1fr; }
    AnswerView .answer-notes { height: auto; }
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.heading = title
        self.text = ""
        self.searched: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.heading, classes="answer-title", markup=False)
        yield Label("", classes="answer-searched", markup=False)
        yield Markdown("…", classes="answer-text")
        yield Static("", classes="answer-notes", markup=False)
        yield SourcesList()
        yield Label("", classes="answer-meta", markup=False)

    def on_mount(self) -> None:
        self.query_one(SourcesList).display = False
        self.query_one(".answer-notes", Static).display = False
        self._label_searched()

    def show_searched(self, searched: str | None) -> None:
        """The question that was searched, above the answer, when it is not the one typed."""
        self.searched = searched
        if self.is_mounted:  # else on_mount shows it
            self._label_searched()

    def _label_searched(self) -> None:
        label = self.query_one(".answer-searched", Label)
        label.update(f"searched: {self.searched}" if self.searched else "")
        label.display = bool(self.searched)

    def append(self, text: str) -> None:
        self.text += text
        self.query_one(".answer-text", Markdown).update(self.text.lstrip())

    def finish(self, text: str, sources: list[tuple[str, bool, object]], meta: str,
               notes: list[tuple[str, str]] = ()):
        """Show the whole answer; `notes` are the (kind, text) lines of assistant.render.grounding_notes.
        Returns what to await for the Markdown to be laid out (to scroll to the end after it)."""
        from rich.text import Text

        from assistant.render import NOTE_STYLES

        self.text = text
        laid_out = self.query_one(".answer-text", Markdown).update(text.strip() or "(empty answer)")
        box = self.query_one(".answer-notes", Static)
        box.update(Text("\n").join(Text(line, style=NOTE_STYLES[kind]) for kind, line in notes))
        box.display = bool(notes)
        self.set_class(any(kind == "warning" for kind, _ in notes), "-unsupported")
        self.query_one(SourcesList).show(sources)
        self.query_one(".answer-meta", Label).update(meta)
        return laid_out

    def status(self, text: str) -> None:
        """Where this answer is while it is not finished: "waiting: 3rd of 4", "answering… 12 s"."""
        self.query_one(".answer-meta", Label).update(text)

    def fail(self, message: str) -> None:
        self.add_class("-failed")
        self.query_one(".answer-text", Markdown).update(self.text.strip() or "(no answer)")
        self.query_one(".answer-meta", Label).update(message)
