"""The fast quality gate: the demo golden sets through ``answer_question`` with the real
models must meet every committed threshold in ``evals/thresholds.json``.

A failure here is a regression in answer quality, hand-off, access control or leakage;
fix the cause, never loosen the threshold.
"""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.chat.versions import ensure_default_version
from app.db.session import make_session_factory
from app.resources import build_chat_deps, build_pipeline_deps, load_models
from app.settings import Settings
from evals.gate import check, load_thresholds
from evals.golden import demo_cases
from evals.suites.demo import evaluate_in
from evals.workspace import Workspace
from retrieval.model_check import ensure_embedding_model

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


async def test_demo_golden_set_meets_committed_thresholds(
    settings: Settings, engine: AsyncEngine
) -> None:
    models = load_models(settings, questions=True)
    await ensure_embedding_model(
        engine, name=models.embedder.name, dimension=models.embedder.dimension
    )
    factory = make_session_factory(engine)
    async with factory.begin() as session:
        await ensure_default_version(session)
    workspace = Workspace(
        settings=settings,
        models=models,
        engine=engine,
        session_factory=factory,
        pipeline=build_pipeline_deps(settings, factory, models),
        chat=build_chat_deps(settings, models),
    )

    result = await evaluate_in(workspace, demo_cases())
    print(dict(sorted(result.metrics.items())))  # shown when the gate fails

    assert result.metrics["cases"] == 145
    assert result.metrics["acl_violations"] == 0
    assert result.metrics["pii_leak_rate"] == 0
    failures = check(result.metrics, load_thresholds("demo"))
    assert not failures, "\n".join(failures)
