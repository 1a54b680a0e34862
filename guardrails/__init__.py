"""Guardrails: input validation, PII policy, prompt-injection detection, output checks."""
