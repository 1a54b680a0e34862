"""An on-disk cache of embeddings keyed by model name and text hash, so benchmark re-runs are fast.

One ``.npz`` per model under ``<data_dir>/cache/embeddings/``; vectors are stored as float32.
"""

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from retrieval.embeddings import Embedder, Vectors


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_file(data_dir: Path, model: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model)
    return Path(data_dir) / "cache" / "embeddings" / f"{safe}.npz"


def _load(path: Path) -> dict[str, Vectors]:
    if not path.exists():
        return {}
    with np.load(path) as data:
        keys = [str(k) for k in data["keys"]]
        vectors = np.asarray(data["vectors"], dtype=np.float32)
    return dict(zip(keys, vectors, strict=True))


def _save(path: Path, cache: dict[str, Vectors]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    keys = np.array(list(cache), dtype="U64")
    vectors = np.stack(list(cache.values())).astype(np.float32)
    np.savez(tmp, keys=keys, vectors=vectors)
    tmp.replace(path)


def embed_cached(
    embedder: Embedder,
    texts: Sequence[str],
    *,
    data_dir: Path,
    batch: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> Vectors:
    """Vectors for ``texts`` in order; only texts never embedded with this model are computed."""
    path = cache_file(data_dir, embedder.name)
    cache = _load(path)
    keys = [_key(t) for t in texts]
    todo = list(dict.fromkeys(i for i, k in enumerate(keys) if k not in cache))
    todo_unique = list({keys[i]: i for i in todo}.values())
    for start in range(0, len(todo_unique), batch):
        part = todo_unique[start : start + batch]
        for index, vector in zip(part, embedder.embed([texts[i] for i in part]), strict=True):
            cache[keys[index]] = vector
        if progress:
            progress(min(start + batch, len(todo_unique)), len(todo_unique))
        if (start // batch) % 8 == 7:
            _save(path, cache)  # checkpoint: an interrupted run keeps its work
    if todo_unique:
        _save(path, cache)
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack([cache[k] for k in keys]).astype(np.float32)
