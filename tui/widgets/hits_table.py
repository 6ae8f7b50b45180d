"""Search results in a table: fused rank and score beside each retriever's own rank."""

from __future__ import annotations

from textual.widgets import DataTable

from assistant.render import snippet


def rank_cell(hit, retriever: str) -> str:
    """'#3 (12.40)' for a retriever that found the chunk, '–' for one that did not."""
    if retriever not in hit.ranks:
        return "–"
    return f"#{hit.ranks[retriever]} ({hit.scores[retriever]:.2f})"


class HitsTable(DataTable):
    """Rows are hits in fused order; `hits[row]` is the Hit behind a row."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.hits: list = []

    def on_mount(self) -> None:
        self.add_columns("#", "fused", "BM25", "dense", "source", "text")

    def show(self, hits: list) -> None:
        self.clear()
        self.hits = list(hits)
        for position, hit in enumerate(self.hits, start=1):
            where = hit.chunk.source + (f" [{hit.chunk.locator}]" if hit.chunk.locator else "")
            self.add_row(str(position), f"{hit.score:.4f}", rank_cell(hit, "bm25"), rank_cell(hit, "dense"),
                         where, snippet(hit.chunk.text, 60))
