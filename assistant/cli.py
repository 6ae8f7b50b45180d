"""The `assistant` command: parse flags, build a config, call the library, print the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  help="Turn your documents into a local assistant: RAG, fine-tuning, or both.")
collections_app = typer.Typer(help="List or remove collections.", invoke_without_command=True)
eval_app = typer.Typer(help="Measure retrieval (and later, answer) quality.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(eval_app, name="eval")

console = Console()
errors = Console(stderr=True)
_state: dict = {}


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def config():
    from .config import ConfigError, load_config

    if "config" not in _state:
        try:
            cfg = load_config(_state.get("config_path"))
        except ConfigError as err:
            fail(str(err))
        if _state.get("project_dir"):
            cfg.project_dir = _state["project_dir"]
        _state["config"] = cfg
    return _state["config"]


@app.callback()
def main_options(
    config_path: Optional[Path] = typer.Option(None, "--config", help="TOML config file (default: ./assistant.toml)."),
    project_dir: Optional[Path] = typer.Option(None, "--project-dir", help="Where collections live (default .assistant)."),
) -> None:
    _state.clear()
    _state.update(config_path=config_path, project_dir=project_dir)


@app.command()
def index(
    paths: list[Path] = typer.Argument(..., help="Files or folders to index."),
    collection: str = typer.Option("default", "--collection", "-c", help="Collection name."),
    embedder: Optional[str] = typer.Option(None, help="sentence-transformers model id or folder."),
    chunk_tokens: Optional[int] = typer.Option(None, help="Max tokens per chunk."),
    chunk_overlap: Optional[int] = typer.Option(None, help="Tokens shared by consecutive chunks."),
    dense_index: Optional[str] = typer.Option(None, help="flat (exact) or hnsw."),
    sparse_backend: Optional[str] = typer.Option(None, help="bm25s or rank-bm25."),
    text_field: Optional[str] = typer.Option(None, help="JSON/JSONL field holding the text."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Ignore the existing index and rebuild it all."),
    symlinks: Optional[str] = typer.Option(None, help="Links to files: inside (the indexed folders), anywhere, skip."),
    strict: bool = typer.Option(False, "--strict", help="Exit with 1 when any file is skipped or unreadable (for CI)."),
    as_json: bool = typer.Option(False, "--json", help="Print the build report as JSON."),
) -> None:
    """Index documents into a collection (only new or changed files are re-embedded).

    A file that cannot be read is reported and skipped; the build goes on with the rest and exits
    with 0 when anything was indexed (1 with --strict)."""
    from index.build import build_collection
    from index.store import Collection, StoreError

    from .config import ConfigError, override
    from .progress import RichBuildReporter

    cfg = config()
    try:
        index_config = override(cfg.index, embedder=embedder, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap,
                                dense_index=dense_index, sparse_backend=sparse_backend, text_field=text_field,
                                symlinks=symlinks)
        target = Collection(cfg.project_dir, collection)
        with RichBuildReporter(errors) as reporter:
            report = build_collection(paths, target, index_config, reporter, rebuild=rebuild)
    except (ConfigError, StoreError, FileNotFoundError) as err:
        fail(str(err))
    problems = len(report.skipped) + len(report.failed)
    if as_json:
        print(json.dumps(report.to_json(), indent=1))
    elif not report.written:
        console.print(f"[green]Up to date:[/] {collection!r} has {report.chunks} chunks from "
                      f"{report.unchanged} unchanged files ({report.seconds:.1f} s).")
    else:
        rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds else 0
        console.print(
            f"[green]Indexed[/] {collection!r}: {report.chunks} chunks from {report.files} files "
            f"({report.new_or_changed} new/changed, {report.unchanged} unchanged, {report.removed} removed, "
            f"{len(report.skipped)} skipped, {len(report.failed)} unreadable); "
            f"embedded {report.chunks_embedded} chunks at {rate:,.0f}/s; {report.seconds:.1f} s in all."
        )
    if problems and not as_json:
        print_problems(report)
    if problems and strict:
        fail(f"{problems} file(s) skipped or unreadable (--strict)")


def print_problems(report, shown: int = 20) -> None:
    """The skipped and unreadable files of a build, each with its reason, after its summary line."""
    from rich.text import Text

    rows = [("unreadable", "red", f) for f in report.failed] + [("skipped", "yellow", f) for f in report.skipped]
    errors.print(Text(f"{len(report.failed)} unreadable, {len(report.skipped)} skipped:", style="bold"))
    for label, style, (source, reason) in rows[:shown]:
        errors.print(Text.assemble(("  " + label, style), f" {source}: {reason}"), highlight=False)
    if len(rows) > shown:
        errors.print(f"  ... and {len(rows) - shown} more (all of them with --json)")


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    collection: str = typer.Option("default", "--collection", "-c"),
    k: Optional[int] = typer.Option(None, "--k", "-k", help="Number of results (default 10)."),
    mode: Optional[str] = typer.Option(None, help="hybrid, bm25 or dense."),
    fusion: Optional[str] = typer.Option(None, help="rrf or weighted."),
    reranker: Optional[str] = typer.Option(None, help="CrossEncoder model id or folder to rerank with."),
    as_json: bool = typer.Option(False, "--json", help="Print results as a JSON list."),
) -> None:
    """Search a collection with BM25, dense vectors, or both fused."""
    from index.retriever import open_collection
    from index.store import StoreError

    from .config import ConfigError, override
    from .render import print_hits

    cfg = config()
    try:
        settings = override(cfg.retrieval, k=k, mode=mode, fusion=fusion, reranker=reranker)
        retriever = open_collection(cfg.project_dir, collection)
        hits = retriever.search(query, settings)
    except (ConfigError, StoreError) as err:
        fail(str(err))
    if as_json:
        print(json.dumps([h.to_json() for h in hits], indent=1, ensure_ascii=False))
    else:
        print_hits(console, hits)


@collections_app.callback()
def collections_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List collections with their counts, models and sizes."""
    if ctx.invoked_subcommand:
        return
    from index.store import list_collections

    from .render import print_collections

    infos = list_collections(config().project_dir)
    if as_json:
        print(json.dumps([{"name": i.name, "files": i.manifest["counts"]["files"],
                           "chunks": i.manifest["counts"]["chunks"], "embedder": i.manifest["embedder"]["name"],
                           "size_bytes": i.size_bytes, "updated": i.manifest["updated"]} for i in infos], indent=1))
    else:
        print_collections(console, infos, config().project_dir)


