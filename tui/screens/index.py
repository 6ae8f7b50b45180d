"""Index: build a collection from a folder (with live progress and cancel), browse it, search it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, Select, TabbedContent, TabPane

from ..messages import BuildFinished, BuildProblem, BuildProgress, CollectionLoaded, SearchFinished
from ..reporters import BuildCancelled, ScreenBuildReporter
from ..widgets.build_progress import BuildProgressView
from ..widgets.collection_select import CollectionSelect
from ..widgets.hits_table import HitsTable
from .base import JobScreen
from .chunk import ChunkScreen
from .pick_folder import PickFolderScreen


def build_summary(report) -> str:
    """One line about a finished build, like `assistant index` prints."""
    if not report.written:
        return (f"Up to date: {report.collection!r} has {report.chunks} chunks from {report.unchanged} "
                f"unchanged files.")
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds else 0
    return (f"Indexed {report.collection!r}: {report.chunks} chunks from {report.files} files "
            f"({report.new_or_changed} new/changed, {report.unchanged} unchanged, {report.removed} removed, "
            f"{len(report.skipped)} skipped, {len(report.failed)} unreadable); embedded "
            f"{report.chunks_embedded} chunks at {rate:,.0f}/s; {report.seconds:.1f} s in all.")


def common_folder(sources: list[str]) -> str:
    """The folder all `sources` share, to show shorter names: ['d/a.md', 'd/e/b.md'] → 'd'."""
    try:
        folder = os.path.commonpath(sources) if sources else ""
    except ValueError:  # absolute and relative paths mixed
        return ""
    return "" if folder in sources or folder == "." else folder


class IndexScreen(JobScreen):
    MODE = "index"
    BINDINGS = [
        Binding("ctrl+b", "build", "Build"),
        Binding("escape", "cancel", "Cancel build"),
        Binding("ctrl+o", "pick_folder", "Pick folder"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cancel_build = threading.Event()
        self.building = False
        self.retrievers: dict[str, object] = {}
        self.browsed: tuple[dict, list] = ({}, [])
        """(manifest, chunks) of the collection shown under Browse."""

    @property
    def project_dir(self) -> Path:
        return Path(self.app.config.project_dir)

    def compose_body(self) -> ComposeResult:
        with TabbedContent(id="index-tabs"):
            with TabPane("Build", id="build"):
                with Horizontal(classes="form-row"):
                    yield Label("Folder", classes="field")
                    yield Input(placeholder="folder or file to index", id="folder", compact=True)
                    yield Button("Browse…", id="pick", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("Collection", classes="field")
                    yield Input(self.app.config.chat.collection, id="collection", compact=True)
                    yield Button("Build", id="start", variant="primary", compact=True)
                    yield Button("Cancel", id="cancel", variant="error", compact=True, disabled=True)
                yield BuildProgressView()
                yield Label("Pick a folder, name the collection, then Build (ctrl+b).", id="build-status",
                            markup=False)
                yield DataTable(id="problems", cursor_type="row", zebra_stripes=True)
            with TabPane("Browse", id="browse"):
                with Horizontal(classes="form-row"):
                    yield CollectionSelect(self.project_dir, id="browse-collection", compact=True)
                    yield Label("", id="browse-summary", markup=False)
                with Horizontal(id="browse-tables"):
                    yield DataTable(id="documents", cursor_type="row")
                    yield DataTable(id="chunks", cursor_type="row")
            with TabPane("Search", id="search"):
                with Horizontal(classes="form-row"):
                    yield Input(placeholder="search query (enter)", id="query", compact=True)
                    yield CollectionSelect(self.project_dir, id="search-collection", compact=True)
                yield HitsTable(id="hits")

    def on_mount(self) -> None:
        self.query_one("#problems", DataTable).add_columns("file", "problem", "reason")
        self.query_one("#documents", DataTable).add_columns("document", "chunks")
        self.query_one("#chunks", DataTable).add_columns("#", "section", "text")
        self.query_one("#folder", Input).focus()

    def on_screen_resume(self) -> None:
        for select in self.query(CollectionSelect):
            select.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.building
        if action == "build":
            return not self.building or None
        return True

    # ------------------------------------------------------------------ build

    def _set_building(self, on: bool) -> None:
        self.building = on
        self.query_one("#start", Button).disabled = on
        self.query_one("#cancel", Button).disabled = not on
        self.refresh_bindings()

    def action_build(self) -> None:
        folder = self.query_one("#folder", Input).value.strip()
        name = self.query_one("#collection", Input).value.strip()
        if self.building:
            return
        if not folder or not name:
            self.notify("Type the folder to index and a collection name first.", severity="warning")
            return
        self.query_one("#problems", DataTable).clear()
        self.query_one(BuildProgressView).reset()
        self.query_one("#build-status", Label).update(f"Building {name!r} from {folder} …")
        self.cancel_build.clear()
        self._set_building(True)
        self.run_build([Path(folder).expanduser()], name)

    def action_cancel(self) -> None:
        if self.building:
            self.cancel_build.set()
            self.query_one("#build-status", Label).update("Cancelling …")

    @work(thread=True, exclusive=True, group="build", exit_on_error=False)
    def run_build(self, paths: list[Path], name: str) -> None:
        from index.build import build_collection
        from index.store import Collection

        reporter = ScreenBuildReporter(self, self.cancel_build)
        try:
            report = build_collection(paths, Collection(self.project_dir, name), self.app.config.index, reporter)
        except BuildCancelled:
            self.post_message(BuildFinished(name, cancelled=True))
            return
        self.post_message(BuildFinished(name, report))

    def on_build_progress(self, event: BuildProgress) -> None:
        self.query_one(BuildProgressView).show(event.stage, event.done, event.total, event.rate)

    def on_build_problem(self, event: BuildProblem) -> None:
        reason = event.reason.removeprefix(f"{event.source}: ")
        self.query_one("#problems", DataTable).add_row(event.source, "unreadable" if event.failed else "skipped",
                                                       reason)

    def on_build_finished(self, event: BuildFinished) -> None:
        self._set_building(False)
        status = self.query_one("#build-status", Label)
        if event.cancelled:
            status.update(f"Cancelled; {event.collection!r} is as it was before.")
            self.notify("Build cancelled.", severity="warning")
            return
        status.update(build_summary(event.report))
        self.retrievers.pop(event.collection, None)
        browsing = self.query_one("#browse-collection", CollectionSelect).name_or_none
        for select in self.query(CollectionSelect):
            select.reload(choose=event.collection)  # Browse and Search show what was just built
        if self.browsed[1] and browsing == event.collection:
            self.load_collection(event.collection)  # rebuilt while on show: its Changed did not fire
        self.notify(f"Collection {event.collection!r} is ready.", title="Index")

    def stop_work(self) -> None:
        self.cancel_build.set()

    def worker_failed(self, worker) -> None:
        if worker.group == "build":
            self._set_building(False)
            self.query_one("#build-status", Label).update("Build failed (see the notification).")

    # ------------------------------------------------------------------ pick a folder

    def action_pick_folder(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one("#folder", Input).value = str(path)

        self.app.push_screen(PickFolderScreen(Path.cwd()), chosen)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        actions = {"pick": self.action_pick_folder, "start": self.action_build, "cancel": self.action_cancel}
        if event.button.id in actions:
            actions[event.button.id]()

    @on(Input.Submitted, "#folder, #collection")
    def submitted(self) -> None:
        self.action_build()

    # ------------------------------------------------------------------ browse

    @on(Select.Changed, "#browse-collection")
    def browse_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.load_collection(str(event.value))

    @on(TabbedContent.TabActivated, "#index-tabs")
    def tab_changed(self, event: TabbedContent.TabActivated) -> None:
        select = self.query_one("#browse-collection", CollectionSelect)
        if event.pane.id == "browse" and select.name_or_none and not self.browsed[1]:
            self.load_collection(select.name_or_none)

    @work(thread=True, exclusive=True, group="browse", exit_on_error=False)
    def load_collection(self, name: str) -> None:
        from index import store

        collection = store.Collection(self.project_dir, name)
        manifest = collection.manifest()
        chunks = store.read_chunks(collection.version_dir() / store.CHUNKS)
        self.post_message(CollectionLoaded(name, manifest, chunks))

    def on_collection_loaded(self, event: CollectionLoaded) -> None:
        self.browsed = (event.manifest, event.chunks)
        m = event.manifest
        records = {**m.problems, **m.files}
        folder = common_folder([r["source"] for r in records.values()])
        self.query_one("#browse-summary", Label).update(
            f"{len(m.files)} files · {m.chunks} chunks · {Path(m.embedder).name}"
            + (f" · in {folder}" if folder else ""))
        documents = self.query_one("#documents", DataTable)
        documents.clear()
        for key, record in sorted(records.items(), key=lambda item: item[1]["source"]):
            chunks = str(record["chunks"]) if key in m.files else "unreadable" if record["failed"] else "skipped"
            documents.add_row(record["source"][len(folder):].lstrip("/") if folder else record["source"], chunks,
                              key=key)
        self.query_one("#chunks", DataTable).clear()

    @on(DataTable.RowHighlighted, "#documents")
    def document_highlighted(self, event: DataTable.RowHighlighted) -> None:
        manifest, chunks = self.browsed
        record = manifest.files.get(event.row_key.value)
        table = self.query_one("#chunks", DataTable)
        table.clear()
        if record is None:
            reason = manifest.problems.get(event.row_key.value, {}).get("reason", "")
            table.add_row("", "not indexed", reason)
            return
        for row in range(record["first_row"], record["first_row"] + record["chunks"]):
            chunk = chunks[row]
            table.add_row(str(row), chunk.heading() or "–", " ".join(chunk.text.split())[:80], key=str(row))

    @on(DataTable.RowSelected, "#chunks")
    def chunk_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None and event.row_key.value.isdigit():
            row = int(event.row_key.value)
            self.app.push_screen(ChunkScreen(self.browsed[1][row], title=f"Chunk {row}"))

    # ------------------------------------------------------------------ search

    @on(Input.Submitted, "#query")
    def search_submitted(self, event: Input.Submitted) -> None:
        name = self.query_one("#search-collection", CollectionSelect).name_or_none
        if not event.value.strip():
            return
        if name is None:
            self.notify("No collection to search yet: build one under Build.", severity="warning")
            return
        self.run_search(event.value.strip(), name)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def run_search(self, query: str, name: str) -> None:
        from index.retriever import open_collection

        if name not in self.retrievers:
            self.retrievers[name] = open_collection(self.project_dir, name)
        hits = self.retrievers[name].search(query, self.app.config.retrieval)
        self.post_message(SearchFinished(query, hits))

    def on_search_finished(self, event: SearchFinished) -> None:
        self.query_one(HitsTable).show(event.hits)
        if not event.hits:
            self.notify(f"No results for {event.query!r}.")

    @on(DataTable.RowSelected, "#hits")
    def hit_selected(self, event: DataTable.RowSelected) -> None:
        hits = self.query_one(HitsTable).hits
        if 0 <= event.cursor_row < len(hits):
            hit = hits[event.cursor_row]
            self.app.push_screen(ChunkScreen(hit.chunk, title=f"#{event.cursor_row + 1} · score {hit.score:.4f}"))
