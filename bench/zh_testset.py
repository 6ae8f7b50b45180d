"""The Chinese test set: Markdown docs + questions → a BEIR folder with one passage per section.

    python -m bench.zh_testset      # rewrite bench/data/zh-tech/{corpus,queries}.jsonl, qrels/test.tsv

A question names its expected passage by file and a distinctive substring of it
(`{"file": "docker.md", "passage": "docker system prune"}`), so it survives edits and any
chunking: the relevant corpus record is the Markdown section (heading path + body) holding
that substring, which must lie in exactly one section of the file.

    >>> passages_of("d.md", "# T\\n\\n## A\\n\\nalpha\\n\\n## B\\n\\nbeta\\n")
    [Passage(id='d#1', file='d.md', title='T > A', text='alpha'), Passage(id='d#2', file='d.md', title='T > B', text='beta')]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from core.files import atomic_write_text
from index.loaders.common import sections_from_headings
from index.loaders.markdown import find_headings

FOLDER = Path(__file__).resolve().parent / "data" / "zh-tech"


class Passage(NamedTuple):
    id: str  # "<file stem>#<section number>"
    file: str
    title: str  # heading path, "Docker 容器入门 > 清理磁盘空间"
    text: str  # the section's body, heading line left out


class Question(NamedTuple):
    id: str
    text: str
    file: str
    passage: str  # a substring of the expected passage
    kind: str  # "zh" (Chinese only), "mixed" (Chinese with English terms), "zh-hant" (Traditional)
    style: str  # "plain" (the passage's own terms are likely), "reworded" (synonyms, symptoms, few shared words)


def passages_of(file: str, text: str) -> list[Passage]:
    """The sections of one Markdown file that have a body, numbered in file order from 0."""
    out = []
    for number, section in enumerate(sections_from_headings(text, find_headings(text))):
        body = text[section.start : section.end]
        if section.title_path:  # drop the heading line itself
            body = body.split("\n", 1)[1] if "\n" in body else ""
        if body.strip():
            out.append(Passage(f"{Path(file).stem}#{number}", file, " > ".join(section.title_path), body.strip()))
    return out


def load_passages(folder: Path = FOLDER) -> list[Passage]:
    return [p for path in sorted((folder / "docs").glob("*.md"))
            for p in passages_of(path.name, path.read_text(encoding="utf-8"))]


def load_questions(folder: Path = FOLDER) -> list[Question]:
    with open(folder / "questions.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [Question(r["id"], r["question"], r["file"], r["passage"], r["kind"], r["style"]) for r in rows]


def expected_passage(question: Question, passages: list[Passage]) -> Passage:
    """The one passage of question.file that holds question.passage; ValueError otherwise."""
    found = [p for p in passages if p.file == question.file and question.passage in p.text]
    if len(found) != 1:
        raise ValueError(f"{question.id}: {question.passage!r} is in {len(found)} sections of {question.file}, "
                         "not exactly one; pick a more distinctive substring")
    return found[0]


def beir_files(folder: Path = FOLDER) -> dict[str, str]:
    """{relative path: content} of the BEIR folder built from folder's docs and questions."""
    passages, questions = load_passages(folder), load_questions(folder)
    corpus = [json.dumps({"_id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) for p in passages]
    queries = [json.dumps({"_id": q.id, "text": q.text, "kind": q.kind, "style": q.style}, ensure_ascii=False) for q in questions]
    qrels = ["query-id\tcorpus-id\tscore"]
    qrels += [f"{q.id}\t{expected_passage(q, passages).id}\t1" for q in questions]
    return {"corpus.jsonl": "\n".join(corpus) + "\n", "queries.jsonl": "\n".join(queries) + "\n",
            "qrels/test.tsv": "\n".join(qrels) + "\n"}


def main() -> None:
    for name, content in beir_files().items():
        (FOLDER / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(FOLDER / name, content)
    print(f"{FOLDER}: {len(load_passages())} passages, {len(load_questions())} questions")


if __name__ == "__main__":
    main()
