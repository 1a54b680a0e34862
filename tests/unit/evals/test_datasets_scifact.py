"""The SciFact loader reads a split's judged queries, and names the splits present when asked
for one that is not there."""

import json
from pathlib import Path

import pytest

from app.errors import NotFound
from evals.datasets_scifact import load_scifact


def _write(root: Path) -> None:
    base = root / "scifact"
    (base / "qrels").mkdir(parents=True)
    docs = [{"_id": "d1", "title": "T1", "text": "Aspirin."}, {"_id": "d2", "text": "Vitamin D."}]
    (base / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [{"_id": "q1", "text": "Does aspirin help?"}, {"_id": "q2", "text": "Unjudged."}]
    (base / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (base / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n")


def test_a_split_keeps_its_judged_queries_and_positive_qrels(tmp_path: Path) -> None:
    _write(tmp_path)
    data = load_scifact(tmp_path, split="train")
    assert [d.doc_id for d in data.docs] == ["d1", "d2"]
    assert data.queries == {"q1": "Does aspirin help?"}
    assert data.qrels == {"q1": {"d1": 1}}


def test_a_missing_split_names_the_ones_present(tmp_path: Path) -> None:
    _write(tmp_path)
    with pytest.raises(NotFound, match=r"no 'test' split .* present: train"):
        load_scifact(tmp_path, split="test")
