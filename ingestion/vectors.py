"""The vectors a chunk is stored with: one of the whole chunk (title, heading and text, for the
dense leg) and, when ``ingestion.sentence_vectors`` is on, one per quotable sentence of its text
(``retrieval.quotable``), with the sentence's digest. The composer reads them instead of
embedding a passage's sentences when a question first retrieves it, and the sentence leg
scores a chunk by its best sentence, so that a passage whose one sentence answers is not
diluted by the rest.

Measured on SciFact (809 train queries), the sentence leg as a third fused leg moved the tuned
hybrid nDCG@10 from 0.735 to 0.742. Its vectors cost embedding time: on 1,500 SciFact
abstracts (3,552 chunks, about 16k sentences) bulk ingestion went from 51 to 31 chunks/s.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ingestion.chunking import ChunkDraft, embedding_text
from retrieval.embeddings import Embedder, embed_async
from retrieval.quotable import quotable_sentences, sentence_key

# A chunk holds at most ~256 tokens; this only bounds a pathological list of fragments.
MAX_SENTENCES = 48


@dataclass(frozen=True)
class ChunkVectors:
    chunk: list[float]
    sentences: list[list[float]]
    # ``sentence_key`` of the sentence each of ``sentences`` embeds (same order and length).
    sentence_keys: list[bytes]


def sentence_texts(text: str, title: str = "", heading_path: str = "") -> list[str]:
    """The quotable sentences of a chunk that get a vector, in order."""
    return [s.text for s in quotable_sentences(title, heading_path, text)][:MAX_SENTENCES]


def _sentences_of(draft: ChunkDraft) -> list[str]:
    return sentence_texts(draft.text, draft.title, draft.heading_path)


def reusable(
    stored: dict[str, ChunkVectors],
    keys: Sequence[str],
    drafts: Sequence[ChunkDraft],
    *,
    sentences: bool,
) -> dict[str, ChunkVectors]:
    """The stored vectors (by chunk hash, ``keys[i]`` for ``drafts[i]``) that serve as they are:
    with ``sentences`` wanted, a chunk stored without its sentence vectors is embedded again."""
    return {
        key: stored[key]
        for key, draft in zip(keys, drafts, strict=True)
        if key in stored and (not sentences or stored[key].sentences or not _sentences_of(draft))
    }


async def embed_chunks(
    embedder: Embedder, drafts: Sequence[ChunkDraft], *, sentences: bool
) -> list[ChunkVectors]:
    """The chunk vector of each draft and, with ``sentences``, its sentence vectors: two
    batched passes (chunks, then sentences)."""
    if not drafts:
        return []
    chunk_vectors = await embed_async(
        embedder, [embedding_text(d.title, d.heading_path, d.text) for d in drafts]
    )
    per_draft = [_sentences_of(d) if sentences else [] for d in drafts]
    flat = [s for own in per_draft for s in own]
    sentence_vectors = (
        await embed_async(embedder, flat)
        if flat
        else np.zeros((0, embedder.dimension), dtype=np.float32)
    )
    out: list[ChunkVectors] = []
    offset = 0
    for vector, texts in zip(chunk_vectors, per_draft, strict=True):
        own = sentence_vectors[offset : offset + len(texts)]
        offset += len(texts)
        keys = [sentence_key(t) for t in texts]
        out.append(ChunkVectors(vector.tolist(), [v.tolist() for v in own], keys))
    return out
