"""A million chunks: build time per stage, peak memory, size on disk, hybrid latency, loaded whole or mapped.

Chunk texts come from bench/_corpus.py; the dense side is N_REAL real MiniLM embeddings tiled
with noise to one row per chunk (as in bench/hybrid_latency.py: row i's vector is not chunk i's
embedding). The collection is written with the library's pieces (Terms, build_sparse,
DenseIndex.build with dense_index="auto", store.write_chunks), as build.py does. Each stage runs
in its own process, so its peak memory (VmHWM) is its own:

    embed   N_REAL chunk vectors and the query vectors (loads torch)
    build   corpus → terms → BM25 → FAISS → files on disk; exact top 10 of each query for recall
    search  Retriever over the collection loaded whole (mmap=False), then mapped (mmap=True):
            time and memory to open each part, then hybrid/dense/bm25 latency and recall@10

The page cache is warm (the files were just written); a cold mapped open reads from disk as
searches go. Memory is reported as peak RSS and, at the end, split into anonymous memory and
file-backed pages (mapped files the kernel can drop and re-read).

    python -m bench.scale_1m                      # the million: ~15 min on 2 cores
    python -m bench.scale_1m --chunks 50000 --real 200   # a quick run of the same stages, not kept
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import _report

NAME = "scale_1m"
N_CHUNKS = 1_000_000
N_REAL = 2_000
NOISE = 0.01
N_QUERIES = 200
MEMORY_LIMIT_GB = 24


def memory() -> dict:
    """This process's memory in MB from /proc/self/status: peak (VmHWM), now (VmRSS), and now split
    into anonymous (RssAnon) and file-backed (RssFile: mapped files the page cache can drop)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024
    return {"peak_mb": fields["VmHWM"], "rss_mb": fields["VmRSS"], "anon_mb": fields.get("RssAnon"),
            "file_mb": fields.get("RssFile")}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def stage_embed(work: Path, n_chunks: int, n_real: int) -> dict:
    from bench._corpus import squad_questions, synthetic_corpus
    from index.embedder import Embedder

    embedder = Embedder()
    began = time.perf_counter()
    real = embedder.encode(synthetic_corpus(n_real, seed=0), batch_size=64)
    seconds = time.perf_counter() - began
    queries = np.stack([embedder.encode_query(q) for q in squad_questions(N_QUERIES, seed=1)])
    np.save(work / "real.npy", real)
    np.save(work / "queries.npy", queries)
    return {"real": n_real, "embed_s": seconds, "chunks_per_s": n_real / seconds, "memory": memory()}


def stage_build(work: Path, n_chunks: int, n_real: int) -> dict:
    import faiss

    from bench._corpus import synthetic_corpus, tiled_vectors
    from bench.hybrid_latency import timed, write_collection
    from index import store
    from index.config import IndexConfig
    from index.types import Chunk

    timings = {}
    texts, timings["corpus_s"] = timed(synthetic_corpus, n_chunks, seed=0)
    began = time.perf_counter()
    chunks = [Chunk(id=f"{i:07d}", source=f"synthetic/{i // 100:05d}.txt", title_path=(), start=0,
                    end=len(t), text=t) for i, t in enumerate(texts)]
    timings["chunk_objects_s"] = time.perf_counter() - began
    del texts
    vectors, timings["vectors_s"] = timed(tiled_vectors, np.load(work / "real.npy"), n_chunks, NOISE)
    after_inputs = memory()
    collection, stages = write_collection(work / "project", "scale", chunks, vectors, IndexConfig())
    timings.update(stages)
    after_build = memory()
    del chunks

    # The exact top 10 of each query, for the recall of the approximate index.
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(np.load(work / "queries.npy"), 10)
    np.save(work / "truth.npy", truth)

    version = collection.version_dir()
    sizes = {name: folder_bytes(version / name)
             for name in (store.CHUNKS, store.DENSE, store.SPARSE, store.NAMES, store.MANIFEST)}
    return {"timings": timings, "build_s": sum(timings.values()), "sizes_bytes": sizes,
            "dense": collection.manifest().index_settings["dense"],
            "memory": {"inputs_ready": after_inputs, "after_build": after_build, "end": memory()}}


