"""Question files: the questions (and their answers) that RAFT data is built from and that
`assistant compare` asks.

Two formats, told apart by their content:

- JSONL, one question a line (`answer`, `source`, `context` and `id` optional):
      {"question": "Which port does Zorblax use?", "answer": "7431", "source": "install.md"}
  `answer` may be a string or a list of acceptable answers.
- SQuAD JSON (`data[].paragraphs[].qas[]`); SQuAD 2.0's unanswerable questions are skipped
  and counted. `source` is the article title and `context` the paragraph.

    questions = load_questions("../shared/data/squad/dev-v2.0-first5.json")
    questions[0].question, questions[0].answers, questions[0].source, questions.impossible
    # ('In what country is Normandy located?', ('France',), 'Normans', 702)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from core.errors import UserError
from index.types import Chunk

MAX_REPORTED = 5  # problems listed in one error; the rest are counted


class QuestionError(UserError):
    """A question file is wrong; the message names the file and line and says what to fix."""


@dataclass(frozen=True)
class QAPair:
    """One question with what counts as a right answer and where the answer is written.

    answers: acceptable answers, in the file's order, duplicates removed; may be empty.
    source: the document that holds the answer: a path, a file name or a title ("install.md").
    context: the passage the answer comes from (the SQuAD paragraph), when the file gives it.
    id: the file's id for the question, or "q<line>" when it has none.
    origin: where it was read, for messages: "questions.jsonl:12".
    answerable: False for a question the documents do not answer (JSONL `"unanswerable": true`,
        SQuAD 2.0 `is_impossible`): the right reply is to say so.
    history: the user's earlier questions of the conversation this one follows (JSONL `"history"`:
        questions, or [question, answer] pairs as Alpaca writes them), oldest first; a follow-up
        ("how long is its warranty?") is searched with them, at training as at answer time.
    """

    question: str
    answers: tuple[str, ...] = ()
    source: str | None = None
    context: str | None = None
    id: str = ""
    origin: str = ""
    answerable: bool = True
    history: tuple[str, ...] = ()


class Questions(list):
    """The QAPairs of one file (a plain list), plus what was read and skipped.

    format: "jsonl" or "squad".
    impossible: SQuAD 2.0 questions marked `is_impossible`, left out.
    """

    def __init__(self, pairs=(), format: str = "jsonl", impossible: int = 0) -> None:
        super().__init__(pairs)
        self.format = format
        self.impossible = impossible


def unique(texts) -> tuple[str, ...]:
    """Stripped, non-empty, first occurrence kept: ["France", " France", ""] → ("France",)."""
    seen: dict[str, None] = {}
    for text in texts:
        if text.strip():
            seen.setdefault(text.strip(), None)
    return tuple(seen)


def _answers(value, where: str) -> tuple[str, ...]:
    """`answer` as a string, a list of strings, or SQuAD's list of {"text": ...}."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    texts = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            item = item["text"]
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = str(item)  # "answer": 7431 means the text "7431"
        if not isinstance(item, str):
            raise QuestionError(f'{where}: "answer" must be a string or a list of strings, got {item!r}')
        texts.append(item)
    return unique(texts)


