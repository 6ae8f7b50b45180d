"""`assistant index`, `search`, `collections` and `eval retrieval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .common import app, command, console, errors, fail, settings

collections_app = typer.Typer(help="List or remove collections.", invoke_without_command=True)
eval_app = typer.Typer(help="Measure retrieval (and later, answer) quality.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(eval_app, name="eval")


@command()
def index(
    paths: list[Path] = typer.Argument(..., help="Files or folders to index."),
    collection: str = typer.Option("default", "--collection", "-c", help="Collection name."),
    embedder: Optional[str] = typer.Option(None, help="sentence-transformers model id or folder."),
    chunk_tokens: Optional[int] = typer.Option(None, help="Max tokens per chunk."),
    chunk_overlap: Optional[int] = typer.Option(None, help="Tokens shared by consecutive chunks."),
    dense_index: Optional[str] = typer.Option(None, help="auto (flat when small, ivf when big), flat (exact), ivf or hnsw."),
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
    from index.store import Collection

    from ..config import override
    from ..progress import RichBuildReporter

    cfg = settings()
    index_config = override(cfg.index, embedder=embedder, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap,
                            dense_index=dense_index, sparse_backend=sparse_backend, text_field=text_field,
                            symlinks=symlinks)
    target = Collection(cfg.project_dir, collection)
    with RichBuildReporter(errors) as reporter:
        report = build_collection(paths, target, index_config, reporter, rebuild=rebuild)
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


@command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    collection: str = typer.Option("default", "--collection", "-c"),
    k: Optional[int] = typer.Option(None, "--k", "-k", help="Number of results (default 10)."),
    mode: Optional[str] = typer.Option(None, help="hybrid, bm25 or dense."),
    fusion: Optional[str] = typer.Option(None, help="minmax (default), zscore, dbsf or rrf."),
    reranker: Optional[str] = typer.Option(None, help="CrossEncoder model id or folder to rerank with."),
    as_json: bool = typer.Option(False, "--json", help="Print results as a JSON list."),
) -> None:
    """Search a collection with BM25, dense vectors, or both fused."""
    from index.retriever import open_collection

    from ..config import override
    from ..render import print_hits

    cfg = settings()
    retrieval = override(cfg.retrieval, k=k, mode=mode, fusion=fusion, reranker=reranker)
    hits = open_collection(cfg.project_dir, collection).search(query, retrieval)
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

    from ..render import print_collections

    project_dir = settings().project_dir
    infos = list_collections(project_dir)
    if as_json:
        print(json.dumps([{"name": i.name, "files": len(i.manifest.files), "chunks": i.manifest.chunks,
                           "embedder": i.manifest.embedder, "size_bytes": i.size_bytes, "updated": i.manifest.updated}
                          for i in infos], indent=1))
    else:
        print_collections(console, infos, project_dir)


@command(collections_app, "rm")
def collections_rm(name: str = typer.Argument(..., help="Collection to delete.")) -> None:
    """Delete a collection."""
    from index.store import Collection

    Collection(settings().project_dir, name).remove()
    console.print(f"Removed collection {name!r}.")


@command(eval_app, "retrieval")
def eval_retrieval(
    beir: Path = typer.Option(..., "--beir", help="BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/)."),
    split: str = typer.Option("test", help="qrels split."),
    collection: Optional[str] = typer.Option(None, "--collection", "-c", help="Default: beir-<folder name>."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """nDCG@10, Recall@100 and MRR@10 for bm25, dense and hybrid on a BEIR set."""
    from index.build import build_collection
    from index.evaluate import BEIR_LOADER, evaluate_retriever, load_beir
    from index.retriever import Retriever
    from index.store import Collection

    from ..progress import RichBuildReporter
    from ..render import print_metrics

    cfg = settings()
    beir_set = load_beir(beir, split)
    target = Collection(cfg.project_dir, collection or f"beir-{beir_set.name}")
    with RichBuildReporter(errors) as reporter:
        build_collection([beir_set.corpus], target, cfg.index, reporter, loader=BEIR_LOADER)
    results = evaluate_retriever(Retriever.open(target), beir_set, config=cfg.retrieval)
    if as_json:
        print(json.dumps(results, indent=1))
    else:
        print_metrics(console, results, title=f"{beir_set.name} ({len(beir_set.queries)} queries)")
