"""``groundwork eval out_of_scope``: does the assistant decline what its knowledge base cannot answer?

(a) cross-domain: SQuAD questions against the Contoso knowledge base and Contoso questions
against the SQuAD one must be declined (handed off), while in-scope answerable questions
(Contoso on Contoso, answerable SQuAD on SQuAD, the demo golden set's answerable cases) must not.
(b) near-domain: ``evals/golden/near_domain_oos.jsonl`` against the demo knowledge base.

Every question is asked once; the decision at any threshold is recomputed from its stored
confidence and draft. A threshold is tuned on a stable half of the questions (``tune``) and
reported on the other half (``report``) as well as on all.
"""

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.arguments import integer, share
from app.chat.versions import AnswerConfig, activate_defaults
from app.resources import Models, load_models
from app.settings import Settings
from evals import answer_metrics as m
from evals.runner import SuiteResult, add_result_arguments, finish, result_from_report
from evals.suites import answer_runs as runs
from evals.suites import contoso, squad
from evals.workspace import CorpusFile, open_workspace

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
DEMO_KB = Path(__file__).resolve().parents[2] / "app" / "demo" / "knowledge_base"
# kind -> should it be declined?
DECLINE = {"cross_domain": True, "near_domain": True, "in_scope": False}


def demo_corpus() -> list[CorpusFile]:
    manifest = json.loads((DEMO_KB / "manifest.json").read_text())
    return [
        CorpusFile(
            name=d["file"], data=(DEMO_KB / d["file"]).read_bytes(), groups=tuple(d["groups"])
        )
        for d in manifest["documents"]
    ]


# SQuAD questions asked per class (answerable in scope, all across domains), and their seed.
SQUAD_PER_CLASS = 60
SQUAD_SEED = 11


def squad_questions(
    settings: Settings, *, per_class: int = SQUAD_PER_CLASS
) -> list[dict[str, Any]]:
    """The SQuAD questions this suite asks (a different seeded sample from ``eval squad``'s)."""
    return squad.questions(settings, per_class=per_class, seed=SQUAD_SEED)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_result_arguments(parser)
    parser.add_argument(
        "--squad-per-class",
        type=integer(1),
        default=SQUAD_PER_CLASS,
        help="SQuAD questions per class",
    )
    parser.add_argument("--max-in-scope-declined", type=share, default=0.05)
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["contoso", "squad", "demo"],
        default=["contoso", "squad", "demo"],
        help="which knowledge bases to ask against",
    )


async def ask_all(
    settings: Settings,
    models: Models,
    name: str,
    files: Sequence[CorpusFile],
    questions: Sequence[tuple[str, str, str, tuple[str, ...]]],
    *,
    keep_pii: bool,
) -> list[dict[str, Any]]:
    """Ask ``(kind, set, question, groups)`` items in workspace ``name``; one record each."""
    out = []
    async with open_workspace(
        settings, name, fingerprint=runs.fingerprint(files), models=models
    ) as ws:
        if keep_pii:
            await runs.load(ws, name.removeprefix("chat-"), files)
        else:
            async with ws.session_factory.begin() as session:
                await activate_defaults(session, "eval: current defaults")
            await ws.load_corpus(name.removeprefix("chat-"), files)
        for kind, origin, question, groups in questions:
            user = await ws.user("oos-" + "-".join(sorted(groups)) if groups else "oos", groups)
            asked, _ = await runs.ask(ws, user, question)
            out.append(
                {
                    "kind": kind,
                    "set": origin,
                    "kb": name,
                    "split": runs.split_half(question),
                    "confidence": asked.answer_confidence,
                    # The signals behind it, so other weights can be tried on the same answers.
                    "signals": asked.trace.get("signals", {}),
                    "handed_off": asked.handed_off,
                    "latency_ms": asked.latency_ms,
                    "first_token_ms": asked.trace.get("first_token_ms"),
                }
            )
    return out


