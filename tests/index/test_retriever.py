"""Search behaviour beyond the basics: fusion choice, reranking, JSON shape."""

import re

import pytest

import index.retriever

from index.build import build_collection
from index.config import IndexConfig, RetrievalConfig
from index.embedder import load_tokenizer
from index.retriever import Retriever
from index.names import mention_pattern
from index.store import ChunkFile, Collection

DOCS = {
    f"doc{i}.md": f"# Topic {i}\n\nThis page is about subject number {i}. " + ("filler words here. " * i)
    for i in range(12)
}
DOCS["special.md"] = ("# Special\n\nThe flux capacitor needs 1.21 gigawatts, says the Chief\nFinancial Officer "
                      "of Tool-Integrated Reasoning Labs; the chief technical officer is away.\n")
DOCS["deploy.md"] = ("# Deploy\n\n## Start\n\nOne card is enough.\n\n### From the command line\n\n"
                     "```bash\nrun-the-server --port 8000\n```\n\n## Stop\n\nPress Ctrl-C to stop.\n")
DOCS["Gemma3.5-4B-vLLM.md"] = ("# Gemma3.5-4B vLLM\n\nThinking mode: vllm serve returns the thinking in reasoning_content; "
                               "thinking mode is on by default, and reasoning_content holds the thinking.\n")
DOCS["Gemma3-27B-vLLM.md"] = ("# Gemma3-27B vLLM\n\nStart vllm serve with --enable-reasoning for reasoning_content. "
                              + "Downloading the weights takes a while on a slow line. " * 12 + "\n")
DOCS["cli.md"] = ("# Commands\n\n## build\n\nBuild the version of the package.\n\n### Options\n\n"
                  "* `--output`: the folder for the version built, printed only when the version is built.\n\n"
                  "## version\n\nShows the project's version.\n\n### Options\n\n* `--short (-s)`: Output the "
                  "number only.\n\n## `env use`\n\nPick the interpreter.\n\n## **`__init__`**\n\nThe constructor.\n")
DOCS["zh.md"] = "# 部署\n\n下载 qwen/Qwen-1_8B-Chat 模型，可以用6G显存轻松训练。\n"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    root = tmp_path_factory.mktemp("ret")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    collection = Collection(root / "project", "c")
    build_collection([docs], collection)
    return Retriever.open(collection)


def test_a_name_is_mentioned_beside_chinese_text_and_with_other_separators_but_not_inside_a_longer_name(retriever):
    assert retriever.mentions("6G") and retriever.mentions("Qwen-1.8B-Chat") and retriever.mentions("1.21")
    assert not retriever.mentions("Qwen-1.8B-Int4") and not retriever.mentions("1.2") and not retriever.mentions("8B")


def test_a_name_is_looked_for_in_the_chunks_holding_its_words_and_found_as_a_scan_of_every_chunk_finds_it(retriever):
    written = {word for text in DOCS.values() for word in re.findall(r"[\w.\-]*\d[\w.\-]*", text)}
    variants = {form for word in written for form in (word, word.upper(), word.replace("-", "_"), word.replace(
        ".", "-"), word[:-1], f"{word}7", f"v{word}")}
    for word in sorted(variants - {""}):
        assert retriever.mentions(word) == retriever._any_chunk(mention_pattern(word)), word


@pytest.mark.parametrize("cjk", ["unigram+bigram", "bigram"])
def test_a_name_beside_a_character_that_changes_its_terms_is_still_found(tmp_path, cjk):
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {"GPT-4": "Runs on GPT-4™ only.", "5": "整机重量5㎏，面积100㎡。", "Kimi-K2": "Notes on Kımı-K2.",
             "ΑΣ-2": "Το μοντέλο ας-2.", "İstanbul-2": "Office istanbul-2 opens.", "Qwen-8e": "Qwen-8e\u0301 ships.",
             "S24폰": "갤럭시S24폰이 나왔다.", "No-5": "Chanel №5."}
    for number, text in enumerate(texts.values()):
        (docs / f"d{number}.md").write_text(f"# Doc {number}\n\n{text}\n" + "Filler words about nothing. " * 5)
    (docs / "other.md").write_text("# Other\n\nGPT-5 and version 4 and istanbul and chanel.\n")
    collection = Collection(tmp_path / "project", "c")
    build_collection([docs], collection, IndexConfig(cjk=cjk))
    found = Retriever.open(collection)
    for name in texts:
        assert found.mentions(name) == found._any_chunk(mention_pattern(name)), name


