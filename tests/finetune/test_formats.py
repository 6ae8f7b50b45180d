"""Each data format reads its records into the same chat messages, and says what is wrong with bad ones."""

import json

import pytest

from finetune.data import load_examples
from finetune.formats import FORMATS, detect_format, formats_with
from finetune.formats.text import split_blocks

PAIRS = [
    ("What port does Zorblax use?", "", "Port 7431."),
    ("Summarise the note.", "The update ships on Monday.\nIt fixes the login bug.", "A Monday update fixes login."),
    ("Who maintains the client?", "", "The platform team."),
]
SYSTEM = "You answer questions about Zorblax."


def expected_messages(question, context, answer):
    user = f"{question}\n\n{context}" if context else question
    return ({"role": "system", "content": SYSTEM}, {"role": "user", "content": user},
            {"role": "assistant", "content": answer})


def user_text(question, context):
    return f"{question}\n\n{context}" if context else question


def in_every_format():
    """The same three system + question (+ context) → answer records, written in every chat format."""
    yield "alpaca", [{"system": SYSTEM, "instruction": q, "input": c, "output": a} for q, c, a in PAIRS]
    yield "sharegpt", [{"conversations": [{"from": "system", "value": SYSTEM}, {"from": "human", "value": user_text(q, c)},
                                          {"from": "gpt", "value": a}]} for q, c, a in PAIRS]
    yield "sharegpt", [{"system": SYSTEM, "conversations": [{"role": "user", "content": user_text(q, c)},
                                                            {"role": "assistant", "content": a}]} for q, c, a in PAIRS]
    yield "openai", [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_text(q, c)},
                                   {"role": "assistant", "content": a}]} for q, c, a in PAIRS]
    yield "openai", [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_text(q, c)}],
                      "completion": a} for q, c, a in PAIRS]
    yield "openai", [{"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_text(q, c)}],
                      "completion": [{"role": "assistant", "content": f"  {a}\n"}]} for q, c, a in PAIRS]
    yield "context", [{"system": SYSTEM, "question": q, "context": c, "response": a} for q, c, a in PAIRS]


def test_every_chat_format_gives_identical_messages(tmp_path):
    expected = [expected_messages(*pair) for pair in PAIRS]
    for number, (name, records) in enumerate(in_every_format()):
        path = tmp_path / f"{number}-{name}.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
        data = load_examples([path])
        assert data.formats == {str(path): name}
        assert [e.messages for e in data.examples] == expected, name
        assert [e.origin for e in data.examples] == [f"{path}:{i}" for i in (1, 2, 3)]


