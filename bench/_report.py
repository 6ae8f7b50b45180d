"""Shared bits of the benchmarks: where the data is, Markdown tables, atomic JSON + Markdown output.

    >>> table(["method", "nDCG@10"], [["bm25", 0.91234]])
    '| method | nDCG@10 |\\n|---|---|\\n| bm25 | 0.912 |'
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from core.files import atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"


def data_dir() -> Path:
    """$ASSISTANT_DATA, else ../shared/data beside the repository."""
    override = os.environ.get("ASSISTANT_DATA")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "data"


def cell(value) -> str:
    """0.91234 → '0.912'; 12345.6 → '12,346'; True → 'pass'; None → '—'."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile by nearest rank: pct([1, 2, 3, 4], 0.5) → 3; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def call_ms(call, items, warmup: list) -> list[float]:
    """Milliseconds of call(item) for each item, after calling it on each of `warmup` untimed."""
    for item in warmup:
        call(item)
    ms = []
    for item in items:
        began = time.perf_counter()
        call(item)
        ms.append((time.perf_counter() - began) * 1000)
    return ms


def table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> dict:
    import numpy

    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "numpy": numpy.__version__, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def write(name: str, payload: dict, markdown: str) -> Path:
    """Write bench/results/<name>.json and <name>.md (each atomically); print the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "environment": environment(), **payload}
    atomic_write_text(RESULTS / f"{name}.json", json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(RESULTS / f"{name}.md", markdown.rstrip() + "\n")
    print(markdown)
    return RESULTS / f"{name}.md"
