"""ONNX Runtime encodes the serving process's questions: exported locally from the packaged
weights, used only when it reproduces torch's vectors (or, for the int8 copy that encodes
retrieval questions, stays within cosine 0.98 of them), and never touching the torch model."""

from pathlib import Path

import numpy as np
import torch

from retrieval.embeddings import SentenceTransformerEmbedder, embed_questions
from retrieval.onnx_encoder import MIN_INT8_PROBE_COSINE, model_digest
from retrieval.tokens import packaged_model_dir

TEXTS = [
    "Travel above 2,000 euros needs the approval of a director before booking.",
    "How many days of parental leave do I get?",
    "Überweisungen ins Ausland dauern in der Regel zwei Werktage.",
]


def test_the_onnx_export_gives_torch_vectors_and_is_reused(tmp_path: Path) -> None:
    model_dir = packaged_model_dir()
    torch_only = SentenceTransformerEmbedder(name="m", model_dir=model_dir, precision="float32")
    onnx = SentenceTransformerEmbedder(
        name="m", model_dir=model_dir, precision="float32", onnx_dir=tmp_path
    )
    assert (torch_only.runtime, onnx.runtime) == ("torch", "onnxruntime")
    exports = list(tmp_path.glob("*.onnx"))
    assert [p.stem for p in exports] == [model_digest(model_dir, onnx._torch.__version__)]
    for batch in ([TEXTS[0]], TEXTS):
        cosine = np.sum(torch_only.embed(batch) * onnx.embed(batch), axis=1)
        assert cosine.min() >= 0.99999
    mtime = exports[0].stat().st_mtime_ns
    again = SentenceTransformerEmbedder(
        name="m", model_dir=model_dir, precision="float32", onnx_dir=tmp_path
    )
    assert again.runtime == "onnxruntime" and exports[0].stat().st_mtime_ns == mtime


def test_a_broken_export_leaves_torch(tmp_path: Path) -> None:
    model_dir = packaged_model_dir()
    digest = model_digest(model_dir, torch.__version__)
    (tmp_path / f"{digest}.onnx").write_bytes(b"not a model")
    embedder = SentenceTransformerEmbedder(
        name="m", model_dir=model_dir, precision="float32", onnx_dir=tmp_path
    )
    assert embedder.runtime == "torch"
    assert embedder.embed(TEXTS).shape == (3, 384)


def test_int8_encodes_questions_only_and_stays_close_to_torch(tmp_path: Path) -> None:
    model_dir = packaged_model_dir()
    torch_only = SentenceTransformerEmbedder(name="m", model_dir=model_dir, precision="float32")
    embedder = SentenceTransformerEmbedder(
        name="m", model_dir=model_dir, precision="float32", onnx_dir=tmp_path, int8_queries=True
    )
    assert embedder.query_runtime == "onnxruntime-int8"
    digest = model_digest(model_dir, torch.__version__)
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == [
        f"{digest}.int8.onnx",
        f"{digest}.onnx",
    ]
    exact = torch_only.embed(TEXTS)
    questions = embedder.embed_queries(TEXTS)
    cosine = np.sum(exact * questions, axis=1)
    # close (per-channel int8), but not the same vectors: the int8 copy is really in use
    assert cosine.min() >= MIN_INT8_PROBE_COSINE and cosine.max() < 0.99999
    # documents (and any text that is not a retrieval question) keep full precision
    assert np.sum(exact * embedder.embed(TEXTS), axis=1).min() >= 0.99999
    # each question gets the vector it gets alone, whatever shares its call (a burst of
    # coalesced questions, an evaluation's many): int8 scales activations per batch, so
    # different batch mates would move it (cosine 0.992-0.994, found under load)
    alone = np.concatenate([embedder.embed_queries([text]) for text in TEXTS])
    assert np.array_equal(questions, alone)
    for many in (embed_questions(embedder, TEXTS * 7), embedder.embed_queries(TEXTS * 7)):
        assert many.shape == (21, 384)
        assert np.array_equal(many[18:], alone)
    mates = ["A much longer question about the reimbursement of travel expenses in Bavaria?"]
    assert np.array_equal(embedder.embed_queries([TEXTS[1], *mates])[:1], alone[1:2])


def test_a_broken_int8_copy_leaves_questions_to_torch(tmp_path: Path) -> None:
    model_dir = packaged_model_dir()
    digest = model_digest(model_dir, torch.__version__)
    (tmp_path / f"{digest}.int8.onnx").write_bytes(b"not a model")
    embedder = SentenceTransformerEmbedder(
        name="m", model_dir=model_dir, precision="float32", onnx_dir=tmp_path, int8_queries=True
    )
    assert embedder.query_runtime == "onnxruntime"
    torch_only = SentenceTransformerEmbedder(name="m", model_dir=model_dir, precision="float32")
    cosine = np.sum(torch_only.embed(TEXTS) * embedder.embed_queries(TEXTS), axis=1)
    assert cosine.min() >= 0.99999