def test_a_mapped_collection_reads_only_the_chunks_holding_a_names_words(retriever, monkeypatch):
    mapped = Retriever.open(retriever.collection, mmap=True)
    parsed = []
    read_row = ChunkFile._row
    monkeypatch.setattr(ChunkFile, "_row", lambda self, i: parsed.append(i) or read_row(self, i))
    assert mapped.mentions("Qwen-1.8B-Chat") and not mapped.mentions("Qwen-1.8B-Int4") and not mapped.mentions("T-1000")
    assert len(parsed) <= 2 < len(mapped.chunks)  # the Chinese page, once for each name it holds words of


def test_acronyms_spelled_out_and_titles_are_found_at_build_time_and_else_in_one_pass_over_the_chunks(retriever,
                                                                                                       monkeypatch):
    parsed = []
    read_row = ChunkFile._row
    monkeypatch.setattr(ChunkFile, "_row", lambda self, i: parsed.append(i) or read_row(self, i))
    asked = [("CFO", True), ("IRL", True), ("CTO", False), ("TIR", False)]
    mapped = Retriever.open(retriever.collection, mmap=True)
    assert [mapped.mentions(word) for word, _ in asked] == [found for _, found in asked]
    assert mapped.titled("Gemma3-27B") and not mapped.titled("Gemma3-12B") and not parsed  # store.NAMES
    assert mapped.names is not None
    older = Retriever.open(retriever.collection, mmap=True)
    older.names = None  # as a collection built before builds wrote it
    assert [older.mentions(word) for word, _ in asked] == [found for _, found in asked]
    assert older.titled("Gemma3-27B") and not older.titled("Gemma3-12B") and len(parsed) == 2 * len(older.chunks)


def test_a_name_asked_of_again_reads_no_chunk_and_a_retriever_remembers_a_bounded_number(retriever, monkeypatch):
    mapped = Retriever.open(retriever.collection, mmap=True)
    parsed = []
    read_row = ChunkFile._row
    monkeypatch.setattr(ChunkFile, "_row", lambda self, i: parsed.append(i) or read_row(self, i))
    assert not mapped.mentions("Chat-Qwen-1.8B") and parsed  # the Chinese page holds its words
    parsed.clear()
    assert not mapped.mentions("Chat-Qwen-1.8B") and not parsed  # the next turn of a chat asks again
    monkeypatch.setattr(index.retriever, "REMEMBERED", 2)
    for word in ("ABC", "DEF", "GHI"):
        mapped.mentions(word)
    assert len(mapped._mentioned) <= 2


def test_the_files_a_name_titles_give_their_best_chunks_even_when_look_alikes_outrank_them(retriever):
    query = "How do I get the thinking in reasoning_content from Gemma3-27B with vllm serve?"
    assert retriever.search(query, mode="bm25", k=1)[0].chunk.source.endswith("Gemma3.5-4B-vLLM.md")
    named = retriever.in_files_named(query, ["Gemma3-27B"], 2)
    assert [hit.chunk.source.rsplit("/", 1)[-1] for hit in named] == ["Gemma3-27B-vLLM.md"]
    assert named[0].ranks == {"named": 1} and named[0].row is not None
    assert retriever.in_files_named(query, ["Gemma3-12B"], 2) == []  # no file carries it: nothing


def test_the_sections_a_command_written_as_code_titles_give_their_best_chunks(retriever):
    query = "Which option of `poetry version` prints only the version number?"
    assert not retriever.search(query, mode="bm25", k=1)[0].chunk.title_path[1:2] == ("version",)
    titled = retriever.in_sections_titled(query, ["poetry version", "version"], 1)
    assert [hit.chunk.title_path for hit in titled] == [("Commands", "version", "Options")]
    assert titled[0].ranks == {"titled": 1} and "--short" in titled[0].chunk.text
    # a heading written as code (or bold code) is read as its text; no heading reads as the title: nothing
    assert retriever.in_sections_titled("interpreter", ["env use"], 2)[0].chunk.title_path == ("Commands", "`env use`")
    assert retriever.in_sections_titled("constructor", ["__init__"], 1)[0].chunk.title_path[-1] == "**`__init__`**"
    assert retriever.in_sections_titled(query, ["poetry publish", "publish"], 2) == []


