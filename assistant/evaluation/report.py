"""How a comparison reads: the summary table (terminal and Markdown), the report, the chart.

    >>> result = CompareResult([], {"base": {"f1": CI(0.12, 0.081, 0.162, 120)},
    ...                                 "rag": {"f1": CI(0.412, 0.351, 0.473, 120)}}, ("base", "rag"))
    >>> summary_rows(result)
    [['F1 (%)', '12.0 [8.1–16.2]', '41.2 [35.1–47.3]']]

Pure text from a `compare.CompareResult`; only `render_table` (rich) and `plot_metrics`
(matplotlib, Agg) touch an output.
"""

from __future__ import annotations

from pathlib import Path

from ..config import SFT_MODES
from .metrics import CI, METRIC, METRICS
from .results import CompareResult

REPORTED_QUESTIONS = 100
"""Questions shown side by side in report.md; every row is in rows.jsonl."""


def format_ci(ci: CI | None, metric: str, interval: bool = True) -> str:
    """CI(0.412, 0.351, 0.473) for F1 → "41.2 [35.1–47.3]"; latency → "1.23 [1.10–1.40]"."""
    if ci is None:
        return "–"
    scale, digits = (100, 1) if METRIC[metric].percent else (1, 2)
    text = f"{ci.mean * scale:.{digits}f}"
    return text + (f" [{ci.low * scale:.{digits}f}–{ci.high * scale:.{digits}f}]" if interval and ci.n > 1 else "")


def _delta(ci: CI | None, old: CI | None, metric: str) -> str:
    if ci is None or old is None:
        return ""
    scale = 100 if METRIC[metric].percent else 1
    return f" ({(ci.mean - old.mean) * scale:+.{1 if scale == 100 else 2}f})"


def summary_rows(result: CompareResult, against: CompareResult | None = None) -> list[list[str]]:
    """[metric label, cell per mode]: the metrics any mode has a value for, in METRICS order.
    With `against`, each cell adds the change from that run's mean: "41.2 [35.1–47.3] (+3.0)"."""
    table = []
    for metric in METRICS:
        if not any(metric.key in result.summary.get(mode, {}) for mode in result.modes):
            continue
        cells = []
        for mode in result.modes:
            ci = result.summary.get(mode, {}).get(metric.key)
            old = against.summary.get(mode, {}).get(metric.key) if against else None
            cells.append(format_ci(ci, metric.key) + _delta(ci, old, metric.key))
        table.append([metric.label + (" (%)" if metric.percent else ""), *cells])
    return table


