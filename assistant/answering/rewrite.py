"""A follow-up rewritten by the model (`[chat] follow_ups = "model"`), for a model that writes well
(a large one, a server engine): the rules of index/followups.py decide whether the question points
back at all — a self-contained question is never sent — and the model writes the question that
stands alone. bench/results/conversation_quality.md measured it on the embedded model too.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Sequence

from index.followups import Searched

from ..config import GenerationConfig
from ..engines import Engine

INSTRUCTIONS = (
    "Rewrite the user's last question so that it can be understood without the conversation: put in "
    "what words like 'it', 'its', 'that one' or 'what about' refer to. Keep the language of the "
    "question. Reply with the rewritten question only.")
MAX_NEW_TOKENS = 64


def rewrite_messages(question: str, earlier: Sequence[str]) -> list[dict]:
    """The prompt: the earlier questions (their answers are long and add little) and the last one.

    >>> rewrite_messages("How long is its warranty?", ["Does the K2 have a timer?"])[1]["content"]
    'Earlier questions:\\n- Does the K2 have a timer?\\n\\nLast question: How long is its warranty?'
    """
    asked = "\n".join(f"- {q}" for q in earlier)
    return [{"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": f"Earlier questions:\n{asked}\n\nLast question: {question}"}]


def model_rewrite(question: str, earlier: Sequence[str], by_rules: Searched, engine: Engine, loaded,
                  settings: GenerationConfig) -> Searched:
    """`question` rewritten by the model when the rules found it points back (else `by_rules`); the
    rules' text stands when the model writes nothing usable (empty, or a paragraph)."""
    if not by_rules.rewritten:
        return by_rules
    greedy = dataclasses.replace(settings, max_new_tokens=MAX_NEW_TOKENS, temperature=0.0)
    written = engine.generate(loaded, rewrite_messages(question, earlier[-8:]), greedy, use_adapter=False).text
    lines = [line for line in written.strip().splitlines() if line.strip()]
    text = re.sub(r"^(?:rewritten question|question)\s*:\s*", "", lines[0], flags=re.IGNORECASE).strip(" \"'“”") \
        if lines else ""
    if not text or len(text) > 3 * len(by_rules.text) + 80:
        return by_rules
    return dataclasses.replace(by_rules, text=text, how="model")


__all__ = ["INSTRUCTIONS", "model_rewrite", "rewrite_messages"]
