"""Ingestion: sources and files in, access-controlled chunks with embeddings out."""
