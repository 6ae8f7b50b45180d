"""Walking folders: only regular files are read; links, FIFOs, devices, loops and huge files are
skipped with a reason before anything opens them; one bad file never stops a build."""

import os
from pathlib import Path

import pytest

from index.build import build_collection, display_path
from index.loaders import load_file
from index.retriever import open_collection
from index.store import Collection, StoreError, name_problem
from index.walk import Found, Skipped, walk


@pytest.fixture
def collection(tmp_path):
    return Collection(tmp_path / "project", "docs")


def entries(root: Path, **options) -> dict[str, str]:
    """{path under root: "found" or the reason it was skipped}"""
    out = {}
    for entry in walk([root], **options):
        name = os.fsdecode(entry.path.relative_to(root))
        out[name] = "found" if isinstance(entry, Found) else entry.reason
    return out


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# A\n\nalpha")
    (root / "sub" / "b.txt").write_text("beta")
    outside = tmp_path / "outside.txt"
    outside.write_text("outside")
    os.symlink("a.md", root / "link-in.md")
    os.symlink(outside, root / "link-out.txt")
    os.symlink("loop", root / "loop")
    os.symlink("missing.md", root / "dangling.md")
    os.symlink("/dev/zero", root / "zero.txt")
    os.symlink(root / "sub", root / "sub-link")
    os.mkfifo(root / "pipe.txt")
    return root


def test_each_kind_of_entry_is_found_or_skipped_with_its_reason(tree):
    found = entries(tree)
    assert found["a.md"] == found["sub/b.txt"] == found["link-in.md"] == "found"
    assert found["loop"] == "symbolic link loop"
    assert found["dangling.md"].startswith("dangling symbolic link")
    assert found["zero.txt"] == "symbolic link to a device (not followed)"
    assert found["sub-link"] == "symbolic link to a folder (not followed)"
    assert found["pipe.txt"] == "not a regular file (a FIFO)"
    assert "out of the indexed folders" in found["link-out.txt"] and 'symlinks = "anywhere"' in found["link-out.txt"]
    assert entries(tree, symlinks="anywhere")["link-out.txt"] == "found"
    never = entries(tree, symlinks="skip")
    assert never["link-in.md"].startswith("symbolic link (not followed") and never["a.md"] == "found"


def test_sizes_are_checked_before_anything_is_read(tree):
    (tree / "huge.txt").write_bytes(b"x" * 2000)
    assert entries(tree, max_bytes=1000)["huge.txt"] == "larger than 0.001 MB"
    assert entries(tree, max_bytes=1000)["a.md"] == "found"


def test_a_named_fifo_or_device_link_is_skipped_not_opened(tree):
    named = list(walk([tree / "pipe.txt", tree / "zero.txt", tree / "a.md"]))
    assert [type(e) for e in named] == [Skipped, Skipped, Found]


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_indexed(tmp_path, collection):
    root = tmp_path / "odd"
    root.mkdir()
    with open(os.path.join(os.fsencode(root), b"caf\xe9.md"), "w") as handle:
        handle.write("# Menu\n\nThe espresso costs two florins.\n")
    [entry] = walk([root])
    assert display_path(entry.path).endswith("caf\\xe9.md")
    report = build_collection([root], collection)
    assert report.chunks == 1 and not report.failed
    [hit] = open_collection(collection.path.parents[1], collection.name).search("espresso florins", k=1)
    assert hit.chunk.source.endswith("caf\\xe9.md")
    assert not build_collection([root], collection).written  # the key round-trips: nothing changed


HOSTILE = {
    "deep.html": "<html><body>" + "<div>" * 20000 + "deep" + "</div>" * 20000 + "</body></html>",
    "deep.json": "[" * 50000 + "]" * 50000,
    "big.jsonl": '{"text": "a record with a huge number", "n": ' + "9" * 5000 + "}\n",
    "long-line.txt": "word " * 5000,  # one 25 KB line
}


def test_a_folder_of_hostile_files_indexes_the_good_ones_and_lists_the_rest(tree, collection):
    for name, text in HOSTILE.items():
        (tree / name).write_text(text)
    (tree / "utf16.txt").write_bytes("\ufeffkettle descaling in UTF-16".encode("utf-16-le"))
    (tree / "latin1.txt").write_bytes(b"caf\xe9 au lait")
    (tree / "binary.md").write_bytes(b"\x00\x01\x02\x03")
    report = build_collection([tree], collection)
    problems = dict(report.skipped + report.failed)
    names = {Path(source).name: reason for source, reason in problems.items()}
    assert names["deep.json"].endswith("JSON nested too deeply to read")
    assert "not valid UTF-8 at line 1" in names["latin1.txt"]
    assert names["binary.md"].startswith("binary file")
    assert {"loop", "dangling.md", "zero.txt", "pipe.txt", "sub-link", "link-out.txt"} <= set(names)
    assert all("\n" not in reason and "Traceback" not in reason for reason in problems.values())
    indexed = {Path(c.source).name for c in open_collection(collection.path.parents[1], collection.name).chunks}
    assert {"a.md", "b.txt", "deep.html", "big.jsonl", "long-line.txt", "utf16.txt"} <= indexed
    assert names["link-in.md"].startswith("the same file as") and "link-in.md" not in indexed  # indexed once
    hit = open_collection(collection.path.parents[1], collection.name).search("kettle descaling", k=1)[0]
    assert hit.chunk.source.endswith("utf16.txt")


def test_a_loader_crash_is_reported_for_that_file_and_the_build_goes_on(tree, collection, monkeypatch):
    from index import loaders

    def explode(path, source, options):
        raise ValueError("boom")

    monkeypatch.setitem(loaders.LOADERS, ".md", explode)
    report = build_collection([tree], collection)
    assert ("a.md", "ValueError: boom") in [(Path(source).name, reason) for source, reason in report.failed]
    assert report.written and report.chunks == 1  # sub/b.txt


@pytest.mark.parametrize("bad", [" ", "a b", "a\nb", "~root", "-rf", "x" * 65, "", ".hidden", "a/b", "..", "é"])
def test_collection_names_follow_the_rule_the_message_states(tmp_path, bad):
    assert name_problem(bad)
    with pytest.raises(StoreError, match="letters .a-z, A-Z., digits, - and _"):
        Collection(tmp_path, bad)


def test_good_names_pass():
    for good in ("handbook", "Handbook_2", "a", "x" * 64, "beir-squad-dev5", "9lives"):
        assert name_problem(good) is None


def test_utf16_with_a_bom_loads_as_text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("\ufeffline one\r\nline two".encode("utf-16-be"))
    [doc] = load_file(path, "notes.txt")
    assert doc.text == "line one\nline two"
