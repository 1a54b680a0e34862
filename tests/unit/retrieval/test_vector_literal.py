"""Query and stored vectors go to pgvector as text; every float32 must read back exactly."""

import numpy as np

from retrieval.search import vector_literal


def test_float32_components_read_back_exactly() -> None:
    rng = np.random.default_rng(7)
    vector = rng.standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    edge = np.array([1e-38, -3.4028235e38, 0.0, 1.0, -0.1, 0.123456789], dtype=np.float32)
    for values in (vector, edge):
        text = vector_literal(values.tolist())
        assert text.startswith("[") and text.endswith("]")
        parsed = np.array([float(x) for x in text[1:-1].split(",")], dtype=np.float32)
        assert np.array_equal(parsed, values)