@collections_app.command("rm")
def collections_rm(name: str = typer.Argument(..., help="Collection to delete.")) -> None:
    """Delete a collection."""
    from index.store import Collection, StoreError

    try:
        Collection(config().project_dir, name).remove()
    except StoreError as err:
        fail(str(err))
    console.print(f"Removed collection {name!r}.")


@eval_app.command("retrieval")
def eval_retrieval(
    beir: Path = typer.Option(..., "--beir", help="BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/)."),
    split: str = typer.Option("test", help="qrels split."),
    collection: Optional[str] = typer.Option(None, "--collection", "-c", help="Default: beir-<folder name>."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """nDCG@10, Recall@100 and MRR@10 for bm25, dense and hybrid on a BEIR set."""
    from index.build import build_collection
    from index.evaluate import BEIR_LOADER, BeirError, evaluate_retriever, load_beir
    from index.retriever import Retriever
    from index.store import Collection, StoreError

    from .progress import RichBuildReporter
    from .render import print_metrics

    cfg = config()
    try:
        beir_set = load_beir(beir, split)
        target = Collection(cfg.project_dir, collection or f"beir-{beir_set.name}")
        with RichBuildReporter(errors) as reporter:
            build_collection([beir_set.corpus], target, cfg.index, reporter, loader=BEIR_LOADER)
        results = evaluate_retriever(Retriever.open(target), beir_set, config=cfg.retrieval)
    except (BeirError, StoreError, FileNotFoundError) as err:
        fail(str(err))
    if as_json:
        print(json.dumps(results, indent=1))
    else:
        print_metrics(console, results, title=f"{beir_set.name} ({len(beir_set.queries)} queries)")


def _chat_settings(mode, collection, adapter, model, sources, max_new_tokens, temperature, device, load_in_4bit,
                   grounding=None, grounding_adapter=None, answer_style=None):
    from .config import ConfigError, override

    cfg = config()
    try:
        cfg.chat = override(cfg.chat, mode=mode, collection=collection, adapter=adapter, sources=sources)
        cfg.grounding = override(cfg.grounding, enabled=grounding, adapter=grounding_adapter, answer=answer_style)
        cfg.model = override(cfg.model, name=model, device=device, load_in_4bit=load_in_4bit)
        cfg.generation = override(cfg.generation, max_new_tokens=max_new_tokens, temperature=temperature)
    except ConfigError as err:
        fail(str(err))
    return cfg


def _assistant(cfg):
    from .answer import Assistant

    def progress(message: str) -> None:
        errors.print(f"[dim]{message}[/]", highlight=False)

    return Assistant(cfg, progress=progress)


def _answer_errors() -> tuple:
    from index.embedder import EmbedderError
    from index.store import StoreError

    from .models import ModelError
    from .prompts import ContextError

    return (ModelError, StoreError, EmbedderError, ContextError)


MODE_HELP = "base, rag, sft or rag+sft (default rag)."
GROUNDING_HELP = ("Answer from the best-matching sentences, show the evidence, say when the documents "
                  "don't hold the answer (default on).")
GROUNDING_ADAPTER_HELP = "Use the shipped grounded-answering adapter in rag mode on the embedded model (default off)."
ANSWER_HELP = ("How a grounded answer is written: extract (the best sentence), quote (the model copies a stretch of "
               "it) or generate (the model writes); default by model size.")


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question."),
    mode: Optional[str] = typer.Option(None, "--mode", "-m", help=MODE_HELP),
    collection: Optional[str] = typer.Option(None, "--collection", "-c", help="Collection for rag modes."),
    adapter: Optional[str] = typer.Option(None, "--adapter", "-a", help="Adapter run folder or name (sft modes)."),
    model: Optional[str] = typer.Option(None, "--model", help="Generator: embedded name, HF id or folder."),
    sources: Optional[int] = typer.Option(None, "--sources", help="Chunks to put in the prompt (default 3)."),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="0 = greedy (default)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda ..."),
    load_in_4bit: Optional[bool] = typer.Option(None, "--load-in-4bit", help="4-bit NF4 weights (bitsandbytes)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer, sources and metadata as JSON."),
    grounding: Optional[bool] = typer.Option(None, "--grounding/--no-grounding", help=GROUNDING_HELP),
    grounding_adapter: Optional[bool] = typer.Option(None, "--grounding-adapter/--no-grounding-adapter",
                                                     help=GROUNDING_ADAPTER_HELP),
    answer_style: Optional[str] = typer.Option(None, "--answer", help=ANSWER_HELP),
) -> None:
    """Answer one question, streamed, then the evidence under it and the sources it cited."""
    from .render import print_answer_footer

    cfg = _chat_settings(mode, collection, adapter, model, sources, max_new_tokens, temperature, device, load_in_4bit,
                         grounding, grounding_adapter, answer_style)
    helper = _assistant(cfg)
    stream = None if as_json else (lambda text: console.print(text, end="", markup=False, highlight=False, soft_wrap=True))
    try:
        answer = helper.answer(question, on_token=stream)
    except _answer_errors() as err:
        fail(str(err))
    if as_json:
        print(json.dumps(answer.to_json(), indent=1, ensure_ascii=False))
    else:
        console.print()
        print_answer_footer(console, answer)


