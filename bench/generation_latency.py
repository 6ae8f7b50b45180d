"""Time to first token and tokens/s of the default model answering in RAG mode with 3 chunks.

A collection of the squad-dev5 paragraphs is built, the model is loaded and warmed up with one
answer, then QUESTIONS SQuAD questions are answered in `rag` mode (3 sources, greedy, at most
64 new tokens) through `Assistant.answer`, the call behind `assistant ask`.

Measured per question:
- first token, end to end: from calling `answer()` to the first streamed text (retrieval,
  prompt fitting and templating, prefill, first decode step);
- first token, generation only: from `generate()` to the first new token (prefill + one step);
- decode tokens/s after the first token.
Peer, in the same run on the same prompts: plain `model.generate` of the same rendered prompt
without our streamer or stop checks, one new token (the prefill floor) and the same number of
new tokens as our answer (tokens/s).

    python -m bench.generation_latency
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from bench import _report

NAME = "generation_latency"
QUESTIONS = int(os.environ.get("BENCH_GEN_QUESTIONS", "20"))
TTFT_TARGET_S = 1.0


def main() -> None:
    import torch

    from assistant.answering import Assistant
    from assistant.config import ChatConfig, Config, GenerationConfig
    from assistant.engines.in_process import render_prompt
    from lm.prompts import build_messages
    from index.build import build_collection
    from index.evaluate import BEIR_LOADER, load_beir
    from index.store import Collection

    beir = load_beir(_report.data_dir() / "beir" / "squad-dev5", "test")
    questions = list(beir.queries.values())[: QUESTIONS + 1]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        build_collection([beir.corpus], Collection(project, "squad"), loader=BEIR_LOADER)
        config = Config(project_dir=project, chat=ChatConfig(mode="rag", collection="squad", sources=3),
                        generation=GenerationConfig(max_new_tokens=64))
        helper = Assistant(config)
        began = time.perf_counter()
        loaded = helper.model()
        load_seconds = time.perf_counter() - began
        helper.answer(questions[0])  # warm-up: embedder, retriever, first forward passes

        rows = []
        for question in questions[1:]:
            marks: dict = {}
            start = time.perf_counter()
            answer = helper.answer(question, on_token=lambda _: marks.setdefault("first", time.perf_counter()))
            g = answer.generation
            messages = build_messages(question, [s.chunk for s in answer.sources])
            inputs = loaded.tokenizer(render_prompt(loaded, messages), add_special_tokens=False,
                                      return_tensors="pt")
            with torch.inference_mode():
                t0 = time.perf_counter()
                loaded.model.generate(**inputs, max_new_tokens=1, do_sample=False,
                                      pad_token_id=loaded.tokenizer.pad_token_id)
                t1 = time.perf_counter()
                n = max(g.new_tokens, 2)
                loaded.model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                      pad_token_id=loaded.tokenizer.pad_token_id, repetition_penalty=1.1)
                t2 = time.perf_counter()
            peer_decode = (n - 1) / max((t2 - t1) - (t1 - t0), 1e-9)
            rows.append({
                "prompt_tokens": g.prompt_tokens, "new_tokens": g.new_tokens,
                "ttft_end_to_end_s": marks.get("first", time.perf_counter()) - start,
                "ttft_generation_s": g.first_token_seconds, "retrieval_s": answer.retrieval_seconds,
                "decode_tokens_per_s": g.tokens_per_second,
                "peer_prefill_s": t1 - t0, "peer_decode_tokens_per_s": peer_decode,
            })

    def med(key):
        return statistics.median(r[key] for r in rows)

    e2e = [r["ttft_end_to_end_s"] for r in rows]
    summary = {
        "questions": len(rows), "model_load_s": load_seconds, "threads": torch.get_num_threads(),
        "prompt_tokens_median": med("prompt_tokens"),
        "ttft_end_to_end_p50_s": _report.pct(e2e, 0.5), "ttft_end_to_end_p90_s": _report.pct(e2e, 0.9),
        "ttft_generation_p50_s": med("ttft_generation_s"), "retrieval_p50_s": med("retrieval_s"),
        "decode_tokens_per_s_p50": med("decode_tokens_per_s"),
        "peer_prefill_p50_s": med("peer_prefill_s"), "peer_decode_tokens_per_s_p50": med("peer_decode_tokens_per_s"),
    }
    passed = summary["ttft_end_to_end_p50_s"] <= TTFT_TARGET_S
    markdown = "\n\n".join([
        f"## Generation latency: {loaded.name} on {loaded.device} ({torch.get_num_threads()} threads), "
        f"RAG mode with 3 chunks, {len(rows)} SQuAD questions after one warm-up",
        f"Model load from the converted cache: {load_seconds:.2f} s. Median prompt: "
        f"{summary['prompt_tokens_median']:.0f} tokens.",
        _report.table(["what", "p50", "p90"], [
            ["first token, end to end (retrieval + prompt + prefill), s", summary["ttft_end_to_end_p50_s"],
             summary["ttft_end_to_end_p90_s"]],
            ["first token, generation only, s", summary["ttft_generation_p50_s"],
             _report.pct([r["ttft_generation_s"] for r in rows], 0.9)],
            ["retrieval (hybrid, 3 chunks), s", summary["retrieval_p50_s"], _report.pct([r["retrieval_s"] for r in rows], 0.9)],
            ["peer: plain generate, 1 token (prefill floor), s", summary["peer_prefill_p50_s"],
             _report.pct([r["peer_prefill_s"] for r in rows], 0.9)],
            ["decode tokens/s (ours, streamed)", summary["decode_tokens_per_s_p50"], None],
            ["decode tokens/s (peer: plain generate)", summary["peer_decode_tokens_per_s_p50"], None],
        ]),
        _report.table(["target", "value", "pass"], [
            ["first token ≤ 1.0 s (warm, end to end, p50)", f"{summary['ttft_end_to_end_p50_s']:.2f} s", passed],
            ["our first token / peer prefill floor", f"{summary['ttft_end_to_end_p50_s'] / summary['peer_prefill_p50_s']:.2f}×", None],
            ["our decode speed / peer decode speed",
             f"{summary['decode_tokens_per_s_p50'] / summary['peer_decode_tokens_per_s_p50']:.2f}×", None],
        ]),
    ])
    _report.write(NAME, {"summary": summary, "rows": rows}, markdown)


if __name__ == "__main__":
    main()
