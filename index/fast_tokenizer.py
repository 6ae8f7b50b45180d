"""The embedder's tokenizer read straight from its `tokenizer.json` with the `tokenizers` library
(what transformers' fast tokenizers wrap), for the ONNX runtime: a question is answered without
importing transformers and torch, about 1.5 s of a cold `assistant ask` on 2 cores.

It answers the few calls the ONNX encoder, the chunker and the readability check make of a
transformers tokenizer, with the same ids (tests/index/test_fast_tokenizer.py checks them).

    tokenizer = FastTokenizer.from_folder(folder)            # None without a tokenizer.json
    tokenizer(["a question"], padding=True, truncation=True, max_length=256, return_tensors="np")
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class FastTokenizer:
    """A `tokenizers.Tokenizer` with the transformers calls the index needs."""

    def __init__(self, backend, unk_token: str | None, max_length: int) -> None:
        self.backend_tokenizer = backend
        self.unk_token = unk_token
        self.unk_token_id = backend.token_to_id(unk_token) if unk_token else None
        self.model_max_length = max_length
        # One copy for batches, padded and truncated once here: changing a tokenizer's padding
        # while another thread encodes with it fails ("Already borrowed").
        self._batches: dict[int, object] = {}

    @classmethod
    def from_folder(cls, folder: Path) -> "FastTokenizer | None":
        folder = Path(folder)
        if not (folder / "tokenizer.json").is_file():
            return None
        from tokenizers import Tokenizer

        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        unk = config.get("unk_token")
        unk = unk.get("content") if isinstance(unk, dict) else unk
        backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        backend.no_truncation()
        backend.no_padding()
        return cls(backend, unk, int(config.get("model_max_length") or 512))

    def _batch_tokenizer(self, max_length: int):
        if max_length not in self._batches:
            from tokenizers import Tokenizer

            copy = Tokenizer.from_str(self.backend_tokenizer.to_str())
            copy.enable_truncation(max_length)
            pad = self.backend_tokenizer.padding or {}
            pad_token = next((t for t in ("[PAD]", "<pad>") if copy.token_to_id(t) is not None), None)
            copy.enable_padding(pad_id=pad.get("pad_id", copy.token_to_id(pad_token) or 0),
                                pad_token=pad.get("pad_token", pad_token or "[PAD]"))
            self._batches[max_length] = copy
        return self._batches[max_length]

    def __call__(self, texts, padding: bool = False, truncation: bool = False, max_length: int | None = None,
                 return_tensors: str | None = None, add_special_tokens: bool = True) -> dict:
        """transformers' call for the shapes used here: one text → {"input_ids": [...]}; a batch
        with padding, truncation and return_tensors="np" → arrays."""
        if isinstance(texts, str):
            return {"input_ids": self.backend_tokenizer.encode(texts, add_special_tokens=add_special_tokens).ids}
        if padding and truncation and return_tensors == "np":
            encoded = self._batch_tokenizer(max_length or self.model_max_length).encode_batch(
                list(texts), add_special_tokens=add_special_tokens)
            return {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}
        encoded = self.backend_tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encoded]}

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self.backend_tokenizer.id_to_token(int(i)) for i in ids]


__all__ = ["FastTokenizer"]
