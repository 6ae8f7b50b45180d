"""`data inspect` and `data clean` on a console: readable at 80 columns, and when piped (the
trained part of a preview is then marked «like this», since colour is gone)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.text import Text

BAR = 24


def shown_path(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _line(console: Console, label: str, value) -> None:
    console.print(Text.assemble((f"  {label}: ", "bold"), str(value)))


def print_report(report, console: Console) -> None:
    """One file's FileReport (finetune/inspection.py)."""
    console.print(Text.assemble((shown_path(report.path), "bold underline"), ": ", (report.format, "cyan"),
                                f", {report.records} records"))
    if report.why:
        _line(console, "format", report.why)
    if report.bad_count:
        _line(console, "bad records", f"{report.bad_count} ({report.empty} empty)")
        for bad in report.bad:
            console.print(f"    {bad}", highlight=False, markup=False)
    for step, found in report.findings.items():
        _line(console, step, found["count"])
        for where in found["at"][:3]:
            console.print(f"    {where}", highlight=False, markup=False)
    if report.personal:
        _line(console, "personal data by kind", ", ".join(f"{k} {n}" for k, n in report.personal.items()))
    if report.turns:
        _line(console, "messages per conversation", ", ".join(f"{n}: {c}" for n, c in report.turns.items()))
        _line(console, "roles", ", ".join(f"{r} {n}" for r, n in report.roles.items()))
    if report.labels:
        _line(console, "labels", ", ".join(f"{label} {n}" for label, n in list(report.labels.items())[:12]) +
              (f" (+{len(report.labels) - 12} more)" if len(report.labels) > 12 else ""))
    if report.scripts:
        _line(console, "scripts", ", ".join(f"{name} {share:.0%}" for name, share in report.scripts.items()))
    if report.tokens:
        _print_tokens(report.tokens, console)
    for preview in report.preview:
        print_preview(preview, console)
    console.print()


def _print_tokens(tokens, console: Console) -> None:
    _line(console, "tokens", f"p50 {tokens.p50}, p95 {tokens.p95}, longest {tokens.longest}; "
                             f"{tokens.over:.0%} over max_length {tokens.max_length}; {tokens.trained:,} trained")
    if tokens.cut:
        _line(console, "over max_length (chats cut, texts split)", ", ".join(tokens.cut))
    most = max(tokens.histogram) or 1
    for count, low, high in zip(tokens.histogram, tokens.edges, tokens.edges[1:]):
        if count:
            over = " (cut)" if low > tokens.max_length else ""
            console.print(f"    {low:>6} – {high - 1:<6} {'█' * max(1, round(BAR * count / most))} {count}{over}",
                          highlight=False)


def print_preview(preview, console: Console) -> None:
    """An example as trained: the trained tokens green, or «between marks» without colour."""
    plain = console.no_color or not console.is_terminal
    console.print(Text.assemble(("  preview ", "bold"), preview.origin,
                                " (trained text «marked»)" if plain else (" (trained text green)", "dim")))
    text = Text("    ")
    for piece, trained in preview.segments:
        piece = piece.replace("\n", "\n    ")
        if trained:
            text.append(f"«{piece}»" if plain else piece, style="bold green")
        else:
            text.append(piece, style="dim")
    console.print(text)


def print_changes(cleaned, console: Console, shown: int) -> None:
    """What `data clean` did: per file kept/removed, counts per step, then the changes by file:line."""
    result = cleaned.result
    for file in result.files:
        removed = file.read - len(file.records)
        target = cleaned.written.get(file.path)
        console.print(f"{shown_path(file.path)} ({file.format}): kept {len(file.records)}, removed {removed}"
                      + (f" → {shown_path(target)}" if target else ""), highlight=False)
    counts = result.counts()
    if cleaned.bad:
        counts["bad record"] = len(cleaned.bad)
    if not counts:
        console.print("Nothing to change.")
        return
    console.print("Changes: " + ", ".join(f"{step} {n}" for step, n in counts.items()), highlight=False)
    lines = [str(c) for c in result.changes] + [f"{b} (removed)" for b in cleaned.bad]
    for line in lines[:shown]:
        console.print(f"  {line}", highlight=False, markup=False)
    if len(lines) > shown:
        console.print(f"  ... {len(lines) - shown} more; every change: --report FILE", highlight=False)
