"""Deterministic stand-ins for the paid or slow parts: a hashing embedder (no model load)."""

import hashlib
from collections.abc import Sequence

import numpy as np

from retrieval.embeddings import Vectors


class HashingEmbedder:
    """A deterministic, model-free embedder for fast tests: bag of hashed words, normalised.

    Texts that share words get similar vectors, so retrieval order stays meaningful.
    """

    def __init__(self, dimension: int = 384, name: str = "hashing-test-embedder") -> None:
        self._dimension = dimension
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                token = "".join(ch for ch in word if ch.isalnum())
                if not token:
                    continue
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dimension
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out
