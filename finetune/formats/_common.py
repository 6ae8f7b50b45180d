"""Checks every chat format shares: fields of the right type, and conversations worth training on.

Formats raise ValueError with a short reason ("missing field 'output'"); the loader adds the
file and line in front of it.
"""

from __future__ import annotations

from ..types import ROLES, Example


def required_text(record: dict, name: str) -> str:
    """The string in `record[name]`; ValueError when it is missing, null or not a string.

    >>> required_text({"output": "Paris"}, "output")
    'Paris'
    """
    if name not in record or record[name] is None:
        raise ValueError(f"missing field {name!r}")
    return _as_text(record[name], f"field {name!r}")


def optional_text(record: dict, name: str) -> str:
    """Like required_text, but a missing or null field is ""."""
    value = record.get(name)
    return "" if value is None else _as_text(value, f"field {name!r}")


def first_present(record: dict, names: tuple[str, ...]) -> str | None:
    """The first of `names` present (and not null) in `record`, or None."""
    return next((name for name in names if record.get(name) is not None), None)


def required_list(record: dict, name: str) -> list:
    if name not in record or record[name] is None:
        raise ValueError(f"missing field {name!r}")
    value = record[name]
    if not isinstance(value, list):
        raise ValueError(f"field {name!r} must be a list of messages, not {type(value).__name__}")
    return value


def join_parts(*parts: str) -> str:
    """Non-empty parts separated by a blank line: how an instruction and its input become one turn.

    >>> join_parts("Summarise this.", "", "Long text")
    'Summarise this.\\n\\nLong text'
    """
    return "\n\n".join(part.strip() for part in parts if part.strip())


def chat_example(messages: list[tuple[str, object]], origin: str, untrained: frozenset[int] = frozenset()) -> Example:
    """[(role, content)] → a checked chat Example; ValueError says what makes it untrainable.

    Contents are stripped (edge whitespace is export noise and would make equal records differ);
    empty system turns are dropped. Numbering in reasons starts at 1, as people count.

    >>> chat_example([("user", " Hi "), ("assistant", "Hello")], "a.jsonl:1").messages
    ({'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello'})
    """
    turns, empty_answers = [], []
    for number, (role, content) in enumerate(messages, start=1):
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} in message {number}; use {', '.join(ROLES[:-1])} or {ROLES[-1]}")
        text = _as_text(content, f"content of message {number}").strip()
        if role == "system" and turns:
            raise ValueError(f"system message {number} must come first")
        if role == "system" and not text:
            continue
        if role == "assistant" and not text:
            empty_answers.append(number)
        turns.append({"role": role, "content": text})
    if not any(turn["content"] for turn in turns):
        raise ValueError("all turns are empty")
    if not any(turn["role"] == "assistant" for turn in turns):
        raise ValueError("no assistant turn to learn from")
    if empty_answers:
        raise ValueError(f"assistant message {empty_answers[0]} is empty")
    _check_order([role for role, _ in messages])
    return Example(messages=tuple(turns), origin=origin, untrained=frozenset(untrained))


def _check_order(roles: list[str]) -> None:
    """Turns alternate user, assistant, … from the user's first to the assistant's last (a system
    message first is fine); numbers count the record's messages from 1."""
    talk = [(number, role) for number, role in enumerate(roles, start=1) if role != "system"]
    if talk and talk[0][1] == "assistant":
        raise ValueError(f"the conversation starts with the assistant (message {talk[0][0]}); start it with the "
                         "user's turn")
    for (first, role), (second, other) in zip(talk, talk[1:]):
        if role == other:
            raise ValueError(f"messages {first} and {second} are both {role} turns; turns alternate user and "
                             "assistant (merge them, or add the missing turn)")
    if talk and talk[-1][1] == "user":
        raise ValueError(f"the conversation ends on a user turn (message {talk[-1][0]}); the last turn must be the "
                         "assistant's answer, which is what is learned")


def _as_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}")
    return value
