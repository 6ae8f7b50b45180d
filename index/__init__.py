"""Loading, chunking, BM25 + dense indexing, fusion and the on-disk store.

Heavy libraries (torch, faiss, sentence-transformers) are imported where they are used,
so importing this package is cheap.
"""
