"""The CLI as a user runs it: real models, a small docs folder, JSON output checked."""

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n\n## Ports\n\nThe Zorblax daemon listens on port 7431.\n")
    (docs / "keys.md").write_text("# Keys\n\nFirmware is signed with the key named amber-falcon.\n")
    return tmp_path


def run(*args):
    result = runner.invoke(app, list(args))
    return result


def test_index_search_json_collections_and_rm(project):
    result = run("index", "docs", "--collection", "kb")
    assert result.exit_code == 0, result.output
    assert "Indexed 'kb'" in result.output
    assert "Loading the embedding model" in result.output and "chunks/s" in result.output

    result = run("search", "which port does the daemon use", "-c", "kb", "--k", "2", "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["source"] == "docs/guide.md"
    assert hits[0]["title_path"] == ["Guide", "Ports"]
    assert "7431" in hits[0]["text"]
    assert set(hits[0]["scores"]) == {"bm25", "dense"}

    result = run("search", "amber-falcon", "-c", "kb", "--mode", "bm25")
    assert result.exit_code == 0 and "docs/keys.md" in result.output

    assert "Up to date" in run("index", "docs", "--collection", "kb").output

    listing = json.loads(run("collections", "--json").stdout)
    assert listing[0]["name"] == "kb" and listing[0]["files"] == 2

    assert run("collections", "rm", "kb").exit_code == 0
    assert json.loads(run("collections", "--json").stdout) == []


def test_errors_are_one_line_with_the_fix(project):
    result = run("search", "anything", "-c", "nope")
    assert result.exit_code == 1
    assert "assistant index PATH --collection nope" in result.output

    result = run("index", "missing-folder")
    assert result.exit_code == 1 and "missing-folder: no such file or folder" in result.output

    result = run("search", "x", "--mode", "psychic")
    assert result.exit_code == 1 and "mode must be one of" in result.output


def test_config_file_sets_defaults(project):
    (project / "assistant.toml").write_text('project_dir = "store"\n[retrieval]\nk = 1\n')
    assert run("index", "docs", "-c", "kb").exit_code == 0
    assert (project / "store" / "collections" / "kb" / "CURRENT").is_file()
    hits = json.loads(run("search", "firmware key", "-c", "kb", "--json").stdout)
    assert len(hits) == 1


def test_eval_retrieval_on_a_tiny_beir_set(project):
    beir = project / "tiny"
    (beir / "qrels").mkdir(parents=True)
    docs = {"d1": "The Zorblax daemon listens on port 7431.", "d2": "Bananas are yellow fruit.",
            "d3": "Firmware is signed with the amber-falcon key."}
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n"
                                              for k, v in docs.items()))
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "what port does the daemon use"}) + "\n"
                                        + json.dumps({"_id": "q2", "text": "which key signs firmware"}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    result = run("eval", "retrieval", "--beir", str(beir), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == {"bm25", "dense", "hybrid"}
    assert metrics["hybrid"]["ndcg@10"] == pytest.approx(1.0)
    assert metrics["bm25"]["mrr@10"] == pytest.approx(1.0)
