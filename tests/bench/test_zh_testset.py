"""The Chinese test set: its BEIR files are built from its docs and questions, and every question
points at exactly one passage."""

from bench.zh_testset import FOLDER, beir_files, expected_passage, load_passages, load_questions


def test_the_beir_files_are_up_to_date_with_the_docs_and_questions():
    for name, content in beir_files().items():
        assert (FOLDER / name).read_text(encoding="utf-8") == content, f"run python -m bench.zh_testset ({name})"


def test_every_question_has_one_expected_passage_and_a_known_kind():
    passages, questions = load_passages(), load_questions()
    assert len(questions) >= 60 and len({q.id for q in questions}) == len(questions)
    for question in questions:
        expected_passage(question, passages)  # raises unless exactly one section holds the substring
        assert question.kind in ("zh", "mixed", "zh-hant") and question.style in ("plain", "reworded")
        # An error message may be quoted (ResolutionImpossible); Chinese text is paraphrased, not copied.
        assert question.passage.isascii() or question.passage not in question.text, question.id