CHAT_HELP = """Commands: /mode base|rag|sft|rag+sft · /sources (of the last answer) · /reset (forget history) · /help · /quit"""


@app.command()
def chat(
    mode: Optional[str] = typer.Option(None, "--mode", "-m", help=MODE_HELP),
    collection: Optional[str] = typer.Option(None, "--collection", "-c", help="Collection for rag modes."),
    adapter: Optional[str] = typer.Option(None, "--adapter", "-a", help="Adapter run folder or name (sft modes)."),
    model: Optional[str] = typer.Option(None, "--model", help="Generator: embedded name, HF id or folder."),
    sources: Optional[int] = typer.Option(None, "--sources", help="Chunks to put in the prompt (default 3)."),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens"),
    temperature: Optional[float] = typer.Option(None, "--temperature"),
    device: Optional[str] = typer.Option(None, "--device"),
    load_in_4bit: Optional[bool] = typer.Option(None, "--load-in-4bit"),
    grounding: Optional[bool] = typer.Option(None, "--grounding/--no-grounding", help=GROUNDING_HELP),
    grounding_adapter: Optional[bool] = typer.Option(None, "--grounding-adapter/--no-grounding-adapter",
                                                     help=GROUNDING_ADAPTER_HELP),
    answer_style: Optional[str] = typer.Option(None, "--answer", help=ANSWER_HELP),
) -> None:
    """Chat in the terminal, with history; /mode, /sources, /reset, /quit."""
    import threading

    from .answer import Chat
    from .render import print_answer_footer, print_sources

    cfg = _chat_settings(mode, collection, adapter, model, sources, max_new_tokens, temperature, device, load_in_4bit,
                         grounding, grounding_adapter, answer_style)
    session = Chat(_assistant(cfg))
    console.print(f"[bold]assistant chat[/] · mode {session.mode} · model {cfg.model.name}"
                  + (f" · collection {cfg.chat.collection}" if "rag" in session.mode else "")
                  + (f" · adapter {cfg.chat.adapter}" if cfg.chat.adapter else ""), highlight=False)
    console.print(f"[dim]{CHAT_HELP}[/]")
    while True:
        try:
            line = console.input(f"[bold cyan]{session.mode}>[/] ").strip()
        except EOFError:
            console.print()
            return
        if not line:
            continue
        if line.startswith("/"):
            command, _, argument = line[1:].partition(" ")
            if command in ("quit", "exit", "q"):
                return
            if command == "mode":
                try:
                    session.set_mode(argument.strip())
                except _answer_errors() as err:
                    errors.print(f"[red]{err}[/]", highlight=False)
                else:
                    console.print(f"mode: {session.mode}")
            elif command == "sources":
                if session.last is None or not session.last.sources:
                    console.print("No sources yet (the last answer used none).")
                else:
                    print_sources(console, session.last, full=True)
            elif command == "reset":
                session.reset()
                console.print("History cleared.")
            elif command == "help":
                console.print(CHAT_HELP)
            else:
                errors.print(f"unknown command /{command}. {CHAT_HELP}", highlight=False)
            continue
        stop = threading.Event()
        try:
            answer = session.ask(line, on_token=lambda t: console.print(t, end="", markup=False, highlight=False,
                                                                         soft_wrap=True), stop=stop)
        except KeyboardInterrupt:
            stop.set()
            console.print("\n[dim](interrupted)[/]")
            continue
        except _answer_errors() as err:
            errors.print(f"[bold red]error:[/] {err}", highlight=False)
            continue
        console.print()
        print_answer_footer(console, answer)


# Registers finetune, data and adapters on `app`; imported last because it uses the helpers above.
from . import cli_train  # noqa: E402,F401
from . import cli_compare  # noqa: E402,F401
from . import cli_tui  # noqa: E402,F401


def main() -> None:
    import logging
    import warnings

    # bitsandbytes asks the `kernels` package for a CPU kernel on import; offline, that logs a
    # warning on every command about a hub check nobody asked for.
    logging.getLogger("kernels").setLevel(logging.ERROR)

    # transformers 5 renamed gradient checkpointing; PEFT and TRL still call the old names.
    warnings.filterwarnings("ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning)
    if len(sys.argv) == 1 and sys.stdin.isatty() and sys.stdout.isatty():
        sys.argv.append("tui")  # `assistant` alone in a terminal opens the app; elsewhere, the help
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)