def stage_search(work: Path, n_chunks: int, n_real: int, mmap: bool) -> dict:
    from bench._corpus import squad_questions
    from bench.hybrid_latency import GivenQueries, breakdown, time_searches, timed, with_given_queries
    from index.retriever import SEARCH_STAGES
    from index import store
    from index.dense import DenseIndex
    from index.embedder import Embedder
    from index.retriever import Retriever
    from index.sparse import load_sparse
    from index.store import Collection

    embedder = Embedder()
    embedder.encode_query("warm up")
    collection = Collection(work / "project", "scale")
    manifest, version = collection.manifest(), collection.version_dir()
    # The three loads of Retriever.open, one at a time, to see what each costs.
    opened, before = {}, memory()
    read = store.ChunkFile if mmap else store.read_chunks
    chunks, opened["chunks_s"] = timed(read, version / store.CHUNKS)
    after_chunks = memory()
    sparse, opened["bm25_s"] = timed(load_sparse, version / store.SPARSE, manifest.sparse["backend"], mmap=mmap)
    after_sparse = memory()
    dense, opened["faiss_s"] = timed(DenseIndex.load, version / store.DENSE, mmap=mmap)
    after_dense = memory()
    retriever = Retriever(collection, manifest, chunks, sparse, dense, embedder)
    # Anonymous memory is what the process holds; file-backed pages are the page cache's to drop.
    grew = {part: {kind: after[kind] - earlier[kind] for kind in ("anon_mb", "file_mb")}
            for part, earlier, after in (("chunks", before, after_chunks), ("bm25", after_chunks, after_sparse),
                                         ("faiss", after_sparse, after_dense))}

    questions = squad_questions(N_QUERIES, seed=1)
    latency = {mode: time_searches(retriever, questions, mode) for mode in ("hybrid", "dense", "bm25")}
    given = with_given_queries(retriever, GivenQueries(embedder, questions))
    latency.update({f"{mode}, query vector given": time_searches(given, questions, mode)
                    for mode in ("hybrid", "dense")})
    stages = breakdown(retriever, questions)
    truth = np.load(work / "truth.npy")
    found = [retriever.dense.search(q, 10).rows for q in np.load(work / "queries.npy")]
    recall = float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))
    lookups = name_lookups(lambda: Retriever(collection, manifest, chunks, sparse, dense, embedder), version)
    return {"mmap": mmap, "open_s": opened, "open_total_s": sum(opened.values()), "open_grew_mb": grew,
            "memory_before_open": before, "latency": latency, "breakdown_median_ms": stages,
            "stage_names": list(SEARCH_STAGES), "dense_recall_at_10": recall, "name_lookups_ms": lookups,
            "memory_end": memory()}


LOOKED_UP = {"a year the chunks hold": "1066", "a code none holds": "Zq-9917", "an acronym none spells out": "QXZ"}
"""The names an answer asks the collection about (Retriever.mentions: grounding's "they never mention
X", the follow-up rules' subject), each the first time."""


def name_lookups(new_retriever, version: Path) -> dict:
    """ms for Retriever.mentions of each of LOOKED_UP and for the first Retriever.titled: with the names
    the build found (store.NAMES), and as for a collection built before builds wrote them (every
    chunk read once for the titles, once for the acronyms); beside reading every chunk for each name,
    as mentions did before it looked only in the chunks whose BM25 terms hold the name's words."""
    from bench.hybrid_latency import timed
    from index import store
    from index.names import mention_pattern

    built, older = new_retriever(), new_retriever()
    built.names = store.read_names(version / store.NAMES, len(built.chunks))
    found = {}
    for label, word in LOOKED_UP.items():
        spelled = r"\s+".join(rf"{letter}[\w-]*" for letter in word)  # an acronym's words, as mentions spelled it
        pattern = re.compile(rf"\b{spelled}\b") if word.isalpha() else mention_pattern(word)
        held, seconds = timed(built.mentions, word)
        _, older_seconds = timed(older.mentions, word)
        scanned, scan_seconds = timed(lambda: any(pattern.search(c.text) or pattern.search(c.heading())
                                                  for c in built.chunks))
        if not held == older.mentions(word) == scanned:
            raise SystemExit(f"mentions({word!r}) is {held}, reading every chunk says {scanned}")
        found[label] = {"ms": seconds * 1000, "older collection ms": older_seconds * 1000,
                        "every chunk ms": scan_seconds * 1000, "found": held}
    _, seconds = timed(built.titled, "Zq 9917")
    found["first titled()"] = {"ms": seconds * 1000, "older collection ms": timed(older.titled, "Zq 9917")[1] * 1000,
                               "every chunk ms": None, "found": False}
    return found


