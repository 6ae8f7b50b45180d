"""RAFT data over a real (small) collection: oracle, distractors, citations, reproducibility."""

import json
import re

import pytest

from lm.prompts import build_messages
from assistant.answering.citations import parse_citations
from lm.questions import QAPair
from lm.questions import source_matches
from finetune.raft import (RaftAsking, RaftConfig, build_raft, find_oracle, pick_distractors,
                           write_examples_jsonl)
from index.build import build_collection
from index.retriever import Retriever
from index.store import Collection
from index.types import Chunk

DOCS = {
    "install.md": "# Install\n\nRun the installer as root.\n\n"
                  "## Network\n\nThe Zorblax daemon listens on port 7431 by default.\n\n"
                  "## Linux\n\nUse the tarball and the systemd unit named zorblaxd.service.\n",
    "security.md": "# Security\n\nFirmware is signed with the key named amber-falcon.\n\n"
                   "## Updates\n\nSecurity updates ship every 6 weeks through the Zorblax channel.\n",
    "hardware.md": "# Hardware\n\n## Lights\n\nThe blue light means the controller is pairing.\n\n"
                   "## Battery\n\nThe Zorblax battery lasts 19 hours on a charge.\n\n"
                   "## Weight\n\nThe controller weighs 340 grams.\n",
    "support/warranty.md": "# Warranty\n\nThe Zorblax warranty lasts 5 years from purchase.\n\n"
                           "## Claims\n\nSend claims to the depot in Tallinn.\n",
    "support/faq.md": "# FAQ\n\n## Reset\n\nHold the reset button for 12 seconds to restore factory settings.\n\n"
                      "## Colour\n\nZorblax comes in a colour called glacier teal.\n",
}

PAIRS = [
    QAPair("Which port does the Zorblax daemon listen on?", ("port 7431",), "install.md", id="port"),
    QAPair("What key signs the firmware?", ("amber-falcon",), "security.md", id="key"),
    QAPair("What does the blue light mean?", ("the controller is  PAIRING",), id="light"),
    QAPair("How long does the battery last?", ("19 hours",), "hardware", id="battery"),
    QAPair("How heavy is the controller?", ("340 grams",), id="weight"),
    QAPair("How long is the warranty?", ("5 years",), "support/warranty.md", id="warranty"),
    QAPair("Where do warranty claims go?", ("Tallinn",), "warranty.md", id="claims"),
    QAPair("How do I restore factory settings?", ("12 seconds",), id="reset"),
    QAPair("What colour is Zorblax?", ("glacier teal",), "FAQ", id="colour"),  # a title
    QAPair("How often do security updates ship?", ("every 6 weeks",), id="updates"),
    QAPair("What is the systemd unit called?", ("zorblaxd.service",), id="unit"),
    QAPair("Who makes Zorblax?", ("Acme Corp",), id="maker"),  # in no document
    QAPair("Which port?", ("7431",), "security.md", id="wrong-source"),  # answer is not in that file
    QAPair("Is it nice?", (), id="no-answer"),
]
PAIRS = [QAPair(p.question, p.answers, p.source, p.context, p.id, origin=p.id) for p in PAIRS]
FOUND = 11
BY_ORIGIN = {p.origin: p for p in PAIRS}

SOURCE = re.compile(r'<source id="(\d+)" file="([^"]*)"(?: section="[^"]*")?>\n(.*?)\n</source>', re.DOTALL)


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    root = tmp_path_factory.mktemp("raft")
    for name, text in DOCS.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    collection = Collection(root / "project", "zorblax")
    build_collection([root / "docs"], collection)
    return Retriever.open(collection)


@pytest.fixture(scope="module")
def data(retriever):
    return build_raft(PAIRS, retriever, RaftConfig(distractors=3, oracle_share=0.8, candidates=10))


def prompt_chunks(example, retriever) -> list[Chunk]:
    """The chunks a training prompt shows, in order, looked up in the collection by file and text."""
    by_content = {(c.source, c.text.strip()): c for c in retriever.chunks}
    user = example.messages[1]["content"]
    blocks = SOURCE.findall(user)
    assert [int(n) for n, _, _ in blocks] == list(range(1, len(blocks) + 1))
    return [by_content[(file, text)] for _, file, text in blocks]


def oracle_of(pair, retriever):
    return find_oracle(pair, retriever.search(pair.question, k=10), retriever)


def test_stats_count_found_missing_and_unanswered(data):
    assert data.stats.no_answer == 1 and data.stats.no_oracle == 2
    assert data.stats.with_oracle + data.stats.without_oracle == FOUND == len(data.examples)
    assert data.stats.with_oracle == round(0.8 * FOUND)
    assert [r.origin for r in data.skipped] == ["maker", "wrong-source", "no-answer"]
    assert any("'Acme Corp'" in r.reason for r in data.skipped)
    assert any("in 'security.md'" in r.reason for r in data.skipped)


def test_oracle_holds_the_answer_in_the_named_source(retriever):
    for pair in PAIRS[:11]:
        oracle = oracle_of(pair, retriever)
        assert oracle is not None, pair.id
        assert " ".join(pair.answers[0].split()).lower() in " ".join(oracle.text.split()).lower()
        if pair.source:
            assert source_matches(oracle, pair.source)
    assert oracle_of(PAIRS[0], retriever).source.endswith("install.md")


