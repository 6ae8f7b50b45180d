"""Question files: JSONL and SQuAD, and errors that point at the line to fix."""

import json
from pathlib import Path

import pytest

from lm.questions import QAPair, QuestionError, load_questions

SQUAD_SAMPLE = Path("/work/shared/data/squad/dev-v2.0-first5.json")


def write(path: Path, lines: list) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_jsonl_fields_answer_forms_and_default_ids(tmp_path):
    path = write(tmp_path / "q.jsonl", [
        {"question": " Which port does Zorblax use? ", "answer": "7431", "source": "install.md", "id": "port"},
        "",
        {"question": "Name the signing key.", "answer": ["amber-falcon", "Amber-Falcon", "amber-falcon"]},
        {"question": "What does the blue light mean?", "context": "The blue light means pairing."},
        {"question": "How many?", "answer": 3},
    ])
    questions = load_questions(path)
    assert questions.format == "jsonl" and questions.impossible == 0
    assert questions[0] == QAPair("Which port does Zorblax use?", ("7431",), "install.md", None, "port",
                                  f"{path}:1")
    assert questions[1].answers == ("amber-falcon", "Amber-Falcon")  # exact duplicates dropped
    assert questions[1].id == "q3" and questions[1].origin == f"{path}:3"
    assert questions[2].answers == () and questions[2].context == "The blue light means pairing."
    assert questions[3].answers == ("3",)


def test_squad_titles_contexts_and_impossible_questions(tmp_path):
    squad = {"version": "v2.0", "data": [{"title": "Zorblax", "paragraphs": [
        {"context": "The Zorblax daemon listens on port 7431.", "qas": [
            {"id": "a", "question": "Which port?", "answers": [{"text": "7431", "answer_start": 35},
                                                                {"text": "port 7431", "answer_start": 30}],
             "is_impossible": False},
            {"id": "b", "question": "Which colour is it?", "answers": [], "is_impossible": True,
             "plausible_answers": [{"text": "blue", "answer_start": 0}]},
        ]}]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(squad))
    questions = load_questions(path)
    assert questions.format == "squad" and questions.impossible == 1 and len(questions) == 1
    pair = questions[0]
    assert pair.answers == ("7431", "port 7431") and pair.source == "Zorblax" and pair.id == "a"
    assert pair.context == "The Zorblax daemon listens on port 7431."
    assert pair.origin == f"{path}:data[0].paragraphs[0].qas[0]"


@pytest.mark.skipif(not SQUAD_SAMPLE.exists(), reason="shared SQuAD sample not present")
def test_real_squad_sample_counts_match_its_description():
    questions = load_questions(SQUAD_SAMPLE)
    # SOURCES.md: 1,407 questions of which 705 answerable.
    assert len(questions) == 705 and questions.impossible == 702
    assert questions[0].question == "In what country is Normandy located?"
    assert questions[0].answers == ("France",) and questions[0].source == "Normans"
    assert all(q.answers and q.context and q.answers[0].casefold() in q.context.casefold() for q in questions)


def test_jsonl_under_a_json_name_is_read_as_jsonl(tmp_path):
    path = write(tmp_path / "q.json", [{"question": "A?", "answer": "a"}, {"question": "B?", "answer": "b"}])
    assert [q.question for q in load_questions(path)] == ["A?", "B?"]


@pytest.mark.parametrize("line, expected", [
    ('{"question": "Port?", "answer": "7431"', "not valid JSON"),
    ('{"answer": "7431"}', 'no "question"'),
    ('{"question": "   "}', 'no "question"'),
    ('["Port?", "7431"]', "expected a JSON object"),
    ('{"question": "Port?", "answer": {"value": 7431}}', '"answer" must be a string or a list'),
    ('{"question": "Port?", "source": 3}', '"source" must be a string'),
])
def test_bad_lines_name_file_and_line(tmp_path, line, expected):
    path = write(tmp_path / "q.jsonl", [{"question": "Fine?", "answer": "yes"}, line])
    with pytest.raises(QuestionError) as error:
        load_questions(path)
    assert f"{path}:2: " in str(error.value) and expected in str(error.value)


def test_all_bad_lines_are_reported_together_and_duplicate_ids_rejected(tmp_path):
    path = write(tmp_path / "q.jsonl", [{"question": "A?", "id": "x"}, "{oops", {"question": "B?", "id": "x"}])
    message = str(pytest.raises(QuestionError, load_questions, path).value)
    assert "2 bad question(s)" in message
    assert f"{path}:2: not valid JSON" in message
    assert f"{path}:3: id 'x' is already used at {path}:1" in message


def test_bad_squad_question_names_its_place(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [{"id": "a"}]}]}]}))
    message = str(pytest.raises(QuestionError, load_questions, path).value)
    assert f'{path}:data[0].paragraphs[0].qas[0]: no "question"' in message


def test_missing_and_empty_files_say_what_to_give(tmp_path):
    assert "no such file" in str(pytest.raises(QuestionError, load_questions, tmp_path / "none.jsonl").value)
    (tmp_path / "empty.jsonl").write_text("\n\n")
    assert "no questions" in str(pytest.raises(QuestionError, load_questions, tmp_path / "empty.jsonl").value)
