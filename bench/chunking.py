"""What keeping blocks whole costs retrieval: every BEIR set of data/beir/ indexed twice, chunks cut
at blank lines (`chunk_by = "paragraphs"`, the rule before blocks) and by blocks (the default: a
code block, list or table whole, with the sentence that leads in to it), then searched with the
default hybrid settings. The change must not lose more than 0.005 nDCG@10 on either set. Also
counted: how many documents are cut differently, and on the real docs trees, how many lead-ins
end up in another chunk than the block they introduce.

    python -m bench.chunking
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import _report
from bench.retrieval_quality import cached_embedder
from index.blocks import split_blocks
from index.build import build_collection
from index.chunking import Chunker
from index.config import IndexConfig, RetrievalConfig
from index.embedder import load_tokenizer
from index.evaluate import BEIR_LOADER, evaluate_retriever, load_beir
from index.loaders import LoaderOptions, load_file
from index.retriever import Retriever
from index.store import Collection

NAME = "chunking"
UNITS = ("paragraphs", "blocks")
MAX_LOSS = 0.005
DOCS = ("poetry", "httpx", "self-llm-zh", "textual")


def beir_row(folder: Path, project: Path, embedder) -> dict:
    beir = load_beir(folder)
    row = {"set": folder.name}
    for unit in UNITS:
        collection = Collection(project, f"{folder.name}-{unit}")
        report = build_collection([beir.corpus], collection, IndexConfig(chunk_by=unit), loader=BEIR_LOADER)
        retriever = Retriever.open(collection, embedder)
        scores = evaluate_retriever(retriever, beir, modes=("hybrid",), config=RetrievalConfig())["hybrid"]
        row[unit] = {"chunks": report.chunks, "ndcg@10": scores["ndcg@10"], "recall@100": scores["recall@100"]}
        print(folder.name, unit, row[unit], flush=True)
    row["change"] = row["blocks"]["ndcg@10"] - row["paragraphs"]["ndcg@10"]
    row["pass"] = row["change"] >= -MAX_LOSS
    return row


def split_lead_ins(folder: Path, chunker: Chunker) -> tuple[int, int, int]:
    """(lead-ins followed by a code block, list or table; how many of them no chunk holds together
    with (the start of) their block; chunks) over a docs tree."""
    lead_ins = apart = chunks = 0
    for path in sorted(folder.rglob("*.md")):
        for doc in load_file(path, str(path), LoaderOptions()):
            pieces = chunker.chunk(doc)
            chunks += len(pieces)
            for section in doc.sections:
                blocks = split_blocks(doc.text, section.start, section.end)
                for block, after in zip(blocks, blocks[1:]):
                    if block.introduces and after.is_structure:
                        lead_ins += 1
                        together = any(c.start <= block.start and c.end > after.start for c in pieces)
                        apart += not together
    return lead_ins, apart, chunks


def main() -> dict:
    embedder = cached_embedder()
    beir_root = _report.data_dir() / "beir"
    with tempfile.TemporaryDirectory(prefix="bench-chunking-") as tmp:
        rows = [beir_row(folder, Path(tmp), embedder) for folder in sorted(beir_root.iterdir())
                if (folder / "corpus.jsonl").is_file()]
    tokenizer = load_tokenizer(IndexConfig().embedder)
    lead_ins = {}
    for name in DOCS:
        folder = _report.data_dir() / "docs" / name
        if folder.is_dir():
            lead_ins[name] = {unit: dict(zip(("lead-ins", "apart", "chunks"),
                                             split_lead_ins(folder, Chunker(tokenizer, unit=unit)))) for unit in UNITS}
    payload = {"max_loss": MAX_LOSS, "beir": rows, "lead_ins": lead_ins}
    _report.write(NAME, payload, markdown(payload))
    return payload


def markdown(p: dict) -> str:
    lines = ["## Chunking by blocks against paragraphs", "",
             "Hybrid search with the default settings; nDCG@10 must not fall by more than "
             f"{p['max_loss']} on either BEIR set.", "",
             _report.table(["set", "chunks (paragraphs)", "chunks (blocks)", "nDCG@10 paragraphs", "nDCG@10 blocks",
                            "change", "recall@100 paragraphs", "recall@100 blocks", "within the limit"],
                           [[r["set"], r["paragraphs"]["chunks"], r["blocks"]["chunks"], r["paragraphs"]["ndcg@10"],
                             r["blocks"]["ndcg@10"], r["change"], r["paragraphs"]["recall@100"],
                             r["blocks"]["recall@100"], r["pass"]] for r in p["beir"]]), "",
             "Lead-ins (a paragraph ending in ':' or '…', a bold label, or 'the following …') followed by a "
             "code block, list or table, and how many a chunk holds apart from their block, per docs tree:", "",
             _report.table(["docs", "lead-ins", "apart (paragraphs)", "apart (blocks)", "chunks (paragraphs)",
                            "chunks (blocks)"],
                           [[name, v["blocks"]["lead-ins"], v["paragraphs"]["apart"], v["blocks"]["apart"],
                             v["paragraphs"]["chunks"], v["blocks"]["chunks"]] for name, v in p["lead_ins"].items()]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