def test_citation_points_at_the_oracle_and_distractors_are_other_chunks(data, retriever):
    with_oracle = 0
    for example in data.examples:
        pair = BY_ORIGIN[example.origin]
        assert [m["role"] for m in example.messages] == ["system", "user", "assistant"]
        chunks = prompt_chunks(example, retriever)
        oracle = oracle_of(pair, retriever)
        answer = example.messages[-1]["content"]
        assert answer.startswith(pair.answers[0])
        assert len({c.id for c in chunks}) == len(chunks)  # no chunk twice
        if oracle in chunks:
            with_oracle += 1
            assert len(chunks) == 4
            assert parse_citations(answer, len(chunks)) == [chunks.index(oracle) + 1]
            assert answer == f"{pair.answers[0]} [{chunks.index(oracle) + 1}]"
        else:
            assert len(chunks) == 3 and answer == pair.answers[0]  # gold answer, nothing to cite
    assert with_oracle == data.stats.with_oracle


def test_oracle_positions_vary(data, retriever):
    positions = set()
    for example in data.examples:
        cited = re.search(r"\[(\d+)\]$", example.messages[-1]["content"])
        if cited:
            positions.add(int(cited.group(1)))
    assert len(positions) >= 2  # not always first: the model must find it


def test_prompts_are_exactly_the_inference_prompts(data, retriever):
    assert [e.origin for e in data.examples] == [p.id for p in PAIRS[:FOUND]]
    for example in data.examples:
        pair = BY_ORIGIN[example.origin]
        expected = build_messages(pair.question, prompt_chunks(example, retriever))
        assert list(example.messages[:-1]) == expected


def test_same_seed_same_examples_other_seed_differs(data, retriever):
    again = build_raft(PAIRS, retriever, RaftConfig(distractors=3, oracle_share=0.8, candidates=10))
    assert again.examples == data.examples and again.stats == data.stats
    other = build_raft(PAIRS, retriever, RaftConfig(distractors=3, oracle_share=0.8, candidates=10, seed=7))
    assert other.examples != data.examples


def test_share_one_always_includes_and_cite_false_drops_citations(retriever):
    pairs = PAIRS[:4]
    always = build_raft(pairs, retriever, RaftConfig(oracle_share=1.0, distractors=2, candidates=10))
    assert always.stats.with_oracle == 4 and always.stats.without_oracle == 0
    uncited = build_raft(pairs, retriever, RaftConfig(oracle_share=1.0, distractors=2, candidates=10, cite=False))
    assert [e.messages[-1]["content"] for e in uncited.examples] == [p.answers[0] for p in pairs]


def test_system_prompt_is_passed_through(retriever):
    data = build_raft(PAIRS[:1], retriever, RaftConfig(system_prompt="You are Zorblax support."))
    assert data.examples[0].messages[0]["content"].startswith("You are Zorblax support.")


def test_oracle_not_retrieved_is_found_in_the_collection(retriever):
    pair = QAPair("unrelated words", ("glacier teal",))
    oracle = find_oracle(pair, [], retriever)
    assert oracle is not None and oracle.source.endswith("faq.md")


def test_context_picks_the_passage_among_chunks_with_the_answer(retriever):
    # "Zorblax" is in many chunks; the context says which one the question was written from.
    pair = QAPair("Which product?", ("Zorblax",), context="The Zorblax battery lasts 19 hours on a charge.")
    assert "19 hours" in find_oracle(pair, retriever.search("Zorblax", k=10), retriever).text
    assert find_oracle(QAPair("Which product?", ()), [], retriever) is None


def test_distractors_skip_the_oracle_and_chunks_overlapping_it():
    def chunk(id, start, end, source="a.md"):
        return Chunk(id, source, (), start, end, f"text {id}")

    from index.types import Hit

    oracle = chunk("o", 100, 200)
    hits = [Hit(c, 1.0) for c in (chunk("o", 100, 200), chunk("n", 180, 260), chunk("x", 0, 100),
                                  chunk("y", 150, 250, "b.md"), chunk("z", 300, 400))]
    assert [c.id for c in pick_distractors(hits, oracle, 2)] == ["x", "y"]


def test_source_matching():
    chunk = Chunk("c", "docs/support/warranty.md", ("Warranty", "Claims"), 0, 1, "t", locator="")
    assert all(source_matches(chunk, s) for s in ("docs/support/warranty.md", "support/warranty.md",
                                                  "warranty.md", "WARRANTY", "./support/warranty.md"))
    assert not any(source_matches(chunk, s) for s in ("port/warranty.md", "Claims", "faq.md"))
    record = Chunk("c", "corpus.jsonl", ("Normans",), 0, 1, "t", locator="Normans_0")
    assert source_matches(record, "Normans") and source_matches(record, "Normans_0")
    sky = Chunk("c", "corpus.jsonl", ("Sky (United Kingdom)",), 0, 1, "t", locator="Sky_0")
    assert source_matches(sky, "Sky_(United_Kingdom)")  # SQuAD's spelling of the title


