"""bfloat16 encoding: chosen only where the CPU has it, and close enough to float32 to share
one index (a document embedded one way must be found by a query embedded the other way)."""

from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import (
    DIRECT_MAX_TEXTS,
    DIRECT_PIECE,
    SentenceTransformerEmbedder,
    cpu_has_bfloat16,
    resolve_precision,
)
from retrieval.tokens import packaged_model_dir

TEXTS = [
    "Travel above 2,000 euros needs the approval of a director before booking.",
    "The laptop refresh cycle is three years; engineers may ask for a fourth-year extension.",
    "Parental leave is sixteen weeks at full pay, taken within the first year.",
    "Zinc supplementation reduces the duration of common cold symptoms in adults.",
    "Überweisungen ins Ausland dauern in der Regel zwei Werktage.",
]


def test_cpu_flags_decide_bfloat16(tmp_path: Path) -> None:
    with_bf16 = tmp_path / "with"
    with_bf16.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    without = tmp_path / "without"
    without.write_text("flags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert cpu_has_bfloat16(with_bf16)
    assert not cpu_has_bfloat16(without)
    assert not cpu_has_bfloat16(tmp_path / "missing")
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"
    assert resolve_precision("auto") == ("bfloat16" if cpu_has_bfloat16() else "float32")


@pytest.fixture(scope="module")
def both() -> tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder]:
    model_dir = packaged_model_dir()
    return (
        SentenceTransformerEmbedder(name="m", model_dir=model_dir, precision="float32"),
        SentenceTransformerEmbedder(name="m", model_dir=model_dir, precision="bfloat16"),
    )


def test_bfloat16_vectors_match_float32(
    both: tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder],
) -> None:
    full, half = (embedder.embed(TEXTS) for embedder in both)
    assert half.dtype == np.float32
    assert np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-4)
    cosines = (full * half).sum(axis=1)
    assert cosines.min() >= 0.9995, cosines
    # Each text is still nearest to itself across the two precisions.
    assert (np.argmax(half @ full.T, axis=1) == np.arange(len(TEXTS))).all()


def test_the_direct_path_gives_encodes_vectors(
    both: tuple[SentenceTransformerEmbedder, SentenceTransformerEmbedder],
) -> None:
    """Small batches (questions) skip ``encode``; large ones (ingestion) use it: one index."""
    for embedder in both:
        direct = embedder.embed(TEXTS)
        many = embedder.embed(TEXTS * 10)  # above DIRECT_MAX_TEXTS: through encode
        assert len(TEXTS) <= DIRECT_MAX_TEXTS < len(TEXTS) * 10
        assert np.allclose(np.linalg.norm(direct, axis=1), 1.0, atol=1e-5)
        cosines = (direct * many[: len(TEXTS)]).sum(axis=1)
        assert cosines.min() >= 0.99999, cosines
        # A padded batch gives each text the vector it gets alone.
        alone = np.stack([embedder.embed([t])[0] for t in TEXTS])
        assert (direct * alone).sum(axis=1).min() >= 0.99999
        # So do direct batches above one piece, cut into pieces of similar length, in order.
        mixed = [*TEXTS, TEXTS[0] * 6, *TEXTS, TEXTS[3] * 4]
        assert DIRECT_PIECE < len(mixed) <= DIRECT_MAX_TEXTS
        pieces = embedder.embed(mixed)
        singles = np.stack([embedder.embed([t])[0] for t in mixed])
        assert (pieces * singles).sum(axis=1).min() >= 0.99999
