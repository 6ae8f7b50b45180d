"""Tokenizing for training: loss on assistant turns and their end-of-turn token only, with SmolLM2's template."""

from itertools import groupby

import pytest
from rich.console import Console

from lm.prompts import BASE_SYSTEM, build_messages
from finetune.tokenize import (IGNORE, Tokenized, assistant_spans, histogram, render_summary, summarize,
                               tokenize_all, tokenize_example)
from finetune.types import DataError, Example


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def chat(*turns, system=None):
    roles = ["user", "assistant"] * len(turns)
    messages = [{"role": role, "content": text} for role, text in zip(roles, turns)]
    return Example(messages=tuple(([{"role": "system", "content": system}] if system else []) + messages), origin="t:1")


def labelled_runs(tokenizer, tokenized):
    """The labelled tokens, decoded, one string per consecutive run."""
    pairs = zip(tokenized.input_ids, tokenized.labels)
    return [tokenizer.decode([token for token, _ in run])
            for labelled, run in groupby(pairs, key=lambda p: p[1] != IGNORE) if labelled]


def test_labels_cover_the_answer_and_end_of_turn_only(tokenizer):
    result = tokenize_example(chat("What port does Zorblax use?", "Port 7431, see the guide."), tokenizer, 512)
    assert labelled_runs(tokenizer, result) == ["Port 7431, see the guide.<|im_end|>"]
    assert all(label in (IGNORE, token) for token, label in zip(result.input_ids, result.labels))
    assert len(result.labels) == len(result.input_ids) == result.length
    assert (result.truncated, result.labelled_all, result.trainable) == (False, False, True)


def test_base_system_prompt_added_so_training_matches_inference(tokenizer):
    result = tokenize_example(chat("Hi?", "Hello."), tokenizer, 512)
    text = tokenizer.decode(result.input_ids)
    assert text.startswith(f"<|im_start|>system\n{BASE_SYSTEM}<|im_end|>")
    assert "SmolLM" not in text  # the template's own default system prompt is not used
    # The unlabelled start is exactly what the model sees when asked the same question at inference.
    inference = tokenizer.apply_chat_template(build_messages("Hi?", None), tokenize=False, add_generation_prompt=True)
    first_label = next(i for i, label in enumerate(result.labels) if label != IGNORE)
    prompt_ids = result.input_ids[:first_label]
    assert prompt_ids == tokenizer(inference, add_special_tokens=False)["input_ids"]


def test_own_system_message_kept_and_custom_default(tokenizer):
    own = tokenize_example(chat("Hi?", "Hello.", system="Talk like a pirate."), tokenizer, 512)
    assert BASE_SYSTEM not in tokenizer.decode(own.input_ids)
    assert "Talk like a pirate." in tokenizer.decode(own.input_ids)
    custom = tokenize_example(chat("Hi?", "Hello."), tokenizer, 512, system_prompt="Be terse.")
    assert tokenizer.decode(custom.input_ids).startswith("<|im_start|>system\nBe terse.<|im_end|>")
    assert labelled_runs(tokenizer, custom) == ["Hello.<|im_end|>"]


def test_multi_turn_labels_every_assistant_turn(tokenizer):
    result = tokenize_example(chat("First question?", "First answer.", "Second question?", "Second answer."),
                              tokenizer, 512)
    assert labelled_runs(tokenizer, result) == ["First answer.<|im_end|>", "Second answer.<|im_end|>"]
    unlabelled = tokenizer.decode([t for t, label in zip(result.input_ids, result.labels) if label == IGNORE])
    assert "First question?" in unlabelled and "Second question?" in unlabelled and "answer" not in unlabelled


def test_truncation_keeps_the_start_and_reports_untrainable(tokenizer):
    example = chat("Question?", "A long answer " * 20)
    full = tokenize_example(example, tokenizer, 512)
    cut = tokenize_example(example, tokenizer, full.length - 10)
    assert cut.truncated and cut.length == full.length and len(cut.input_ids) == len(cut.labels) == full.length - 10
    assert cut.input_ids == full.input_ids[: full.length - 10]
    # an answer cut before its end-of-turn token is not learned: it would teach the model not to stop
    assert cut.answer_cut and not cut.trainable
    prompt_only = tokenize_example(example, tokenizer, 20)  # the system prompt alone is longer
    assert prompt_only.truncated and not prompt_only.trainable and not prompt_only.answer_cut
    two_turns = chat("First question?", "First answer.", "Second question?", "A long answer " * 20)
    whole = tokenize_example(two_turns, tokenizer, 512)
    kept = tokenize_example(two_turns, tokenizer, whole.length - 10)
    assert kept.answer_cut and labelled_runs(tokenizer, kept) == ["First answer.<|im_end|>"]


