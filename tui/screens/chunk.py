"""A modal that shows one chunk in full: where it comes from, its section, its text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ChunkScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, chunk, title: str = "") -> None:
        super().__init__()
        self.chunk = chunk
        self.heading = title or chunk.source

    def compose(self) -> ComposeResult:
        chunk = self.chunk
        where = chunk.source + (f" ({chunk.locator})" if chunk.locator else "")
        with Vertical(id="dialog", classes="chunk-dialog"):
            yield Label(self.heading, classes="dialog-title", markup=False)
            yield Label(where, classes="muted", markup=False)
            if chunk.title_path:
                yield Label("§ " + chunk.heading(), classes="muted", markup=False)
            with VerticalScroll(id="chunk-text"):
                yield Static(chunk.text, markup=False)
            yield Button("Close", id="close", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()
