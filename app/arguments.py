"""Value types for command-line options (``groundwork`` and its ``eval``/``bench`` commands).

A bad value stops at parsing with a message that states the rule, such as ``argument
--per-class: must be at least 1, got 0``, before any model loads, corpus is embedded or server
starts. Each function returns (or is) an argparse ``type``.
"""

import argparse
import math
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T", int, float)


def integer(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """A whole number from ``minimum`` (to ``maximum`` when given)."""
    return _bounded(int, "a whole number", minimum, maximum)


def number(minimum: float, maximum: float | None = None) -> Callable[[str], float]:
    """A finite number from ``minimum`` (to ``maximum`` when given)."""
    return _bounded(float, "a number", minimum, maximum)


def _bounded(
    convert: Callable[[str], T], noun: str, minimum: T, maximum: T | None
) -> Callable[[str], T]:
    def parse(text: str) -> T:
        try:
            value = convert(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (maximum is not None and value > maximum):
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            raise argparse.ArgumentTypeError(f"must be {_range(minimum, maximum)}, got {shown}")
        return value

    return parse


share = number(0.0, 1.0)
"""A share of a set, from 0 to 1."""


def levels(text: str) -> list[int]:
    """Comma-separated whole numbers of at least 1, such as ``1,8,32`` (concurrency levels)."""
    parts = [part.strip() for part in text.split(",")]
    if any(not part.isdecimal() or int(part) < 1 for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers of at least 1 (such as 1,8,32), got {text!r}"
        )
    return [int(part) for part in parts]


def names(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    """A comma-separated, non-empty subset of ``allowed``, in the order given."""

    def parse(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in chosen if name not in allowed]
        if not chosen or unknown:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated names from {', '.join(allowed)}; got {text!r}"
            )
        return list(dict.fromkeys(chosen))

    return parse


def writable_dir(text: str) -> Path:
    """A directory results can be written to, created if missing (checked by writing a file)."""
    path = Path(text).expanduser()
    probe = path / f".write-check-{uuid.uuid4().hex}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise argparse.ArgumentTypeError(f"cannot write results to {text!r}: {reason}") from None
    return path


def _range(minimum: float, maximum: float | None) -> str:
    if maximum is None:
        return f"at least {minimum:g}"
    return f"from {minimum:g} to {maximum:g}"
