"""A modal folder (or file) picker: browse with the tree, then choose."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Label


class PickFolderScreen(ModalScreen[Path | None]):
    """Dismisses with the folder or file last selected in the tree, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+o", "choose", "Choose")]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start
        self.chosen: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="picker-dialog"):
            yield Label("Pick a folder or file to index", classes="dialog-title")
            yield DirectoryTree(self.start, id="tree")
            yield Label(str(self.start), id="chosen", classes="muted", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Choose", id="choose", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _select(self, path: Path) -> None:
        self.chosen = path
        self.query_one("#chosen", Label).update(str(path))

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        self._select(event.path)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self._select(event.path)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose() if event.button.id == "choose" else self.action_cancel()

    def action_choose(self) -> None:
        self.dismiss(self.chosen or self.start)

    def action_cancel(self) -> None:
        self.dismiss(None)
