"""How much of a query the embedder can read: hybrid search leaves out a dense ranking that is noise.

    >>> from index.embedder import load_tokenizer
    >>> tokenizer = load_tokenizer("all-MiniLM-L6-v2")
    >>> unknown_share(tokenizer, "how do I rotate the API key?")
    0.0
    >>> round(unknown_share(tokenizer, "怎么清理磁盘"), 2)   # 6 characters, 5 of them [UNK]
    0.83

An English-only embedder such as all-MiniLM-L6-v2 maps most Chinese characters to its
unknown token, so the vector of a Chinese question says little and its dense ranking is poor
(hit@5 0.21 on Chinese-only questions). Fused with BM25, it pushes good BM25 hits down: on
bench/data/zh-tech, hybrid hit@5 0.73 against BM25's 0.96 (bench/results/zh_retrieval.md).
A multilingual embedder knows these characters, so its share is near 0 and nothing changes;
nor does anything for a query in English.
"""

from __future__ import annotations

MIN_KNOWN = 0.7
"""Hybrid search fuses the dense ranking only when at least this share of the query's tokens are
known to the embedder. On bench/data/zh-tech with MiniLM, hit@5 is 0.89 at 0.3, 0.95 at 0.5 and
0.96 (BM25's own) at 0.7 and 0.9; no English question of the devset or SQuAD is left out at any."""


def unknown_share(tokenizer, text: str) -> float:
    """Share of text's word tokens (punctuation left out) that `tokenizer` maps to its unknown
    token; 0.0 for a tokenizer without one (byte-level BPE reads everything)."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None:
        return 0.0
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    words = [i for i, piece in zip(ids, pieces) if i == unk or any(c.isalnum() for c in piece)]
    return sum(1 for i in words if i == unk) / len(words) if words else 0.0


def embedder_reads(tokenizer, text: str, min_known: float = MIN_KNOWN) -> bool:
    """Whether the dense ranking of `text` is worth fusing: its known share is at least min_known."""
    return 1.0 - unknown_share(tokenizer, text) >= min_known
