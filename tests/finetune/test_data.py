"""Loading training files: every file type, errors that name file and line, duplicates, the split."""

import json
import subprocess
import sys

import pytest

from finetune.data import load_examples, split_examples
from finetune.types import DataError, Example

QA = [{"instruction": f"Question {i}?", "output": f"Answer {i}."} for i in range(3)]
EXPECTED = [({"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."})
            for i in range(3)]


def write_jsonl(path, records):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def error_for(*args, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        load_examples(*args, **kwargs)
    return str(err.value)


# ---------------------------------------------------------------------------------------- file types


def test_jsonl(tmp_path):
    data = load_examples(write_jsonl(tmp_path / "qa.jsonl", QA))
    assert [e.messages for e in data.examples] == EXPECTED
    assert data.formats == {str(tmp_path / "qa.jsonl"): "alpaca"}
    assert (data.bad, data.duplicates) == ([], 0)


def test_json_list_and_object_holding_one_list(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps(QA), encoding="utf-8")
    (tmp_path / "wrapped.json").write_text(json.dumps({"version": 2, "data": QA}), encoding="utf-8")
    for name in ("list.json", "wrapped.json"):
        data = load_examples([tmp_path / name])
        assert [e.messages for e in data.examples] == EXPECTED
        assert data.examples[2].origin == f"{tmp_path / name}[#2]"


def test_json_holding_one_record_is_that_record(tmp_path):
    record = {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    (tmp_path / "one.json").write_text(json.dumps(record), encoding="utf-8")
    assert [e.messages for e in load_examples(tmp_path / "one.json").examples] == [tuple(record["messages"])]


def test_json_lines_saved_as_json_are_read_as_lines(tmp_path):
    path = write_jsonl(tmp_path / "lines.json", QA)
    assert [e.origin for e in load_examples(path).examples] == [f"{path}:{i}" for i in (1, 2, 3)]


def test_csv_and_tsv_with_a_cell_spanning_lines(tmp_path):
    csv_text = 'instruction,input,output\nQuestion 0?,,Answer 0.\n"Question 1?",,"Answer\n1."\n\nQuestion 2?,,Answer 2.\n'
    (tmp_path / "qa.csv").write_text(csv_text, encoding="utf-8")
    (tmp_path / "qa.tsv").write_text(csv_text.replace(",", "\t"), encoding="utf-8")
    for name in ("qa.csv", "qa.tsv"):
        data = load_examples([tmp_path / name])
        assert [e.messages[1]["content"] for e in data.examples] == ["Answer 0.", "Answer\n1.", "Answer 2."]
        assert [e.origin.rsplit(":", 1)[1] for e in data.examples] == ["2", "3", "6"]


def test_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{**r, "input": None} for r in QA]), tmp_path / "qa.parquet")
    data = load_examples([tmp_path / "qa.parquet"])
    assert [e.messages for e in data.examples] == EXPECTED
    assert data.examples[1].origin == f"{tmp_path / 'qa.parquet'}[#1]"


def test_saved_datasets_folder_uses_train_split_else_all_splits(tmp_path):
    from datasets import Dataset, DatasetDict

    Dataset.from_list(QA).save_to_disk(tmp_path / "plain")
    DatasetDict({"train": Dataset.from_list(QA[:2]), "test": Dataset.from_list(QA[2:])}).save_to_disk(tmp_path / "dict")
    DatasetDict({"a": Dataset.from_list(QA[:2]), "b": Dataset.from_list(QA[2:])}).save_to_disk(tmp_path / "splits")
    assert [e.messages for e in load_examples(tmp_path / "plain").examples] == EXPECTED
    assert [e.messages for e in load_examples(tmp_path / "dict").examples] == EXPECTED[:2]
    data = load_examples(tmp_path / "splits")
    assert [e.messages for e in data.examples] == EXPECTED
    assert data.examples[2].origin == f"{tmp_path / 'splits'}[b#0]"


def test_plain_text_files_and_text_records(tmp_path):
    (tmp_path / "guide.md").write_text("# Guide\n\nInstall it.\n", encoding="utf-8")
    write_jsonl(tmp_path / "corpus.jsonl", [{"body": "A document."}])
    data = load_examples([tmp_path / "guide.md", tmp_path / "corpus.jsonl"], text_field="body")
    assert [(e.kind, e.text) for e in data.examples] == [("text", "# Guide\n\nInstall it."), ("text", "A document.")]
    assert data.formats == {str(tmp_path / "guide.md"): "text", str(tmp_path / "corpus.jsonl"): "text"}


