"""The `assistant` command: parse flags, build a config, call the library, print the result.

    common      the app, consoles, settings, and the one place expected errors are caught
    indexing    index, search, collections, eval retrieval
    asking      ask, chat
    training    finetune, adapters
    preparing   data inspect, data clean, data raft
    comparing   compare, experiments, experiment squad
    serving     serve (an OpenAI-compatible API)

Higher layers add commands through the `assistant.commands` entry point group (the TUI adds
`assistant tui`), so this package imports nothing above it.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

from . import asking, comparing, indexing, preparing, serving, training  # noqa: F401  (each registers its commands)
from .common import app, errors

PLUGIN_GROUP = "assistant.commands"


def _add_plugins() -> None:
    for entry in entry_points(group=PLUGIN_GROUP):
        entry.load()(app)


_add_plugins()


def main() -> None:
    import logging
    import warnings

    # bitsandbytes asks the `kernels` package for a CPU kernel on import; offline, that logs a
    # warning on every command about a hub check nobody asked for.
    logging.getLogger("kernels").setLevel(logging.ERROR)
    # transformers 5 renamed gradient checkpointing; PEFT and TRL still call the old names.
    warnings.filterwarnings("ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning)
    if len(sys.argv) == 1 and sys.stdin.isatty() and sys.stdout.isatty():
        sys.argv.append("tui")  # `assistant` alone in a terminal opens the app; elsewhere, the help
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main"]
