"""Listing collections and picking the one to open (no embedder: manifests written by hand)."""

import json
import os
from pathlib import Path

from index.store import CURRENT, FORMAT_VERSION, MANIFEST, list_collections, pick_collection


def fake_collection(root: Path, name: str, updated: str | None, published_ns: int = 0) -> None:
    """A collection folder as a build leaves it, reduced to CURRENT and a manifest."""
    version = root / "collections" / name / "v-1"
    version.mkdir(parents=True)
    manifest = {"format_version": FORMAT_VERSION, "name": name, "created": "2025-01-01T00:00:00+0000",
                "embedder": {"name": "all-MiniLM-L6-v2", "dim": 384}, "settings": {}, "index_settings": {},
                "counts": {"files": 0, "chunks": 0}, "files": {}}
    if updated is not None:
        manifest["updated"] = updated
    (version / MANIFEST).write_text(json.dumps(manifest))
    pointer = root / "collections" / name / CURRENT
    pointer.write_text("v-1\n")
    if published_ns:
        os.utime(pointer, ns=(published_ns, published_ns))


def test_the_configured_collection_is_kept_when_it_exists(tmp_path):
    fake_collection(tmp_path, "handbook", "2026-01-01T09:00:00+0000")
    fake_collection(tmp_path, "notes", "2026-03-01T09:00:00+0000")
    assert pick_collection(list_collections(tmp_path), "handbook") == "handbook"


def test_a_missing_collection_falls_back_to_the_one_updated_last(tmp_path):
    # "zulu" sorts last by name and was published first, so only "updated" can make it the choice.
    fake_collection(tmp_path, "zulu", "2026-03-01T09:00:00+0000", published_ns=1_000_000_000)
    fake_collection(tmp_path, "alpha", "2026-01-01T09:00:00+0000", published_ns=2_000_000_000)
    fake_collection(tmp_path, "mid", "2026-02-01T09:00:00+0100", published_ns=3_000_000_000)
    infos = list_collections(tmp_path)
    assert [info.name for info in infos] == ["alpha", "mid", "zulu"]
    assert pick_collection(infos, "default") == "zulu"
    assert pick_collection(infos) == "zulu"


def test_time_zones_count_and_same_second_builds_go_by_publish_time(tmp_path):
    fake_collection(tmp_path, "berlin", "2026-01-01T10:30:00+0100", published_ns=2_000_000_000)  # 09:30 UTC
    fake_collection(tmp_path, "london", "2026-01-01T10:00:00+0000", published_ns=1_000_000_000)  # 10:00 UTC
    assert pick_collection(list_collections(tmp_path)) == "london"
    fake_collection(tmp_path, "later", "2026-01-01T10:00:00+0000", published_ns=3_000_000_000)
    assert pick_collection(list_collections(tmp_path)) == "later"


def test_an_undated_manifest_loses_and_no_collections_give_none(tmp_path):
    assert pick_collection(list_collections(tmp_path), "default") is None
    fake_collection(tmp_path, "dated", "2020-01-01T00:00:00+0000")
    fake_collection(tmp_path, "undated", None)
    (tmp_path / "collections" / "undated" / "v-1" / MANIFEST).write_text(
        json.dumps({"format_version": FORMAT_VERSION, "name": "undated"}))
    assert pick_collection(list_collections(tmp_path)) == "dated"


def test_a_names_file_that_is_missing_or_not_one_is_read_as_none_and_a_written_one_round_trips(tmp_path):
    from index.store import read_names, write_names
    from index.types import Chunk

    path = tmp_path / "names.json"
    assert read_names(path, 2) is None
    for text in ("not json", "[]", '{"titles": 3, "acronyms": [], "unsettled_rows": []}', "[" * 100_000,
                 '{"titles": ["a"], "acronyms": [1], "unsettled_rows": []}',
                 '{"titles": [], "acronyms": [], "unsettled_rows": [-1]}',
                 '{"titles": [], "acronyms": [], "unsettled_rows": [2]}'):  # past the version's 2 chunks
        path.write_text(text)
        assert read_names(path, 2) is None, text[:40]
    chunks = [Chunk(id="c0", source="docs/pay.md", title_path=("Pay", "Who signs"), start=0, end=32,
                    text="Ask the Chief Financial Officer."),
              Chunk(id="c1", source="docs/pay.md", title_path=("Pay",), start=32, end=44, text="GPT-4™ pays.")]
    write_names(path, chunks)
    saved = read_names(path, 2)
    assert saved.titles == ("docs/pay.md Pay > Who signs", "docs/pay.md Pay")
    assert saved.acronyms == frozenset({"CF", "FO", "CFO"}) and saved.unsettled_rows.tolist() == [1]
