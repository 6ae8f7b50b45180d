"""`compare` and the SQuAD experiment end to end: tiny random model, real MiniLM index, fixture questions."""

import json
import threading
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from assistant.answering import Assistant
from assistant.cli import app
from assistant.evaluation.compare import CompareConfig, compare, parse_modes, save_compare
from assistant.evaluation.report import render_table
from assistant.evaluation.results import ExperimentError, experiments_dir, list_experiments, load_compare
from assistant.config import MODES, ChatConfig, Config, GenerationConfig, ModelConfig
from assistant.evaluation.experiment import ExperimentConfig, run_squad_experiment, split_questions
from lm.questions import load_squad
from lm.models import ModelError
from lm.questions import QAPair, load_questions
from index.build import build_collection
from index.store import Collection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "compare"
REPORT_FILES = ("report.md", "results.json", "rows.jsonl", "metrics.png", "manifest.json")
runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, make_lora) -> Path:
    root = tmp_path_factory.mktemp("compare-project")
    build_collection([FIXTURES / "docs"], Collection(root, "kb"))
    make_lora(tiny_model_dir, root / "runs" / "plain" / "adapter", seed=1)
    make_lora(tiny_model_dir, root / "runs" / "raft" / "adapter", seed=2)
    return root


def make_config(project: Path, tiny_model_dir: Path) -> Config:
    return Config(project_dir=project, model=ModelConfig(name=str(tiny_model_dir)),
                  generation=GenerationConfig(max_new_tokens=6, repetition_penalty=1.0),
                  chat=ChatConfig(collection="kb"))


@pytest.fixture(scope="module")
def saved(project, tiny_model_dir):
    """One four-mode run over qa.jsonl, sft and rag+sft on different adapters, saved."""
    questions = FIXTURES / "qa.jsonl"
    settings = CompareConfig(collection="kb", adapter="plain", adapters={"rag+sft": "raft"}, name="four-modes",
                             question_file=str(questions), resamples=200)
    result = compare(load_questions(questions), Assistant(make_config(project, tiny_model_dir)), settings)
    return result, save_compare(result, experiments_dir(project) / result.name)


def test_a_run_saves_every_report_file(saved):
    result, folder = saved
    for name in REPORT_FILES:
        assert (folder / name).is_file(), name
    assert (folder / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]
    assert {(r["id"], r["mode"]) for r in rows} == {(q, m) for q in ("port", "key", "blue") for m in MODES}


def test_every_mode_answers_every_question_and_means_sit_in_their_intervals(saved):
    result, _ = saved
    assert result.modes == MODES and len(result.rows) == 12 and not result.stopped
    for mode in MODES:
        summary = result.summary[mode]
        for key in ("exact_match", "f1", "rouge_l", "length", "latency"):
            ci = summary[key]
            assert ci.low <= ci.mean <= ci.high and ci.n == 3
    # Retrieval metrics exist only where there is retrieval; the fixture's sources are always found.
    assert "hit_rate" not in result.summary["base"] and "hit_rate" not in result.summary["sft"]
    assert result.summary["rag"]["hit_rate"].mean == 1.0
    for row in result.rows:
        retrieved = row.mode in ("rag", "rag+sft")
        assert bool(row.sources) == retrieved and all(s.gold is not None for s in row.sources)
        if not retrieved:
            assert row.metrics["faithfulness"] is None and row.metrics["citation_accuracy"] is None


def test_the_markdown_table_and_the_manifest(saved, project):
    result, folder = saved
    report = (folder / "report.md").read_text()
    assert "| metric | base | rag | sft | rag+sft |" in report
    assert "| F1 (%) |" in report and "| retrieval hit rate (%) |" in report
    assert "Which port does the Zorblax daemon listen on?" in report and "![metrics by mode](metrics.png)" in report
    manifest = json.loads((folder / "manifest.json").read_text())
    adapters = manifest["adapters"]
    assert adapters["sft"].endswith("plain/adapter") and adapters["rag+sft"].endswith("raft/adapter")
    assert manifest["adapters"]["base"] is None and manifest["collection"]["name"] == "kb"
    assert len(manifest["questions"]["sha256"]) == 64 and manifest["questions"]["count"] == 3
    assert manifest["generation"]["max_new_tokens"] == 6 and manifest["seed"] == 0
    assert manifest["versions"]["transformers"]
    assert {r.adapter for r in result.rows if r.mode == "sft"} == {adapters["sft"]}


