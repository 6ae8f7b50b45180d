"""OpenAI chat: `messages`, a list of {"role", "content"} (an assistant message's `"weight": 0`
keeps it as context but not learned, as OpenAI's fine-tuning reads it); optional `completion`
(text or messages).

Roles are checked strictly (system, user, assistant): this format has one spelling, so another
role is a mistake worth reporting, not a synonym to guess.

    >>> to_example({"messages": [{"role": "user", "content": "Hi"}], "completion": "Hello"}, "o.jsonl:1").messages
    ({'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'})
"""

from __future__ import annotations

from ..types import Example
from ._common import chat_example, required_list

FIELDS = "messages: [{role: system|user|assistant, content}] (completion optional)"


def detect(record: dict) -> bool:
    return "messages" in record


def to_example(record: dict, origin: str) -> Example:
    messages = required_list(record, "messages")
    completion = record.get("completion")
    if isinstance(completion, str):
        messages = messages + [{"role": "assistant", "content": completion}]
    elif isinstance(completion, list):
        messages = messages + completion
    elif completion is not None:
        raise ValueError(f"field 'completion' must be text or a list of messages, not {type(completion).__name__}")
    turns, untrained, answers = [], set(), 0
    for number, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"message {number} must be an object with 'role' and 'content'")
        if message["role"] == "assistant":
            weight = message.get("weight", 1)
            if weight not in (0, 1) or isinstance(weight, bool):
                raise ValueError(f"message {number}: 'weight' must be 0 (not learned) or 1, not {weight!r}")
            if weight == 0:
                untrained.add(answers)
            answers += 1
        turns.append((message["role"], message["content"]))
    if answers and len(untrained) == answers:
        raise ValueError("every assistant message has weight 0: nothing to learn from")
    return chat_example(turns, origin, frozenset(untrained))