def test_written_jsonl_reads_back(data, tmp_path):
    path = write_examples_jsonl(data.examples, tmp_path / "out" / "raft.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == len(data.examples)
    assert [tuple(r["messages"]) for r in rows] == [e.messages for e in data.examples]
    assert not [p for p in path.parent.iterdir() if p != path]  # no temp file left behind


@pytest.mark.parametrize("kwargs, message", [
    ({"distractors": -1}, "distractors must be 0 or more"),
    ({"oracle_share": 1.5}, "oracle_share must be between 0 and 1"),
    ({"distractors": 0}, "no sources"),
    ({"distractors": 5, "candidates": 5}, "must be more than distractors"),
])
def test_config_checks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RaftConfig(**kwargs)


def test_a_follow_up_is_searched_and_asked_as_chat_searches_it(tmp_path):
    """A question with earlier turns ("history") gets the question `assistant chat` would search:
    the retrieved oracle and the prompt are about the subject of the conversation."""
    from pathlib import Path

    from lm.questions import parse_record

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "followups"
    collection = Collection(tmp_path, "manuals")
    build_collection([fixtures], collection)
    record = {"question": "How often should I clean it?", "answer": "every 2 weeks",
              "history": [["How long is the warranty on the Toastline T4?", "18 months."]]}
    pair = parse_record(record, "q.jsonl:1", "q1")
    assert pair.history == ("How long is the warranty on the Toastline T4?",)
    data = build_raft([pair], Retriever.open(collection), RaftConfig(oracle_share=1.0, distractors=2))
    prompt = data.examples[0].messages[-2]["content"]
    assert "How often should I clean the Toastline T4?" in prompt
    assert "toastline-t4.md" in prompt and data.stats.with_oracle == 1
    with pytest.raises(Exception, match='"history" must be a list of earlier questions'):
        parse_record({**record, "history": "oops"}, "q.jsonl:2", "q2")


def rules(question, earlier):
    """Follow-ups searched as typed: the prompts of these tests ask single questions."""
    return question


def first_sentences(question, chunks):
    """A prompt that shows each chunk's first sentence only, as a small model's prompt shows a few sentences."""
    shown = [chunk.text.split(". ")[0] for chunk in chunks]
    return [{"role": "user", "content": question + "\n" + "\n".join(shown)}], shown


def test_with_a_prompt_of_sentences_each_example_holds_the_oracle_and_answers_what_is_shown(retriever):
    pairs = [BY_ORIGIN[name] for name in ("port", "key", "battery", "warranty")]
    data = build_raft(pairs, retriever, RaftConfig(distractors=2, oracle_share=0.5, candidates=10),
                      asking=RaftAsking(rules, first_sentences))
    assert data.stats.with_oracle == len(data.examples) == 4 and data.stats.without_oracle == 0
    for example in data.examples:
        pair = BY_ORIGIN[example.origin]
        *prompt, reply = example.messages
        assert prompt[0]["content"].startswith(pair.question)
        assert reply["content"] == pair.answers[0] and pair.answers[0] in prompt[0]["content"]  # uncited: a quote

    def hiding(question, chunks):  # the answer is never among the sentences shown
        return [{"role": "user", "content": question}], ["nothing here"]

    hidden = build_raft(pairs, retriever, RaftConfig(distractors=2, candidates=10), asking=RaftAsking(rules, hiding))
    assert not hidden.examples and hidden.stats.not_shown == 4
    assert {r.reason for r in hidden.skipped} == {"the sentences the prompt shows hold none of its answers"}


def test_a_resumed_raft_run_writes_its_examples_in_the_prompt_its_own_settings_ask_for(tiny_model_dir, tmp_path):
    """`finetune --resume RUN` carries no --raft flag: the prompt must come from the run's settings."""
    import json
    import threading

    from finetune.config import TrainConfig
    from finetune.train import TrainHooks, train

    for name, text in DOCS.items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text)
    build_collection([tmp_path / "docs"], Collection(tmp_path / "project", "kb"))
    questions = tmp_path / "qa.jsonl"
    questions.write_text("".join(json.dumps({"question": p.question, "answer": p.answers[0]}) + "\n"
                                 for p in PAIRS[:8]))
    asked = []

    def prompt_for(run):
        asked.append((run.raft, run.collection, run.base))
        return RaftAsking(rules, first_sentences)

    stop = threading.Event()
    config = TrainConfig(base=str(tiny_model_dir), method="lora", data=[str(questions)], raft=True, collection="kb",
                         raft_distractors=2, max_steps=4, batch_size=2, eval_split=0, save_steps=1, max_length=128)
    first = train(config, tmp_path / "project", stop=stop, hooks=TrainHooks(
        on_step=lambda step, total, loss: stop.set(), raft_asking_for=prompt_for))
    assert first.status == "stopped"
    second = train(TrainConfig(), tmp_path / "project", resume=first.run_dir,
                   hooks=TrainHooks(raft_asking_for=prompt_for))
    assert second.status == "finished" and asked == [(True, "kb", str(tiny_model_dir))] * 2
