"""The Chat screen: streamed answers in two modes, sources that open, history, errors as notices."""

from __future__ import annotations

from textual.widgets import Input, Select

from assistant.config import ChatConfig
from tui.app import make_app
from tui.messages import AnswerFinished, AnswerToken
from tui.screens.chat import ChatScreen
from tui.screens.chunk import ChunkScreen
from tui.widgets.answer_view import AnswerView
from tui.widgets.collection_select import CollectionSelect
from tui.widgets.sources_list import SourcesList

from conftest import SIZE, Inbox, make_config, screen_text, wait_until


async def ask(pilot, screen, question: str) -> None:
    box = screen.query_one("#question", Input)
    box.focus()
    box.value = question
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.answering is None, what=f"the answer to {question!r}")


async def test_two_modes_stream_answers_and_rag_sources_open_their_chunk(tui_config):
    app = make_app(tui_config, start="chat")
    inbox = Inbox(AnswerToken, AnswerFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        screen.query_one("#mode", Select).value = "base"
        await pilot.pause()
        await ask(pilot, screen, "Hello there?")
        base = inbox.of(AnswerFinished)[0].answer
        assert base.mode == "base" and base.sources == ()
        assert "".join(t.text for t in inbox.of(AnswerToken)).strip() == base.text.strip()

        screen.query_one("#mode", Select).value = "rag"
        await pilot.pause()
        await ask(pilot, screen, "What is the Zorblax default port?")
        rag = inbox.of(AnswerFinished)[1].answer
        assert rag.mode == "rag" and rag.collection == "docs" and 1 <= len(rag.sources) <= 3
        history = [turn.question for turn in screen.session.history]
        assert history == ["Hello there?", "What is the Zorblax default port?"]

        views = list(screen.query(AnswerView))
        assert [v.heading for v in views] == ["base", "rag"]
        text = screen_text(app)
        assert "collection docs" in text and "new tokens" in text, text
        sources = views[1].query_one(SourcesList)
        assert sources.option_count == len(rag.sources) and sources.display
        assert not views[0].query_one(SourcesList).display
        # Grounding's lines (evidence, or a warning that nothing backs the random model's words)
        assert views[1].query_one(".answer-notes").display and not views[0].query_one(".answer-notes").display
        sources.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChunkScreen) and app.screen.chunk == rag.sources[0].chunk
        await pilot.press("escape")

        await pilot.press("ctrl+n")
        assert screen.session.history == [] and not list(screen.query(AnswerView))


async def test_sft_answers_with_the_picked_adapter_and_errors_are_notified(tui_config):
    app = make_app(tui_config, start="chat")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#mode", Select).value = "sft"
        await pilot.pause()
        await ask(pilot, screen, "Hi?")
        assert any("needs a fine-tuned adapter" in n.message for n in app._notifications)
        assert "-failed" in screen.query(AnswerView).last().classes  # shown, not crashed

        screen.query_one("#chat-adapter", Select).value = "tuned"
        await pilot.pause()
        await ask(pilot, screen, "Hi again?")
        answer = screen.session.last
        assert answer.mode == "sft" and answer.adapter.endswith("tuned/adapter")
        assert "adapter tuned" in screen_text(app)


async def test_chat_opens_on_the_collection_built_last_when_the_configured_one_is_missing(two_collections,
                                                                                        tiny_model_dir):
    config = make_config(two_collections, tiny_model_dir)
    config.chat = ChatConfig(collection="default", mode="rag")  # the default name; no such collection
    app = make_app(config, start="chat")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert screen.query_one(CollectionSelect).value == "zulu"
        await ask(pilot, screen, "What is the Zorblax default port?")
        assert screen.session.last.collection == "zulu"


async def test_chat_keeps_a_configured_collection_that_exists(two_collections, tiny_model_dir):
    config = make_config(two_collections, tiny_model_dir)
    config.chat = ChatConfig(collection="alpha")
    app = make_app(config, start="chat")
    async with app.run_test(size=SIZE):
        assert app.screen.query_one(CollectionSelect).value == "alpha"


async def test_a_passage_with_a_code_block_is_shown_as_markdown(tui_config):
    """The guide's lead-in and its shell block come back as the answer: the Chat shows the block as
    a code block (a fence widget), not as text with backticks."""
    from textual.widgets._markdown import MarkdownFence

    app = make_app(tui_config, start="chat")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#mode", Select).value = "rag"
        await pilot.pause()
        await ask(pilot, screen, "How do I install and start the zorblaxd daemon on Linux?")
        answer = screen.session.last
        assert answer.style == "extract" and "```sh" in answer.text and "systemctl enable" in answer.text
        fences = list(screen.query(AnswerView).last().query(MarkdownFence))
        assert fences and "systemctl enable --now zorblaxd" in fences[0].code
        assert "```" not in screen_text(app)


async def test_a_follow_up_shows_the_question_that_was_searched_above_its_answer(tmp_path, tiny_model_dir):
    import dataclasses

    from textual.widgets import Label

    from index.build import build_collection
    from index.store import Collection

    from conftest import FIXTURES

    build_collection([FIXTURES / "followups"], Collection(tmp_path, "manuals"))
    config = make_config(tmp_path, tiny_model_dir)
    config = dataclasses.replace(config, chat=ChatConfig(collection="manuals"))
    app = make_app(config, start="chat")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await ask(pilot, screen, "How long is the warranty on the Toastline T4?")
        await ask(pilot, screen, "How often should I clean it?")
        first, second = screen.query(AnswerView)
        assert not first.query_one(".answer-searched", Label).display
        label = second.query_one(".answer-searched", Label)
        assert label.display and "searched: How often should I clean the Toastline T4?" in screen_text(app)
        assert "2 weeks" in screen.session.last.text


async def test_compare_opens_on_the_collection_chosen_in_chat(two_collections, tiny_model_dir):
    """Compare opened on another collection than the one Chat was asking."""
    config = make_config(two_collections, tiny_model_dir)
    app = make_app(config, start="chat")
    async with app.run_test(size=SIZE) as pilot:
        chat = app.screen
        assert chat.query_one(CollectionSelect).value == "zulu"  # the most recent
        chat.query_one(CollectionSelect).value = "alpha"
        await pilot.pause()
        await pilot.press("f4")
        await pilot.pause()
        assert app.screen.query_one(CollectionSelect).value == "alpha"
        app.screen.query_one(CollectionSelect).value = "zulu"
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        assert app.screen is chat and chat.query_one(CollectionSelect).value == "zulu"
