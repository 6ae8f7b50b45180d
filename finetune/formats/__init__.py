"""Training-data formats, one module per format, registered in FORMATS.

Each format turns one record (a dict) into an `Example`, or raises ValueError with a short
reason. Detection looks only at a record's keys, in table order: the first format that claims
a record reads the whole file.

    >>> detect_format({"instruction": "Hi", "output": "Hello"})
    'alpaca'
    >>> FORMATS["alpaca"].to_example({"instruction": "Hi", "output": "Hello"}, "a.jsonl:1").messages[-1]
    {'role': 'assistant', 'content': 'Hello'}
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from ..types import Example
from . import alpaca, context, openai, sharegpt, text
from .tasks import TEMPLATES, task_of


@dataclass(frozen=True)
class Format:
    name: str
    fields: str
    """What a record needs, for error messages: "instruction, output (input, system optional)"."""
    detect: Callable[[dict], bool]
    to_example: Callable[[dict, str], Example]
    """(record, origin) → Example; ValueError with a short reason for a record that cannot be used."""


# Order matters for detection: `context` before `alpaca`, because a context record may carry an
# `instruction` as its question; `text` last, because chat records may have a stray `text` field.
FORMATS: dict[str, Format] = {
    name: Format(name, module.FIELDS, module.detect, module.to_example)
    for name, module in [("openai", openai), ("sharegpt", sharegpt), ("context", context),
                         ("alpaca", alpaca), ("text", text)]
}


def _never(record: dict) -> bool:
    return False


def formats_with(text_field: str | None = None, task_prompt: str | None = None) -> dict[str, Format]:
    """FORMATS, with the text format reading `text_field` instead of "text" when one is given, and
    the task templates (tasks.py) after them: chosen by name only, never detected, their prompt
    `task_prompt` when one is given."""
    formats = dict(FORMATS)
    if text_field and text_field != text.FIELD:
        formats["text"] = Format("text", text_field, partial(text.detect, field=text_field),
                                 partial(text.to_example, field=text_field))
    for name, template in TEMPLATES.items():
        formats[name] = Format(name, f"{template.fields} (a task template: choose it with --format {name})", _never,
                               partial(template.to_example, prompt=task_prompt))
    return formats


def detect_format(record: dict, formats: dict[str, Format] = FORMATS) -> str | None:
    """The name of the first format whose fields `record` has, or None."""
    return next((name for name, fmt in formats.items() if fmt.detect(record)), None)


def describe(formats: dict[str, Format] = FORMATS) -> str:
    """One line per format with its fields, for "which format is this?" errors."""
    return "\n".join(f"  {name}: {fmt.fields}" for name, fmt in formats.items())


__all__ = ["FORMATS", "Format", "TEMPLATES", "describe", "detect_format", "formats_with", "task_of"]
