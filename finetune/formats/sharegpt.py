"""ShareGPT: `conversations`, a list of {"from", "value"} (or {"role", "content"}) turns.

Speaker names vary between exports, so several map to each role; any other name is a bad record
rather than a guess.

    >>> to_example({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}, "s.jsonl:1").messages
    ({'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'})
"""

from __future__ import annotations

from ..types import Example
from ._common import chat_example, required_list

FIELDS = "conversations: [{from: human|gpt|system, value}] (or {role, content}; system optional)"
SPEAKERS = {
    "human": "user", "user": "user",
    "gpt": "assistant", "assistant": "assistant", "model": "assistant", "chatgpt": "assistant",
    "system": "system",
}


def detect(record: dict) -> bool:
    return "conversations" in record


def to_example(record: dict, origin: str) -> Example:
    turns = [("system", record["system"])] if record.get("system") is not None else []
    for number, turn in enumerate(required_list(record, "conversations"), start=1):
        if not isinstance(turn, dict):
            raise ValueError(f"turn {number} must be an object with 'from' and 'value', not {type(turn).__name__}")
        speaker_key, text_key = ("from", "value") if "from" in turn else ("role", "content")
        if speaker_key not in turn or text_key not in turn:
            raise ValueError(f"turn {number} needs 'from' and 'value' (or 'role' and 'content')")
        speaker = turn[speaker_key]
        role = SPEAKERS.get(speaker.lower()) if isinstance(speaker, str) else None
        if role is None:
            raise ValueError(f"unknown speaker {speaker!r} in turn {number}; use one of {', '.join(SPEAKERS)}")
        turns.append((role, turn[text_key]))
    return chat_example(turns, origin)