def test_equal_content_in_two_formats_is_a_duplicate(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"instruction": "Q", "output": "A"}), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"conversations": [{"from": "human", "value": "Q"},
                                                                    {"from": "gpt", "value": "A"}]}), encoding="utf-8")
    data = load_examples([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert data.duplicates == 1
    assert data.examples[0].origin.endswith("a.jsonl:1")


@pytest.mark.parametrize(("record", "name"), [
    ({"messages": [], "text": "x"}, "openai"),
    ({"conversations": []}, "sharegpt"),
    ({"context": "c", "response": "r", "instruction": "q"}, "context"),
    ({"instruction": "q", "output": "a"}, "alpaca"),
    ({"text": "plain"}, "text"),
    ({"prompt": "q", "answer": "a"}, None),
])
def test_detect_format(record, name):
    assert detect_format(record) == name


def test_context_question_aliases():
    for key in ("question", "instruction", "prompt"):
        example = FORMATS["context"].to_example({key: "Q?", "context": "C.", "response": "R."}, "f:1")
        assert example.messages[0] == {"role": "user", "content": "Q?\n\nC."}
    example = FORMATS["context"].to_example({"context": "C.", "response": "R."}, "f:1")
    assert example.messages[0] == {"role": "user", "content": "C."}


def test_multi_turn_sharegpt_keeps_every_turn_and_maps_speakers():
    record = {"conversations": [{"from": "human", "value": "a"}, {"from": "model", "value": "b"},
                                {"from": "user", "value": "c"}, {"from": "ChatGPT", "value": "d"}]}
    example = FORMATS["sharegpt"].to_example(record, "f:1")
    assert [m["role"] for m in example.messages] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in example.messages] == ["a", "b", "c", "d"]


def test_text_records_and_custom_text_field():
    example = FORMATS["text"].to_example({"text": "  Some notes. "}, "n.jsonl:3")
    assert (example.kind, example.text, example.messages, example.origin) == ("text", "Some notes.", (), "n.jsonl:3")
    body = formats_with("body")
    assert detect_format({"body": "x"}, body) == "text"
    assert body["text"].to_example({"body": "x"}, "f:1").text == "x"


BAD = [
    ("alpaca", {"instruction": "q"}, "missing field 'output'"),
    ("alpaca", {"output": "a"}, "missing field 'instruction'"),
    ("alpaca", {"instruction": "q", "output": 3}, "field 'output' must be text, not int"),
    ("alpaca", {"instruction": "q", "output": None}, "missing field 'output'"),
    ("alpaca", {"instruction": "q", "output": "  "}, "field 'output' is empty"),
    ("alpaca", {"instruction": " ", "input": "", "output": ""}, "all turns are empty"),
    ("sharegpt", {"conversations": "hi"}, "field 'conversations' must be a list"),
    ("sharegpt", {"conversations": [{"from": "human", "value": "q"}]}, "no assistant turn"),
    ("sharegpt", {"conversations": [{"from": "bot", "value": "q"}]}, "unknown speaker 'bot' in turn 1"),
    ("sharegpt", {"conversations": [{"from": "human"}]}, "turn 1 needs 'from' and 'value'"),
    ("sharegpt", {"conversations": ["hi"]}, "turn 1 must be an object"),
    ("sharegpt", {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""},
                                    {"from": "human", "value": "r"}, {"from": "gpt", "value": "s"}]},
     "assistant message 2 is empty"),
    ("openai", {"messages": [{"role": "human", "content": "q"}, {"role": "assistant", "content": "a"}]},
     "unknown role 'human' in message 1; use system, user or assistant"),
    ("openai", {"messages": [{"role": "user", "content": "q"}, {"role": "foo", "content": "a"},
                             {"role": "assistant", "content": "b"}]}, "unknown role 'foo' in message 2"),
    ("openai", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ["a"]}]},
     "content of message 2 must be text, not list"),
    ("openai", {"messages": [{"role": "user", "content": "q"}], "completion": 5}, "field 'completion' must be text"),
    ("openai", {"messages": [{"role": "user"}]}, "message 1 must be an object with 'role' and 'content'"),
    ("openai", {"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"},
                             {"role": "assistant", "content": "a"}]}, "system message 2 must come first"),
    ("openai", {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}]}, "all turns are empty"),
    ("context", {"context": "c", "response": ""}, "field 'response' is empty"),
    ("context", {"context": "c", "response": "r", "question": ["q"]}, "field 'question' must be text, not list"),
    ("context", {"response": "r"}, "missing field 'context'"),
    ("text", {"text": " \n"}, "field 'text' is empty"),
    ("text", {"text": 12}, "field 'text' must be text, not int"),
]


@pytest.mark.parametrize(("name", "record", "reason"), BAD)
def test_bad_records_say_why(name, record, reason):
    with pytest.raises(ValueError) as err:
        FORMATS[name].to_example(record, "f:1")
    assert reason in str(err.value)


def test_text_file_blocks_group_whole_paragraphs_with_their_first_line():
    paragraph = "word " * 150  # 750 characters
    text = f"Title\n\n{paragraph}\n{paragraph}\n\n\n{paragraph}\n\n{'x' * 2500}\n\nEnd."
    blocks = split_blocks(text, "notes.md")
    assert [b.origin for b in blocks] == ["notes.md:1", "notes.md:7", "notes.md:9", "notes.md:11"]
    assert all(b.kind == "text" for b in blocks)
    assert blocks[0].text == f"Title\n\n{paragraph.rstrip()}\n{paragraph.rstrip()}"
    assert len(blocks[1].text) == 749  # joining it to the first block would pass 2000 characters
    assert blocks[2].text == "x" * 2500  # an over-long paragraph stays whole, on its own
    assert blocks[3].text == "End."
    assert split_blocks("\n \n", "empty.txt") == []