def _cell(text: str, width: int = 300) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def markdown_report(result: CompareResult, against: CompareResult | None = None, notes: str = "") -> str:
    """report.md: what was compared, the summary table, `notes` (a verdict), the chart and the
    answers side by side."""
    m = result.manifest
    adapters = ", ".join(f"{mode}: {Path(path).parent.name if path else '–'}"
                         for mode, path in m.get("adapters", {}).items() if mode in SFT_MODES)
    groups = result.by_question()
    lines = [f"# {result.name or 'Comparison'}", "",
             f"{len(groups)} questions × {len(result.modes)} modes · model `{m.get('model')}`"
             + (f" · collection `{m['collection']['name']}`" if m.get("collection") else "")
             + (f" · adapters {adapters}" if adapters else "")
             + f" · max_new_tokens {m.get('generation', {}).get('max_new_tokens')} · seed {m.get('seed')}"
             + (" · **stopped early**" if result.stopped else ""), "",
             f"Mean [{round(100 * m.get('bootstrap', {}).get('confidence', 0.95))}% bootstrap CI] per mode"
             + (f"; (±) is the change from `{against.name}`." if against else "."), "",
             "| metric | " + " | ".join(result.modes) + " |", "|---" * (len(result.modes) + 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(result, against)]
    lines += ["", *([notes, ""] if notes else []), "![metrics by mode](metrics.png)", "", "## Answers side by side", ""]
    for first, modes in groups[:REPORTED_QUESTIONS]:
        lines += [f"### {first.id}: {_cell(first.question)}", ""]
        if first.references or first.source:
            lines += [f"Reference: {' / '.join(first.references) or '–'} · gold source: {first.source or '–'}", ""]
        scored = first.references  # an F1 column only where there is an answer to score against
        lines += ["| mode | answer |" + (" F1 |" if scored else "") + " latency | sources (* cited) |",
                  "|---" * (5 if scored else 4) + "|"]
        for mode, row in modes.items():
            f1 = f" {100 * row.metrics['f1']:.0f} |" if scored else ""
            lines.append(f"| {mode} | {_cell(row.answer) or '(empty)'} |{f1} {row.metrics['latency']:.2f} s "
                         f"| {_cell('; '.join(s.label() for s in row.sources)) or '–'} |")
        lines.append("")
    if len(groups) > REPORTED_QUESTIONS:
        lines.append(f"… and {len(groups) - REPORTED_QUESTIONS} more questions in rows.jsonl.")
    return "\n".join(lines) + "\n"


def render_table(result: CompareResult, console, against: CompareResult | None = None,
                 answers: int | None = None) -> None:
    """The summary as a rich table, then up to `answers` questions side by side (default: 10 when
    there are no reference answers to score, else none)."""
    from rich.table import Table

    table = Table(title=f"{result.name}: mean [95% CI]" + (f" (± vs {against.name})" if against else ""))
    table.add_column("metric")
    for mode in result.modes:
        table.add_column(mode, justify="right")
    for row in summary_rows(result, against):
        table.add_row(*row)
    console.print(table)
    shown = (0 if result.has_references else 10) if answers is None else answers
    for first, modes in result.by_question()[:shown]:
        side = Table(title=first.question, show_lines=True, title_justify="left")
        for column in ("mode", "answer", "latency", "sources (* cited)"):
            side.add_column(column)
        for mode, row in modes.items():
            side.add_row(mode, row.answer, f"{row.metrics['latency']:.2f} s",
                         "\n".join(s.label() for s in row.sources) or "–")
        console.print(side)


def plot_metrics(result: CompareResult, path: Path) -> Path:
    """metrics.png: the shares (F1, hit rate ...) as bars grouped by metric, one colour per mode,
    with CI error bars; latency per mode beside them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = [m for m in METRICS if m.percent and any(m.key in result.summary.get(x, {}) for x in result.modes)]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100, gridspec_kw={"width_ratios": [4, 1]})
    width = 0.8 / max(len(result.modes), 1)
    for i, mode in enumerate(result.modes):
        cis = [result.summary.get(mode, {}).get(m.key) for m in shares]
        means = [100 * c.mean if c else 0 for c in cis]
        errors = [[100 * (c.mean - c.low) if c else 0 for c in cis], [100 * (c.high - c.mean) if c else 0 for c in cis]]
        left.bar([j + i * width for j in range(len(shares))], means, width, yerr=errors, capsize=3, label=mode,
                 color=f"C{i}")
        latency = result.summary.get(mode, {}).get("latency")
        if latency:
            spread = [[latency.mean - latency.low], [latency.high - latency.mean]]
            right.bar(i, latency.mean, 0.7, color=f"C{i}", yerr=spread,
                      capsize=3)
    left.set_xticks([j + 0.4 - width / 2 for j in range(len(shares))], [m.label for m in shares], fontsize=8)
    left.set_ylabel("%")
    left.set_ylim(0, 105)
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    left.set_title(result.name or "comparison")
    right.set_xticks(range(len(result.modes)), result.modes, fontsize=8)
    right.set_title("latency (s)")
    figure.tight_layout()
    temp = path.with_name(f".{path.name}.tmp")
    figure.savefig(temp, format="png")
    plt.close(figure)
    temp.replace(path)
    return path


__all__ = ["format_ci", "markdown_report", "plot_metrics", "render_table", "summary_rows"]
