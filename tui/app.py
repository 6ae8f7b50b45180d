"""The Textual app: a thin shell over four job screens, built by `make_app(config)`.

    app = make_app(load_config())
    app.run()

`assistant tui` and the tests build it the same way. The app holds what the screens share: the
config and one `Assistant` (so a model loaded for Chat serves Compare too).
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from assistant.config import Config

from .messages import ModelProgress
from .screens.chat import ChatScreen
from .screens.compare import CompareScreen
from .screens.index import IndexScreen
from .screens.train import TrainScreen

THEMES = ("textual-dark", "textual-light")


class AssistantApp(App):
    """Index, train, chat and compare: one screen (mode) each, switched with F1 … F4 or the tabs."""

    CSS_PATH = "app.tcss"
    TITLE = "assistant"
    MODES = {"index": IndexScreen, "train": TrainScreen, "chat": ChatScreen, "compare": CompareScreen}
    BINDINGS = [
        Binding("f1", "switch_mode('index')", "Index", show=False),
        Binding("f2", "switch_mode('train')", "Train", show=False),
        Binding("f3", "switch_mode('chat')", "Chat", show=False),
        Binding("f4", "switch_mode('compare')", "Compare", show=False),
        Binding("ctrl+t", "toggle_theme", "Light/dark"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, config: Config, start: str = "index", theme: str = "textual-dark") -> None:
        super().__init__()
        self.config = config
        self.start_screen = start
        self.theme = theme
        self.generating = threading.Lock()
        """Held while a model generates: Chat and Compare share one model."""
        self._assistant = None
        self.collection: str | None = None
        """The collection last chosen on Chat or Compare: both screens show it."""

    def on_mount(self) -> None:
        self.sub_title = str(self.config.project_dir)
        self.switch_mode(self.start_screen)

    @property
    def assistant(self):
        """The shared `assistant.answering.Assistant`; it loads models on first use (in a worker)."""
        if self._assistant is None:
            from assistant.answering import Assistant

            self._assistant = Assistant(self.config, progress=lambda text: self.post_message(ModelProgress(text)))
        return self._assistant

    def on_model_progress(self, event: ModelProgress) -> None:
        self.notify(event.text, title="Model", timeout=4)

    async def action_quit(self) -> None:
        """Stop running work first: Python waits for worker threads, so a build is cancelled, training
        saves a checkpoint and an answer ends, instead of the app hanging until they finish."""
        for worker in self.workers:
            stop = getattr(worker.node, "stop_work", None)
            if stop is not None:
                stop()
        self.exit()

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]


def default_start(config: Config) -> str:
    """Chat when a collection exists to chat with, else Index to build one."""
    from index.store import list_collections

    return "chat" if list_collections(Path(config.project_dir)) else "index"


def make_app(config: Config, start: str | None = None, theme: str = "textual-dark") -> AssistantApp:
    """The app for `config`, opening on screen `start` (index, train, chat or compare)."""
    if start is not None and start not in AssistantApp.MODES:
        raise ValueError(f"screen must be one of {', '.join(AssistantApp.MODES)}, not {start!r}")
    return AssistantApp(config, start or default_start(config), theme)
