"""Building, updating and reopening collections with the real MiniLM embedder."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from index import store
from index.build import BuildReporter, build_collection
from index.config import IndexConfig
from core.errors import InputError
from index.retriever import Retriever
from index.store import Collection, StoreError

DOCS = {
    "install.md": "# Install\n\nRun the installer. The Zorblax daemon listens on port 7431.\n\n"
                  "## Linux\n\nUse the tarball and systemd unit.\n",
    "security.md": "# Security\n\nFirmware is signed with the key named amber-falcon.\n",
    "notes/faq.txt": "Frequently asked questions.\nThe blue light means the controller is pairing.\n",
}


def write_docs(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def docs(tmp_path):
    return write_docs(tmp_path / "docs", DOCS)


@pytest.fixture
def collection(tmp_path):
    return Collection(tmp_path / "project", "docs")


def sources(retriever, query, mode="hybrid", k=3):
    return [h.chunk.source for h in retriever.search(query, mode=mode, k=k)]


def test_build_then_search_each_mode(docs, collection):
    report = build_collection([docs], collection)
    assert report.written and report.files == 3 and report.chunks >= 4
    retriever = Retriever.open(collection)
    for mode in ("bm25", "dense", "hybrid"):
        assert sources(retriever, "which port does the daemon listen on", mode)[0].endswith("install.md")
    hit = retriever.search("amber-falcon signing key", k=1)[0]
    assert hit.chunk.source.endswith("security.md")
    assert hit.chunk.title_path == ("Security",)
    assert set(hit.ranks) == {"bm25", "dense"}


def test_title_paths_follow_markdown_headings(docs, collection):
    build_collection([docs], collection)
    chunks = Retriever.open(collection).chunks
    assert ("Install", "Linux") in {c.title_path for c in chunks}


def test_second_run_with_nothing_changed_writes_nothing(docs, collection):
    build_collection([docs], collection)
    before = collection.version_dir()
    report = build_collection([docs], collection)
    assert not report.written and report.unchanged == 3 and report.chunks_embedded == 0
    assert collection.version_dir() == before


def test_changed_added_and_deleted_files_update_incrementally(docs, collection):
    first = build_collection([docs], collection)
    (docs / "security.md").write_text("# Security\n\nFirmware keys rotate every 90 days.\n")
    (docs / "new.md").write_text("# New\n\nThe Zorblax warranty lasts 5 years.\n")
    (docs / "notes" / "faq.txt").unlink()
    report = build_collection([docs], collection)
    assert report.new_or_changed == 2 and report.unchanged == 1 and report.removed == 1
    assert report.chunks_embedded < first.chunks_embedded + 2
    retriever = Retriever.open(collection)
    assert not any("faq.txt" in c.source for c in retriever.chunks)
    assert sources(retriever, "how long is the warranty", k=1)[0].endswith("new.md")
    assert "amber-falcon" not in " ".join(c.text for c in retriever.chunks)
    # Reused vectors still match their chunks: dense search finds the unchanged file.
    assert sources(retriever, "daemon port number", mode="dense", k=1)[0].endswith("install.md")


def test_unchanged_content_with_new_mtime_is_not_reembedded(docs, collection):
    build_collection([docs], collection)
    os.utime(docs / "install.md", (time.time() + 100, time.time() + 100))
    report = build_collection([docs], collection)
    assert report.chunks_embedded == 0 and report.unchanged == 3


def test_bad_files_are_reported_and_do_not_stop_the_run(docs, collection):
    (docs / "bad.txt").write_bytes(b"caf\xe9 au lait\n")
    (docs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (docs / "broken.jsonl").write_text('{"text": "fine"}\n{not json}\n')
    problems = []

    class Collect(BuildReporter):
        def problem(self, source, reason, failed):
            problems.append((source, reason, failed))

    report = build_collection([docs], collection, reporter=Collect())
    failed = {Path(s).name for s, _ in report.failed}
    assert failed == {"bad.txt", "broken.jsonl"}
    assert "image.png" in {Path(s).name for s, _ in report.skipped}
    assert any("line 2" in reason for _, reason, _ in problems)
    assert report.chunks >= 4


def test_stages_report_the_model_load_apart_from_embedding(docs, collection):
    events = []

    class Record(BuildReporter):
        def start(self, stage, total):
            events.append(("start", stage, total))

        def advance(self, stage, n=1):
            if not events or events[-1][:2] != ("advance", stage):
                events.append(("advance", stage))

    build_collection([docs], collection, reporter=Record())
    assert [e[:2] for e in events] == [("start", "files"), ("advance", "files"), ("start", "model"),
                                       ("advance", "model"), ("start", "embed"), ("advance", "embed")]
    assert events[2] == ("start", "model", 1)
    events.clear()
    build_collection([docs], collection, reporter=Record())  # nothing changed: no model is opened
    assert "model" not in {e[1] for e in events}


def test_a_file_that_turns_corrupt_keeps_its_old_chunks(docs, collection):
    build_collection([docs], collection)
    (docs / "security.md").write_bytes(b"# Security\n\xff\xfe broken")
    report = build_collection([docs], collection)
    assert [Path(s).name for s, _ in report.failed] == ["security.md"]
    assert "amber-falcon" in " ".join(c.text for c in Retriever.open(collection).chunks)


def test_other_embedder_is_refused_with_a_fix(docs, collection, tmp_path):
    build_collection([docs], collection)
    manifest_path = collection.version_dir() / store.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    with pytest.raises(StoreError, match="--rebuild"):
        Retriever.open(collection, embedder="sentence-transformers/other-model")
    with pytest.raises(StoreError, match="--rebuild"):
        build_collection([docs], collection, IndexConfig(embedder="sentence-transformers/other-model"))
    manifest["format_version"] = store.FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="newer"):
        Retriever.open(collection)


def test_failure_while_writing_leaves_the_previous_version_live(docs, collection, monkeypatch):
    build_collection([docs], collection)
    live = collection.version_dir()
    (docs / "install.md").write_text("# Install\n\nPort changed to 9000.\n")

    import index.dense

    def crash(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(index.dense.DenseIndex, "save", crash)
    with pytest.raises(OSError):
        build_collection([docs], collection)
    assert collection.version_dir() == live
    assert sources(Retriever.open(collection), "daemon port 7431", mode="bm25", k=1)[0].endswith("install.md")
    monkeypatch.undo()
    build_collection([docs], collection)  # the next build succeeds and cleans up the abandoned folder
    assert len(list(collection.path.glob("v-*"))) == 1


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from index.build import BuildReporter, build_collection
    from index.store import Collection

    class Slow(BuildReporter):
        def advance(self, stage, n=1):
            if stage == "embed":
                print("EMBEDDING", flush=True)
                time.sleep(30)

    build_collection([Path(sys.argv[1])], Collection(Path(sys.argv[2]), "docs"), reporter=Slow())
""")


