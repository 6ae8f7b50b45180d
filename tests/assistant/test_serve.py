"""`assistant serve` on a free loopback port, driven by the real `openai` client; and the engine for
OpenAI-compatible servers, tested against that same server. A tiny random model: mechanics only."""

from __future__ import annotations

import dataclasses
import signal
import time
from pathlib import Path

import pytest

from assistant.answering import Assistant
from assistant.config import ChatConfig, Config, GenerationConfig, ModelConfig
from assistant.serve import Route, ServeConfig, conversation
from core.errors import ConfigError
from index.build import build_collection
from index.store import Collection

from running_server import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "docs_mixed"
KEY = "test-key-123"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir):
    """A running `assistant serve` (API key set, no waiting room: queue 0) over a small collection."""
    project = tmp_path_factory.mktemp("serve-project")
    build_collection([FIXTURES], Collection(project, "docs"))
    build_collection([ROOT / "tests" / "fixtures" / "followups"], Collection(project, "manuals"))
    running = start_server(project, tiny_model_dir, "--queue", "0", "--max-tokens", "768", key=KEY)
    yield running
    stop_server(running)


def client(server, key: str | None = KEY):
    from openai import OpenAI

    return OpenAI(base_url=f"{server['base']}/v1", api_key=key or "wrong", max_retries=0, timeout=60)


def test_models_name_the_mode_collection_and_adapter(server):
    ids = [model.id for model in client(server).models.list().data]
    assert ids[:2] == ["base", "rag:docs"]


def test_a_follow_up_is_searched_with_the_conversation_the_client_sends(server):
    messages = [{"role": "user", "content": "How long is the warranty on the Toastline T4?"},
                {"role": "assistant", "content": "The Toastline T4 is covered for 18 months. [1]"},
                {"role": "user", "content": "How often should I clean it?"}]
    reply = client(server).chat.completions.create(model="rag:manuals", messages=messages, max_tokens=16)
    extra = reply.model_extra["assistant"]
    assert extra["searched"] == "How often should I clean the Toastline T4?"
    assert "2 weeks" in reply.choices[0].message.content
    assert extra["sources"][extra["cited"][0] - 1]["source"].endswith("toastline-t4.md")
    alone = client(server).chat.completions.create(model="rag:manuals", messages=messages[-1:], max_tokens=16)
    assert alone.model_extra["assistant"]["searched"] is None


def test_a_rag_answer_cites_its_sources_in_the_text_and_the_extra_field(server):
    reply = client(server).chat.completions.create(
        model="rag:docs", messages=[{"role": "user", "content": "What is the default port of the Zorblax 3000?"}],
        max_tokens=16)
    text = reply.choices[0].message.content
    extra = reply.model_extra["assistant"]
    assert extra["mode"] == "rag" and extra["collection"] == "docs" and extra["cited"]
    assert "Sources:" in text and "guide.md" in text and "7431" in text  # the tiny model's answer is a quote
    assert extra["supported"] is True and extra["evidence"][0]["sentence"]


def test_streaming_sends_the_text_then_the_sources_and_the_usage(server):
    stream = client(server).chat.completions.create(
        model="rag:docs", messages=[{"role": "user", "content": "What is the default port of the Zorblax 3000?"}],
        max_tokens=16, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "7431" in text and "Sources:" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None


def test_a_request_without_the_key_gets_401_and_bad_requests_get_400(server):
    from openai import AuthenticationError, BadRequestError

    with pytest.raises(AuthenticationError):
        client(server, key=None).models.list()
    with pytest.raises(BadRequestError, match="max_tokens: this server answers with at most 768 tokens"):
        client(server).chat.completions.create(model="base", messages=[{"role": "user", "content": "Hi"}],
                                               max_tokens=5000)
    with pytest.raises(BadRequestError, match="model 'telepathy'"):
        client(server).chat.completions.create(model="telepathy", messages=[{"role": "user", "content": "Hi"}])


def test_a_request_past_the_queue_gets_429(server):
    from openai import RateLimitError

    held = client(server).chat.completions.create(model="base", messages=[{"role": "user", "content": "Hi"}],
                                                  max_tokens=768, stream=True)
    next(iter(held))  # the first request is being answered: seconds of tokens, and its stream stays open
    with pytest.raises(RateLimitError):
        client(server).chat.completions.create(model="base", messages=[{"role": "user", "content": "Hello"}],
                                               max_tokens=8)
    held.close()
    deadline = time.time() + 30
    while True:  # once the stream is closed, the server takes requests again
        try:
            client(server).chat.completions.create(model="base", messages=[{"role": "user", "content": "Hi"}],
                                                   max_tokens=4)
            break
        except RateLimitError:
            assert time.time() < deadline
            time.sleep(0.2)


def test_the_openai_engine_answers_through_the_server_in_every_mode_it_serves(server, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("TEST_SERVE_KEY", KEY)
    config = Config(project_dir=server["project"],
                    model=ModelConfig(engine="openai", base_url=f"{server['base']}/v1", name="base",
                                      api_key_env="TEST_SERVE_KEY"),
                    generation=GenerationConfig(max_new_tokens=8), chat=ChatConfig(collection="docs"))
    helper = Assistant(config)
    streamed = []
    base = helper.answer("Hello there", mode="base", on_token=streamed.append)
    assert base.text and "".join(streamed).strip() == base.text and base.generation.new_tokens >= 1
    assert base.generation.prompt_tokens > 0  # counted by the server's /tokenize
    rag = helper.answer("What is the default port of the Zorblax 3000?", mode="rag")
    assert rag.collection == "docs" and rag.sources and rag.style == "generate"  # a server model writes
    assert rag.supported is not None  # its words are checked against the sources, as in-process

    # Pointing the CLI at `assistant serve` itself: the server retrieves, its reply names the sources.
    served = Assistant(dataclasses.replace(config, model=dataclasses.replace(config.model, name="rag:docs")))
    answer = served.answer("What is the default port of the Zorblax 3000?", mode="base")
    assert "7431" in answer.text and "Sources:" in answer.text


def test_the_server_stops_cleanly_on_sigterm(server):
    process = server["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_model_ids_and_conversations_parse_or_say_what_is_wrong():
    assert Route.parse("base") == Route("base")
    assert Route.parse("rag:handbook") == Route("rag", "handbook")
    assert Route.parse("rag") == Route("rag")  # the configured collection
    assert Route.parse("sft:faq") == Route("sft", None, "faq")
    assert Route.parse("rag+sft:handbook:faq") == Route("rag+sft", "handbook", "faq")
    for bad in ("sft", "rag+sft:handbook", "base:x", "magic"):
        with pytest.raises(ConfigError):
            Route.parse(bad)
    question, turns, system = conversation([{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"},
                                            {"role": "user", "content": "Port?"}])
    assert question == "Port?" and [(t.question, t.answer) for t in turns] == [("Hi", "Yo")] and system == "Be brief."
    with pytest.raises(ConfigError, match="last message"):
        conversation([{"role": "assistant", "content": "Hi"}])
    with pytest.raises(ConfigError, match="needs an API key"):
        ServeConfig(host="0.0.0.0")
    with pytest.raises(ConfigError, match="too short: use 16 characters or more"):
        ServeConfig(host="0.0.0.0", api_key="k")
    assert ServeConfig(host="0.0.0.0", api_key="k" * 16).host == "0.0.0.0"