def test_each_file_gets_its_own_format_and_format_overrides(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", QA)
    write_jsonl(tmp_path / "b.jsonl", [{"context": "C", "response": "R", "text": "ignored"}])
    data = load_examples([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert list(data.formats.values()) == ["alpaca", "context"]
    forced = load_examples([tmp_path / "b.jsonl"], format="text")
    assert [(e.kind, e.text) for e in forced.examples] == [("text", "ignored")]


def test_detection_skips_records_no_format_claims(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "only"}, *QA])
    assert error_for(path).startswith(f"{path}:1: missing field 'output'")


# ---------------------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    assert error_for([tmp_path / "nope.jsonl"]) == f"{tmp_path / 'nope.jsonl'}: no such file"


@pytest.mark.parametrize(("line", "reason"), [
    ('{"instruction": "q"}', "missing field 'output'"),
    ('{"instruction": "q", "output": 5}', "field 'output' must be text, not int"),
    ('{"instruction": "q", "output": ', "invalid JSON"),
    ('["q", "a"]', "expected an object with fields, found an array"),
    ('{"instruction": "q", "output": "  "}', "field 'output' is empty"),
])
def test_bad_jsonl_line_is_named_by_file_and_line(tmp_path, line, reason):
    path = write_jsonl(tmp_path / "data.jsonl", QA * 2 + [line])
    message = error_for([path])
    assert message.startswith(f"{path}:7: {reason}")
    assert "fix them or pass --skip-bad" in message


def test_bad_utf8_line_in_jsonl(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"instruction": "q", "output": "a"}\n{"instruction": "caf\xe9", "output": "a"}\n')
    assert error_for([path]).startswith(f"{path}:2: not valid UTF-8")
    assert len(load_examples([path], skip_bad=True).examples) == 1


@pytest.mark.parametrize("suffix", [".csv", ".json", ".md"])
def test_bad_utf8_in_whole_file_formats_names_the_line(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b'[{"instruction": "q",\n"output": "caf\xe9"}]' if suffix == ".json" else b"instruction,output\nq,caf\xe9\n")
    message = error_for([path])
    assert message.startswith(f"{path}:2: not valid UTF-8") and "re-save" in message


def test_csv_row_errors_name_the_row_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('instruction,output\nq,a\n"multi\nline",\nq2,a2,extra\n', encoding="utf-8")
    message = error_for([path])
    assert message.startswith(f"{path}:3: field 'output' is empty")
    assert f"{path}:5: 3 cells but the header has 2" in message


def test_json_and_parquet_errors_name_the_index(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d.json").write_text(json.dumps(QA + [{"instruction": "q"}]), encoding="utf-8")
    assert error_for([tmp_path / "d.json"]).startswith(f"{tmp_path / 'd.json'}[#3]: missing field 'output'")
    pq.write_table(pa.Table.from_pylist(QA + [{"instruction": "q", "output": None}]), tmp_path / "d.parquet")
    assert error_for([tmp_path / "d.parquet"]).startswith(f"{tmp_path / 'd.parquet'}[#3]: missing field 'output'")


def test_invalid_json_file_names_the_line(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('[\n{"instruction": "q", "output": "a"},\n{"instruction": }\n]', encoding="utf-8")
    assert error_for([path]).startswith(f"{path}:3: invalid JSON")


def test_records_of_no_known_format_list_the_formats(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "q", "answer": "a"}])
    message = error_for([path])
    assert message.startswith(f"{path}: records match no training format (first record's fields: prompt, answer)")
    for expected in ("alpaca: instruction, output", "sharegpt: conversations", "openai: messages",
                     "context: context, response", "text: text", "--format"):
        assert expected in message


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("empty.jsonl", "", "empty.jsonl: no records"),
    ("blank.md", "\n\n", "blank.md: no text"),
    ("data.xlsx", "x", "data.xlsx: unsupported file type '.xlsx'"),
    ("scalar.json", "3", "scalar.json: expected a list of records"),
])
def test_unusable_files(tmp_path, name, content, expected):
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert error_for([tmp_path / name]).startswith(f"{tmp_path}/{expected}")


