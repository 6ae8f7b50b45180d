"""Answering: from a question to a cited answer, in named stages a reader can follow top to bottom.

- `assistant.py`: `Assistant`, which holds loaded models and opened collections and runs the stages;
- `stages.py`: retrieve → rank sentences → decide (abstain or answer) → select the sources →
  compose the prompt → write (extract / sentence / quote / generate) → check support and cite;
- `passages.py`: the passage an extracted answer shows (a sentence with its code, steps or table);
  `choice.py`: which of the retrieved chunks' passages answers;
- `types.py`: the frozen `Plan` the stages fill in, the `Profile` a model is prompted with, and the
  `Answer` with its numbered `Source`s; `profiles.py`: which profile a model gets;
- `sentences.py` (a chunk's sentences), `grounding.py` (scoring them, evidence, abstention) and
  `citations.py` (the [n] an answer writes: read, stripped, matched by content);
- `chat.py`: `Chat`, a conversation with slash commands, over an `Assistant`.
"""

from __future__ import annotations

from .assistant import Assistant, raft_asking
from .chat import HELP, Chat, Reply
from .types import Answer, Excerpt, Plan, Profile, Source

__all__ = ["Answer", "Assistant", "Chat", "Excerpt", "HELP", "Plan", "Profile", "Reply", "Source", "raft_asking"]
