"""The Index screen: build over the fixtures (progress, problems), cancel, browse, search."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from index.store import Collection
from tui.app import make_app
from tui.messages import BuildFinished
from tui.reporters import ScreenBuildReporter
from tui.screens import index as index_screen
from tui.screens.chunk import ChunkScreen
from tui.screens.index import IndexScreen

from conftest import DOCS, SIZE, Inbox, screen_text, wait_until


async def test_build_shows_progress_and_lists_skipped_and_unreadable_files(tui_config, tmp_path):
    tui_config.project_dir = tmp_path / "project"
    app = make_app(tui_config, start="index")
    inbox = Inbox(BuildFinished)
    finished = inbox.messages
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        assert isinstance(screen, IndexScreen)
        screen.query_one("#folder", Input).value = str(DOCS)
        screen.query_one("#collection", Input).value = "fresh"
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: finished, what="the build")
        report = finished[0].report
        assert report is not None and report.written and report.chunks > 0
        problems = screen.query_one("#problems", DataTable)
        rows = {problems.get_row_at(i)[0]: problems.get_row_at(i)[1] for i in range(problems.row_count)}
        assert any(name.endswith("broken.txt") and kind == "unreadable" for name, kind in rows.items())
        assert any(name.endswith("logo.png") and kind == "skipped" for name, kind in rows.items())
        text = screen_text(app)
        assert f"Indexed 'fresh': {report.chunks} chunks" in text
        assert f"{report.chunks_embedded}/{report.chunks_embedded} chunks" in text
        assert Collection(tui_config.project_dir, "fresh").exists()
        assert not screen.building and not screen.query_one("#start").disabled


class SlowReporter(ScreenBuildReporter):
    """Holds the build at its first stage until cancel is pressed, as a long build would be."""

    def start(self, stage: str, total: int) -> None:
        self.cancel.wait(30)
        super().start(stage, total)


async def test_cancel_leaves_the_previous_index_as_it_was(tui_config, tmp_path, monkeypatch):
    monkeypatch.setattr(index_screen, "ScreenBuildReporter", SlowReporter)
    before = Collection(tui_config.project_dir, "docs").version_dir()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "new.md").write_text("# New\n\nA brand new page about the Zorblax 4000.\n")
    app = make_app(tui_config, start="index")
    inbox = Inbox(BuildFinished)
    finished = inbox.messages
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        screen.query_one("#folder", Input).value = str(extra)
        screen.query_one("#collection", Input).value = "docs"
        await pilot.press("ctrl+b")
        assert screen.building and "Cancel build" in screen_text(app)  # the footer offers it now
        await pilot.press("escape")
        await wait_until(pilot, lambda: finished, what="the cancelled build")
        assert finished[0].cancelled
        assert "Cancelled; 'docs' is as it was before." in screen_text(app)
    assert Collection(tui_config.project_dir, "docs").version_dir() == before


class HeldBeforeEmbedding(ScreenBuildReporter):
    """Holds the build once the embedder is open, before the first chunk is embedded."""

    def start(self, stage: str, total: int) -> None:
        if stage == "embed":
            self.cancel.wait(30)
        super().start(stage, total)


async def test_the_embeddings_row_says_the_model_is_loading_before_it_starts(tui_config, tmp_path, monkeypatch):
    monkeypatch.setattr(index_screen, "ScreenBuildReporter", HeldBeforeEmbedding)
    app = make_app(tui_config, start="index")
    inbox = Inbox(BuildFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        screen.query_one("#folder", Input).value = str(DOCS)
        screen.query_one("#collection", Input).value = "held"
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: "loading the embedding model…" in screen_text(app), what="the model stage")
        await pilot.press("escape")
        await wait_until(pilot, lambda: inbox.messages, what="the cancelled build")
        assert inbox.messages[0].cancelled


async def test_search_shows_fused_bm25_and_dense_ranks_and_opens_a_chunk(tui_config):
    app = make_app(tui_config, start="index")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.click("#--content-tab-search")  # the tab, as a mouse user would
        await pilot.pause()
        assert screen.query_one("#search-collection", Select).value == "docs"
        query = screen.query_one("#query", Input)
        query.focus()
        await pilot.press(*"zorblax default port", "enter")
        hits = screen.query_one("#hits", DataTable)
        await wait_until(pilot, lambda: hits.row_count > 0, what="search results")
        first = hits.get_row_at(0)
        assert first[0] == "1" and first[2].startswith("#") and first[3].startswith("#")
        assert "fused" in screen_text(app) and "BM25" in screen_text(app) and "dense" in screen_text(app)
        hits.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChunkScreen)
        assert app.screen.chunk == screen.query_one("#hits").hits[0].chunk
        await pilot.press("escape")
        assert app.screen is screen


async def test_browse_lists_documents_and_their_chunks(tui_config):
    app = make_app(tui_config, start="index")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.click("#--content-tab-browse")  # the tab, as a mouse user would
        documents = screen.query_one("#documents", DataTable)
        await wait_until(pilot, lambda: documents.row_count > 0, what="the documents")
        sources = [documents.get_row_at(i)[0] for i in range(documents.row_count)]
        assert "guide.md" in sources and sources[sources.index("logo.png")] == "logo.png"
        assert documents.get_row_at(sources.index("logo.png"))[1] == "skipped"
        assert "tests/fixtures/docs_mixed" in screen_text(app)  # the folder they share, named once
        documents.focus()
        guide = next(i for i, s in enumerate(sources) if s.endswith("guide.md"))
        await pilot.press(*["down"] * guide)
        await pilot.pause()
        assert documents.cursor_row == guide
        chunks = screen.query_one("#chunks", DataTable)
        assert chunks.row_count > 1
        chunks.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChunkScreen) and app.screen.chunk.source.endswith("guide.md")
        assert "Zorblax" in screen_text(app)


async def test_a_missing_folder_is_a_notification_not_a_crash(tui_config, tmp_path):
    app = make_app(tui_config, start="index")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#folder", Input).value = str(tmp_path / "nowhere")
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: not screen.building, what="the failed build")
        assert any("no such file or folder" in n.message for n in app._notifications)
        assert "Build failed" in screen_text(app) and not screen.query_one("#start").disabled


async def test_pick_a_folder_from_the_tree(tui_config, tmp_path, monkeypatch):
    from tui.screens.pick_folder import PickFolderScreen

    (tmp_path / "manuals").mkdir()
    monkeypatch.chdir(tmp_path)
    app = make_app(tui_config, start="index")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, PickFolderScreen)
        await pilot.press("escape")
        assert app.screen is screen and screen.query_one("#folder", Input).value == ""
        await pilot.click("#pick")
        picker = app.screen
        tree = picker.query_one("#tree")
        await wait_until(pilot, lambda: tree.root.children, what="the folder listing")
        tree.focus()
        await pilot.press("down", "enter")  # the first entry: manuals/
        await pilot.click("#choose")
        assert app.screen is screen
        assert screen.query_one("#folder", Input).value == str(tmp_path / "manuals")


async def test_search_at_80_columns_tells_files_apart_and_shows_their_text(tui_config):
    """At 80×24 every row read the same absolute prefix (…/shared/data/docs/textual/blog/posts) and
    the text column was 4 characters wide."""
    app = make_app(tui_config, start="index")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.click("#--content-tab-search")
        await pilot.pause()
        query = screen.query_one("#query", Input)
        query.focus()
        await pilot.press(*"zorblax default port", "enter")
        hits = screen.query_one("#hits", DataTable)
        await wait_until(pilot, lambda: hits.row_count > 1, what="search results")
        rows = [hits.get_row_at(i) for i in range(hits.row_count)]
        assert all(not row[4].startswith("/") and len(row[4]) <= 26 for row in rows), [row[4] for row in rows]
        assert len({row[4] for row in rows}) > 1  # not one shared prefix
        assert hits.columns[list(hits.columns)[-1]].width >= 20
        assert rows[0][5][:12] in screen_text(app)


async def test_browse_and_search_show_the_collection_just_built(tui_config, tmp_path):
    tui_config.project_dir = tmp_path / "project"
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Depot\n\nThe depot opens at 06:30.\n")
    app = make_app(tui_config, start="index")
    inbox = Inbox(BuildFinished)
    async with app.run_test(size=SIZE, message_hook=inbox) as pilot:
        screen = app.screen
        for number, name in enumerate(("alpha", "beta"), start=1):
            screen.query_one("#folder", Input).value = str(folder)
            screen.query_one("#collection", Input).value = name
            await pilot.press("ctrl+b")
            await wait_until(pilot, lambda: len(inbox.messages) == number, what=f"building {name}")
            await pilot.pause()
            assert screen.query_one("#browse-collection", Select).value == name
            assert screen.query_one("#search-collection", Select).value == name
