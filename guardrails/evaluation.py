"""Measure the guardrails on public datasets: PII recall/precision/F2 and speed, injection.

Called by the eval harness with dataset paths; nothing here ships or copies dataset text.
"""

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from guardrails.injection import InjectionDetector, load_deepset, load_notinject
from guardrails.pii import PiiRedactor

# Our entity types -> the presidio-research dataset's types. Types absent here are not compared.
TYPE_MAP = {
    "PERSON": "PERSON",
    "LOCATION": "GPE",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "NRP": "NRP",
    "URL": "DOMAIN_NAME",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
_GAP = re.compile(r"[\s,.;:\-]*")
_Span = tuple[str, int, int]


def evaluate_pii(redactor: PiiRedactor, dataset_path: Path) -> dict[str, Any]:
    """Per-type recall/precision and overall F2 (span IoU >= 0.5) on presidio-research JSON.

    ``dataset_path`` is the ``presidio_synth.shared.json`` file; WNUT-17 dev
    (``emerging.dev.conll``) is read from the same folder when present. Adjacent gold spans of
    one type (the synthetic set splits "0138 | Brisas 6802 | Suite 084" into pieces) and adjacent
    predicted spans of one type are each merged before matching. Only types the redactor can
    emit (after ``TYPE_MAP``) count towards the overall figures.
    """
    records = json.loads(dataset_path.read_text(encoding="utf-8"))
    texts = [r["full_text"] for r in records]
    started = time.perf_counter()
    predictions = [redactor.find(t) for t in texts]
    elapsed = time.perf_counter() - started
    emitted = {TYPE_MAP[t] for t in _redactor_types(redactor) if t in TYPE_MAP}
    counts: dict[str, Counter[str]] = {}
    for text, record, found in zip(texts, records, predictions, strict=True):
        gold = _merge_adjacent(
            text,
            [(s["entity_type"], s["start_position"], s["end_position"]) for s in record["spans"]],
        )
        pred = _merge_adjacent(
            text, [(TYPE_MAP[e.type], e.start, e.end) for e in found if e.type in TYPE_MAP]
        )
        _score(gold, pred, counts)
    per_type = {t: _metrics(c) for t, c in sorted(counts.items())}
    total: Counter[str] = Counter()
    for entity_type, c in counts.items():
        if entity_type in emitted:
            total.update(c)
    result: dict[str, Any] = {
        "per_type": per_type,
        "evaluated_types": sorted(emitted),
        "overall": _metrics(total),
        "ms_per_kb": _median_ms_per_kb(redactor, texts),
        "cpu_ms_per_kb": _median_ms_per_kb(redactor, texts, clock="cpu"),
        "sentences_per_second": round(len(texts) / elapsed, 1),
    }
    wnut = dataset_path.parent / "emerging.dev.conll"
    if wnut.exists():
        result["wnut17_dev"] = evaluate_wnut(redactor, wnut)
    return result


def evaluate_wnut(redactor: PiiRedactor, conll_path: Path) -> dict[str, Any]:
    """PERSON and LOCATION recall (IoU >= 0.5) on WNUT-17 CoNLL (tokens joined with spaces)."""
    counts: dict[str, Counter[str]] = {}
    wanted = {"person": "PERSON", "location": "LOCATION"}
    for tokens, tags in _read_conll(conll_path):
        text, gold = _conll_spans(tokens, tags, wanted)
        found = [(e.type, e.start, e.end) for e in redactor.find(text) if e.type in wanted.values()]
        _score(gold, found, counts)
    return {t: _metrics(counts[t]) for t in sorted(counts)}


def evaluate_injection(detector: InjectionDetector, datasets_dir: Path) -> dict[str, Any]:
    """Detection rate and false-positive rate of a trained detector.

    deepset figures are on the training file (optimistic: the detector has seen it); the
    cross-validated figures are in the model's metadata. NotInject was never used for training.
    """
    injection_dir = datasets_dir / "injection"
    texts, labels = load_deepset(injection_dir / "deepset_train.jsonl")
    flags = [detector.is_injection(t) for t in texts]
    positives = [f for f, y in zip(flags, labels, strict=True) if y == 1]
    negatives = [f for f, y in zip(flags, labels, strict=True) if y == 0]
    benign = load_notinject(injection_dir)
    benign_flags = [detector.is_injection(t) for t in benign]
    return {
        "threshold": detector.threshold,
        "deepset_train_detection_rate": _share(positives),
        "deepset_train_false_positive_rate": _share(negatives),
        "notinject_false_positive_rate": _share(benign_flags),
        "notinject_count": len(benign),
        "cross_validated": detector.metadata.get("metrics", {}),
    }


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _redactor_types(redactor: PiiRedactor) -> Iterable[str]:
    types = getattr(redactor, "entities", None)
    return types if types is not None else TYPE_MAP.keys()


def _merge_adjacent(text: str, spans: list[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s[1], s[2])):
        if merged:
            kind, start, end = merged[-1]
            if kind == span[0] and span[1] >= end and _GAP.fullmatch(text, end, span[1]):
                merged[-1] = (kind, start, span[2])
                continue
        merged.append(span)
    return merged


def _iou(a: _Span, b: _Span) -> float:
    overlap = min(a[2], b[2]) - max(a[1], b[1])
    if overlap <= 0:
        return 0.0
    return overlap / (max(a[2], b[2]) - min(a[1], b[1]))


def _score(gold: list[_Span], pred: list[_Span], counts: dict[str, Counter[str]]) -> None:
    for g in gold:
        hit = any(p[0] == g[0] and _iou(g, p) >= 0.5 for p in pred)
        counts.setdefault(g[0], Counter())["tp" if hit else "fn"] += 1
    for p in pred:
        correct = any(g[0] == p[0] and _iou(g, p) >= 0.5 for g in gold)
        counts.setdefault(p[0], Counter())["tp_pred" if correct else "fp"] += 1


def _metrics(c: Counter[str]) -> dict[str, float]:
    support = c["tp"] + c["fn"]
    recall = c["tp"] / support if support else 0.0
    predicted = c["tp_pred"] + c["fp"]
    precision = c["tp_pred"] / predicted if predicted else 0.0
    beta2 = 4.0
    denominator = beta2 * precision + recall
    f2 = (1 + beta2) * precision * recall / denominator if denominator else 0.0
    return {
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "f2": round(f2, 4),
        "support": support,
        "predicted": predicted,
    }


def _median_ms_per_kb(
    redactor: PiiRedactor, texts: Sequence[str], rounds: int = 40, *, clock: str = "wall"
) -> float:
    """Median ``find`` time over ~1 KB slices of the dataset's text, in ms per KB.

    ``clock="cpu"`` counts this process's CPU time instead of wall time: the figure to trust on a
    shared, busy machine, where wall time mostly measures other processes.
    """
    timer = time.process_time if clock == "cpu" else time.perf_counter
    corpus = "\n".join(texts)
    slices = [corpus[i : i + 1024] for i in range(0, min(len(corpus), 1024 * rounds), 1024)]
    timings = []
    for piece in slices:
        started = timer()
        redactor.find(piece)
        timings.append((timer() - started) * 1000 * 1024 / max(len(piece), 1))
    return round(statistics.median(timings), 1)


def _read_conll(path: Path) -> Iterable[tuple[list[str], list[str]]]:
    tokens: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0].strip():
            if tokens:
                yield tokens, tags
            tokens, tags = [], []
            continue
        tokens.append(parts[0])
        tags.append(parts[1].strip())
    if tokens:
        yield tokens, tags


def _conll_spans(
    tokens: list[str], tags: list[str], wanted: dict[str, str]
) -> tuple[str, list[_Span]]:
    text = ""
    spans: list[_Span] = []
    for token, tag in zip(tokens, tags, strict=True):
        start = len(text) + (1 if text else 0)
        text = f"{text} {token}" if text else token
        kind = wanted.get(tag[2:]) if tag[:2] in {"B-", "I-"} else None
        if kind is None:
            continue
        if tag.startswith("I-") and spans and spans[-1][0] == kind:
            spans[-1] = (kind, spans[-1][1], len(text))
        else:
            spans.append((kind, start, len(text)))
    return text, spans