def _optional_text(record: dict, key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise QuestionError(f'{where}: "{key}" must be a string, got {value!r}')
    return value


def parse_record(record, where: str, default_id: str) -> QAPair:
    """One JSONL record as a QAPair; `where` ("file:line") goes in errors and in `origin`.

    >>> parse_record({"question": "Port?", "answer": ["7431", "port 7431"]}, "q.jsonl:1", "q1").answers
    ('7431', 'port 7431')
    """
    if not isinstance(record, dict):
        raise QuestionError(f'{where}: expected a JSON object like {{"question": "...", "answer": "..."}}, '
                            f"got {type(record).__name__}")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionError(f'{where}: no "question"; every line needs a non-empty "question" string')
    answers = _answers(record.get("answer", record.get("answers")), where)
    raw_id = record.get("id", default_id)
    if not isinstance(raw_id, (str, int)) or isinstance(raw_id, bool) or str(raw_id) == "":
        raise QuestionError(f'{where}: "id" must be a non-empty string or number, got {raw_id!r}')
    unanswerable = record.get("unanswerable", record.get("is_impossible", False))
    if not isinstance(unanswerable, bool):
        raise QuestionError(f'{where}: "unanswerable" must be true or false, got {unanswerable!r}')
    if unanswerable:
        answers = ()  # SQuAD 2.0 lists "plausible" answers for these; none of them is right
    return QAPair(question.strip(), answers, _optional_text(record, "source", where),
                  _optional_text(record, "context", where), str(raw_id), where, not unanswerable,
                  _history(record.get("history"), where))


def _history(value, where: str) -> tuple[str, ...]:
    """The earlier questions of a "history" field: ["q1", "q2"] or [["q1", "a1"], ["q2", "a2"]].

    >>> _history([["Does the K2 have a timer?", "Yes."]], "q.jsonl:3")
    ('Does the K2 have a timer?',)
    """
    if value is None:
        return ()
    turns = value if isinstance(value, list) else None
    questions = []
    for turn in turns or [None]:
        asked = turn[0] if isinstance(turn, list) and len(turn) == 2 else turn
        if not isinstance(asked, str) or not asked.strip():
            raise QuestionError(f'{where}: "history" must be a list of earlier questions, or of [question, answer] '
                                f"pairs, got {value!r}")
        questions.append(asked.strip())
    return tuple(questions)


def _raise_problems(path: Path, problems: list[str], total: int) -> None:
    more = f"\n... and {total - MAX_REPORTED} more" if total > MAX_REPORTED else ""
    raise QuestionError(f"{path}: {total} bad question(s); fix them and run again:\n"
                        + "\n".join(problems[:MAX_REPORTED]) + more)


def _check_ids(pairs: list[QAPair], problems: list[str]) -> None:
    # `assistant compare` reports per question id, so two questions must not share one.
    first: dict[str, str] = {}
    for pair in pairs:
        if pair.id in first:
            problems.append(f"{pair.origin}: id {pair.id!r} is already used at {first[pair.id]}; ids must be unique")
        first.setdefault(pair.id, pair.origin)


def read_jsonl(path: Path, text: str) -> Questions:
    """Questions from JSONL text, one object a line; blank lines are allowed."""
    pairs, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{where}: not valid JSON ({error.msg} at column {error.colno}); "
                            f"write one JSON object per line")
            continue
        try:
            pairs.append(parse_record(record, where, f"q{number}"))
        except QuestionError as error:
            problems.append(str(error))
    _check_ids(pairs, problems)
    if problems:
        _raise_problems(path, problems, len(problems))
    return Questions(pairs, "jsonl")


def read_squad(path: Path, squad: dict, unanswerable: bool = False) -> Questions:
    """Questions from a parsed SQuAD file (v1.1 or v2.0); `is_impossible` ones are counted, and kept
    (as answerable=False) only when `unanswerable` is set."""
    pairs, problems, impossible = [], [], 0
    articles = squad.get("data")
    if not isinstance(articles, list):
        raise QuestionError(f'{path}: "data" must be a list of articles, as in SQuAD files')
    for a, article in enumerate(articles):
        title = article.get("title") if isinstance(article, dict) else None
        for p, paragraph in enumerate(article.get("paragraphs", []) if isinstance(article, dict) else []):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            for q, qa in enumerate(paragraph.get("qas", []) if isinstance(paragraph, dict) else []):
                where = f"{path}:data[{a}].paragraphs[{p}].qas[{q}]"
                if isinstance(qa, dict) and qa.get("is_impossible"):
                    impossible += 1
                    if not unanswerable:
                        continue
                try:
                    record = {**qa, "source": title, "context": context} if isinstance(qa, dict) else qa
                    pairs.append(parse_record(record, where, f"{a}.{p}.{q}"))
                except QuestionError as error:
                    problems.append(str(error))
    _check_ids(pairs, problems)
    if problems:
        _raise_problems(path, problems, len(problems))
    return Questions(pairs, "squad", impossible)