def test_saved_runs_reload_list_and_compare_against_each_other(saved, project):
    result, _ = saved
    again = load_compare("four-modes", project)
    assert again.summary == result.summary and again.rows == result.rows
    assert [e.name for e in list_experiments(project)][:1] == ["four-modes"]
    console = Console(record=True, width=200)
    render_table(result, console, against=again)
    text = console.export_text()
    assert all(mode in text for mode in MODES) and "(+0.0)" in text
    with pytest.raises(ExperimentError, match="four-modes"):
        load_compare("nope", project)


def test_without_reference_answers_the_answers_are_shown_side_by_side(project, tiny_model_dir):
    questions = load_questions(FIXTURES / "no_answers.jsonl")
    result = compare(questions, Assistant(make_config(project, tiny_model_dir)),
                     CompareConfig(modes=("base", "rag"), collection="kb", name="no-answers"))
    assert not result.has_references and "f1" not in result.summary["rag"] and "latency" in result.summary["rag"]
    folder = save_compare(result, experiments_dir(project) / result.name)
    report = (folder / "report.md").read_text()
    assert "| F1" not in report and "| latency (s) |" in report and "How often do keys rotate?" in report
    console = Console(record=True, width=200)
    render_table(result, console)
    assert "How do I install Zorblax on Linux?" in console.export_text()


def test_one_question_is_cheap_and_a_stop_keeps_what_is_done(project, tiny_model_dir):
    helper = Assistant(make_config(project, tiny_model_dir))
    single = compare([QAPair("Which port?")], helper, CompareConfig(modes=("base", "rag"), collection="kb"))
    assert [r.mode for r in single.rows] == ["base", "rag"] and not experiments_dir(project / "x").exists()
    stop = threading.Event()
    stopped = compare(load_questions(FIXTURES / "qa.jsonl"), helper, CompareConfig(modes="base,rag"),
                      on_progress=lambda progress: stop.set(), stop=stop)
    assert stopped.stopped and len(stopped.rows) == 1


def test_missing_adapter_or_unknown_mode_fails_before_answering(project, tiny_model_dir):
    with pytest.raises(ModelError, match="mode sft needs a fine-tuned adapter: pass --adapter"):
        compare([QAPair("Hi")], Assistant(make_config(project, tiny_model_dir)), CompareConfig(modes=("base", "sft")))
    with pytest.raises(ValueError, match="telepathy"):
        parse_modes("base,telepathy")
    with pytest.raises(ValueError, match="only sft and rag"):
        CompareConfig(adapters={"rag": "x"})


@pytest.fixture
def cli_project(project, tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "assistant.toml").write_text(f'project_dir = "{project}"\n[model]\nname = "{tiny_model_dir}"\n')
    return project


def test_cli_compare_then_experiments_show_side_by_side(cli_project, saved):
    result = runner.invoke(app, ["compare", "-q", str(FIXTURES / "qa.jsonl"), "-c", "kb", "--adapter", "plain",
                                 "--raft-adapter", "raft", "--max-new-tokens", "4", "--limit", "2", "--name", "cli-run",
                                 "--against", "four-modes"])
    assert result.exit_code == 0, result.output
    assert "rag+sft" in result.stdout and "Saved" in result.stdout
    assert all((experiments_dir(cli_project) / "cli-run" / name).is_file() for name in REPORT_FILES)
    listed = runner.invoke(app, ["experiments"])
    assert "cli-run" in listed.stdout and "four-modes" in listed.stdout
    shown = runner.invoke(app, ["experiments", "show", "cli-run", "four-modes"])
    assert shown.exit_code == 0 and "vs four-modes" in shown.stdout
    again = runner.invoke(app, ["compare", "-q", str(FIXTURES / "qa.jsonl"), "--name", "cli-run"])
    assert again.exit_code == 1 and "exists" in again.stderr


def test_cli_bad_question_file_names_file_and_line(cli_project):
    result = runner.invoke(app, ["compare", "-q", str(FIXTURES / "bad.jsonl"), "-c", "kb"])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.stderr and 'no "question"' in result.stderr
    assert runner.invoke(app, ["compare"]).exit_code == 1


