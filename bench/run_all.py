"""Run every benchmark in order, each in a fresh process; collect the tables in results/SUMMARY.md.

    python -m bench.run_all                 # all of them
    python -m bench.run_all bm25_speed      # only the ones named
    python -m bench.run_all --summary       # only rebuild SUMMARY.md from the latest results
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import _report

BENCHMARKS = ("retrieval_quality", "retrieval_tuning", "retrieval_signals", "zh_retrieval", "bm25_speed",
              "dense_index", "hybrid_latency", "scale_1m", "embedding_throughput", "indexing_throughput",
              "generation_latency", "chunking", "answer_quality", "conversation_quality", "prompt_injection", "near_duplicates",
              "ask_latency", "zh_answers", "training_throughput", "study_profile", "decode_options", "kill_trials")


def main(names: list[str] | None = None) -> int:
    summary_only = names == ["--summary"]
    chosen = [] if summary_only else (names or list(BENCHMARKS))
    unknown = [n for n in chosen if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    failed, seconds = [], {}
    for name in chosen:
        print(f"== {name}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"bench.{name}"], env=env, stdout=subprocess.DEVNULL)
        seconds[name] = time.perf_counter() - began
        if done.returncode != 0 or not (_report.RESULTS / f"{name}.md").is_file():
            failed.append(name)
    # The summary holds every benchmark's latest table, so running one refreshes only its part.
    sections = []
    for name in BENCHMARKS:
        result = _report.RESULTS / f"{name}.md"
        if name in failed:
            sections.append(f"## {name}\n\nFAILED after {seconds[name]:.0f} s.\n")
        elif result.is_file():
            took = f"\n\n_{name}: {seconds[name]:.0f} s in all._\n" if name in seconds else "\n"
            sections.append(result.read_text(encoding="utf-8").rstrip() + took)
    env_line = ", ".join(f"{k} {v}" for k, v in _report.environment().items())
    summary = "# Benchmarks\n\n" + f"{env_line}\n\n" + "\n".join(sections)
    _report.RESULTS.mkdir(parents=True, exist_ok=True)
    _report.atomic_write_text(_report.RESULTS / "SUMMARY.md", summary)
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
