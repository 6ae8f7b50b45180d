"""Context/response pairs: `context` + `response`, optional `question` (or `instruction`, `prompt`).

The question comes first and the context after it, the same layout as an Alpaca instruction and
its input, so equal content in either format trains the same.

    >>> to_example({"question": "Port?", "context": "Use 7431.", "response": "7431"}, "c.csv:2").messages
    ({'role': 'user', 'content': 'Port?\\n\\nUse 7431.'}, {'role': 'assistant', 'content': '7431'})
"""

from __future__ import annotations

from ..types import Example
from ._common import chat_example, first_present, join_parts, optional_text, required_text

FIELDS = "context, response (question, instruction or prompt optional; system optional)"
QUESTION_FIELDS = ("question", "instruction", "prompt")


def detect(record: dict) -> bool:
    return "context" in record and "response" in record


def to_example(record: dict, origin: str) -> Example:
    question_field = first_present(record, QUESTION_FIELDS)
    question = optional_text(record, question_field) if question_field else ""
    user = join_parts(question, required_text(record, "context"))
    response = required_text(record, "response")
    if user and not response.strip():  # a field name helps more than a message number here
        raise ValueError("field 'response' is empty")
    turns = [("system", optional_text(record, "system")), ("user", user), ("assistant", response)]
    return chat_example(turns, origin)
