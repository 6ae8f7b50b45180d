"""What a comparison produces and how it is kept: a `Row` per question and mode, the
`CompareResult` that holds them with their summary, and the saved experiments under
<project_dir>/experiments (listed and read back here, written by `compare.save_compare`).

    >>> row = Row("q1", "Which port?", "rag", "7431 [1]", ("7431",), "install.md", (), {"f1": 1.0})
    >>> Row.from_json(row.to_json()) == row
    True
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from core.errors import UserError

from .metrics import CI


class ExperimentError(UserError):
    """A saved experiment is missing or unreadable; the message says which and what exists."""


class SourceRef(NamedTuple):
    """A chunk that was in the prompt: its number, where it is from, whether it was cited and
    whether it comes from the question's gold source (None when the question names none)."""

    number: int
    source: str
    locator: str
    heading: str
    cited: bool
    gold: bool | None

    def label(self) -> str:
        where = f" ({self.locator})" if self.locator else ""
        return f"[{self.number}{'*' if self.cited else ''}] {self.source}{where}"


@dataclass(frozen=True)
class Row:
    """One question answered in one mode, with its scores (None where a metric does not apply)."""

    id: str
    question: str
    mode: str
    answer: str
    references: tuple[str, ...]
    source: str | None
    sources: tuple[SourceRef, ...]
    metrics: dict
    adapter: str | None = None
    new_tokens: int = 0
    evidence: tuple[dict, ...] = ()
    """The source sentences that back the answer (Evidence.to_json), when grounding checked it."""
    supported: bool | None = None
    abstained: bool = False

    def to_json(self) -> dict:
        return dataclasses.asdict(self) | {"sources": [s._asdict() for s in self.sources]}

    @classmethod
    def from_json(cls, data: dict) -> "Row":
        return cls(**{**data, "references": tuple(data["references"]), "evidence": tuple(data.get("evidence", ())),
                      "sources": tuple(SourceRef(**s) for s in data["sources"])})


@dataclass
class CompareResult:
    rows: list[Row]
    summary: dict[str, dict[str, CI]]
    """mode → metric → mean with its confidence interval; metrics without values are left out."""
    modes: tuple[str, ...]
    manifest: dict = field(default_factory=dict)
    seconds: float = 0.0
    stopped: bool = False
    """True when the stop event ended the run early; rows hold what was answered."""

    @property
    def name(self) -> str:
        return self.manifest.get("name", "")

    @property
    def has_references(self) -> bool:
        return any(row.references for row in self.rows)

    def by_question(self) -> list[tuple[Row, dict[str, Row]]]:
        """[(first row of a question, {mode: row})] in question order: the side-by-side view."""
        grouped: dict[str, dict[str, Row]] = {}
        for row in self.rows:
            grouped.setdefault(row.id, {})[row.mode] = row
        return [(next(iter(modes.values())), modes) for modes in grouped.values()]

    def to_json(self) -> dict:
        return {"manifest": self.manifest, "modes": list(self.modes), "seconds": round(self.seconds, 2),
                "stopped": self.stopped,
                "summary": {m: {k: ci._asdict() for k, ci in v.items()} for m, v in self.summary.items()},
                "rows": [row.to_json() for row in self.rows]}

    @classmethod
    def from_json(cls, data: dict) -> "CompareResult":
        summary = {m: {k: CI(**ci) for k, ci in v.items()} for m, v in data["summary"].items()}
        return cls([Row.from_json(r) for r in data["rows"]], summary, tuple(data["modes"]), data["manifest"],
                   data.get("seconds", 0.0), data.get("stopped", False))


class Progress(NamedTuple):
    done: int
    total: int
    row: Row


def experiments_dir(project_dir: Path) -> Path:
    return Path(project_dir) / "experiments"


class ExperimentInfo(NamedTuple):
    name: str
    path: Path
    created: str
    modes: tuple[str, ...]
    questions: int
    model: str


def list_experiments(project_dir: Path) -> list[ExperimentInfo]:
    """Saved comparisons under <project_dir>/experiments, newest first (unreadable ones left out)."""
    found = []
    for manifest in experiments_dir(project_dir).glob("*/manifest.json"):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append(ExperimentInfo(manifest.parent.name, manifest.parent, data.get("created", ""),
                                    tuple(data.get("modes", ())), data.get("questions", {}).get("count", 0),
                                    data.get("model", "?")))
    return sorted(found, key=lambda e: e.created, reverse=True)


def load_compare(value: str | Path, project_dir: Path) -> CompareResult:
    """A saved comparison from its folder or its name under <project_dir>/experiments."""
    for folder in (Path(value), experiments_dir(project_dir) / str(value)):
        path = folder / "results.json"
        if path.is_file():
            try:
                return CompareResult.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as err:
                raise ExperimentError(f"{path}: unreadable results ({err}); run the comparison again") from err
    names = ", ".join(e.name for e in list_experiments(project_dir)) or "none yet"
    raise ExperimentError(f"no saved experiment {str(value)!r} (in {experiments_dir(project_dir)}: {names})")


__all__ = ["CompareResult", "ExperimentError", "ExperimentInfo", "Progress", "Row", "SourceRef", "experiments_dir",
           "list_experiments", "load_compare"]
