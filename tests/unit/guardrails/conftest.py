"""Shared guardrails fixtures: the real Presidio redactor, built once per test session."""

import pytest

from guardrails.pii import PresidioRedactor, build_presidio_redactor


@pytest.fixture(scope="session")
def redactor() -> PresidioRedactor:
    return build_presidio_redactor()