def test_text_examples_train_on_every_token_and_end_with_eos(tokenizer):
    result = tokenize_example(Example(kind="text", text="Zorblax listens on port 7431."), tokenizer, 512)
    assert result.labels == result.input_ids
    assert result.input_ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(result.input_ids) == "Zorblax listens on port 7431." + tokenizer.eos_token
    short = tokenize_example(Example(kind="text", text="word " * 50), tokenizer, 8)
    assert short.truncated and len(short.input_ids) == 8 and short.trainable


class ShiftingTemplate:
    """SmolLM2's tokenizer with a template that renders earlier turns differently as turns are added."""

    def __init__(self, tokenizer):
        self.tokenizer, self.chat_template = tokenizer, "shifting"

    def __call__(self, *args, **kwargs):
        return self.tokenizer(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)

    def apply_chat_template(self, messages, **kwargs):
        return f"[{len(messages)} turns]" + self.tokenizer.apply_chat_template(messages, **kwargs)


def test_template_that_is_not_prefix_stable_falls_back_to_labelling_all(tokenizer):
    result = tokenize_all([chat("Q?", "A.")], ShiftingTemplate(tokenizer), 512)[0]
    assert result.labelled_all and result.labels == result.input_ids


def test_assistant_spans_trim_trailing_whitespace_but_keep_a_bare_stop():
    def tagged(messages, add_generation_prompt):
        text = "".join(f"<{m['role']}>{m['content']}</s>\n" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")

    def newline_only(messages, add_generation_prompt):
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
        return text + ("assistant: " if add_generation_prompt else "")

    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a b"}]
    full = tagged(messages, False)
    assert [full[s:e] for s, e in assistant_spans(tagged, messages)] == ["a b</s>"]
    full = newline_only(messages, False)
    assert [full[s:e] for s, e in assistant_spans(newline_only, messages)] == ["a b\n"]


def test_tokenize_all_needs_a_chat_template_for_chat(tokenizer):
    plain = ShiftingTemplate(tokenizer)
    plain.chat_template = None
    with pytest.raises(DataError, match="no chat template"):
        tokenize_all([chat("Q?", "A.")], plain, 64)
    assert len(tokenize_all([Example(kind="text", text="x")], plain, 64)) == 1


def test_summarize_and_render():
    examples = [chat("q", "a"), chat("q2", "a2"), Example(kind="text", text="t")]
    tokenized = [Tokenized([1, 2, 3, 4], [IGNORE, IGNORE, 3, 4], 4),
                 Tokenized([1, 2], [IGNORE, IGNORE], 9, truncated=True, origin="big.jsonl:2", answer_cut=True),
                 Tokenized([5, 6, 7], [5, 6, 7], 3)]
    summary = summarize(examples, tokenized, max_length=4)
    assert (summary.records, summary.chat, summary.text) == (3, 2, 1)
    assert (summary.tokens, summary.trained_tokens, summary.truncated, summary.untrainable) == (9, 5, 1, 1)
    assert summary.histogram == (1, 1, 0, 0, 0, 0, 1, 0, 0, 0) and summary.edges[0] == 3
    console = Console(record=True, width=80)
    render_summary(summary, console)
    shown = console.export_text()
    assert "trained tokens" in shown and "2 / 1" in shown and "█" * 30 in shown and "(truncated)" in shown
    # the example left out is named, not only counted
    assert "nothing to train on: big.jsonl:2" in shown and "answers cut: big.jsonl:2" in shown


def test_histogram_counts_every_value():
    counts, edges = histogram(list(range(7, 1000, 3)))
    assert sum(counts) == len(range(7, 1000, 3)) and len(edges) == 11
    assert edges[0] == 7 and edges[-1] > 997


def test_weight_zero_and_last_turn_only_keep_earlier_answers_as_context(tokenizer):
    from finetune.formats import FORMATS

    record = {"messages": [{"role": "user", "content": "First question?"},
                           {"role": "assistant", "content": "First answer.", "weight": 0},
                           {"role": "user", "content": "Second question?"},
                           {"role": "assistant", "content": "Second answer."}]}
    weighted = FORMATS["openai"].to_example(record, "o.jsonl:1")
    assert labelled_runs(tokenizer, tokenize_example(weighted, tokenizer, 512)) == ["Second answer.<|im_end|>"]
    last = chat("First question?", "First answer.", "Second question?", "Second answer.").last_turn_only()
    result = tokenize_example(last, tokenizer, 512)
    assert labelled_runs(tokenizer, result) == ["Second answer.<|im_end|>"]
    assert "First answer." in tokenizer.decode(result.input_ids)  # still there, as context
