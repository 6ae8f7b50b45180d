"""The training data as it will be trained on: counts, tokens, truncation and a length histogram,
each file's format and what cleaning would find, a preview of an example with its trained tokens
in green; or the validation error (file:line) that stops training before it starts."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def summary_text(summary, details: str = "", bar_width: int = 24) -> Text:
    """A DataSummary as lines of text (what `assistant finetune` prints as a table and histogram)."""
    text = Text()
    if details:
        text.append(details + "\n", style="bold")
    text.append(f"{summary.records} records ({summary.chat} chat, {summary.text} text) · "
                f"{summary.tokens:,} tokens, {summary.trained_tokens:,} trained · "
                f"{summary.truncated} truncated (> {summary.max_length}) · "
                f"{summary.untrainable} with nothing to train on\n")
    text.append("Length in tokens (before truncation)\n", style="bold")
    most = max(summary.histogram) or 1
    for count, low, high in zip(summary.histogram, summary.edges, summary.edges[1:]):
        if not count:
            continue
        text.append(f"{low:>6} – {high - 1:<6} ")
        text.append("█" * max(1, round(bar_width * count / most)), style="green")
        text.append(f" {count}")
        if low > summary.max_length:
            text.append(" (truncated)", style="red")
        text.append("\n")
    return text


def reports_text(reports, width: int = 600) -> Text:
    """Per file (finetune.inspection FileReport): format and why, findings, labels, personal data,
    and the first example as trained."""
    text = Text()
    for report in reports:
        text.append(f"\n{report.path.rsplit('/', 1)[-1]}", style="bold")
        text.append(f": {report.format}, {report.records} records — {report.why}\n")
        found = [f"{step} {item['count']}" for step, item in report.findings.items()]
        if report.personal:
            found.append("personal data: " + ", ".join(f"{k} {n}" for k, n in report.personal.items()))
        if report.labels:
            found.append("labels: " + ", ".join(f"{k} {n}" for k, n in list(report.labels.items())[:8]))
        if found:
            text.append("  " + " · ".join(found) + " (assistant data clean fixes these)\n", style="yellow")
        for preview in report.preview:
            text.append(f"  preview {preview.origin.rsplit('/', 1)[-1]} (trained text green):\n", style="dim")
            for piece, trained in preview.segments:
                text.append(piece[:width], style="bold green" if trained else "dim")
            text.append("\n")
    return text


class DataSummaryView(Static):
    DEFAULT_CSS = """
    DataSummaryView { height: auto; padding: 0 1; }
    DataSummaryView.-error { color: $error; }
    """

    def show_summary(self, summary, details: str = "", reports=()) -> None:
        self.remove_class("-error")
        self.update(summary_text(summary, details) + reports_text(reports))

    def show_error(self, message: str) -> None:
        self.add_class("-error")
        self.update(Text(message))

    def show_note(self, message: str) -> None:
        self.remove_class("-error")
        self.update(Text(message, style="dim"))
