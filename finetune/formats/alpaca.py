"""Alpaca: `instruction`, optional `input`, `output`, optional `system`.

    >>> to_example({"instruction": "Translate.", "input": "Bonjour", "output": "Hello"}, "a.json[#0]").messages
    ({'role': 'user', 'content': 'Translate.\\n\\nBonjour'}, {'role': 'assistant', 'content': 'Hello'})
"""

from __future__ import annotations

from ..types import Example
from ._common import chat_example, join_parts, optional_text, required_text

FIELDS = "instruction, output (input, system optional)"


def detect(record: dict) -> bool:
    return "instruction" in record and "output" in record


def to_example(record: dict, origin: str) -> Example:
    user = join_parts(required_text(record, "instruction"), optional_text(record, "input"))
    output = required_text(record, "output")
    if user and not output.strip():  # a field name helps more than a message number here
        raise ValueError("field 'output' is empty")
    return chat_example([("system", optional_text(record, "system")), ("user", user), ("assistant", output)], origin)
