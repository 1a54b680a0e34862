"""ONNX Runtime encodes the serving process's questions: exported locally from the packaged
weights, used only when it reproduces torch's vectors, and never touching the torch model."""

from pathlib import Path

import numpy as np
import torch

from retrieval.embeddings import SentenceTransformerEmbedder
from retrieval.onnx_encoder import model_digest
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
