"""Unit tests for the guardrails package."""
