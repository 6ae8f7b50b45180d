"""Terminal tables fit 80 columns: optional columns give way, essential ones and names stay whole."""

import io
from pathlib import Path

from rich.console import Console

from assistant.render import print_collections, print_table
from index.store import CollectionInfo, CollectionManifest


def rendered(width: int, draw) -> list[str]:
    console = Console(width=width, file=io.StringIO(), record=True)
    draw(console)
    return console.export_text().splitlines()


def test_the_collections_table_fits_80_columns_and_keeps_whole_names():
    manifest = CollectionManifest(
        name="company-handbook-2026", created="2026-12-01T10:15:00+0000", updated="2026-12-03T10:15:00+0000",
        embedder="/a/long/path/to/all-MiniLM-L6-v2", dim=384, settings={}, versions={}, problems={},
        index_settings={"sparse": {"backend": "bm25s", "variant": "okapi"}, "dense": {"kind": "hnsw"}},
        files={f"/docs/{i}.md": {} for i in range(1234)}, chunks=56789)
    info = CollectionInfo("company-handbook-2026", Path("/p"), manifest, 123_456_789)
    narrow = rendered(80, lambda c: print_collections(c, [info], Path("/home/someone/projects/.assistant")))
    assert max(map(len, narrow)) <= 80
    assert any("company-handbook-2026" in line and "56789" in line for line in narrow)
    wide = rendered(140, lambda c: print_collections(c, [info], Path("/p")))
    assert any("bm25s/okapi + hnsw" in line for line in wide)  # room for every column
    assert not any("bm25s/okapi" in line for line in narrow)


def test_essential_columns_stay_even_when_they_do_not_fit():
    rows = [["qlora-20261203-101500", "interrupted", "qlora", "smollm2-135m-instruct", "120", "1.2345", "2026-12-03 10:15"]]
    columns = [("name", True), ("status", True), ("method", True), ("base", True), ("steps", True),
               ("eval loss", False), ("created", False)]
    lines = rendered(80, lambda c: print_table(c, "Runs", columns, rows))
    text = "\n".join(lines)
    assert "interrupted" in text and "created" not in text and "eval loss" not in text
    assert max(map(len, lines)) <= 80