def _declined_share(records: Sequence[dict[str, Any]], threshold: float) -> float:
    if not records:
        return float("nan")
    declined = sum(1 for r in records if float(r["confidence"]) < threshold)
    return round(declined / len(records), 4)


def _summary(records: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(f"{r['kind']}:{r['set']}@{r['kb']}", []).append(r)
    return {
        key: {"n": len(v), "declined": _declined_share(v, threshold)} for key, v in groups.items()
    }


async def _run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    models = load_models(settings, questions=True)
    contoso_q = [row["question"] for row in contoso.questions(settings)]
    squad_rows = squad_questions(settings, per_class=args.squad_per_class)
    squad_answerable = [r["question"] for r in squad_rows if r["answers"]]
    squad_all = [r["question"] for r in squad_rows]
    demo_in_scope = [
        c
        for c in _jsonl(GOLDEN / "demo.jsonl")
        if not c["must_handoff"] and not c.get("must_refuse") and not c["history"]
    ]
    near = _jsonl(GOLDEN / "near_domain_oos.jsonl")
    records: list[dict[str, Any]] = []
    if "contoso" in args.parts:
        records += await ask_all(
            settings,
            models,
            "chat-contoso",
            contoso.corpus(settings),
            [("in_scope", "contoso", q, ()) for q in contoso_q]
            + [("cross_domain", "squad", q, ()) for q in squad_all],
            keep_pii=True,
        )
    if "squad" in args.parts:
        records += await ask_all(
            settings,
            models,
            "chat-squad",
            squad.corpus(settings),
            [("in_scope", "squad", q, ()) for q in squad_answerable]
            + [("cross_domain", "contoso", q, ()) for q in contoso_q],
            keep_pii=True,
        )
    if "demo" in args.parts:
        records += await ask_all(
            settings,
            models,
            "chat-demo",
            demo_corpus(),
            [("in_scope", "demo", c["question"], tuple(c["groups"])) for c in demo_in_scope]
            + [("near_domain", "near_oos", c["question"], tuple(c["groups"])) for c in near],
            keep_pii=False,
        )
    version_threshold = 0.0
    tune = [r for r in records if r["split"] == "tune"]
    tuned = m.best_threshold(
        [r["confidence"] for r in tune if not DECLINE[r["kind"]]],
        [r["confidence"] for r in tune if DECLINE[r["kind"]]],
        max_declined_answerable=args.max_in_scope_declined,
    )
    version_threshold = _version_threshold(settings)
    report: dict[str, Any] = {"suite": "out_of_scope", "version_threshold": version_threshold}
    for label, t in (("at_version_threshold", version_threshold), ("at_tuned_threshold", tuned)):
        report[label] = {
            "threshold": t,
            "all": _summary(records, t),
            "report_half": _summary([r for r in records if r["split"] == "report"], t),
        }
    pos = [r["confidence"] for r in records if not DECLINE[r["kind"]]]
    neg = [r["confidence"] for r in records if DECLINE[r["kind"]]]
    report["auc_in_scope_vs_out_of_scope"] = round(m.abstention_auc(pos, neg), 4)
    report["latency_ms_p95"] = round(runs.percentile([r["latency_ms"] for r in records], 0.95), 1)
    demo = [float(r["first_token_ms"]) for r in records if r["kb"] == "chat-demo"]
    report["demo_kb_time_to_first_token_ms_in_process"] = {
        "n": len(demo),
        "p50": round(runs.percentile(demo, 0.5), 1),
        "p95": round(runs.percentile(demo, 0.95), 1),
    }
    report["records"] = records
    return report


def _version_threshold(settings: Settings) -> float:
    """The default version's threshold (every workspace here runs the current defaults)."""
    del settings
    return AnswerConfig().confidence_threshold


def evaluate(settings: Settings, args: argparse.Namespace) -> SuiteResult:
    report = asyncio.run(_run(settings, args))
    runs.write_report(settings, "out_of_scope", report)
    return result_from_report("out_of_scope", report)


def run(settings: Settings, args: argparse.Namespace) -> int:
    return finish(settings, args, evaluate(settings, args))
