"""`assistant ask` from a cold start, as a user runs it: wall time from process start to exit and
peak memory, for the embedded defaults on the Poetry docs, beside the code before passages (the
commit BASELINE, checked out into a temporary worktree) on the same collection, runs alternating.

Before passages, every `ask` loaded the generator even though the small profile writes no token,
and queries were tokenized through transformers (importing torch). Now the profile is chosen from
the model's size on disk and the query tokenizer is read from tokenizer.json.

    python -m bench.ask_latency
    BENCH_BASELINE_REF=<commit> python -m bench.ask_latency
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import _report

NAME = "ask_latency"
ROOT = Path(__file__).resolve().parents[1]
BASELINE = os.environ.get("BENCH_BASELINE_REF", "5457bbb")
"""The last commit before passages (the answering stages of the architecture issue)."""
RUNS = int(os.environ.get("BENCH_ASK_RUNS", "7"))
QUESTIONS = ("How do I add a dependency to a group?", "What's the default maximum number of parallel installer workers?",
             "How do I see where the virtual environment is?")
TARGET_P50_S = 2.0


def timed_run(tree: Path, project: Path, question: str) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one `python -m assistant ask` with `tree` on the path."""
    import time

    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    # GNU time reports the peak of the command itself (a child of this process starts out as big as it)
    command = ["/usr/bin/time", "-f", "peak %M"] + [sys.executable, "-m", "assistant", "ask", question, "-c", "poetry"]
    began = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"ask failed under {tree}: {done.stderr.strip()[-400:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1].removeprefix("peak ")) / 1024


def main() -> dict:
    from index.build import build_collection
    from index.store import Collection

    docs = _report.data_dir() / "docs" / "poetry"
    with tempfile.TemporaryDirectory(prefix="bench-ask-") as tmp:
        project, before = Path(tmp) / "project", Path(tmp) / "before"
        build_collection([docs], Collection(project / ".assistant", "poetry"))
        trees = {"now": ROOT}
        added = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BASELINE],
                               capture_output=True, text=True)
        if added.returncode == 0:
            trees = {f"before passages ({BASELINE})": before, "now": ROOT}
        else:
            print(f"no baseline: {added.stderr.strip()}", file=sys.stderr)
        try:
            for tree in trees.values():  # once each, untimed: the page cache, the model's conversion
                timed_run(tree, project, QUESTIONS[0])
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
            for run in range(RUNS):
                for name, tree in trees.items():
                    samples[name].append(timed_run(tree, project, QUESTIONS[run % len(QUESTIONS)]))
        finally:
            if added.returncode == 0:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                               capture_output=True)
    results = {name: {"p50_s": statistics.median(s for s, _ in runs), "max_s": max(s for s, _ in runs),
                      "peak_mb_p50": statistics.median(m for _, m in runs), "runs": len(runs)}
               for name, runs in samples.items()}
    payload = {"baseline": BASELINE, "target_p50_s": TARGET_P50_S, "results": results,
               "load": os.getloadavg()}
    _report.write(NAME, payload, markdown(payload))
    return payload


def markdown(p: dict) -> str:
    rows = [[name, r["p50_s"], r["max_s"], r["peak_mb_p50"], r["runs"]] for name, r in p["results"].items()]
    return "\n".join([
        "## `assistant ask`, cold: process start to exit", "",
        f"The embedded defaults on the Poetry docs, {len(QUESTIONS)} questions in turn, runs alternating; the "
        f"target is p50 ≤ {p['target_p50_s']} s. Load average at the end: "
        + ", ".join(f"{x:.2f}" for x in p["load"]) + ".", "",
        _report.table(["code", "wall p50 (s)", "wall max (s)", "peak resident (MB)", "runs"], rows), ""])


if __name__ == "__main__":
    main()
