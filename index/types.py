"""Plain value types shared by every stage of indexing and search."""

from __future__ import annotations

from dataclasses import dataclass, field
from core.errors import UserError


@dataclass(frozen=True)
class Section:
    """A span of a document's text that sits under one heading path.

    `title_path` is the chain of headings from the top, e.g. ("Guide", "Install", "Linux").
    `start`/`end` are character offsets into the document text.
    """

    title_path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """Text extracted from one file (or one record of a JSON/JSONL file).

    `source` is the file path as indexed; `locator` names a part of the file when one file
    yields several documents (a JSONL record id or line, e.g. "doc-17" or "line 4").
    `sections` cover the text in order; a loader with no structure returns one section.
    """

    source: str
    text: str
    sections: tuple[Section, ...]
    locator: str = ""
    title: str = ""
    first_line: int | None = 1
    """The file line `text` starts on (after front matter, say); None when the text's lines are
    not the file's (a record of a JSON file, text taken out of HTML, PDF or Word)."""


@dataclass(frozen=True)
class Chunk:
    """A token-bounded piece of a document: the unit that is embedded, indexed and retrieved."""

    id: str
    source: str
    title_path: tuple[str, ...]
    start: int
    end: int
    text: str
    locator: str = ""
    lines: tuple[int, int] | None = None
    """The chunk's first and last line in its file, when the file's lines are its text's."""

    def heading(self) -> str:
        """The title path as one line: "Guide > Install"."""
        return " > ".join(self.title_path)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "locator": self.locator,
            "title_path": list(self.title_path),
            "start": self.start,
            "end": self.end,
            "text": self.text,
            **({"lines": list(self.lines)} if self.lines else {}),
        }

    @classmethod
    def from_json(cls, row: dict) -> "Chunk":
        return cls(
            id=row["id"],
            source=row["source"],
            locator=row.get("locator", ""),
            title_path=tuple(row["title_path"]),
            start=int(row["start"]),
            end=int(row["end"]),
            text=row["text"],
            lines=tuple(row["lines"]) if row.get("lines") else None,
        )


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk, its fused score and the rank/score from each retriever.

    `ranks` and `scores` are keyed by retriever name ("bm25", "dense", "rerank"); a retriever
    that did not return the chunk has no entry.
    """

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    row: int | None = None
    """The chunk's row in its collection (chunks are stored in document order)."""

    def to_json(self) -> dict:
        return {**self.chunk.to_json(), "score": self.score, "ranks": self.ranks, "scores": self.scores}


class LoadError(UserError):
    """A file could not be read; the message names the file and what is wrong."""


