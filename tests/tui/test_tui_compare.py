"""The Compare screen: one question side by side in each mode; sft panes that say why they did not
run; a question file scored and saved; the collection it opens on."""

from __future__ import annotations

import json
import re

from textual.widgets import Checkbox, DataTable, Input, Select

from assistant.config import ChatConfig
from tui.app import make_app
from tui.messages import CompareFinished
from tui.screens.compare import CompareScreen
from tui.widgets.answer_view import AnswerView
from tui.widgets.collection_select import CollectionSelect
from tui.widgets.metrics_chart import chart_series
from tui.widgets.sources_list import SourcesList

from conftest import SIZE, Inbox, make_config, screen_text, wait_until

NEEDS_ADAPTER = 'needs a fine-tuned adapter: choose one in the "no adapter" list above.'


async def ask(pilot, screen, question: str) -> None:
    box = screen.query_one("#compare-question", Input)
    box.focus()
    box.value = question
    await pilot.press("enter")
    await pilot.pause()


async def test_one_question_answered_side_by_side(tui_config):
    app = make_app(tui_config, start="compare")
    inbox = Inbox(CompareFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [c.value for c in screen.query(Checkbox)] == [True] * 4  # every mode, adapter or not
        await ask(pilot, screen, "Which port does Zorblax use?")
        await wait_until(pilot, lambda: inbox.of(CompareFinished), what="the comparison")
        result = inbox.of(CompareFinished)[0].result
        assert [row.mode for row in result.rows] == ["base", "rag"]  # no adapter configured
        views = {view.heading: view for view in screen.query(AnswerView)}
        assert list(views) == ["base", "rag", "sft", "rag+sft"]
        for row in result.rows:
            assert views[row.mode].text == row.answer
        for mode in ("sft", "rag+sft"):
            assert views[mode].query_one(".answer-meta").render().plain == f"{mode} {NEEDS_ADAPTER}"
        rag = next(row for row in result.rows if row.mode == "rag")
        assert views["rag"].query_one(SourcesList).option_count == len(rag.sources) >= 1
        assert views["rag"].query_one(".answer-notes").display  # evidence, or why nothing backs it
        assert not views["base"].query_one(SourcesList).display
        for mode in ("base", "rag"):  # the evidence may push it below the fold of 80×24
            meta = views[mode].query_one(".answer-meta").render().plain
            assert "new tokens" in meta and " s · " in meta


async def test_question_file_shows_the_metrics_table_and_chart_and_saves_the_run(tui_config, tmp_path):
    questions = tmp_path / "qa.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in [
        {"question": "What is the Zorblax default port?", "answer": "7431", "source": "guide.md"},
        {"question": "How many widgets does the Zorblax 3000 drive?", "answer": "64", "source": "guide.md"},
    ]))
    app = make_app(tui_config, start="compare")
    inbox = Inbox(CompareFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        await pilot.click("#--content-tab-file")  # the tab, as a mouse user would
        screen.query_one("#questions-file", Input).value = str(questions)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: inbox.of(CompareFinished), what="the question file")
        message = inbox.of(CompareFinished)[0]
        result = message.result
        assert any("sft and rag+sft need a fine-tuned adapter" in n.message and "Left out of this run" in n.message
                   for n in app._notifications)
        assert len(result.rows) == 4 and (message.folder / "report.md").is_file()
        table = screen.query_one("#metrics", DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["metric", "base", "rag"]
        labels = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert "F1 (%)" in labels and "retrieval hit rate (%)" in labels
        metrics, values = chart_series(result)
        assert "F1" in metrics and list(values) == ["base", "rag"]
        assert f"saved {message.folder}" in screen_text(app).replace("\n", " ") or "saved" in screen_text(app)


async def test_sft_panes_say_why_without_an_adapter_and_answer_once_one_is_chosen(tui_config):
    app = make_app(tui_config, start="compare")
    inbox = Inbox(CompareFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        for mode in ("base", "rag"):
            screen.query_one(f"#use-{mode}", Checkbox).value = False
        await ask(pilot, screen, "Which port does Zorblax use?")
        views = {view.heading: view for view in screen.query(AnswerView)}
        assert list(views) == ["sft", "rag+sft"] and not screen.running and not inbox.of(CompareFinished)
        text = " ".join(screen_text(app).split())
        assert "sft needs a fine-tuned adapter" in text and "rag+sft needs a fine-tuned" in text
        assert "-needs-adapter" in views["sft"].classes

        screen.query_one("#compare-adapter", Select).value = "tuned"
        await pilot.pause()
        await ask(pilot, screen, "Which port does Zorblax use?")
        await wait_until(pilot, lambda: inbox.of(CompareFinished), what="the comparison with an adapter")
        result = inbox.of(CompareFinished)[0].result
        assert [(row.mode, row.adapter.endswith("tuned/adapter")) for row in result.rows] == [("sft", True),
                                                                                              ("rag+sft", True)]
        views = {view.heading: view for view in screen.query(AnswerView)}
        assert "-needs-adapter" not in views["sft"].classes and views["sft"].text == result.rows[0].answer
        assert "needs a fine-tuned adapter" not in screen_text(app)


def test_the_note_tells_how_to_get_an_adapter_when_there_is_none():
    from tui.screens.compare import adapter_note, needs_adapter

    assert needs_adapter(("base", "sft", "rag+sft"), None) == ("sft", "rag+sft")
    assert needs_adapter(("base", "sft"), "tuned") == ()
    assert adapter_note(["sft"], have_adapters=False) == (
        "sft needs a fine-tuned adapter, and none is trained yet: train one in Train (F2) or with "
        "`assistant finetune`, then choose it above.")


async def test_compare_opens_on_the_collection_built_last_unless_the_configured_one_exists(two_collections,
                                                                                         tiny_model_dir):
    for configured, shown in [("default", "zulu"), ("alpha", "alpha")]:
        config = make_config(two_collections, tiny_model_dir)
        config.chat = ChatConfig(collection=configured)
        app = make_app(config, start="compare")
        async with app.run_test(size=SIZE):
            assert app.screen.query_one(CollectionSelect).value == shown, configured


async def test_each_mode_says_where_it_is_and_all_read_in_one_scroll_at_80x24(tui_config):
    """One question in four modes took minutes with only "…" to show; the four narrow columns
    scrolled separately."""
    app = make_app(tui_config, start="compare")
    inbox = Inbox(CompareFinished)
    async with app.run_test(size=(80, 24), message_hook=inbox) as pilot:
        screen = app.screen
        for mode in ("sft", "rag-sft"):  # no adapter chosen: only base and rag run
            screen.query_one(f"#use-{mode}", Checkbox).value = False
        app.generating.acquire()  # hold the model, as a long answer would: the statuses show meanwhile
        await ask(pilot, screen, "Which port does Zorblax use?")
        views = list(screen.query(AnswerView))
        statuses = [str(view.query_one(".answer-meta").content) for view in views]
        app.generating.release()
        # the seconds tick while the model is held: on a loaded machine "1 s" shows as well as "0 s"
        assert re.match(r"answering… \d+ s", statuses[0]) and statuses[1] == "waiting: 2 of 2 left", statuses
        await wait_until(pilot, lambda: inbox.of(CompareFinished), what="the comparison")
        await pilot.pause()
        columns = screen.query_one("#columns")
        assert columns.has_class("-narrow")  # one answer under the other at 80 columns
        assert all(view.parent is columns for view in views)  # no scroll of their own
        assert views[1].region.y > views[0].region.y and views[0].region.width > 60
        assert all("answering" not in str(view.query_one(".answer-meta").content) for view in views)
