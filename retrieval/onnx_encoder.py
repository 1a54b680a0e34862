"""The embedding model's transformer run by ONNX Runtime, for the serving process's questions.

On a 2-core AMD EPYC without native bfloat16 (AVX2), MiniLM-L6 took 19.7 ms median for one
SciFact claim in torch (float32, one thread) and 8.7 ms in ONNX Runtime (float32, one thread),
with the same vectors (cosine >= 0.99999 on 200 claims); a batch of 8 took 13.7 and 10.1 ms a
text. The export is made here, from the local weights, once per model version (a few seconds,
no network), and kept under the data directory; the encoder is used only after it reproduces
torch's vectors on probe texts.

Questions for retrieval may instead go through an int8 copy of the export (``quantize``):
weights quantised per output channel, activations per call. On a 2-core AVX-512 EPYC a SciFact
claim took 7.5 -> 3.3 ms (one thread), its vector within cosine 0.987 (mean 0.993) of float32
on 300 claims, and the dense leg's SciFact nDCG@10 moved 0.679 -> 0.676 (documents keep their
full-precision vectors). One scale per whole weight matrix, as tried before, drifted to cosine
0.93-0.96: the per-channel scales are what keep the vectors close.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import structlog

log = structlog.get_logger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Probe texts: the export is used only if these come out within this cosine of torch's.
PROBES = (
    "How many days of annual leave do new employees get?",
    "Vitamin D supplementation lowers fracture risk in adults over sixty-five.",
)
MIN_PROBE_COSINE = 0.99999
# The int8 copy answers questions only while it stays this close to torch on the probes.
MIN_INT8_PROBE_COSINE = 0.98


def model_digest(model_dir: Path, torch_version: str) -> str:
    """Names an export: the model directory's top-level files and the exporting torch."""
    digest = hashlib.sha256(torch_version.encode())
    for path in sorted(p for p in model_dir.iterdir() if p.is_file()):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:24]


class OnnxEncoder:
    """Token ids in, last hidden states out (what the torch transformer returns)."""

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def hidden(self, batch: Mapping[str, Any]) -> np.ndarray:
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self._inputs}
        out: np.ndarray = self._session.run(None, feed)[0]
        return out


def export(transformer: Any, tokenizer: Any, torch: Any, target: Path) -> None:
    """Write ``transformer`` (a Hugging Face encoder) to ``target`` as ONNX, atomically."""

    class _LastHidden(torch.nn.Module):  # type: ignore[misc]
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(list(PROBES), padding=True, return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "hidden")}
    with (
        _written_atomically(target) as temporary,
        torch.inference_mode(),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _LastHidden(transformer.eval()),
            tuple(sample[name] for name in _INPUTS),
            temporary,
            input_names=list(_INPUTS),
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize(source: Path, target: Path) -> None:
    """Write an int8 copy of the float32 export ``source`` to ``target``, atomically: the
    weights of every matrix product quantised per output channel (activations per call)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _written_atomically(target) as temporary:
        quantize_dynamic(
            str(source),
            temporary,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )


@contextmanager
def _written_atomically(target: Path) -> Iterator[str]:
    """A temporary path beside ``target`` to write to; renamed to ``target`` once the block
    succeeds, removed if it fails (a crash never leaves a half-written model under its name)."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(handle)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load_encoder(
    tokenizer: Any,
    *,
    model_dir: Path,
    export_dir: Path,
    torch_version: str,
    threads: int,
    int8: bool = False,
) -> OnnxEncoder | None:
    """The ONNX encoder of this model (its int8 copy with ``int8``), exported first if needed;
    None (torch answers) if it cannot be built. The caller checks it against torch on
    ``PROBES`` before using it.

    The export runs in a child process: tracing the model for export changed the vectors the
    exporting process's torch model computed afterwards (cosine 0.90 to a fresh load).
    """
    if "token_type_ids" not in tokenizer("probe"):
        return None  # not a BERT-style input signature: keep torch
    try:
        digest = model_digest(model_dir, torch_version)
        exported = export_dir / f"{digest}.onnx"
        target = export_dir / f"{digest}.int8.onnx" if int8 else exported
        if not target.exists():
            command = [
                sys.executable,
                "-m",
                "retrieval.onnx_encoder",
                str(model_dir),
                str(exported),
            ]
            if int8:
                command.append(str(target))
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
            subprocess.run(command, check=True, timeout=600, env=env, capture_output=True)  # noqa: S603 - our own module
            log.info("embedding.onnx_exported", path=str(target))
        return OnnxEncoder(target, threads=threads)
    except Exception as exc:  # any failure leaves the torch path, which always works
        log.warning("embedding.onnx_unavailable", error=type(exc).__name__, int8=int8)
        return None


def main(argv: Sequence[str]) -> None:
    """``python -m retrieval.onnx_encoder MODEL_DIR TARGET [INT8_TARGET]``: export MODEL_DIR's
    transformer to TARGET (unless it is there), then its int8 copy to INT8_TARGET if given."""
    exported = Path(argv[1])
    if not exported.exists():
        import torch
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(argv[0], device="cpu")
        export(model[0].auto_model, model.tokenizer, torch, exported)
    if len(argv) > 2:
        quantize(exported, Path(argv[2]))


if __name__ == "__main__":
    main(sys.argv[1:])
