"""JSON and JSONL: one document per record, with locators, titles and clear errors."""

import json
from pathlib import Path

import pytest

from index.loaders import LoaderOptions, load_file
from index.types import LoadError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "docs_mixed"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_records_with_ids_and_titles():
    docs = load_file(FIXTURES / "support.jsonl", "support.jsonl")
    assert [d.locator for d in docs] == ["kb-1", "kb-2", "kb-3"]
    assert docs[0].title == "Factory reset"
    assert docs[0].text.startswith("To factory reset a Zorblax 3000")
    assert all(d.source == "support.jsonl" for d in docs)
    assert all(len(d.sections) == 1 and d.sections[0].end == len(d.text) for d in docs)


def test_jsonl_without_ids_uses_line_numbers_and_skips_blank_lines(tmp_path):
    path = write(tmp_path, "a.ndjson", '{"content": "first"}\n\n{"content": "third"}\n')
    docs = load_file(path, "a.ndjson")
    assert [(d.locator, d.text, d.title) for d in docs] == [("line 1", "first", ""), ("line 3", "third", "")]


def test_json_list_and_single_object(tmp_path):
    listed = write(tmp_path, "list.json", json.dumps([{"_id": "d1", "body": "x"}, {"body": "y"}]))
    assert [(d.locator, d.text) for d in load_file(listed, "list.json")] == [("d1", "x"), ("item 2", "y")]
    single = write(tmp_path, "one.json", json.dumps({"passage": "only one", "title": "T"}))
    [doc] = load_file(single, "one.json")
    assert (doc.text, doc.title) == ("only one", "T")


def test_chosen_fields(tmp_path):
    path = write(tmp_path, "qa.jsonl", json.dumps({"qid": "q9", "question": "Q?", "answer": "A."}) + "\n")
    options = LoaderOptions(text_field="answer", title_field="question", id_field="qid")
    [doc] = load_file(path, "qa.jsonl", options)
    assert (doc.locator, doc.title, doc.text) == ("q9", "Q?", "A.")


def test_malformed_line_names_its_number(tmp_path):
    lines = [json.dumps({"text": f"record {n}"}) for n in range(1, 12)] + ['{"text": "oops",']
    path = write(tmp_path, "bad.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(LoadError, match=r"^bad\.jsonl: line 12: invalid JSON \("):
        load_file(path, "bad.jsonl")


def test_missing_text_field_lists_fields_and_suggests_flag(tmp_path):
    path = write(tmp_path, "qa.jsonl", '{"text": "ok"}\n{"question": "Q?", "answer": "A."}\n')
    with pytest.raises(LoadError) as err:
        load_file(path, "qa.jsonl")
    message = str(err.value)
    assert message.startswith("qa.jsonl: line 2:")
    assert "question" in message and "answer" in message and "--text-field" in message
