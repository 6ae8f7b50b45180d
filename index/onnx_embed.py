"""The embedder through ONNX Runtime: the sentence-transformers model exported once to ONNX,
its weights quantised to int8, cached; about 2× the torch encoder's speed on a CPU
(bench/results/embedding_throughput.md).

    encoder = OnnxEncoder.for_folder(Path("all-MiniLM-L6-v2"))
    encoder.encode(["hello"]).shape     # (1, 384)

Only the shape most embedders have is exported: a Hugging Face encoder, then mean or CLS
pooling, then optional normalisation (read from modules.json). Anything else returns None
from `for_folder` and stays on torch. sentence-transformers' own `backend="onnx"` needs
optimum-onnx, which pins transformers below 5; this needs only onnxruntime and onnx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.files import staged_folder
from core.locations import cache_dir
from core.logs import quiet_transformers

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


@dataclass(frozen=True)
class Pipeline:
    """What follows the encoder in a sentence-transformers folder."""

    pooling: str  # "mean" or "cls"
    normalize: bool
    max_length: int


def read_pipeline(folder: Path) -> Pipeline | None:
    """modules.json (+ its Pooling config) → Pipeline; None when the folder is anything else."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) or modules[0]["path"]:
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        bert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
    mode = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(next(iter(modes), ""), "")
    if len(modes) != 1 or not mode or bert.get("do_lower_case"):
        return None
    return Pipeline(mode, kinds[-1] == "Normalize", int(bert.get("max_seq_length") or 512))


def onnx_ready(folder: Path) -> str:
    """What is missing to run `folder` through ONNX Runtime ("" when nothing is)."""
    if not _packages_installed():
        return "the onnxruntime and onnx packages (pip install onnxruntime onnx)"
    if not folder.is_dir() or read_pipeline(folder) is None:
        return "a local sentence-transformers folder of an encoder with mean or CLS pooling"
    return ""


def _packages_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) for name in ("onnxruntime", "onnx"))


def cache_folder(folder: Path) -> Path:
    """One cache folder per model weights: the same folder with other weights exports again."""
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    key = hashlib.sha1(str(folder.resolve()).encode())
    for path in weights:
        stat = path.stat()
        key.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir() / "embedders" / f"{folder.name}-{key.hexdigest()[:12]}"


def export(folder: Path, target: Path) -> None:
    """The encoder of `folder` → target/model.onnx (float32) and target/model.int8.onnx."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel


    with quiet_transformers():  # no raw "Loading weights" bar in the middle of `assistant index`'s
        model = AutoModel.from_pretrained(folder).eval()
    inputs = {"input_ids": torch.tensor([[101, 7592, 102], [101, 102, 0]]),
              "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]])}
    inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    dynamic = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with staged_folder(target, keep_existing=True) as staging, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracing warnings about Python branches on shapes
        # The TorchScript exporter: the dynamo one needs onnxscript's newest ops for BERT masks.
        torch.onnx.export(Encoder(), tuple(inputs[name] for name in INPUTS), str(staging / ONNX_FILE),
                          input_names=list(INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)
        logging.disable(logging.WARNING)  # a root-logger hint about pre-processing, for image models
        try:
            quantize_dynamic(str(staging / ONNX_FILE), str(staging / INT8_FILE),
                             weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.disable(logging.NOTSET)


class OnnxEncoder:
    """Normalised sentence vectors from an ONNX Runtime session, like SentenceTransformer.encode.

    One text (a query) runs on a session that spreads each operator over the cores. Many texts
    (indexing) run as small batches on one single-threaded session called from one Python thread
    per core (ONNX Runtime lets go of the GIL while it runs): on 2 cores, batches of 8 this way
    embed about 35 % more chunks per second than batches of 64 with the cores split per operator.
    """

    BULK_BATCH = 8

    def __init__(self, model_file: Path, tokenizer, pipeline: Pipeline, threads: int | None = None) -> None:
        self.session = _session(model_file, threads)
        self.tokenizer = tokenizer
        self.pipeline = pipeline
        self.model_file = model_file
        self.workers = threads or usable_cores()
        self._bulk = None

    @classmethod
    def for_folder(cls, folder: Path, tokenizer, quantized: bool = True) -> "OnnxEncoder | None":
        """The cached (exported on first use) encoder of a sentence-transformers folder, or None
        when onnxruntime is missing or the folder is not a plain encoder + pooling."""
        pipeline = read_pipeline(folder)
        if pipeline is None or not _packages_installed():
            return None
        target = cache_folder(folder)
        model_file = target / (INT8_FILE if quantized else ONNX_FILE)
        if not model_file.exists():
            log.info("exporting %s to ONNX (once, into %s)", folder, target)
            export(folder, target)
        return cls(model_file, tokenizer, pipeline, threads=int(os.environ.get("ASSISTANT_ONNX_THREADS", "0")) or None)

    def encode(self, texts: list[str]) -> np.ndarray:
        """One batch of texts → (len(texts), dim) float32, pooled and (if the model does) normalised."""
        return self._run(self.session, self._feeds(texts))

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """Many texts (best sorted by length) → vectors, in small batches on every core at once."""
        batches = [texts[i : i + self.BULK_BATCH] for i in range(0, len(texts), self.BULK_BATCH)]
        if self.workers < 2 or len(batches) < 2:
            return np.concatenate([self.encode(batch) for batch in batches])
        from concurrent.futures import ThreadPoolExecutor

        if self._bulk is None:
            self._bulk = _session(self.model_file, 1)
        # Tokenised here, not in the workers: a fast tokenizer sets its padding and truncation on
        # first use, and that change fails ("Already borrowed") while another thread encodes.
        feeds = [self._feeds(batch) for batch in batches]
        with ThreadPoolExecutor(self.workers) as pool:
            return np.concatenate(list(pool.map(lambda feed: self._run(self._bulk, feed), feeds)))

    def _feeds(self, texts: list[str]) -> dict[str, np.ndarray]:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.pipeline.max_length,
                                 return_tensors="np")
        mask = encoded["attention_mask"].astype(np.int64)
        return {"input_ids": encoded["input_ids"].astype(np.int64), "attention_mask": mask,
                "token_type_ids": encoded.get("token_type_ids", np.zeros_like(mask)).astype(np.int64)}

    def _run(self, session, feeds: dict[str, np.ndarray]) -> np.ndarray:
        hidden = session.run(None, feeds)[0]
        mask = feeds["attention_mask"]
        if self.pipeline.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.pipeline.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors.astype(np.float32)


def _session(model_file: Path, threads: int | None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def usable_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