def test_unknown_format_and_chat_format_for_text_file(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", QA)
    assert error_for([tmp_path / "a.jsonl"], format="dolly").startswith("unknown format 'dolly'; use auto, openai")
    (tmp_path / "notes.txt").write_text("Notes.", encoding="utf-8")
    assert "read as format 'text' or 'lines', not 'alpaca'" in error_for([tmp_path / "notes.txt"], format="alpaca")


def test_all_bad_records_of_all_files_are_collected_first(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [QA[0], {"instruction": "q"}, QA[1], "not json"])
    b = write_jsonl(tmp_path / "b.jsonl", [{"instruction": "q", "output": []}])
    message = error_for([a, b])
    assert message.splitlines()[0] == f"{a}:2: missing field 'output'"
    assert "and 2 more bad records" in message
    assert f"{a}:4: invalid JSON" in message and f"{b}:1: field 'output' must be text, not list" in message
    assert message.endswith("fix them or pass --skip-bad to leave them out")


def test_skip_bad_returns_and_counts_them(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [QA[0], {"instruction": "q"}, QA[1], "not json"])
    data = load_examples([a], skip_bad=True)
    assert [e.messages for e in data.examples] == EXPECTED[:2]
    assert [(b.origin, b.reason.split(" (")[0]) for b in data.bad] == [(f"{a}:2", "missing field 'output'"),
                                                                      (f"{a}:4", "invalid JSON")]


def test_nothing_left_after_skipping_is_an_error(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"instruction": "q", "output": ""}, "{"])
    message = error_for([a], skip_bad=True)
    assert "all 2 records were bad" in message and f"{a}:1" in message


def test_exact_duplicates_are_dropped_first_kept(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [QA[0], QA[1], QA[0]])
    b = write_jsonl(tmp_path / "b.jsonl", [QA[1], {**QA[1], "output": "Different."}])
    data = load_examples([a, b])
    assert data.duplicates == 2
    assert [e.origin for e in data.examples] == [f"{a}:1", f"{a}:2", f"{b}:2"]


# ---------------------------------------------------------------------------------------- split


EXAMPLES = [Example(messages=({"role": "user", "content": str(i)},), origin=f"d:{i}") for i in range(50)]


def test_split_is_reproducible_and_seeded():
    train, eval = split_examples(EXAMPLES, 0.2, seed=3)
    assert (len(train), len(eval)) == (40, 10)
    assert sorted(train + eval, key=lambda e: int(e.origin[2:])) == EXAMPLES
    assert split_examples(EXAMPLES, 0.2, seed=3) == (train, eval)
    assert split_examples(EXAMPLES, 0.2, seed=4).eval != eval
    assert eval == sorted(eval, key=lambda e: int(e.origin[2:]))  # input order kept


def test_split_does_not_depend_on_the_hash_seed():
    code = ("from finetune.data import split_examples\n"
            "print([i for i in split_examples([str(i) for i in range(40)], 0.25, seed=7).eval])")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert len(runs) == 1


@pytest.mark.parametrize(("n", "share", "expected"), [(10, 0.0, 0), (10, 0.01, 1), (2, 0.1, 1), (1, 0.5, 0),
                                                      (3, 0.9, 2), (0, 0.1, 0)])
def test_split_sizes(n, share, expected):
    train, eval = split_examples(EXAMPLES[:n], share, seed=0)
    assert (len(train), len(eval)) == (n - expected, expected)


def test_split_rejects_a_share_of_one_or_more():
    with pytest.raises(ValueError, match="eval_split"):
        split_examples(EXAMPLES, 1.0, seed=0)


def test_data_layer_imports_neither_textual_nor_torch():
    code = "import sys, finetune.data, finetune.tokenize; print(sorted(m.split('.')[0] for m in sys.modules))"
    modules = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'textual'" not in modules and "'torch'" not in modules and "'transformers'" not in modules


