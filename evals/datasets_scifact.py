"""SciFact (BEIR layout) read in place from the shared datasets directory: corpus, queries, qrels.

Nothing is copied; every function reads the files it is given when called.
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from app.errors import NotFound
from ingestion.chunking import ChunkDraft, TokenCounter, chunk_document
from ingestion.parsed import ParsedDocument, Section
from retrieval.sentences import split_sentences


@dataclass(frozen=True)
class SciFactDoc:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class SciFact:
    docs: list[SciFactDoc]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    """query id -> {doc id: relevance}; only queries with a judgement appear."""


def scifact_dir(datasets_dir: Path) -> Path:
    return Path(datasets_dir) / "scifact"


def load_scifact(datasets_dir: Path, *, split: str = "train") -> SciFact:
    """Corpus, the judged queries of ``split`` and their qrels."""
    base = scifact_dir(datasets_dir)
    docs = [
        SciFactDoc(doc_id=str(row["_id"]), title=row.get("title", ""), text=row.get("text", ""))
        for row in _jsonl(base / "corpus.jsonl")
    ]
    qrels: dict[str, dict[str, int]] = {}
    path = base / "qrels" / f"{split}.tsv"
    if not path.is_file():
        present = sorted(p.stem for p in (base / "qrels").glob("*.tsv"))
        raise NotFound(
            f"SciFact has no {split!r} split here ({path}); present: {', '.join(present) or 'none'}"
        )
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            score = int(row["score"])
            if score > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = score
    queries = {
        str(row["_id"]): str(row["text"])
        for row in _jsonl(base / "queries.jsonl")
        if str(row["_id"]) in qrels
    }
    return SciFact(docs=docs, queries=queries, qrels={q: qrels[q] for q in queries})


def _jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def chunk_scifact(docs: list[SciFactDoc], counter: TokenCounter) -> list[tuple[str, ChunkDraft]]:
    """Each abstract through the project's chunker (title + text); most fit in one chunk."""
    out: list[tuple[str, ChunkDraft]] = []
    for doc in docs:
        body = doc.text.strip() or doc.title
        parsed = ParsedDocument(
            title=doc.title,
            format="txt",
            sections=(Section(text=body, page=None, heading_path=()),),
        )
        drafts = chunk_document(parsed, counter, max_tokens=256, overlap_tokens=32)
        out.extend((doc.doc_id, draft) for draft in drafts)
    return out


def sentence_windows(
    docs: list[SciFactDoc], sizes: tuple[int, ...] = (1, 2, 3, 4)
) -> list[tuple[str, str]]:
    """``(doc id, text)`` windows of 1..4 consecutive sentences of every abstract."""
    windows: list[tuple[str, str]] = []
    for doc in docs:
        sentences = split_sentences(doc.text)
        for size in sizes:
            windows.extend(
                (doc.doc_id, " ".join(sentences[i : i + size]))
                for i in range(max(len(sentences) - size + 1, 0))
            )
    return windows
