"""Terminal rendering of search hits, collections and metrics (rich)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from index.types import Hit


def snippet(text: str, width: int = 240) -> str:
    """First `width` characters on one line: 'a\\n\\nb' → 'a b'."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _ranks(hit: Hit) -> str:
    parts = [f"{name} #{rank} ({hit.scores[name]:.3f})" for name, rank in hit.ranks.items()]
    return ", ".join(parts) or "-"


def print_hits(console: Console, hits: list[Hit]) -> None:
    if not hits:
        console.print("No results.")
        return
    for position, hit in enumerate(hits, start=1):
        where = hit.chunk.source + (f" [{hit.chunk.locator}]" if hit.chunk.locator else "")
        head = Text.assemble((f"{position:>2}. ", "bold"), (where, "cyan"))
        if hit.chunk.heading():
            head.append(f"  § {hit.chunk.heading()}", style="magenta")
        console.print(head)
        console.print(Text(f"    score {hit.score:.4f} · {_ranks(hit)}", style="dim"))
        console.print(Text("    " + snippet(hit.chunk.text)))


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def print_collections(console: Console, infos, project_dir: Path) -> None:
    if not infos:
        console.print(f"No collections under {project_dir}. Create one with: assistant index PATH")
        return
    table = Table(title=f"Collections in {project_dir}")
    for column in ("name", "files", "chunks", "embedder", "indexes", "size", "updated"):
        table.add_column(column, overflow="fold")
    for info in infos:
        m = info.manifest
        sparse, dense = m["index_settings"]["sparse"], m["index_settings"]["dense"]
        table.add_row(info.name, str(m["counts"]["files"]), str(m["counts"]["chunks"]),
                      Path(m["embedder"]["name"]).name, f"{sparse['backend']}/{sparse['variant']} + {dense['kind']}",
                      human_size(info.size_bytes), m["updated"][:16].replace("T", " "))
    console.print(table)


def print_metrics(console: Console, results: dict[str, dict[str, float]], title: str = "") -> None:
    metrics = list(next(iter(results.values())))
    table = Table(title=title)
    table.add_column("mode")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for mode, values in results.items():
        table.add_row(mode, *(f"{values[m]:.3f}" for m in metrics))
    console.print(table)


def print_sources(console: Console, answer, full: bool = False) -> None:
    """The sources an answer was given; cited ones first and marked."""
    ordered = sorted(answer.sources, key=lambda s: (not s.cited, s.number))
    for source in ordered:
        mark = Text("cited  ", style="green") if source.cited else Text("given  ", style="dim")
        console.print(Text.assemble(mark, (source.label(), "cyan")))
        if full:
            console.print(Text("    " + snippet(source.chunk.text, 600)))


def print_answer_footer(console: Console, answer) -> None:
    """After a streamed answer: its sources (RAG modes) and one dim line of metadata."""
    if answer.collection is not None:
        if answer.cited:
            how = " (matched by content: the model wrote no [n])" if answer.attributed else ""
            console.print(Text(f"Sources{how}:", style="bold"))
            for source in answer.cited:
                console.print(Text("  " + source.label(), style="cyan"))
        elif answer.sources:
            console.print(Text(f"No source cited; {len(answer.sources)} were given (see /sources or --json).",
                               style="yellow"))
        else:
            console.print(Text(f"No sources found in collection {answer.collection!r}.", style="yellow"))
    console.print(Text(answer_line(answer), style="dim"))


def answer_line(answer) -> str:
    """One line of metadata under an answer, for the CLI footer and the TUI.

    'mode rag · model smollm2-135m-instruct · collection docs · 412 prompt + 38 new tokens ·
    first token 0.21 s, 30.1 tok/s'
    """
    m = answer.metadata()
    parts = [f"mode {m['mode']}", f"model {Path(m['model']).name}"]
    if m["adapter"]:
        adapter = Path(m["adapter"])  # a run's adapter/ folder reads best as the run's name
        parts.append(f"adapter {adapter.parent.name if adapter.name == 'adapter' else adapter.name}")
    if m["collection"]:
        parts.append(f"collection {m['collection']}")
    parts.append(f"{m['prompt_tokens']} prompt + {m['new_tokens']} new tokens")
    parts.append(f"first token {m['first_token_seconds']:.2f} s, {m['tokens_per_second']:.1f} tok/s")
    if m["turns_dropped"] or m["sources_dropped"]:
        parts.append(f"dropped to fit: {m['turns_dropped']} turns, {m['sources_dropped']} sources")
    if m["stopped"]:
        parts.append("stopped")
    return " · ".join(parts)
