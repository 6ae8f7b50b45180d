"""What every command shares: the app and its consoles, the settings each command starts from,
and the one place expected errors (`UserError`) become a one-line message and exit code 1.

Commands take the settings from `settings()` (the config file with --config and --project-dir
applied, fresh for each command), change them with `dataclasses.replace` and pass them on: no
command changes a config another one reads.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from core.errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  help="Turn your documents into a local assistant: RAG, fine-tuning, or both.")
console = Console()
errors = Console(stderr=True)


@dataclasses.dataclass(frozen=True)
class Options:
    """The options every command shares (given before the command name)."""

    config_path: Path | None = None
    project_dir: Path | None = None


_options = Options()


@app.callback()
def main_options(
    config_path: Optional[Path] = typer.Option(None, "--config", help="TOML config file (default: ./assistant.toml)."),
    project_dir: Optional[Path] = typer.Option(None, "--project-dir", help="Where collections live (default .assistant)."),
) -> None:
    global _options
    _options = Options(config_path, project_dir)


def fail(message: str, code: int = 1) -> None:
    """Print `error: message` on stderr and exit with `code`."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def settings():
    """The settings a command starts from: the config file, with --project-dir applied."""
    from assistant.config import load_config

    with expected_errors():
        config = load_config(_options.config_path)
    if _options.project_dir:
        config = dataclasses.replace(config, project_dir=_options.project_dir)
    return config


class expected_errors:
    """`with expected_errors():` turns a UserError into its one-line message and exit code 1;
    anything else is a bug and keeps its traceback."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        if isinstance(error, UserError):
            fail(str(error))
        return False


def command(owner: typer.Typer = app, name: str | None = None, **options):
    """Register a function as a command of `owner` whose UserErrors end in `error: ...` (exit 1)."""
    def register(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            with expected_errors():
                return function(*args, **kwargs)

        owner.command(name, **options)(run)
        return function

    return register


MODE_HELP = "base, rag, sft or rag+sft (default rag)."
GROUNDING_HELP = ("Answer from the best-matching sentences, show the evidence, say when the documents "
                  "don't hold the answer (default on).")
GROUNDING_ADAPTER_HELP = "Use the shipped grounded-answering adapter in rag mode on the embedded model (default off)."
ANSWER_HELP = ("How a grounded answer is written: extract (the passage that answers: the best sentence with its "
               "code, steps or table), sentence (the best sentence alone), quote (the model copies a stretch of it) "
               "or generate (the model writes); default by model size.")

__all__ = ["ANSWER_HELP", "GROUNDING_ADAPTER_HELP", "GROUNDING_HELP", "MODE_HELP", "app", "command", "console", "errors",
           "expected_errors", "fail", "settings"]
