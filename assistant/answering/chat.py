"""A conversation: history, the current mode, the last answer, and the slash commands that steer
it. `assistant chat` and the TUI's Chat screen both talk through it.

    session = Chat(Assistant(load_config()))
    session.command("/mode base").text                 # 'mode: base'
    session.ask("Which port does Zorblax use?").text   # 'Zorblax listens on port 7431.'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from lm.models import ModelError
from lm.prompts import Turn

from ..config import MODES, Mode
from ..engines import OnToken
from .assistant import Assistant
from .types import Answer

HELP = ("Commands: /mode base|rag|sft|rag+sft · /sources (of the last answer) · /reset (forget history and "
        "subject) · /help · /quit")


@dataclass(frozen=True)
class Reply:
    """What a slash command did: `action` is quit, mode, sources, reset, help or error; `text` says it
    in words; `answer` is the last answer for "sources" (its sources are the reply)."""

    action: str
    text: str
    answer: Answer | None = None


class Chat:
    """A conversation: history of turns, a current mode, and the last answer's sources."""

    def __init__(self, helper: Assistant, mode: str | None = None) -> None:
        self.helper = helper
        self.mode = mode or helper.config.chat.mode
        self.history: list[Turn] = []
        self.last: Answer | None = None
        self.collection: str | None = None
        """The collection rag modes search; None: the [chat] setting."""
        self.adapter: str | None = None
        """The adapter sft modes use; None: the [chat] setting."""

    def ask(self, question: str, on_token: OnToken | None = None, stop: threading.Event | None = None) -> Answer:
        answer = self.helper.answer(question, self.mode, self.history, collection=self.collection,
                                    adapter=self.adapter, on_token=on_token, stop=stop)
        self.history.append(Turn(question, answer.text))
        self.last = answer
        return answer

    def searched(self, question: str) -> str | None:
        """The question `ask` will search, when a follow-up is made self-contained from this
        conversation ("how long is its warranty?" → "how long is the Brewmaster K2's warranty?")."""
        return self.helper.searched(question, self.mode, self.history, collection=self.collection)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ModelError(f"mode {mode!r}: choose one of {', '.join(MODES)}")
        self.mode = mode

    @property
    def retrieves(self) -> bool:
        return Mode.named(self.mode).retrieves

    def reset(self) -> None:
        self.history.clear()
        self.last = None

    def command(self, line: str) -> Reply:
        """Run a slash command ("/mode rag", "/sources", "/reset", "/help", "/quit")."""
        name, _, argument = line.strip().removeprefix("/").partition(" ")
        if name in ("quit", "exit", "q"):
            return Reply("quit", "")
        if name == "mode":
            try:
                self.set_mode(argument.strip())
            except ModelError as err:
                return Reply("error", str(err))
            return Reply("mode", f"mode: {self.mode}")
        if name == "sources":
            if self.last is None or not self.last.sources:
                return Reply("sources", "No sources yet (the last answer used none).")
            return Reply("sources", f"Sources of the last answer ({len(self.last.sources)}):", self.last)
        if name == "reset":
            self.reset()
            return Reply("reset", "History cleared.")
        if name == "help":
            return Reply("help", HELP)
        return Reply("error", f"unknown command /{name}. {HELP}")


__all__ = ["Chat", "HELP", "Reply"]
