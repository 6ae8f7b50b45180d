"""`data inspect` and `data clean` on the formats users have (tests/fixtures/data_formats, each
format in English and in Chinese) and on dirty data with planted problems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from finetune.cleaning import CleanConfig, clean_files, clean_paths
from finetune.data import load_file
from finetune.inspection import inspect_data
from finetune.writers import write_records
from core.errors import UserError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data_formats"
# file → (format data inspect finds, records, labels, the --format finetune takes or None for auto)
FORMATS = {
    "instructions.json": ("alpaca", 2, {}, None),
    "instructions_zh.json": ("alpaca", 2, {}, None),
    "reviews.tsv": ("classification", 3, {"positive": 2, "negative": 1}, "classification"),
    "reviews_zh.tsv": ("classification", 3, {"positive": 1, "negative": 1, "neutral": 1}, "classification"),
    "pairs.csv": ("pair", 2, {"similar": 1, "different": 1}, "pair"),
    "pairs_zh.csv": ("pair", 2, {"similar": 1, "different": 1}, "pair"),
    "lines.txt": ("text, one per line", 3, {}, None),
    "lines_zh.txt": ("text, one per line", 3, {}, None),
    "notes.md": ("text", 1, {}, None),
    "notes_zh.md": ("text", 1, {}, None),
    "dialogs.jsonl": ("openai", 1, {}, None),
    "dialogs_zh.jsonl": ("openai", 1, {}, None),
    "ner.bio": ("ner", 2, {"PER": 1, "LOC": 1, "ORG": 1}, "ner"),
    "ner_zh.txt": ("ner", 2, {"PER": 2, "LOC": 2}, "ner"),
    "ner.json": ("ner", 1, {"PER": 1, "LOC": 1}, "ner"),
    "ner_zh.jsonl": ("ner", 1, {"PER": 1, "LOC": 1}, "ner"),
    "translation.jsonl": ("translation", 2, {}, "translation"),
    "translation_zh.tsv": ("translation", 2, {}, "translation"),
}


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.mark.parametrize("name", list(FORMATS))
def test_inspect_describes_each_format_and_previews_what_is_trained(name, tokenizer):
    fmt, records, labels, _ = FORMATS[name]
    report = inspect_data([FIXTURES / name], tokenizer=tokenizer, previews=1)[0]
    assert (report.format, report.records, report.labels) == (fmt, records, labels)
    assert report.why and report.bad_count == 0 and not report.findings
    assert ("Han" in report.scripts) == (name.endswith(("_zh.json", "_zh.tsv", "_zh.csv", "_zh.txt", "_zh.md",
                                                         "_zh.jsonl")) or name == "translation.jsonl")
    trained = "".join(text for text, marked in report.preview[0].segments if marked)
    example = load_file(FIXTURES / name, guess_tasks=True).examples[0]
    if example.kind == "chat":  # each answer and its end-of-turn token, nothing of the prompts
        assert trained == "".join(m["content"] + "<|im_end|>" for m in example.messages if m["role"] == "assistant")
    else:  # plain text: every token
        assert trained == example.text + tokenizer.eos_token


@pytest.mark.parametrize("name", [n for n in FORMATS if "_zh" in n])
def test_finetune_trains_each_format_as_its_template_says(name, tiny_model_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    fmt = FORMATS[name][3]
    result = CliRunner().invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data",
                                      str(FIXTURES / name), "--max-steps", "1", "--eval-split", "0", "--name", "run",
                                      *(["--format", fmt] if fmt else [])])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / ".assistant" / "runs" / "run" / "run.json").read_text())
    assert run["data"][0]["format"] == FORMATS[name][0]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


CLEAN = [  # records nothing should touch: real-looking, in both languages, with code and numbers
    {"instruction": "Which port does Zorblax listen on?", "output": "7431"},
    {"instruction": "How do I restart the depot service?", "output": "Run:\n\n```sh\nsudo systemctl restart depot\n```"},
    {"instruction": "What does `poetry lock` do?", "output": "It writes poetry.lock without installing."},
    {"instruction": "仓库几点开门？", "output": "早上六点半（06:30）。"},
    {"instruction": "如何查看版本号？", "output": "运行 `zorblax --version`，输出形如 2.4.1。"},
    {"instruction": "Which release added retries?", "output": "Release 1.8.0, build 20240611."},
    {"instruction": "Where are logs kept?", "output": "In /var/log/zorblax/, rotated daily at 00:00 UTC."},
    {"instruction": "What is the timeout?", "output": "30 seconds; set `timeout = 60` in zorblax.toml to change it."},
    {"instruction": "What does x² mean in the formula?", "output": "x squared, as in E = mc²."},
    {"instruction": "Which HTTP status means rate limited?", "output": "429 Too Many Requests."},
]


def test_clean_finds_every_planted_problem_and_changes_nothing_else(tmp_path):
    planted = [
        ({"instruction": "which port does zorblax listen on？", "output": "7431"}, "duplicate"),
        ({"instruction": "Which port does  Zorblax listen on?", "output": "7431"}, "duplicate"),
        ({"instruction": "Which port does Zor\u200bblax listen on?", "output": "7431"}, "duplicate"),
        ({"instruction": "How do I restart the depot servce?",
          "output": "Run:\n\n```sh\nsudo systemctl restart depot\n```"}, "near duplicate"),
        ({"instruction": "Who is the on-call engineer?", "output": "Ann, ann.lee@corp.example.com"}, "personal data"),
        ({"instruction": "客服电话？", "output": "请拨打 138 1234 5678。"}, "personal data"),
        ({"instruction": "Whose ID is on file?", "output": "身份证号 11010519491231002X"}, "personal data"),
        ({"instruction": "Which card pays the bill?", "output": "Card 4111 1111 1111 1111."}, "personal data"),
        ({"instruction": "What is the support line?", "output": "Call +44 20 7946 0958."}, "personal data"),
        ({"instruction": "Which port does Zorblax listen on?", "output": "8080"}, "conflict"),
        ({"instruction": "Reset \x1b[31mhelp\x1b[0m\r\n", "output": "See <b>reset</b>&nbsp;docs"}, "normalised"),
        ({"instruction": "Eval question: what is the quota?", "output": "100 per day"}, "in eval data"),
    ]
    rows = CLEAN + [row for row, _ in planted]
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    held = write_jsonl(tmp_path / "eval.jsonl", [{"instruction": "Eval question: what is the quota?", "output": "?"}])
    cleaned = clean_paths([path], tmp_path / "out.jsonl", CleanConfig(), eval_paths=[held])
    by_line = {}
    for change in cleaned.result.changes:
        by_line.setdefault(int(change.origin.rsplit(":", 1)[1]), set()).add(change.step)
    for number, (_, step) in enumerate(planted, start=len(CLEAN) + 1):
        assert step in by_line.get(number, set()), (number, step, by_line.get(number))
    # the conflict names both records; nothing else of the clean ones changed
    assert by_line.pop(1) == {"conflict"}
    assert not any(line <= len(CLEAN) for line in by_line), by_line
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert out[: len(CLEAN)] == CLEAN
    scrubbed = {row["instruction"]: row["output"] for row in out}
    assert scrubbed["Who is the on-call engineer?"] == "Ann, <EMAIL>"
    assert scrubbed["客服电话？"] == "请拨打 <PHONE>。"
    assert scrubbed["Whose ID is on file?"] == "身份证号 <ID_NUMBER>"
    assert scrubbed["Which card pays the bill?"] == "Card <BANK_CARD>."
    assert scrubbed["Reset help"] == "See reset docs"
    assert "Eval question: what is the quota?" not in scrubbed
    assert len(out) == len(rows) - 5  # 3 duplicates, 1 near duplicate, 1 in the eval data; conflicts only reported


def test_clean_keeps_each_layout(tmp_path):
    for name in FORMATS:
        source = FIXTURES / name
        out = tmp_path / name
        cleaned = clean_paths([source], out, CleanConfig())
        assert cleaned.written == {str(source): str(out)}
        again, original = load_file(out, guess_tasks=True), load_file(source, guess_tasks=True)
        assert (again.format, again.kind) == (original.format, original.kind)
        assert [e.messages or e.text for e in again.examples] == [e.messages or e.text for e in original.examples]


def test_writers_round_trip_parquet_and_datasets(tmp_path):
    rows = [{"instruction": "端口？", "output": "7431"}, {"instruction": 'Say "hi"', "output": "hi\tthere"}]
    for kind, name in [("parquet", "d.parquet"), ("dataset", "d_dataset"), ("jsonl", "d.jsonl"), ("csv", "d.csv")]:
        path = write_records(tmp_path / name, kind, rows)
        assert load_file(path).records == rows, kind
        report = inspect_data([path])[0]  # a Parquet file and a `datasets` folder are described like the rest
        assert (report.format, report.records, report.scripts["Han"] > 0) == ("alpaca", 2, True), kind
    tsv = write_records(tmp_path / "d.tsv", "tsv", [{"text": '"quoted" start', "label": "a"}, {"text": "b", "label": "c"}])
    assert load_file(tsv, guess_tasks=True).records == [{"text": '"quoted" start', "label": "a"}, {"text": "b", "label": "c"}]


def test_clean_refuses_to_write_over_its_input_and_keeps_the_format(tmp_path):
    path = shutil.copy(FIXTURES / "instructions.json", tmp_path / "data.json")
    before = Path(path).read_bytes()
    with pytest.raises(UserError, match="write over the input"):
        clean_paths([Path(path)], Path(path), CleanConfig())
    with pytest.raises(UserError, match="keeps the input's format"):
        clean_paths([Path(path)], tmp_path / "data.csv", CleanConfig())
    assert Path(path).read_bytes() == before


def test_conflicts_can_be_dropped_and_columns_mapped(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "Port?", "a": "7431"}, {"q": "Port?", "a": "8080"},
                                               {"q": "Depot?", "a": "06:30"}])
    config = CleanConfig(columns={"instruction": "q", "output": "a"}, conflicts="drop")
    result = clean_files([load_file(path, columns=config.columns)], config)
    assert result.files[0].records == [{"q": "Depot?", "a": "06:30"}]
    assert [c.step for c in result.changes] == ["conflict", "conflict"]
    with pytest.raises(UserError, match="conflicts must be report or drop"):
        CleanConfig(conflicts="keep")


def test_inspect_names_what_max_length_cuts_and_what_is_personal(tmp_path, tokenizer):
    """A 1 MB input was left out as `nothing to train on 1` without a name; a 1 MB output was cut
    and lost its end token without a word."""
    path = write_jsonl(tmp_path / "big.jsonl", [
        {"instruction": "Short?", "output": "Yes. Mail ann@corp.example.com"},
        {"instruction": "word " * 200_000, "output": "fine"},
        {"instruction": "Long answer?", "output": "word " * 200_000}])
    report = inspect_data([path], tokenizer=tokenizer, max_length=256)[0]
    assert report.tokens.cut == (f"{path}:2", f"{path}:3") and report.tokens.over == pytest.approx(0.667, abs=0.001)
    assert report.personal == {"EMAIL": 1}
    from finetune.tokenize import summarize, tokenize_all

    examples = load_file(path).examples
    summary = summarize(examples, tokenize_all(examples, tokenizer, 256), 256)
    assert summary.examples_at["nothing to train on"] == (f"{path}:2", f"{path}:3")
    assert summary.examples_at["answers cut"] == (f"{path}:3",)


def test_long_text_is_split_into_blocks_not_cut(tmp_path, tokenizer):
    from finetune.tokenize import IGNORE, tokenize_all

    path = tmp_path / "book.txt"
    path.write_text("\n\n".join(f"Paragraph {n} says the depot opens at 0{n % 10}:30 every day." for n in range(400)))
    examples = load_file(path).examples
    blocks = tokenize_all(examples, tokenizer, 128)
    assert len(blocks) > len(examples) and all(len(b.input_ids) <= 128 for b in blocks)
    trained = [t for b in blocks for t, label in zip(b.input_ids, b.labels) if label != IGNORE]
    every = [t for e in examples for t in tokenizer(e.text)["input_ids"]]
    assert len(trained) >= len(every)  # every token of every text is learned once (plus end tokens)


def test_finetune_clean_removes_all_eight_eval_records_from_training(tiny_model_dir, tmp_path, monkeypatch):
    """8 of 8 records shared by the training and eval files were trained on without a word."""
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    shared = [{"instruction": f"Which dock serves route {n}?", "output": f"Dock {n + 3}"} for n in range(8)]
    own = [{"instruction": f"Who drives the {w} van?", "output": w.title()} for w in ("red", "blue", "green", "gold")]
    write_jsonl(tmp_path / "train.jsonl", own + shared)
    write_jsonl(tmp_path / "eval.jsonl", shared)
    runner = CliRunner()
    result = runner.invoke(app, ["finetune", "--lora", "--base", str(tiny_model_dir), "--data", "train.jsonl",
                                 "--eval-data", "eval.jsonl", "--clean", "--max-steps", "1", "--name", "clean"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.output.splitlines()
            if line.count("│") == 3}
    assert rows["cleaned: in eval data"] == "8" and rows["records"] == "4", rows


def test_data_commands_as_a_user_runs_them(tiny_model_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    write_jsonl(tmp_path / "qa.jsonl", [{"q": "Port?", "a": "7431"}, {"q": "port ?", "a": "7431"},
                                        {"q": "Mail?", "a": "ann@corp.example.com"}])
    runner = CliRunner()
    inspected = runner.invoke(app, ["data", "inspect", "qa.jsonl", "--columns", "instruction=q,output=a",
                                    "--base", str(tiny_model_dir), "--json"])
    assert inspected.exit_code == 0, inspected.output
    report = json.loads(inspected.output)[0]
    assert report["format"] == "alpaca" and report["findings"]["duplicate"]["count"] == 1
    assert report["personal"] == {"EMAIL": 1} and report["preview"][0]["segments"][-2] == ["7431<|im_end|>", True]
    shown = runner.invoke(app, ["data", "inspect", "qa.jsonl", "--columns", "instruction=q,output=a",
                                "--base", str(tiny_model_dir)])
    assert "«7431<|im_end|>»" in shown.output and "qa.jsonl:2: duplicate of qa.jsonl:1" in shown.output
    cleaned = runner.invoke(app, ["data", "clean", "qa.jsonl", "-o", "out", "--columns", "instruction=q,output=a",
                                  "--report", "changes.jsonl"])
    assert cleaned.exit_code == 0, cleaned.output
    assert "kept 2, removed 1" in cleaned.output and "personal data 1" in cleaned.output
    assert [json.loads(line) for line in (tmp_path / "out" / "qa.jsonl").read_text().splitlines()] == \
        [{"q": "Port?", "a": "7431"}, {"q": "Mail?", "a": "<EMAIL>"}]
    assert len((tmp_path / "changes.jsonl").read_text().splitlines()) == 2
    bad = runner.invoke(app, ["data", "clean", "qa.jsonl", "-o", "qa.jsonl"])
    assert bad.exit_code == 1 and "write over the input" in bad.output and "Traceback" not in bad.output


def test_one_sample_per_line_is_detected_or_chosen(tmp_path):
    wrapped = tmp_path / "wrapped.txt"  # looks like one wrapped paragraph, but each line is a sample
    wrapped.write_text("Zorblax listens on port 7431 and it reloads\nconfiguration on SIGHUP when it is asked\n"
                       "to by the operator of the depot service\n")
    assert len(load_file(wrapped).examples) == 1
    chosen = load_file(wrapped, "lines")
    assert [e.origin for e in chosen.examples] == [f"{wrapped}:1", f"{wrapped}:2", f"{wrapped}:3"]
    assert chosen.why.startswith("chosen with --format lines")
    lines = FIXTURES / "lines.txt"
    assert len(load_file(lines).examples) == 3 and len(load_file(lines, "text").examples) == 1
    with pytest.raises(UserError, match="--format lines is for plain-text files"):
        load_file(FIXTURES / "dialogs.jsonl", "lines")


def test_a_short_run_logs_enough_points_for_a_loss_curve(tmp_path):
    """A short run (12 steps, logging every 5) showed one evaluation point and no training curve."""
    from finetune.config import TrainConfig
    from finetune.train import sft_arguments

    short = sft_arguments(TrainConfig(max_steps=12), tmp_path, "cpu", has_eval=False)
    long = sft_arguments(TrainConfig(max_steps=500), tmp_path, "cpu", has_eval=False)
    epochs = sft_arguments(TrainConfig(), tmp_path, "cpu", has_eval=False)
    assert (short.logging_steps, long.logging_steps, epochs.logging_steps) == (1, 5, 5)
