"""The composition root fails closed: no external LLM without a PII detector unless the
deployment policy explicitly keeps LLM context in clear text."""

import pytest

from app.errors import ConfigurationError
from app.resources import build_chat_deps
from app.settings import LlmSettings, PiiSettings, Settings
from tests.builders import light_models


def _settings(llm_context: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        llm=LlmSettings(base_url="http://llm.test/v1", model="m"),
        pii=PiiSettings(llm_context=llm_context),
    )


def test_an_llm_without_a_pii_detector_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no PII detector"):
        build_chat_deps(_settings("pseudonymize"), light_models())


async def test_keep_is_an_explicit_opt_in() -> None:
    deps = build_chat_deps(_settings("keep"), light_models())
    assert deps.llm is not None and deps.pii.policy.llm_context == "keep"
    await deps.llm.aclose()