def test_a_fifo_or_a_link_to_a_device_is_refused_without_reading_it(tmp_path):
    import os

    os.symlink("/dev/zero", tmp_path / "zero.jsonl")
    os.mkfifo(tmp_path / "pipe.jsonl")
    for name in ("zero.jsonl", "pipe.jsonl"):
        with pytest.raises(DataError, match=f"{name}: not a regular file"):
            load_examples(tmp_path / name)


# ---------------------------------------------------------------------------------------- defects found by a user


def test_a_tsv_cell_that_starts_with_a_quote_does_not_swallow_the_rows_after_it(tmp_path):
    rows = ["instruction\tinput\toutput", '"Cut here\t\tanswer A', "row B\t\tanswer B", "row C\t\tanswer C",
            "row D\t\tanswer D", "row E\t\tanswer E"]
    (tmp_path / "qa.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = load_examples([tmp_path / "qa.tsv"])
    assert [e.messages[0]["content"] for e in data.examples] == ['"Cut here', "row B", "row C", "row D", "row E"]


def test_a_short_row_is_reported_by_its_cell_count(tmp_path):
    (tmp_path / "qa.csv").write_text("instruction,input,output\nQuestion?,,Answer.\nOnly a question\n", encoding="utf-8")
    assert "qa.csv:3: 1 cell but the header has 3 (input, output missing)" in error_for([tmp_path / "qa.csv"])


def test_a_record_of_another_format_says_the_file_is_read_in_one_format(tmp_path):
    write_jsonl(tmp_path / "mixed.jsonl", [QA[0], {"messages": [{"role": "user", "content": "Hi"},
                                                              {"role": "assistant", "content": "Hello"}]}])
    message = error_for([tmp_path / "mixed.jsonl"])
    assert "mixed.jsonl:2:" in message and "in format 'openai'" in message and "read in one format, 'alpaca'" in message


def test_a_txt_of_one_sample_per_line_gives_one_example_a_line(tmp_path):
    (tmp_path / "lines.txt").write_text("第一条样本。\n第二条样本。\n第三条样本。\n", encoding="utf-8")
    data = load_examples([tmp_path / "lines.txt"])
    assert [e.text for e in data.examples] == ["第一条样本。", "第二条样本。", "第三条样本。"]
    assert [e.origin.rsplit(":", 1)[1] for e in data.examples] == ["1", "2", "3"]
    assert data.formats[str(tmp_path / "lines.txt")] == "text, one per line"
    # a paragraph wrapped over lines stays one example
    (tmp_path / "prose.txt").write_text("Zorblax listens on a port that the admin can change\n"
                                        "in the config file, and the service restarts itself\n"
                                        "when the file is saved.\n")
    assert len(load_examples([tmp_path / "prose.txt"]).examples) == 1


def test_text_field_names_the_field_plain_text_records_use(tmp_path):
    write_jsonl(tmp_path / "notes.jsonl", [{"body": "Zorblax listens on port 7431."}])
    assert "--text-field" in error_for([tmp_path / "notes.jsonl"])
    assert load_examples([tmp_path / "notes.jsonl"], text_field="body").examples[0].text == "Zorblax listens on port 7431."


# ---------------------------------------------------------------------------------------- task templates


def test_label_data_is_refused_as_plain_text_with_the_command_to_use(tmp_path):
    (tmp_path / "reviews.tsv").write_text("text\tlabel\n这个工具很好用\tpositive\nBroken on arrival\tnegative\n",
                                          encoding="utf-8")
    message = error_for([tmp_path / "reviews.tsv"])
    assert "are classification data, not plain text" in message and "--format classification" in message
    (tmp_path / "pairs.csv").write_text("sentence1,sentence2,label\nA cat sits.,A cat is sitting.,same\n")
    assert "--format pair" in error_for([tmp_path / "pairs.csv"])


@pytest.mark.parametrize("name, content, format, question, answer", [
    ("reviews.tsv", "text\tlabel\n这个工具很好用\tpositive\n", "classification",
     "Classify this text. Answer with its label only.\n\n这个工具很好用", "positive"),
    ("pairs.csv", "sentence1,sentence2,label\n猫坐着。,一只猫在坐着。,same\n", "pair",
     "Label this pair of sentences. Answer with the label only.\n\nSentence 1: 猫坐着。\nSentence 2: 一只猫在坐着。", "same"),
    ("mt.jsonl", '{"source": "你好，世界", "target": "Hello, world"}\n', "translation",
     "Translate this text.\n\n你好，世界", "Hello, world"),
    ("mt.tsv", "source\ttarget\nGuten Morgen\tGood morning\n", "translation",
     "Translate this text.\n\nGuten Morgen", "Good morning"),
    ("ner.jsonl", '{"tokens": ["张", "三", "在", "北京", "工作"], "labels": ["B-PER", "I-PER", "O", "B-LOC", "O"]}\n',
     "ner", "List the named entities in this text, one per line as TYPE: words.\n\n张三在北京工作", "PER: 张三\nLOC: 北京"),
])
def test_task_templates_turn_label_data_into_instructions(tmp_path, name, content, format, question, answer):
    (tmp_path / name).write_text(content, encoding="utf-8")
    data = load_examples([tmp_path / name], format=format)
    assert data.examples[0].messages == ({"role": "user", "content": question}, {"role": "assistant", "content": answer})


def test_a_task_prompt_replaces_the_template_and_a_wrong_field_is_named(tmp_path):
    (tmp_path / "reviews.tsv").write_text("text\tlabel\nGreat tool\tpositive\n", encoding="utf-8")
    data = load_examples([tmp_path / "reviews.tsv"], format="classification", task_prompt="Sentiment of: {text}")
    assert data.examples[0].messages[0]["content"] == "Sentiment of: Great tool"
    message = error_for([tmp_path / "reviews.tsv"], format="classification", task_prompt="Sentiment of: {review}")
    assert "reviews.tsv:2: the task prompt names 'review'" in message and "{text, label}" in message


def test_alpaca_history_is_trained_with_the_turns_it_depends_on(tmp_path):
    record = {"instruction": "And its warranty?", "output": "24 months.",
              "history": [["Which kettle is the K2?", "The Brewmaster K2."]]}
    data = load_examples(write_jsonl(tmp_path / "chat.jsonl", [record]))
    assert [m["content"] for m in data.examples[0].messages] == [
        "Which kettle is the K2?", "The Brewmaster K2.", "And its warranty?", "24 months."]
    assert "'history' must be a list" in error_for(write_jsonl(tmp_path / "bad.jsonl", [{**record, "history": "x"}]))


@pytest.mark.parametrize("name, separator", [("people.txt", " "), ("people.tsv", "\t")])
def test_bio_lines_are_ner_data_never_plain_text(tmp_path, name, separator):
    lines = ["张", "B-PER"], ["三", "I-PER"], ["在", "O"], ["北京", "B-LOC"], [], ["Ann", "B-PER"], ["left", "O"]
    (tmp_path / name).write_text("\n".join(separator.join(line) for line in lines) + "\n", encoding="utf-8")
    assert "BIO-tagged lines" in error_for([tmp_path / name]) and "--format ner" in error_for([tmp_path / name])
    data = load_examples([tmp_path / name], format="ner")
    assert [e.messages[1]["content"] for e in data.examples] == ["PER: 张三\nLOC: 北京", "PER: Ann"]
    assert [e.origin.rsplit(":", 1)[1] for e in data.examples] == ["1", "6"]


@pytest.mark.parametrize("messages, says", [
    ([("assistant", "Hello!"), ("user", "Hi"), ("assistant", "Yes?")], "starts with the assistant (message 1)"),
    ([("user", "Hi"), ("user", "Anyone?"), ("assistant", "Yes.")], "messages 1 and 2 are both user turns"),
    ([("user", "Hi"), ("assistant", "Hello."), ("user", "Bye")], "ends on a user turn (message 3)"),
])
def test_malformed_turn_orders_are_named(tmp_path, messages, says):
    record = {"messages": [{"role": role, "content": text} for role, text in messages]}
    message = error_for(write_jsonl(tmp_path / "chat.jsonl", [record]))
    assert "chat.jsonl:1:" in message and says in message


def test_openai_weight_is_checked(tmp_path):
    record = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo", "weight": 0}]}
    assert "every assistant message has weight 0" in error_for(write_jsonl(tmp_path / "w.jsonl", [record]))
    record["messages"][1]["weight"] = 0.5
    assert "'weight' must be 0 (not learned) or 1" in error_for(write_jsonl(tmp_path / "w.jsonl", [record]))
