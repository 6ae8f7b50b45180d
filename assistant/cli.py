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
    as_json: bool = typer.Option(False, "--json", help="Print the build report as JSON."),
) -> None:
    """Index documents into a collection (only new or changed files are re-embedded)."""
    from index.build import build_collection
    from index.store import Collection, StoreError

    from .config import ConfigError, override
    from .progress import RichBuildReporter

    cfg = config()
    try:
        index_config = override(cfg.index, embedder=embedder, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap,
                                dense_index=dense_index, sparse_backend=sparse_backend, text_field=text_field)
        target = Collection(cfg.project_dir, collection)
        with RichBuildReporter(errors) as reporter:
            report = build_collection(paths, target, index_config, reporter, rebuild=rebuild)
    except (ConfigError, StoreError, FileNotFoundError) as err:
        fail(str(err))
    if as_json:
        print(json.dumps(report.to_json(), indent=1))
        return
    if not report.written:
        console.print(f"[green]Up to date:[/] {collection!r} has {report.chunks} chunks from "
                      f"{report.unchanged} unchanged files ({report.seconds:.1f} s).")
        return
    rate = report.chunks_embedded / report.embed_seconds if report.embed_seconds else 0
    console.print(
        f"[green]Indexed[/] {collection!r}: {report.chunks} chunks from {report.files} files "
        f"({report.new_or_changed} new/changed, {report.unchanged} unchanged, {report.removed} removed, "
        f"{len(report.skipped)} skipped, {len(report.failed)} unreadable); "
        f"embedded {report.chunks_embedded} chunks at {rate:,.0f}/s; {report.seconds:.1f} s in all."
    )


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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)