def child(stage: str, work: Path, n_chunks: int, n_real: int) -> dict:
    """Run one stage in a fresh process; its result and wall time."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.scale_1m", "--stage", stage, "--chunks", str(n_chunks),
                           "--real", str(n_real), str(work)], env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise SystemExit(f"stage {stage} failed with exit code {done.returncode}")
    result = json.loads((work / f"{stage}.json").read_text())
    result["wall_s"] = time.perf_counter() - began
    return result


def report(n_chunks: int, results: dict, wall_s: float) -> dict:
    embed, build, whole, mapped = (results[k] for k in ("embed", "build", "search-whole", "search-mmap"))
    gb = 1 << 30
    peaks = {"embed": embed["memory"]["peak_mb"], "build": build["memory"]["end"]["peak_mb"],
             "search (whole)": whole["memory_end"]["peak_mb"], "search (mmap)": mapped["memory_end"]["peak_mb"]}
    payload = {"chunks": n_chunks, "real_embeddings": embed["real"], "noise_per_dim": NOISE, "queries": N_QUERIES,
               "wall_s": wall_s, "stages": results, "peak_rss_mb": peaks,
               "fits_memory_limit": max(peaks.values()) < MEMORY_LIMIT_GB * 1024}
    dense = ", ".join(f"{k} {v}" for k, v in build["dense"].items())
    md = [
        f"## Scale: {n_chunks:,} chunks ({N_QUERIES} SQuAD questions)", "",
        f"Synthetic chunk texts; vectors are {embed['real']:,} real MiniLM embeddings "
        f"({embed['chunks_per_s']:.0f} chunks/s) "
        f"tiled with noise σ={NOISE}/dim. Dense index `auto`: {dense}. Whole bench {wall_s / 60:.1f} min, each stage "
        "in its own process; page cache warm.", "",
        "Build, seconds per stage:", "",
        _report.table(["stage", "s"], [[k.removesuffix("_s"), v] for k, v in build["timings"].items()]
                      + [["total", build["build_s"]]]), "",
        _report.table(["file", "size MB", "MB per 1k chunks"],
                      [[k, v / 2**20, v / 2**20 / (n_chunks / 1000)] for k, v in build["sizes_bytes"].items()]
                      + [["total", sum(build["sizes_bytes"].values()) / 2**20,
                          sum(build["sizes_bytes"].values()) / 2**20 / (n_chunks / 1000)]]), "",
        "Peak memory (RSS, MB) of each stage's process:", "",
        _report.table(["process", "peak RSS MB", "peak GB"], [[k, v, v / 1024] for k, v in peaks.items()]), "",
        f"Build: {build['memory']['inputs_ready']['rss_mb']:,.0f} MB held once chunks and vectors were in memory, "
        f"{build['memory']['after_build']['rss_mb']:,.0f} MB after the indexes were built and written. "
        f"Limit {MEMORY_LIMIT_GB} GB: " + ("fits." if payload["fits_memory_limit"] else "DOES NOT FIT.") + "", "",
        "Opening the collection: loaded whole (as Retriever.open does below 200k chunks) against mapped:", "",
        _report.table(["part", "whole s", "whole +MB", "mmap s", "mmap +MB", "mmap +MB mapped file"],
                      [[part, whole["open_s"][f"{key}_s"], whole["open_grew_mb"][key]["anon_mb"],
                        mapped["open_s"][f"{key}_s"], mapped["open_grew_mb"][key]["anon_mb"],
                        mapped["open_grew_mb"][key]["file_mb"]]
                       for part, key in (("chunks.jsonl", "chunks"), ("BM25 arrays", "bm25"), ("FAISS", "faiss"))]
                      + [["total", whole["open_total_s"], sum(g["anon_mb"] for g in whole["open_grew_mb"].values()),
                          mapped["open_total_s"], sum(g["anon_mb"] for g in mapped["open_grew_mb"].values()),
                          sum(g["file_mb"] for g in mapped["open_grew_mb"].values())]]), "",
        "(+MB: anonymous memory, what the process itself holds; a mapped file's pages count apart: the page "
        "cache keeps them while memory allows.)", "",
        _report.table(["after the searches", "whole", "mmap"],
                      [["peak RSS MB", whole["memory_end"]["peak_mb"], mapped["memory_end"]["peak_mb"]],
                       ["RSS MB", whole["memory_end"]["rss_mb"], mapped["memory_end"]["rss_mb"]],
                       ["anonymous MB", whole["memory_end"]["anon_mb"], mapped["memory_end"]["anon_mb"]],
                       ["file-backed MB", whole["memory_end"]["file_mb"], mapped["memory_end"]["file_mb"]],
                       ["RSS before opening (embedder loaded)", whole["memory_before_open"]["rss_mb"],
                        mapped["memory_before_open"]["rss_mb"]]]), "",
        "Search latency (ms, after warm-up; query embedding included):", "",
        _report.table(["mode", "whole p50", "whole p99", "mmap p50", "mmap p99"],
                      [[mode, whole["latency"][mode]["p50_ms"], whole["latency"][mode]["p99_ms"],
                        mapped["latency"][mode]["p50_ms"], mapped["latency"][mode]["p99_ms"]]
                       for mode in ("hybrid", "dense", "bm25", "hybrid, query vector given",
                                    "dense, query vector given")]),
        "", "(\"query vector given\": the query's vector computed beforehand, so the row times the indexes alone.)", "",
        f"Dense recall@10 against exact search: {whole['dense_recall_at_10']:.3f} (whole), "
        f"{mapped['dense_recall_at_10']:.3f} (mmap).", "",
        "Where a hybrid search spends its time (median ms):", "",
        _report.table(["stage", "whole ms", "share", "mmap ms", "share"],
                      [[s, whole["breakdown_median_ms"][s]["ms"], f"{whole['breakdown_median_ms'][s]['share']:.0%}",
                        mapped["breakdown_median_ms"][s]["ms"], f"{mapped['breakdown_median_ms'][s]['share']:.0%}"]
                       for s in whole["stage_names"]]), "",
        "Name look-ups (ms, the first time each): with the names the build found (store.NAMES), as for a "
        "collection built before builds wrote them (every chunk read once for titles, once for acronyms), and "
        "reading every chunk for the name (what Retriever.mentions did for each code and acronym):", "",
        _report.table(["name", "built", "older", "every chunk", "mmap built", "older", "every chunk", "found"],
                      [[label, found["ms"], found["older collection ms"], found["every chunk ms"] or "—",
                        mapped["name_lookups_ms"][label]["ms"], mapped["name_lookups_ms"][label]["older collection ms"],
                        mapped["name_lookups_ms"][label]["every chunk ms"] or "—", str(found["found"])]
                       for label, found in whole["name_lookups_ms"].items()]), "",
        "Wall time per process (s): " + ", ".join(f"{k} {v['wall_s']:.0f}" for k, v in results.items()) + ".",
    ]
    if n_chunks == N_CHUNKS:
        _report.write(NAME, payload, "\n".join(md))
    else:  # a quick run: shown, not kept
        print("\n".join(md))
    return payload


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=N_CHUNKS)
    parser.add_argument("--real", type=int, default=N_REAL, help="chunks embedded for real, then tiled")
    parser.add_argument("--stage", choices=("embed", "build", "search-whole", "search-mmap"))
    parser.add_argument("work", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.stage:  # inside a child process
        run = {"embed": stage_embed, "build": stage_build,
               "search-whole": lambda w, n, r: stage_search(w, n, r, mmap=False),
               "search-mmap": lambda w, n, r: stage_search(w, n, r, mmap=True)}[args.stage]
        result = run(args.work, args.chunks, args.real)
        (args.work / f"{args.stage}.json").write_text(json.dumps(result, indent=1))
        return None
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as work:
        results = {stage: child(stage, Path(work), args.chunks, args.real)
                   for stage in ("embed", "build", "search-whole", "search-mmap")}
    return report(args.chunks, results, time.perf_counter() - began)


if __name__ == "__main__":
    main()
