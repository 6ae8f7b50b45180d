"""The four answer modes over a tiny random model and a real (MiniLM) collection: mechanics only."""

from pathlib import Path

import pytest

from assistant.answering import Assistant
from assistant.answering import Chat
from assistant.config import ChatConfig, Config, GenerationConfig, GroundingConfig, ModelConfig
from lm.models import ModelError
from lm.prompts import ContextError, Turn
from index.build import build_collection
from index.store import Collection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_mixed"


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, make_lora) -> Path:
    root = tmp_path_factory.mktemp("answer-project")
    build_collection([FIXTURES], Collection(root, "zorblax"))
    make_lora(tiny_model_dir, root / "runs" / "tuned" / "adapter")
    return root


def make_config(project: Path, tiny_model_dir: Path, **chat) -> Config:
    return Config(project_dir=project, model=ModelConfig(name=str(tiny_model_dir)),
                  generation=GenerationConfig(max_new_tokens=8, repetition_penalty=1.0),
                  chat=ChatConfig(collection="zorblax", **chat))


def test_rag_answer_carries_numbered_sources_and_its_metadata(project, tiny_model_dir):
    helper = Assistant(make_config(project, tiny_model_dir))
    streamed = []
    answer = helper.answer("What is the Zorblax default port?", mode="rag", on_token=streamed.append)
    assert answer.mode == "rag" and answer.collection == "zorblax" and answer.adapter is None
    # Grounded (the default): at most 3 sources, numbered; a small model's answer is the passage of the
    # first that answers, cited; it writes no token (bench/answer_quality.py).
    assert [s.number for s in answer.sources] == list(range(1, len(answer.sources) + 1)) and len(answer.sources) <= 3
    assert answer.sources[0].chunk.source.endswith("guide.md") and "7431" in answer.passage.text
    assert "".join(streamed).strip() == answer.text
    data = answer.to_json()
    assert data["mode"] == "rag" and data["collection"] == "zorblax" and len(data["sources"]) == len(answer.sources)
    assert data["style"] == "extract" and data["new_tokens"] == 0 and data["supported"] is True
    assert data["passage"]["source"].endswith("guide.md") and data["passage"]["text"] in answer.text
    assert answer.cited and answer.text.endswith(f"[{answer.cited[0].number}]")
    assert answer.evidence[0].sentence.text in answer.text

    helper.config.grounding.answer = "sentence"  # the best sentence alone, under its heading
    sentence = helper.answer("What is the Zorblax default port?", mode="rag")
    assert sentence.style == "sentence" and "7431" in sentence.text and sentence.passage is None
    assert any(s.chunk.source.endswith("guide.md") and "7431" in s.excerpt for s in sentence.sources)

    helper.config.grounding.answer = "generate"  # the model writes: the prompt goes in, new tokens come out
    written = helper.answer("What is the Zorblax default port?", mode="rag").to_json()
    assert written["style"] == "generate" and written["prompt_tokens"] > 0 and 1 <= written["new_tokens"] <= 8


def test_a_question_the_embedder_cannot_read_is_held_to_min_term_relevance(tmp_path, tiny_model_dir):
    docs = tmp_path / "zh"
    docs.mkdir()
    (docs / "guide.md").write_text("# 安装指南\n\n## 配置\n\n配置文件位于用户目录下的 .zorblax 文件夹中！修改以后需要重启服务。\n\n"
                                   "## 端口\n\n服务默认监听端口 7431。\n", encoding="utf-8")
    build_collection([docs], Collection(tmp_path, "zh"))
    config = make_config(tmp_path, tiny_model_dir)
    config.chat.collection = "zh"
    config.grounding.min_relevance = 0.99  # the English threshold does not apply: MiniLM cannot read Chinese
    helper = Assistant(config)
    answer = helper.answer("配置文件放在哪个目录？", mode="rag")
    assert not answer.abstained and "用户目录" in answer.text and answer.cited
    config.grounding.min_term_relevance = min(1.0, answer.relevance + 0.01)
    assert helper.answer("配置文件放在哪个目录？", mode="rag").abstained
    assert helper.answer("What port does the service listen on?", mode="rag").abstained  # held to 0.99


