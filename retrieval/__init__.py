"""Retrieval: embeddings, dense and BM25 search under the caller's ACL, and their fusion."""
