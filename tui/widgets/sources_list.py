"""The numbered sources of an answer; choosing one opens its chunk in full."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class SourcesList(OptionList):
    """Options are (label, chunk or None); cited sources are marked and listed as given."""

    DEFAULT_CSS = """
    SourcesList { height: auto; max-height: 6; border: none; padding: 0; background: transparent; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chunks: list = []

    def show(self, sources: list[tuple[str, bool, object]]) -> None:
        """sources: (label, cited, chunk or None) in the numbered order the model saw them."""
        self.clear_options()
        self.chunks = [chunk for _, _, chunk in sources]
        for label, cited, _ in sources:
            line = Text.assemble(("cited " if cited else "given ", "green" if cited else "dim"), label)
            self.add_option(Option(line))
        self.display = bool(sources)
        if sources:
            self.highlighted = 0  # enter opens [1] straight away

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chunk = self.chunks[event.option_index] if event.option_index < len(self.chunks) else None
        if chunk is not None:
            from ..screens.chunk import ChunkScreen

            label = str(self.get_option_at_index(event.option_index).prompt)
            self.app.push_screen(ChunkScreen(chunk, title=label.split(" ", 1)[-1]))
