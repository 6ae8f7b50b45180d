"""`assistant tui`: registered on the CLI through the `assistant.commands` entry point, so the
CLI (a lower layer) never imports the app; `assistant` alone in a terminal opens it too."""

from __future__ import annotations

from typing import Optional

import typer

from assistant.cli.common import command, fail, settings

SCREENS = ("index", "train", "chat", "compare")


def register(app: typer.Typer) -> None:
    @command(app)
    def tui(
        screen: Optional[str] = typer.Option(None, "--screen", "-s",
                                             help="index, train, chat or compare (default: chat when a collection "
                                                  "exists, else index)."),
        light: bool = typer.Option(False, "--light", help="Start with the light theme (ctrl+t switches)."),
    ) -> None:
        """Open the terminal app: index, train, chat and compare in one place (F1 … F4)."""
        if screen is not None and screen not in SCREENS:
            fail(f"--screen must be one of {', '.join(SCREENS)}, not {screen!r}")
        from tui.app import make_app

        make_app(settings(), screen, theme="textual-light" if light else "textual-dark").run()