def test_killed_build_leaves_the_previous_index_usable(docs, collection, tmp_path):
    build_collection([docs], collection)
    expected = sources(Retriever.open(collection), "signing key", k=3)
    write_docs(docs, {f"extra{i}.md": f"# Extra {i}\n\nMore text number {i}.\n" for i in range(5)})
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(docs), str(collection.path.parent.parent)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout.readline().strip() == "EMBEDDING"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert sources(Retriever.open(collection), "signing key", k=3) == expected
    report = build_collection([docs], collection)
    assert report.new_or_changed == 5


def test_index_of_two_folders_keeps_both_and_updates_each(tmp_path, collection):
    a = write_docs(tmp_path / "a", {"one.md": "# One\n\nApples are red.\n"})
    b = write_docs(tmp_path / "b", {"two.md": "# Two\n\nBananas are yellow.\n"})
    build_collection([a], collection)
    build_collection([b], collection)
    names = {Path(c.source).name for c in Retriever.open(collection).chunks}
    assert names == {"one.md", "two.md"}


def test_hnsw_and_rank_bm25_backends_work_end_to_end(docs, collection):
    build_collection([docs], collection, IndexConfig(dense_index="hnsw", sparse_backend="rank-bm25"))
    retriever = Retriever.open(collection)
    assert sources(retriever, "pairing blue light", k=1)[0].endswith("faq.txt")
    assert sources(retriever, "pairing blue light", mode="dense", k=1)[0].endswith("faq.txt")


def test_nothing_to_index_is_a_clear_error(tmp_path, collection):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(StoreError, match="no text found"):
        build_collection([empty], collection)
    with pytest.raises(InputError, match="no such file"):
        build_collection([tmp_path / "missing"], collection)


def test_a_file_that_stays_bad_does_not_force_a_rewrite(docs, collection):
    (docs / "bad.txt").write_bytes(b"caf\xe9\n")
    (docs / "blob.txt").write_bytes(b"\x00\x01binary")
    first = build_collection([docs], collection)
    assert first.written and len(first.failed) == 1 and len(first.skipped) == 1
    again = build_collection([docs], collection)
    assert not again.written
    assert [Path(s).name for s, _ in again.failed] == ["bad.txt"]  # still reported
    (docs / "bad.txt").write_text("now fine, the warranty is 5 years\n")
    fixed = build_collection([docs], collection)
    assert fixed.written and fixed.new_or_changed == 1 and not fixed.failed