def load_questions(path: Path | str, unanswerable: bool = False) -> Questions:
    """Every question in a JSONL or SQuAD JSON file, in file order; SQuAD 2.0's unanswerable
    questions too when `unanswerable` is set (JSONL files always keep theirs).

    Raises QuestionError naming each bad line (up to five) and what to fix.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise QuestionError(f"{path}: no such file; give a JSONL or SQuAD JSON file of questions") from None
    except UnicodeDecodeError as error:
        raise QuestionError(f"{path}: not UTF-8 text ({error.reason}); save it as UTF-8") from None
    if path.suffix.lower() != ".jsonl" and text.lstrip().startswith("{"):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None  # several objects: JSONL under a .json name
        if isinstance(whole, dict) and "data" in whole:
            questions = read_squad(path, whole, unanswerable)
            if not questions:
                raise QuestionError(f"{path}: no answerable questions in this SQuAD file "
                                    f"({questions.impossible} marked is_impossible)")
            return questions
    questions = read_jsonl(path, text)
    if not questions:
        raise QuestionError(f'{path}: no questions; write one JSON object per line with a "question" field')
    return questions



class Paragraph(NamedTuple):
    id: str
    title: str
    text: str


class SquadData(NamedTuple):
    paragraphs: list[Paragraph]
    pairs: list[QAPair]
    """Answerable questions; `source` is the paragraph id."""
    impossible: int
    articles: int



def load_squad(path: Path, articles: int | None = None) -> SquadData:
    """Paragraphs of the first `articles` articles and their answerable questions, each pointing at
    its paragraph: source "Normans-p0", context the paragraph text."""
    questions = load_questions(path)
    if questions.format != "squad":
        raise QuestionError(f"{path}: not a SQuAD file (no \"data\" list of articles); pass SQuAD v1.1/v2.0 JSON")
    squad = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    chosen = squad["data"][:articles] if articles else squad["data"]
    paragraphs, where = [], {}
    for article in chosen:
        for n, paragraph in enumerate(article.get("paragraphs", [])):
            item = Paragraph(f"{article['title']}-p{n}", article["title"], paragraph["context"])
            paragraphs.append(item)
            where[(item.title, item.text)] = item.id
    pairs = [dataclasses.replace(pair, source=where[(pair.source, pair.context)]) for pair in questions
             if (pair.source, pair.context) in where]
    impossible = sum(qa.get("is_impossible", False) for article in chosen for p in article.get("paragraphs", [])
                     for qa in p.get("qas", []))
    return SquadData(paragraphs, pairs, impossible, len(chosen))



def normalise(text: str) -> str:
    """Case and runs of whitespace ignored: "Port\\n 7431" → "port 7431"."""
    return " ".join(text.split()).casefold()


def _clean_path(path: str) -> str:
    path = normalise(path).replace("\\", "/")
    return path[2:] if path.startswith("./") else path


def source_matches(chunk: Chunk, source: str) -> bool:
    """Whether `source` (a path, file name, name without extension or title) names the chunk's document.

    >>> chunk = Chunk("c1", "docs/guide/install.md", ("Install",), 0, 10, "...")
    >>> [source_matches(chunk, s) for s in ("guide/install.md", "install.md", "install", "Install", "setup.md")]
    [True, True, True, True, False]
    >>> source_matches(Chunk("c2", "squad.jsonl", ("Sky (United Kingdom)",), 0, 10, "..."), "Sky_(United_Kingdom)")
    True
    """
    wanted = _clean_path(source)
    path = PurePosixPath(_clean_path(chunk.source))
    if not wanted:
        return True
    if wanted in (str(path), path.name, path.stem) or str(path).endswith("/" + wanted):
        return True
    # JSON/JSONL records (a SQuAD or BEIR corpus) are named by their title or record id; SQuAD
    # writes Wikipedia titles with underscores ("Sky_(United_Kingdom)"), corpora with spaces.
    title = normalise(chunk.title_path[0]).replace("_", " ") if chunk.title_path else None
    return wanted.replace("_", " ") == title or wanted == normalise(chunk.locator)


__all__ = ["Paragraph", "QAPair", "Questions", "QuestionError", "SquadData", "load_questions", "load_squad", "normalise",
           "parse_record", "source_matches"]
