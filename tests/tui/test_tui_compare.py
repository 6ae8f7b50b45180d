"""The Compare screen: one question side by side in two modes; a question file scored and saved."""

from __future__ import annotations

import json

from textual.widgets import Checkbox, DataTable, Input

from tui.app import make_app
from tui.messages import CompareFinished
from tui.screens.compare import CompareScreen
from tui.widgets.answer_view import AnswerView
from tui.widgets.metrics_chart import chart_series
from tui.widgets.sources_list import SourcesList

from conftest import SIZE, Inbox, screen_text, wait_until


async def test_one_question_answered_side_by_side(tui_config):
    app = make_app(tui_config, start="compare")
    inbox = Inbox(CompareFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [c.value for c in screen.query(Checkbox)] == [True, True, False, False]  # no adapter configured
        box = screen.query_one("#compare-question", Input)
        box.focus()
        box.value = "Which port does Zorblax use?"
        await pilot.press("enter")
        await wait_until(pilot, lambda: inbox.of(CompareFinished), what="the comparison")
        result = inbox.of(CompareFinished)[0].result
        assert [row.mode for row in result.rows] == ["base", "rag"]
        views = {view.heading: view for view in screen.query(AnswerView)}
        assert list(views) == ["base", "rag"]
        for row in result.rows:
            assert views[row.mode].text == row.answer
        assert views["rag"].query_one(SourcesList).option_count == 3
        assert not views["base"].query_one(SourcesList).display
        assert "new tokens" in screen_text(app) and " s · " in screen_text(app)


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
        assert len(result.rows) == 4 and (message.folder / "report.md").is_file()
        table = screen.query_one("#metrics", DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["metric", "base", "rag"]
        labels = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert "F1 (%)" in labels and "retrieval hit rate (%)" in labels
        metrics, values = chart_series(result)
        assert "F1" in metrics and list(values) == ["base", "rag"]
        assert f"saved {message.folder}" in screen_text(app).replace("\n", " ") or "saved" in screen_text(app)
