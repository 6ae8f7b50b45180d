"""Fuzzing: over a thousand hostile inputs to the document loaders, the training-data readers and
the CLI's arguments, generated from a fixed seed. Each must end in a clean error (one line that
names the file, for files) or a recorded skip: never a traceback, never a hang.

`make test` prints how many cases ran (conftest.py's terminal summary).
"""

from __future__ import annotations

import io
import json
import random
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from finetune.data import load_file as load_training_file
from finetune.types import DataError
from index.loaders import UnsupportedFile, load_file
from index.types import LoadError

from builders import minimal_pdf

SEED = 20261203
CASES: dict[str, int] = {}
"""Cases run per area; conftest.py prints the total."""
SECONDS_PER_CASE = 10


@contextmanager
def deadline(seconds: int = SECONDS_PER_CASE):
    """A hang is a failure: SIGALRM interrupts a case that runs past `seconds`."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Title", level=1)
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


SEEDS = {
    ".md": "# Title\n\nSome *text* with a [link](x) and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```py\ncode\n```\n",
    ".txt": "Plain text.\nSecond line.\n",
    ".html": "<html><head><title>T</title></head><body><h1>H</h1><p>Para</p><table><tr><th>a</th></tr>"
             "<tr><td>1</td></tr></table></body></html>",
    ".json": json.dumps([{"id": "a", "title": "T", "text": "hello"}, {"text": "world"}]),
    ".jsonl": '{"text": "one"}\n{"text": "two", "id": 7}\n',
    ".rst": "Title\n=====\n\nText.\n\nSection\n-------\n\nMore.\n",
    ".py": 'def f():\n    """Doc."""\n    return 1\n',
    ".pdf": None,  # filled below from the PDF test's builder
    ".docx": None,
}


def _seed_bytes(suffix: str) -> bytes:
    if suffix == ".pdf":
        return minimal_pdf(["Hello PDF", ""])
    if suffix == ".docx":
        return _docx("Hello DOCX")
    return SEEDS[suffix].encode()


def hostile(rng: random.Random, seed: bytes, suffix: str) -> bytes:
    """One hostile variant of `seed`: truncated, bit-flipped, spliced with bad bytes, deeply nested,
    huge, in another encoding, or pure noise."""
    kind = rng.randrange(12)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2048)))
    if kind == 1:
        return seed[: rng.randrange(len(seed) + 1)]
    if kind == 2:
        data = bytearray(seed)
        for _ in range(rng.randrange(1, 16)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 3:
        cut = rng.randrange(len(seed) + 1)
        return seed[:cut] + rng.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\r", b"\x1b[2J"]) * rng.randrange(1, 64) + seed[cut:]
    if kind == 4:
        depth = rng.choice([100, 1000, 20000])
        opener, closer = {".html": (b"<div>", b"</div>"), ".json": (b"[", b"]"), ".jsonl": (b"[", b"]"),
                          ".md": (b"> ", b""), ".rst": (b"  ", b"")}.get(suffix, (b"(", b")"))
        return opener * depth + b"x" + closer * depth
    if kind == 5:
        return seed * rng.randrange(200, 2000)
    if kind == 6:
        text = seed.decode("utf-8", "replace")
        return rng.choice(["\ufeff" + text, text]).encode(rng.choice(["utf-16-le", "utf-16-be", "utf-32", "latin-1"]),
                                                             "replace")
    if kind == 7:
        return b"x" * rng.randrange(100_000, 400_000)  # one long line, no newline
    if kind == 8:  # numbers past Python's int() limit of 4,300 digits, and past a float's range
        return b'{"text": "big", "n": ' + b"9" * rng.randrange(4000, 6000) + b'}\n{"text": 1e400}\n' + seed
    if kind == 9:
        return rng.choice([b"null", b"[]", b"{}", b'"s"', b"1e999", b"-0", b"true", b'{"text": null}',
                           b'{"text": ["a"]}', b'{"": ""}']) + b"\n" + seed
    if kind == 10:
        lines = seed.split(b"\n")
        rng.shuffle(lines)
        return b"\r\n".join(lines)
    return seed.replace(b"e", rng.choice([b"\xe9", b"\x00e", b"\u2028".decode("unicode_escape").encode(), b"\t"]))


def check_one_line(message: str, names: str | None = None) -> None:
    first = message.split("\n", 1)[0]
    assert first.strip() and len(first) < 600, message[:600]
    if names is not None:
        assert names in first, first


LOADER_CASES = 90


@pytest.mark.parametrize("suffix", list(SEEDS))
def test_document_loaders_fail_cleanly_on_hostile_files(suffix, tmp_path):
    rng = random.Random(f"{SEED}{suffix}")
    seed = _seed_bytes(suffix)
    for case in range(LOADER_CASES):
        path = tmp_path / f"case{case}{suffix}"
        path.write_bytes(hostile(rng, seed, suffix))
        source = f"docs/case{case}{suffix}"
        try:
            with deadline():
                documents = load_file(path, source)
        except UnsupportedFile as err:  # a recorded skip
            check_one_line(str(err))
        except LoadError as err:  # a clean error naming the file
            check_one_line(str(err), names=source)
        else:
            assert all(doc.source == source and isinstance(doc.text, str) for doc in documents)
    CASES["document loaders"] = CASES.get("document loaders", 0) + LOADER_CASES


DATA_SEEDS = {
    ".jsonl": b'{"instruction": "q", "output": "a"}\n{"messages": [{"role": "user", "content": "hi"}, '
              b'{"role": "assistant", "content": "yo"}]}\n',
    ".json": b'[{"instruction": "q", "input": "", "output": "a"}]',
    ".csv": b"instruction,output\nq,a\n\"multi\nline\",b\n",
    ".tsv": b"prompt\tcompletion\nq\ta\n",
    ".txt": b"Some document text.\n\nAnother block.\n",
    ".md": b"# Notes\n\nText to train on.\n",
}
DATA_CASES = 45


@pytest.mark.parametrize("suffix", list(DATA_SEEDS))
def test_training_data_readers_fail_cleanly_on_hostile_files(suffix, tmp_path):
    rng = random.Random(f"{SEED}data{suffix}")
    for case in range(DATA_CASES):
        path = tmp_path / f"data{case}{suffix}"
        path.write_bytes(hostile(rng, DATA_SEEDS[suffix], suffix))
        try:
            with deadline():
                loaded = load_training_file(path)
        except DataError as err:
            check_one_line(str(err), names=str(path))
        else:
            for bad in loaded.bad:  # every bad record names file:line (or file[#item])
                assert str(bad).startswith(str(path)) and "\n" not in str(bad), str(bad)
    CASES["training data readers"] = CASES.get("training data readers", 0) + DATA_CASES


CLEAN_SEEDS = {  # (file name, bytes, --format): the readers added for label data, and personal data to scrub
    "reviews.tsv": ("text\tlabel\nGreat tool\tpositive\n很好用\tpositive\nBroken, call 138 1234 5678\tnegative\n", None),
    "pairs.csv": ("sentence1,sentence2,label\nReset password?,Change password?,similar\n重置密码？,仓库？,different\n", "pair"),
    "ner.txt": ("张 B-PER\n三 I-PER\n去 O\n北 B-LOC\n\nAnn B-PER\nships O\n", "ner"),
    "ner.jsonl": ('{"tokens": ["Ann", "Smith"], "labels": ["B-PER", "I-PER"]}\n', "ner"),
    "translation.tsv": ("source\ttarget\nThe depot opens.\t仓库开门。\nMail ann@x.example.com\t写信\n", "translation"),
    "chat.jsonl": ('{"messages": [{"role": "user", "content": "Port?"}, {"role": "assistant", "content": "7431", '
                   '"weight": 0}, {"role": "user", "content": "Card?"}, {"role": "assistant", "content": '
                   '"4111 1111 1111 1111"}]}\n{"instruction": "q", "output": "a", "history": [["h", "i"]]}\n', None),
    "alpaca.json": ('[{"instruction": "Port?", "output": "7431"}, {"instruction": "port ?", "output": "7431"}, '
                    '{"instruction": "Port?", "output": "8080"}]', None),
    "lines.txt": ("first sample\nsecond sample \u200b\nthird \x1b[31msample\x1b[0m\n", None),
    "notes.md": ("# Notes\n\n<p>Text&nbsp;to train on.</p>\n\nID 11010519491231002X\n", None),
}
CLEAN_CASES = 40


@pytest.mark.parametrize("name", list(CLEAN_SEEDS))
def test_data_clean_fails_cleanly_or_writes_what_it_reads(name, tmp_path):
    """Hostile files through the readers for label data and `data clean`: a one-line error naming
    the file, or an output in the same layout that reads back, already clean, with no more records."""
    from core.errors import UserError
    from finetune.cleaning import CleanConfig, clean_paths
    from finetune.normalize import normalize

    text, fmt = CLEAN_SEEDS[name]
    rng = random.Random(f"{SEED}clean{name}")
    suffix = Path(name).suffix
    for case in range(CLEAN_CASES):
        path = tmp_path / f"case{case}-{name}"
        path.write_bytes(hostile(rng, text.encode(), suffix))
        out = tmp_path / "out" / f"case{case}-{name}"
        try:
            with deadline(30):
                cleaned = clean_paths([path], out, CleanConfig(), format=fmt or "auto")
        except UserError as err:
            check_one_line(str(err), names=str(path))
            continue
        for change in cleaned.result.changes:
            assert str(change).startswith(str(path)) and "\n" not in str(change), str(change)
        if not out.exists():
            continue
        with deadline(30):
            try:
                again = load_training_file(out, fmt or "auto", guess_tasks=True)
            except DataError as err:  # an output left with no records is empty, and says so
                assert not cleaned.result.files[0].records, str(err)
                continue
        written = cleaned.result.files[0]
        if written.kind in ("lines", "blocks"):  # plain text may fall into lines or blocks anew: same words
            assert "".join(e.text for e in again.examples).split() == "".join(r["text"] for r in written.records).split() \
                or " ".join(e.text for e in again.examples).split() == " ".join(r["text"] for r in written.records).split()
        else:
            assert len(again.examples) <= len(written.records) + len(again.bad)
        for record in again.records:
            assert all(normalize(value) == value for value in record.values() if isinstance(value, str)), record
    CASES["data clean"] = CASES.get("data clean", 0) + CLEAN_CASES


NASTY = ["", " ", "-rf", "~root", "a\nb", "x" * 300, "../../etc", "é", "$(id)", "--", "%s", "\x1b[31m", "0",
         "-1", "1e309", "nan", "None", "中文", "a b", "NUL\x00?"]
CLI_CASES = 160


def _cli_args(rng: random.Random, tmp_path: Path) -> list[str]:
    """One hostile command line of a command that fails before any model is loaded."""
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"instruction": "q", "output": "a"}\n[1]\n{"oops"\n')
    word = lambda: rng.choice(NASTY)  # noqa: E731
    commands = [
        lambda: ["index", str(tmp_path / "missing" / word()), "-c", word()],
        lambda: ["index", str(tmp_path), "-c", rng.choice(NASTY[1:10]), "--chunk-tokens", word()],
        lambda: ["index", str(tmp_path), "-c", "ok", "--symlinks", word()],
        lambda: ["search", word(), "-c", word(), "--k", word()],
        lambda: ["search", "q", "-c", "nothing-here", "--mode", word()],
        lambda: ["collections", "rm", word()],
        lambda: ["ask", word(), "--mode", rng.choice(["magic", "rag", "sft", "rag+sft", word()]), "-c", "nothing-here"],
        lambda: ["finetune", "--data", str(junk), "--name", word(), "--base", str(tmp_path / "no-model")],
        lambda: ["finetune", "--data", str(tmp_path / word()), "--lr", word(), "--base", str(tmp_path / "no-model")],
        lambda: ["finetune", "--resume", word()],
        lambda: ["finetune", "--restart", "--data", str(junk)],
        lambda: ["data", "inspect", str(rng.choice([junk, tmp_path / word()])), "--format", word(),
                 "--base", str(tmp_path / "no-model")],
        lambda: ["data", "inspect", str(junk), "--columns", word(), "--preview", word()],
        lambda: ["data", "clean", str(junk), "-o", rng.choice([str(junk), word(), str(tmp_path / "out.csv")]),
                 "--personal", word(), "--near-duplicates", word()],
        lambda: ["data", "clean", str(tmp_path / word()), "-o", str(tmp_path / "o"), "--conflicts", word(),
                 "--min-chars", word()],
        lambda: ["adapters", "rm", word()],
        lambda: ["adapters", "merge", word()],
        lambda: ["eval", "retrieval", "--beir", str(tmp_path / word())],
        lambda: [word(), word()],
    ]
    return rng.choice(commands)()


def test_cli_arguments_fail_cleanly(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    rng = random.Random(f"{SEED}cli")
    for _ in range(CLI_CASES):
        args = _cli_args(rng, tmp_path)
        with deadline(60):
            result = runner.invoke(app, ["--project-dir", str(tmp_path / "project"), *args])
        assert result.exit_code in (1, 2), (args, result.exit_code, result.output[-800:])
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "Traceback" not in result.output, (args, result.output[-800:])
    CASES["CLI arguments"] = CLI_CASES


FOLLOW_UP_CASES = 300
FOLLOW_UP_PIECES = ["it", "its", "that one", "What about", "and", "呢", "那", "它的", "Brewmaster K2", "K3", "E4",
                    "Toastline T4", "清洁宝 X5", "virtualenvs.in-project", "(", ")", "[", "\\", "$", "*+?", "\u200b",
                    "\ud800", "\x1b[2J", "\n", "?", "？", " " * 50, "a-" * 300, "." * 500, "K2" * 200, ""]


def test_follow_up_rewriting_never_fails_and_stays_bounded(tmp_path):
    """Conversations of hostile questions (regex characters, lone surrogates, control codes, long
    runs, names everywhere) through every follow-up method: always a question, never longer than
    the thread it was made from, never a hang."""
    from index.build import build_collection
    from index.followups import FOLLOW_UPS, searched_question
    from index.retriever import open_collection
    from index.store import Collection

    build_collection([Path(__file__).resolve().parent / "fixtures" / "followups"], Collection(tmp_path, "manuals"))
    names = open_collection(tmp_path, "manuals")
    rng = random.Random(SEED)
    for _ in range(FOLLOW_UP_CASES):
        turns = ["".join(rng.choice(FOLLOW_UP_PIECES) + rng.choice(["", " "]) for _ in range(rng.randrange(1, 8)))
                 for _ in range(rng.randrange(1, 6))]
        for method in FOLLOW_UPS:
            with deadline():
                searched = searched_question(turns[-1], turns[:-1], names, method)
            assert searched.text.strip() or not turns[-1].strip()
            assert len(searched.text) <= sum(map(len, turns)) + 40 * len(turns) + 40
    CASES["follow-up questions"] = FOLLOW_UP_CASES * len(FOLLOW_UPS)
