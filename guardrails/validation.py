"""Input validation for user text: type, emptiness, size, encoding and binary-looking content.

Every failure raises ``InvalidInput`` naming the field and, where one applies, the limit.
"""

import unicodedata

from app.errors import InvalidInput

# Line breaks and tabs are ordinary text; every other C0/C1 control character is rejected.
_ALLOWED_CONTROLS = frozenset("\n\t\r")
# Above this share of replacement characters or unprintable code points, text is treated as binary.
_BINARY_SHARE = 0.10
_REPLACEMENT = "\ufffd"


def validate_question(text: object, *, max_chars: int, field: str = "message") -> str:
    """Return ``text`` stripped and NFC-normalised, or raise ``InvalidInput`` naming ``field``.

    Rejects non-strings, empty or whitespace-only text, text over ``max_chars`` characters
    (counted after stripping and normalisation), control characters other than newline, tab
    and carriage return, lone surrogates, and text that looks binary.
    """
    cleaned = _clean(text, max_chars=max_chars, field=field)
    if not cleaned:
        raise InvalidInput(f"{field} must not be empty", field=field)
    return cleaned


def validate_text_field(text: object, *, max_chars: int, field: str = "comment") -> str:
    """Like ``validate_question`` but for optional free text (feedback comments): may be empty.

    ``None`` is accepted and returned as ``""``.
    """
    if text is None:
        return ""
    return _clean(text, max_chars=max_chars, field=field)


def _clean(text: object, *, max_chars: int, field: str) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{field} must be a string, not {type(text).__name__}", field=field)
    _check_encoding(text, field=field)
    cleaned = unicodedata.normalize("NFC", text).strip()
    if len(cleaned) > max_chars:
        raise InvalidInput(
            f"{field} is {len(cleaned):,} characters; the limit is {max_chars:,}", field=field
        )
    _check_not_binary(cleaned, field=field)
    _check_controls(cleaned, field=field)
    return cleaned


def _check_encoding(text: str, *, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{field} is not valid Unicode text (invalid character at position {exc.start})",
            field=field,
        ) from None


def _check_controls(text: str, *, field: str) -> None:
    for position, char in enumerate(text):
        if char in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(char) == "Cc":
            name = "a NUL character" if char == "\x00" else f"control character U+{ord(char):04X}"
            raise InvalidInput(f"{field} contains {name} at position {position}", field=field)


def _check_not_binary(text: str, *, field: str) -> None:
    if not text:
        return
    suspicious = sum(1 for char in text if char == _REPLACEMENT or _unprintable(char))
    if suspicious / len(text) > _BINARY_SHARE:
        raise InvalidInput(f"{field} looks like binary data, not text", field=field)


def _unprintable(char: str) -> bool:
    if char in _ALLOWED_CONTROLS:
        return False
    # Cc control, Cs surrogate, Co private use, Cn unassigned.
    return unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"}
