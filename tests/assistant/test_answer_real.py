"""End to end with the real embedded models: SmolLM2-135M answers from a made-up product's docs."""

from pathlib import Path

import pytest

from assistant.answering import Assistant
from assistant.config import ChatConfig, Config
from index.build import build_collection
from index.store import Collection

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_mixed"


@pytest.fixture(scope="module")
def helper(tmp_path_factory, smollm2_dir) -> Assistant:
    project = tmp_path_factory.mktemp("real-answers")
    build_collection([FIXTURES], Collection(project, "zorblax"))
    return Assistant(Config(project_dir=project, chat=ChatConfig(collection="zorblax")))


@pytest.mark.parametrize("question, fact, source", [
    ("What is the default port of the Zorblax 3000?", "7431", "guide.md"),
    ("What is the name of the key that signs Zorblax firmware?", "amber-falcon", "firmware.rst"),
])
def test_rag_answers_with_the_fact_only_the_docs_hold_and_cites_its_file(helper, question, fact, source):
    rag = helper.answer(question, mode="rag")
    assert fact in rag.text
    assert rag.cited, f"no citation in {rag.text!r}"
    assert any(s.chunk.source.endswith(source) for s in rag.cited), [s.label() for s in rag.cited]

    base = helper.answer(question, mode="base")
    assert fact not in base.text
    assert base.cited == [] and base.sources == ()
    assert len(helper._models) == 1
