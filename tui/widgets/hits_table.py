"""Search results in a table: fused rank and score beside each retriever's own rank, the source as
a path below the results' common folder (cut from the left, where paths share their start), and
the text in what width is left: at 80 columns every row's file can be told apart and read."""

from __future__ import annotations

import os

from textual.widgets import DataTable

from assistant.render import snippet

SOURCE_WIDTH = 26
"""Most columns a source path takes; a longer one keeps its end (the file name): '…/posts/x.md'."""
TEXT_MIN = 16


def rank_cell(hit, retriever: str) -> str:
    """'#3' for a retriever that found the chunk at rank 3, '–' for one that did not."""
    return f"#{hit.ranks[retriever]}" if retriever in hit.ranks else "–"


def sources_below_root(sources: list[str]) -> list[str]:
    """Each source relative to the folder all of them share; unchanged when they share none.

    >>> sources_below_root(["/d/docs/blog/a.md", "/d/docs/guide/b.md"])
    ['blog/a.md', 'guide/b.md']
    """
    try:
        root = os.path.commonpath([os.path.dirname(s) for s in sources]) if sources else ""
    except ValueError:  # relative and absolute paths mixed
        root = ""
    return [os.path.relpath(s, root) if root and os.path.isabs(s) else s for s in sources]


def cut_left(text: str, width: int) -> str:
    """'…' and the last width-1 characters of a text longer than `width`.

    >>> cut_left("blog/posts/2024/release-notes.md", 20)
    '…24/release-notes.md'
    """
    return text if len(text) <= width else "…" + text[-(width - 1):]


class HitsTable(DataTable):
    """Rows are hits in fused order; `hits[row]` is the Hit behind a row."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.hits: list = []

    def on_mount(self) -> None:
        self.add_columns("#", "fused", "BM25", "dense", "source", "text")

    def show(self, hits: list) -> None:
        self.clear(columns=True)
        self.hits = list(hits)
        places = [cut_left(path + (f" [{hit.chunk.locator}]" if hit.chunk.locator else ""), SOURCE_WIDTH)
                  for hit, path in zip(self.hits, sources_below_root([h.chunk.source for h in self.hits]))]
        source_width = max([len("source"), *map(len, places)])
        # the other columns: "#", "fused" (0.0328), "BM25" and "dense" (#12), two spaces of padding each
        fixed = 2 + 6 + 4 + 5 + 2 * 6 + 2  # + the scroll bar
        text_width = max(TEXT_MIN, (self.size.width or self.app.size.width) - fixed - source_width)
        for label, width in (("#", None), ("fused", None), ("BM25", None), ("dense", None),
                             ("source", source_width), ("text", text_width)):
            self.add_column(label, width=width)
        for position, (hit, place) in enumerate(zip(self.hits, places), start=1):
            self.add_row(str(position), f"{hit.score:.4f}", rank_cell(hit, "bm25"), rank_cell(hit, "dense"),
                         place, snippet(hit.chunk.text, text_width))
