"""The records fine-tuning works on: every data format is normalised to `Example`s."""

from __future__ import annotations

import dataclasses

import json
from dataclasses import dataclass, field
from core.errors import UserError

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Example:
    """One training record as chat messages, or as plain text for continued pre-training.

    messages: ({"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}), with
        roles from ROLES; empty for kind "text".
    text: the document text when kind is "text" (trained on every token, no chat template).
    origin: where it came from, for error messages and reports: "data/train.jsonl:12".
    """

    messages: tuple[dict, ...] = ()
    kind: str = "chat"
    text: str = ""
    origin: str = ""
    untrained: frozenset[int] = frozenset()
    """Assistant turns (counted from 0, in order) the loss skips: OpenAI's `"weight": 0`, or all but
    the last with `train_on = "last"`. They stay in the prompt as context."""

    def key(self) -> str:
        """Identity for exact-duplicate removal: same messages (or text), wherever they came from."""
        return json.dumps([self.kind, list(self.messages), self.text, sorted(self.untrained)], ensure_ascii=False,
                          sort_keys=True)

    def last_turn_only(self) -> "Example":
        """This example with only its last assistant turn trained."""
        answers = sum(1 for m in self.messages if m["role"] == "assistant")
        return dataclasses.replace(self, untrained=frozenset(range(answers - 1))) if answers > 1 else self


@dataclass(frozen=True)
class BadRecord:
    """A record that cannot be trained on: `origin` is "file:line", `reason` says what to fix."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass
class LoadedData:
    examples: list[Example] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    duplicates: int = 0
    formats: dict[str, str] = field(default_factory=dict)
    """file → the format it was read as ("alpaca", "sharegpt", ...)."""
    files: list = field(default_factory=list)
    """Each file's FileData (finetune/data.py): its records as read, for cleaning and inspection."""


class RunError(UserError):
    """A run folder cannot be made, found, resumed or merged; the message says what to do."""


class DataError(UserError):
    """Training data is wrong; the message names the file and line and says what to do."""
