"""The training settings a user usually changes, prefilled from the config's [finetune] section.

`settings()` turns the form into a TrainConfig (the same dataclass `assistant finetune` builds
from its flags); the other fields keep their config values. A field tabbed into keeps its text
(the cursor goes to its end) rather than having it selected and replaced by the first key.
"""

from __future__ import annotations

import dataclasses

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Input, Label, Select

from finetune.config import DEFAULT_LR, METHODS, TrainConfig
from core.errors import ConfigError

NUMBERS = (
    # (field, label, type)
    ("epochs", "Epochs", float),
    ("max_steps", "Max steps", int),
    ("lr", "Learning rate", float),
    ("batch_size", "Batch size", int),
    ("grad_accum", "Grad accum", int),
    ("max_length", "Max length", int),
    ("lora_r", "LoRA r", int),
    ("eval_split", "Eval split", float),
)
OPTIONAL = {"max_steps", "lr"}


def _text(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def split_files(text: str) -> list[str]:
    """'a.jsonl, b.jsonl' → ['a.jsonl', 'b.jsonl'] (commas separate files)."""
    return [part.strip() for part in text.split(",") if part.strip()]


class TrainForm(Grid):
    DEFAULT_CSS = """
    TrainForm { grid-size: 4; grid-columns: 14 1fr 14 1fr; grid-gutter: 0 1; height: auto; }
    TrainForm Label { padding: 0 0 0 1; }
    TrainForm .wide { column-span: 3; }
    """

    def __init__(self, defaults: TrainConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        d = self.defaults
        yield Label("Run name")
        yield Input(d.name or "", placeholder=f"default: {d.method}-<date>-<time>", id="name", classes="wide",
                    compact=True, select_on_focus=False)
        yield Label("Base model")
        yield Input(d.base, id="base", classes="wide", compact=True, select_on_focus=False)
        yield Label("Data files")
        yield Input(", ".join(d.data), placeholder="train.jsonl, more.csv (comma-separated)", id="data",
                    classes="wide", compact=True, select_on_focus=False)
        yield Label("Method")
        yield Select([(m, m) for m in METHODS], value=d.method, allow_blank=False, id="method", compact=True)
        for name, label, kind in NUMBERS:
            yield Label(label)
            placeholder = f"default {DEFAULT_LR[d.method]:g}" if name == "lr" else "none"
            yield Input(_text(getattr(d, name)), placeholder=placeholder, id=name, compact=True,
                        type="integer" if kind is int else "number", select_on_focus=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "method" and event.value in DEFAULT_LR:
            self.query_one("#lr", Input).placeholder = f"default {DEFAULT_LR[event.value]:g}"
            self.query_one("#name", Input).placeholder = f"default: {event.value}-<date>-<time>"

    def settings(self) -> TrainConfig:
        """A TrainConfig from the form; raises ConfigError naming the field that is wrong."""
        values: dict = {"base": self.query_one("#base", Input).value.strip() or self.defaults.base,
                        "data": split_files(self.query_one("#data", Input).value),
                        "method": self.query_one("#method", Select).value,
                        "name": self.query_one("#name", Input).value.strip() or None}
        for name, label, kind in NUMBERS:
            text = self.query_one(f"#{name}", Input).value.strip()
            if not text:
                if name in OPTIONAL:
                    values[name] = None  # emptied: no step limit, the method's learning rate
                continue  # emptied required field: keep the config's value
            try:
                values[name] = kind(text)
            except ValueError:
                raise ConfigError(f"{label}: {text!r} is not a number") from None
        return dataclasses.replace(self.defaults, **values)  # TrainConfig checks the ranges