def test_squad_loading_points_questions_at_paragraphs_and_splits_by_question():
    data = load_squad(FIXTURES / "squad_tiny.json")
    assert data.articles == 2 and len(data.paragraphs) == 4 and len(data.pairs) == 10 and data.impossible == 1
    assert data.pairs[0].source == "Zorblax-p0" and data.paragraphs[2].id == "Quillon_(river)-p0"
    split = split_questions(data.pairs, 0.3, seed=0)
    assert len(split.test) == 3 and len(split.train) == 7
    assert not {p.id for p in split.test} & {p.id for p in split.train}
    assert split_questions(data.pairs, 0.3, seed=0) == split != split_questions(data.pairs, 0.3, seed=1)
    assert load_squad(FIXTURES / "squad_tiny.json", articles=1).pairs[-1].source == "Zorblax-p1"


def test_squad_experiment_runs_end_to_end_and_reuses_its_training_runs(tmp_path, tiny_model_dir):
    settings = ExperimentConfig(max_steps=2, batch_size=2, lr=1e-2, model=str(tiny_model_dir), max_new_tokens=4,
                                name="tiny")
    outcome = run_squad_experiment(FIXTURES / "squad_tiny.json", tmp_path, settings)
    assert set(outcome.runs) == {"sft", "raft"} and not any(run.reused for run in outcome.runs.values())
    assert {r.mode for r in outcome.result.rows} == set(MODES) and len(outcome.result.rows) == 3 * 4
    assert all((outcome.folder / name).is_file() for name in REPORT_FILES)
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["experiment"]["test_questions"] == 3 and manifest["experiment"]["impossible"] == 1
    assert manifest["adapters"]["sft"] != manifest["adapters"]["rag+sft"]
    assert "answers best" in outcome.verdict and "target" in outcome.verdict
    assert outcome.verdict in (outcome.folder / "report.md").read_text()
    sft_rows = [json.loads(line) for line in (outcome.folder / "sft.jsonl").read_text().splitlines()]
    assert sft_rows[0]["messages"][-1]["role"] == "assistant" and len(sft_rows) == 7
    # the small model's RAFT adapter answers with a quote of the best sentence it was shown
    quotes = [row for row in outcome.result.rows if row.mode == "rag+sft" and not row.abstained]
    assert quotes and all(row.evidence[0]["claim"] in row.evidence[0]["sentence"] for row in quotes)
    raft_run = json.loads((outcome.runs["raft"].path / "run.json").read_text())
    assert raft_run["config"]["max_length"] == 512 and raft_run["config"]["raft_distractors"] == 7

    second = run_squad_experiment(FIXTURES / "squad_tiny.json", tmp_path, settings)
    assert all(run.reused for run in second.runs.values())
    assert {run.name for run in second.runs.values()} == {"tiny-sft", "tiny-raft"}


def scored(f1: dict[str, list[float]]):
    from assistant.evaluation.compare import summarize
    from assistant.evaluation.results import CompareResult, Row

    rows = [Row(f"q{i}", "?", mode, "an answer", ("answer",), None, (), {"f1": value})
            for mode, values in f1.items() for i, value in enumerate(values)]
    return CompareResult(rows, summarize(rows, tuple(f1)), tuple(f1))


def test_the_raft_target_needs_five_points_and_an_interval_above_zero():
    """A quick look of 20 questions said "target met" for +8.3 points whose interval reached −0.2."""
    from assistant.evaluation.experiment import verdict

    clear = scored({"rag": [0.1] * 30, "sft": [0.0] * 30, "rag+sft": [0.3] * 30})
    assert "(≥ 5 points, interval above 0) is met." in verdict(clear)
    noisy = scored({"rag": [0.0] * 10, "sft": [0.0] * 10, "rag+sft": [1.0] + [0.0] * 9})  # +10 points, one question
    assert "is not met (its interval reaches 0)" in verdict(noisy)
    small = scored({"rag": [0.1] * 30, "sft": [0.0] * 30, "rag+sft": [0.12] * 30})
    text = verdict(small)
    assert "is not met." in text and "reaches 0" not in text
