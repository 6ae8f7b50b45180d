"""Documents → token-bounded chunks that keep their heading path and character span.

Each section is cut at the largest natural boundary that fits: blocks (index/blocks.py: a
paragraph, a fenced code block, a list, a table, with a lead-in sentence ending in ":" kept with
the block it introduces), then a block's lines or sentences, then (for a run-on line or a
minified file) fixed token windows. Consecutive chunks of a section share up to `overlap` tokens
of whole pieces, so a fact split across a border is still found. Lengths are counted with the
embedder's own tokenizer. Chunk text is the document's own text, fences and all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

from .blocks import Block, split_blocks
from .types import Chunk, Document

_LINE_BREAK = re.compile(r"\n")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
# After the full-width 。！？； with or without whitespace, or after a closing quote or bracket that
# follows one (。」 ends the sentence, 」 does not start the next). assistant.answering.sentences splits on it too.
_CLOSERS = "”’」』）》)\\]"
CJK_SENTENCE_END = rf"(?<=[。！？；])(?![{_CLOSERS}])\s*|(?<=[。！？；][{_CLOSERS}])\s*"
# A chunk may also end after . ! ? ; and whitespace.
_SENTENCE_END = re.compile(rf"(?<=[.!?;])\s+|{CJK_SENTENCE_END}")


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    tokens: int
    glued: bool = False
    """Kept in one chunk with the piece after it: a lead-in with the first lines of a long block."""


def chunk_id(source: str, locator: str, start: int, text: str) -> str:
    """A stable id: the same text at the same place in the same file gets the same id."""
    key = f"{source}\x00{locator}\x00{start}\x00{text}".encode("utf-8")
    return hashlib.sha1(key).hexdigest()[:16]


def _spans(text: str, start: int, end: int, splitter: re.Pattern) -> list[tuple[int, int]]:
    """Non-blank spans of text[start:end] between matches of splitter, trimmed of whitespace."""
    spans, cursor = [], start
    for match in splitter.finditer(text, start, end):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, end))
    out = []
    for s, e in spans:
        piece = text[s:e]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            out.append((s + lead, s + lead + len(stripped)))
    return out


def _untruncated_copy(backend):
    """A copy of a Rust tokenizer that never truncates (the embedder's own copy may)."""
    if backend is None:
        return None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


class Chunker:
    """Cuts documents into chunks of at most `max_tokens` tokens (of `tokenizer`)."""

    def __init__(self, tokenizer, max_tokens: int = 200, overlap: int = 32, unit: str = "blocks") -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.unit = unit
        """blocks (whole code blocks, lists and tables, each with its lead-in) or paragraphs."""
        self._backend = _untruncated_copy(getattr(tokenizer, "backend_tokenizer", None))

    def _encode(self, texts: list[str]) -> list:
        # The Rust tokenizer directly: no "sequence longer than the model" warnings for text
        # we only measure, and several times faster than the Python wrapper.
        if self._backend is not None:
            encodings = self._backend.encode_batch(texts, add_special_tokens=False)
            return [(e.ids, e.offsets) for e in encodings]
        out = self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        return list(zip(out["input_ids"], out["offset_mapping"]))

    def count(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids, _ in self._encode(texts)] if texts else []

    def _windows(self, text: str, start: int, end: int) -> list[_Piece]:
        """Fixed token windows over text[start:end], overlapping by `overlap` tokens."""
        offsets = self._encode([text[start:end]])[0][1]
        step = self.max_tokens - self.overlap
        pieces = []
        for first in range(0, len(offsets), step):
            window = offsets[first : first + self.max_tokens]
            pieces.append(_Piece(start + window[0][0], start + window[-1][1], len(window)))
            if first + self.max_tokens >= len(offsets):
                break
        return pieces

    def _units(self, text: str, start: int, end: int, join: bool = True) -> list[tuple[int, int, Block | None]]:
        """The blocks of text[start:end], with (`join`) a lead-in paragraph joined to the code,
        list or table it introduces: (start, end, the block when the unit is one block)."""
        if self.unit == "paragraphs":
            return [(s, e, Block("paragraph", s, e, text[s:e])) for s, e in _spans(text, start, end, _PARAGRAPH_BREAK)]
        blocks = split_blocks(text, start, end)
        units: list[tuple[int, int, Block | None]] = []
        i = 0
        while i < len(blocks):
            block = blocks[i]
            if join and block.introduces and i + 1 < len(blocks) and blocks[i + 1].is_structure:
                units.append((block.start, blocks[i + 1].end, None))
                i += 2
            else:
                units.append((block.start, block.end, block))
                i += 1
        return units

    def _pieces(self, text: str, start: int, end: int, join: bool = True) -> list[_Piece]:
        """Units that fit; else a lead-in and its block apart; a block too long by its lines
        (code, lists, tables) or sentences (prose); else token windows."""
        pieces: list[_Piece] = []
        pending = self._units(text, start, end, join)
        counts = self.count([text[s:e] for s, e, _ in pending])
        for (s, e, block), n in zip(pending, counts):
            if n <= self.max_tokens:
                pieces.append(_Piece(s, e, n))
            elif block is None:  # a lead-in with a block too long for one chunk: with the block's first lines
                parts = self._pieces(text, s, e, join=False)
                parts[0] = dataclasses.replace(parts[0], glued=len(parts) > 1)
                pieces.extend(parts)
            else:
                splitter = _LINE_BREAK if block.kind in ("code", "list", "table") else _SENTENCE_END
                parts = self._parts(text, s, e, splitter)
                if block.kind == "code" and len(parts) > 1:  # the opening fence with the first line of code
                    parts[0] = dataclasses.replace(parts[0], glued=True)
                pieces.extend(parts)
        return pieces

    def _parts(self, text: str, start: int, end: int, splitter: re.Pattern) -> list[_Piece]:
        """text[start:end] cut at `splitter` (lines, sentences); a part too long alone becomes
        token windows. `_pack` then puts as many parts in a chunk as fit."""
        parts = _spans(text, start, end, splitter)
        pieces: list[_Piece] = []
        for (s, e), n in zip(parts, self.count([text[a:b] for a, b in parts])):
            pieces.extend(self._windows(text, s, e) if n > self.max_tokens else [_Piece(s, e, n)])
        return pieces

    def _pack(self, pieces: list[_Piece]) -> list[tuple[int, int]]:
        """Greedy packing of pieces into spans ≤ max_tokens, carrying ≤ overlap tokens forward."""
        spans: list[tuple[int, int]] = []
        current: list[_Piece] = []
        used = 0
        for n, piece in enumerate(pieces):
            needed = piece.tokens
            if piece.glued and not (n and pieces[n - 1].glued):  # a run of glued pieces and the one after it
                last = next((k for k in range(n, len(pieces)) if not pieces[k].glued), len(pieces) - 1)
                needed = min(sum(p.tokens for p in pieces[n:last + 1]), self.max_tokens)  # starts a chunk if need be
            if current and used + needed > self.max_tokens:
                spans.append((current[0].start, current[-1].end))
                carry: list[_Piece] = []
                carried = 0
                for prev in reversed(current):
                    if carried + prev.tokens > self.overlap or carried + prev.tokens + piece.tokens > self.max_tokens:
                        break
                    carry.insert(0, prev)
                    carried += prev.tokens
                current, used = carry, carried
            current.append(piece)
            used += piece.tokens
        if current:
            spans.append((current[0].start, current[-1].end))
        return spans

    def chunk(self, doc: Document) -> list[Chunk]:
        chunks = []
        line, counted = doc.first_line, 0  # lines counted up to `counted`, as chunks come in text order
        for section in doc.sections:
            for start, end in self._pack(self._pieces(doc.text, section.start, section.end)):
                text = doc.text[start:end]
                lines = None
                if line is not None:
                    line += doc.text.count("\n", counted, start) if start >= counted else -doc.text.count("\n", start, counted)
                    counted = start
                    lines = (line, line + text.count("\n"))
                chunks.append(Chunk(
                    id=chunk_id(doc.source, doc.locator, start, text),
                    source=doc.source,
                    locator=doc.locator,
                    title_path=section.title_path or ((doc.title,) if doc.title else ()),
                    start=start,
                    end=end,
                    text=text,
                    lines=lines,
                ))
        return chunks


def search_text(chunk: Chunk) -> str:
    """What BM25 and the embedder see: the heading path, then the text."""
    heading = chunk.heading()
    return f"{heading}\n{chunk.text}" if heading else chunk.text