def test_a_section_ends_at_the_next_section_of_its_document_its_own_subsection_or_not(retriever):
    def hit(text):
        return next(h for h in retriever.search(text, mode="bm25", k=20) if text in h.chunk.text)

    before, after = retriever.neighbours(hit("One card is enough."))
    assert before is None and after.title_path == ("Deploy", "Start", "From the command line")
    before, after = retriever.neighbours(hit("run-the-server --port 8000"))
    assert before is None and after.title_path == ("Deploy", "Stop")  # not below it: the next step
    assert retriever.neighbours(hit("Press Ctrl-C to stop.")) == (None, None)  # the document ends


def test_weighted_fusion_and_rrf_agree_on_an_easy_query(retriever):
    for fusion in ("rrf", "weighted", "minmax", "zscore", "dbsf"):
        hits = retriever.search("flux capacitor gigawatts", RetrievalConfig(fusion=fusion, k=3))
        assert hits[0].chunk.source.endswith("special.md")
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("fusion", ["minmax", "zscore", "dbsf"])
def test_normalised_fusion_uses_both_exact_scores_for_every_candidate(retriever, fusion):
    """With 3 candidates per retriever most chunks are found by one of them only; each fused
    score must still be the weighted sum over BM25's and the dense index's real scores."""
    from index.fusion import NORMALISERS

    query = "subject number 7 filler"
    config = RetrievalConfig(fusion=fusion, k=3, candidates=3, dense_weight=0.3)
    hits = retriever.search(query, config)
    bm25_all = retriever.sparse.scores(retriever.terms.split(query))
    vector = retriever.embedder.encode_query(query)
    union = sorted({h for mode in ("bm25", "dense")
                    for h in (c.chunk.id for c in retriever.search(query, mode=mode, k=3))})
    rows = [next(i for i, c in enumerate(retriever.chunks) if c.id == cid) for cid in union]
    normalise = NORMALISERS[fusion]
    bm25 = dict(zip(rows, normalise([float(bm25_all[r]) for r in rows])))
    dense = dict(zip(rows, normalise(list(retriever.dense.scores_for(vector, rows)))))
    assert len(hits) == 3 and len(rows) > 3  # some candidates come from one retriever only
    for hit in hits:
        row = retriever.chunks.index(hit.chunk)
        assert hit.score == pytest.approx(0.7 * bm25[row] + 0.3 * dense[row], abs=1e-5)
    assert hits[0].chunk.source.endswith("doc7.md")


def test_k_limits_results_and_ranks_are_reported_per_retriever(retriever):
    hits = retriever.search("subject number", k=4)
    assert len(hits) == 4
    for hit in hits:
        assert set(hit.ranks) <= {"bm25", "dense"} and hit.ranks
        assert set(hit.ranks) == set(hit.scores)


def test_dense_only_and_bm25_only_report_one_retriever(retriever):
    assert set(retriever.search("gigawatts", mode="bm25", k=1)[0].ranks) == {"bm25"}
    assert set(retriever.search("gigawatts", mode="dense", k=1)[0].ranks) == {"dense"}


def test_json_shape_has_full_text_and_scores(retriever):
    row = retriever.search("flux capacitor", k=1)[0].to_json()
    assert {"id", "source", "title_path", "text", "score", "ranks", "scores", "start", "end"} <= set(row)
    assert "1.21 gigawatts" in row["text"]


def test_cross_encoder_reranker_reorders_the_fused_candidates(retriever, tmp_path):
    # A tiny randomly initialised cross-encoder: checks the mechanics, not its judgement.
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = load_tokenizer("all-MiniLM-L6-v2")
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(tmp_path / "ce")
    tokenizer.save_pretrained(tmp_path / "ce")

    plain = retriever.search("subject number", RetrievalConfig(k=5, rerank_top=5))
    reranked = retriever.search("subject number", RetrievalConfig(k=5, rerank_top=5, reranker=str(tmp_path / "ce")))
    assert {h.chunk.id for h in reranked} == {h.chunk.id for h in plain}
    assert [h.ranks["rerank"] for h in reranked] == [1, 2, 3, 4, 5]
    assert [h.score for h in reranked] == sorted((h.score for h in reranked), reverse=True)
    assert all(h.scores["rerank"] == h.score for h in reranked)
