"""CLI for the terminal app: `assistant tui` (also what `assistant` alone opens in a terminal)."""

from __future__ import annotations

from typing import Optional

import typer

from .cli import app, config, fail

SCREENS = ("index", "train", "chat", "compare")


@app.command()
def tui(
    screen: Optional[str] = typer.Option(None, "--screen", "-s",
                                         help="index, train, chat or compare (default: chat when a collection "
                                              "exists, else index)."),
    light: bool = typer.Option(False, "--light", help="Start with the light theme (ctrl+t switches)."),
) -> None:
    """Open the terminal app: index, train, chat and compare in one place (F1 … F4)."""
    if screen is not None and screen not in SCREENS:
        fail(f"--screen must be one of {', '.join(SCREENS)}, not {screen!r}")
    cfg = config()
    try:
        from tui.app import make_app
    except ModuleNotFoundError as err:
        fail(f"the terminal app is not installed ({err}); reinstall the project: pip install -e .")
    make_app(cfg, screen, theme="textual-light" if light else "textual-dark").run()
