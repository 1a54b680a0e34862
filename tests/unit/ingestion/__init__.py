"""Unit tests of ingestion: parsing, normalisation and chunking."""
