"""Alpaca: `instruction`, optional `input`, `output`, optional `system`, optional `history` (the
earlier turns as [question, answer] pairs, as LLaMA-Factory writes them: a follow-up is trained with
the turns it depends on).

    >>> to_example({"instruction": "Translate.", "input": "Bonjour", "output": "Hello"}, "a.json[#0]").messages
    ({'role': 'user', 'content': 'Translate.\\n\\nBonjour'}, {'role': 'assistant', 'content': 'Hello'})
"""

from __future__ import annotations

from ..types import Example
from ._common import chat_example, join_parts, optional_text, required_text

FIELDS = "instruction, output (input, system, history optional)"


def detect(record: dict) -> bool:
    return "instruction" in record and "output" in record


def to_example(record: dict, origin: str) -> Example:
    user = join_parts(required_text(record, "instruction"), optional_text(record, "input"))
    output = required_text(record, "output")
    if user and not output.strip():  # a field name helps more than a message number here
        raise ValueError("field 'output' is empty")
    return chat_example([("system", optional_text(record, "system")), *_history(record.get("history")),
                         ("user", user), ("assistant", output)], origin)


def _history(value) -> list[tuple[str, object]]:
    """[[question, answer], ...] → the turns before the instruction.

    >>> _history([["Hi", "Hello!"]])
    [('user', 'Hi'), ('assistant', 'Hello!')]
    """
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in value):
        raise ValueError("field 'history' must be a list of [question, answer] pairs")
    return [turn for question, answer in value for turn in (("user", question), ("assistant", answer))]
