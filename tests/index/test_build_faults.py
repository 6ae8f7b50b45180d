"""A build SIGKILLed at every named point of writing and publishing (core.faults) leaves a whole
collection, the old one or the new one, and the next build finishes the job."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.build import build_collection
from core.faults import ENV, INDEX_POINTS
from index.retriever import open_collection
from index.store import Collection

ROOT = Path(__file__).resolve().parents[2]
BUILD = "import sys; from pathlib import Path; from index.build import build_collection; " \
        "from index.store import Collection; build_collection([Path(sys.argv[1])], Collection(Path(sys.argv[2]), 'docs'))"


def build_in_child(docs: Path, project: Path, fault: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != ENV} | {"PYTHONPATH": str(ROOT)}
    if fault:
        env[ENV] = fault
    return subprocess.run([sys.executable, "-c", BUILD, str(docs), str(project)], env=env, cwd=ROOT,
                          capture_output=True, timeout=300).returncode


def whole(project: Path) -> set[str]:
    """The sources of a collection that opens and agrees with itself (chunks = vectors = rows)."""
    retriever = open_collection(project, "docs")
    assert len(retriever.chunks) == len(retriever.dense) > 0
    assert retriever.search("port", k=1)
    return {Path(c.source).name for c in retriever.chunks}


@pytest.mark.parametrize("point", INDEX_POINTS)
def test_a_build_killed_at_each_point_leaves_a_whole_collection(point, tmp_path):
    docs, project = tmp_path / "docs", tmp_path / "project"
    docs.mkdir()
    (docs / "old.md").write_text("# Old\n\nThe old daemon listens on port 7431.\n")
    build_collection([docs], Collection(project, "docs"))
    before = whole(project)
    (docs / "new.md").write_text("# New\n\nThe new daemon listens on port 8123.\n")

    assert build_in_child(docs, project, point) == -9  # killed there, nothing cleaned up
    after_kill = whole(project)
    published = point in ("publish:current-swapped", "publish:cleaning")
    assert after_kill == (before | {"new.md"} if published else before)

    assert build_in_child(docs, project, None) == 0
    assert whole(project) == {"old.md", "new.md"}
    versions = [p for p in (project / "collections" / "docs").glob("v-*")]
    assert len(versions) == 1  # the abandoned half-written version is gone
