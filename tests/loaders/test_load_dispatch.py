"""Choosing a loader, skipping what cannot be indexed, and walking folders."""

from pathlib import Path

import pytest

from index.loaders import UnsupportedFile, discover, load_file, loader_for
from index.types import LoadError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "docs_mixed"


def test_loader_for_is_case_insensitive():
    assert loader_for(Path("A.MD")) is loader_for(Path("b.md")) is not None
    assert loader_for(Path("x.PDF")) is not None
    assert loader_for(Path("photo.xyz")) is None


def test_unknown_suffix_is_skipped_with_reason(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text("hello")
    with pytest.raises(UnsupportedFile, match=r"\.xyz"):
        load_file(path, "data.xyz")


def test_image_is_skipped():
    with pytest.raises(UnsupportedFile, match=r"\.png"):
        load_file(FIXTURES / "logo.png", "logo.png")


def test_binary_content_under_a_text_suffix_is_skipped(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_bytes(b"header\x00\x01\x02")
    with pytest.raises(UnsupportedFile, match="binary file"):
        load_file(path, "dump.txt")


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")


def test_discover_sorts_and_skips_hidden_and_tool_folders(tmp_path):
    touch(
        tmp_path,
        "b.md", "a.txt", ".hidden.md", "sub/c.rst",
        ".git/config", ".venv/lib.py", "node_modules/pkg/index.js", "__pycache__/m.pyc",
        "venv/x.py", "lib/site-packages/y.py", "sub/.cache/z.txt",
    )
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["a.txt", "b.md", "sub/c.rst"]


def test_discover_yields_files_given_directly_even_hidden(tmp_path):
    touch(tmp_path, ".notes.txt", "dir/a.md")
    found = list(discover([tmp_path / ".notes.txt", tmp_path / "dir"]))
    assert found == [tmp_path / ".notes.txt", tmp_path / "dir" / "a.md"]


def test_fixture_folder_loads_or_reports_every_file():
    """The mixed folder the end-to-end tests index: every file loads, is skipped, or fails clearly."""
    outcome = {}
    for path in discover([FIXTURES]):
        try:
            outcome[path.name] = len(load_file(path, path.name))
        except UnsupportedFile:
            outcome[path.name] = "skipped"
        except LoadError:
            outcome[path.name] = "failed"
    assert outcome == {
        "broken.txt": "failed",
        "faq.html": 1,
        "firmware.rst": 1,
        "guide.md": 1,
        "logo.png": "skipped",
        "notes.txt": 1,
        "support.jsonl": 3,
        "zorblax_client.py": 1,
    }
    texts = " ".join(d.text for p in discover([FIXTURES]) if p.suffix in (".md", ".rst") for d in load_file(p, p.name))
    assert "The Zorblax 3000 default port is 7431." in texts
    assert "Zorblax firmware is signed with the key named amber-falcon." in texts
