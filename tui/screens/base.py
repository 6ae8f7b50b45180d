"""What every job screen shares: the tabs on top, the footer, and errors shown as notifications."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from ..widgets.nav_tabs import NavTabs


def expected_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message tells the user what to do; anything else also shows its type."""
    from core.errors import UserError

    return (UserError,)


def describe(error: BaseException) -> str:
    """The message of an error as shown to the user: 'no collection named ...'."""
    if isinstance(error, expected_errors()):
        return str(error)
    return f"{type(error).__name__}: {error}"


class JobScreen(Screen):
    """A screen for one job. Subclasses set MODE and write compose_body()."""

    MODE: ClassVar[str] = ""

    def compose(self) -> ComposeResult:
        yield NavTabs(self.MODE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.log.error(event.worker.error)
            self.notify(describe(event.worker.error), title="Error", severity="error", timeout=12)
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker) -> None:
        """Put the screen back in its idle state after `worker` raised (its error is already shown)."""

    def stop_work(self) -> None:
        """Ask this screen's running work to stop soon (the app is quitting): set its stop events."""