def test_base_answer_has_no_sources_and_no_collection(project, tiny_model_dir):
    answer = Assistant(make_config(project, tiny_model_dir)).answer("Hello?", mode="base")
    assert answer.sources == () and answer.cited == [] and answer.collection is None


def test_sft_modes_need_an_adapter_and_name_it(project, tiny_model_dir):
    helper = Assistant(make_config(project, tiny_model_dir))
    with pytest.raises(ModelError, match="needs a fine-tuned adapter: pass --adapter"):
        helper.answer("Hi", mode="sft")
    sft = helper.answer("Hi", mode="sft", adapter="tuned")
    assert sft.adapter == str(project / "runs" / "tuned" / "adapter") and sft.collection is None
    both = helper.answer("Which port?", mode="rag+sft", adapter="tuned")
    assert both.adapter == sft.adapter and both.collection == "zorblax" and both.sources


def test_switching_modes_reuses_one_model_and_base_ignores_the_adapter(project, tiny_model_dir):
    helper = Assistant(make_config(project, tiny_model_dir, adapter="tuned"))
    tuned = helper.answer("Tell me about widgets.", mode="sft")
    base_after = helper.answer("Tell me about widgets.", mode="base")
    assert len(helper._models) == 1  # the adapter is switched off, not a second copy loaded
    fresh_base = Assistant(make_config(project, tiny_model_dir)).answer("Tell me about widgets.", mode="base")
    assert base_after.text == fresh_base.text
    assert tuned.text != base_after.text


def test_small_context_drops_sources_but_never_cuts_the_prompt(project, tiny_model_dir):
    config = make_config(project, tiny_model_dir, sources=5)
    config.grounding = GroundingConfig(sentences=0, style="long", answer="generate")  # whole chunks overflow 400 tokens
    config.generation = GenerationConfig(max_new_tokens=8, context_tokens=400)
    answer = Assistant(config).answer("What key signs the firmware?", mode="rag")
    assert answer.sources_dropped > 0 and len(answer.sources) == 5 - answer.sources_dropped
    assert answer.generation.prompt_tokens <= 400 - 8

    config.generation = GenerationConfig(max_new_tokens=8, context_tokens=20)
    with pytest.raises(ContextError):
        Assistant(config).answer("What key signs the firmware? " * 5, mode="rag")


def test_chat_keeps_history_drops_old_turns_to_fit_and_resets(project, tiny_model_dir):
    config = make_config(project, tiny_model_dir)
    config.generation = GenerationConfig(max_new_tokens=8, context_tokens=200)
    session = Chat(Assistant(config), mode="base")
    first = session.ask("Is the widget bus terminated?")
    assert session.history == [Turn(first.question, first.text)] and session.last is first
    session.history += [Turn(f"Earlier question {i} about the widget bus?", "An earlier answer. " * 8)
                        for i in range(6)]
    last = session.ask("And now?")
    assert last.turns_dropped > 0  # 7 earlier turns overflow the 192 tokens left for the prompt
    assert last.generation.prompt_tokens <= 200 - 8
    assert len(session.history) == 8
    session.set_mode("rag")
    assert session.ask("Which port?").collection == "zorblax"
    with pytest.raises(ModelError, match="choose one of"):
        session.set_mode("magic")
    session.reset()
    assert session.history == [] and session.last is None


def test_missing_collection_is_a_clear_error(project, tiny_model_dir):
    from index.store import StoreError

    with pytest.raises(StoreError, match="nope"):
        Assistant(make_config(project, tiny_model_dir)).answer("Hi", mode="rag", collection="nope")
