"""Unit tests of retrieval."""
