"""Input validation: every rejection names the field and, where one applies, the limit."""

import pytest

from app.errors import InvalidInput
from guardrails.validation import validate_question, validate_text_field


def test_returns_stripped_nfc_text() -> None:
    assert validate_question("  Cafe\u0301 hours?\n", max_chars=100) == "Café hours?"


def test_keeps_newlines_and_tabs() -> None:
    assert validate_question("a\n\tb\r\nc", max_chars=100) == "a\n\tb\r\nc"


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["list"]])
def test_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidInput, match="message must be a string") as info:
        validate_question(value, max_chars=100)
    assert info.value.field == "message"


@pytest.mark.parametrize("value", ["", "   ", "\n\t "])
def test_rejects_empty_or_whitespace(value: object) -> None:
    with pytest.raises(InvalidInput, match="message must not be empty"):
        validate_question(value, max_chars=100)


def test_rejects_oversized_naming_size_and_limit() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_question("x" * 2345, max_chars=2000)
    assert info.value.message == "message is 2,345 characters; the limit is 2,000"


def test_rejects_nul_character() -> None:
    with pytest.raises(InvalidInput, match="NUL character at position 5"):
        validate_question("hello\x00world", max_chars=100)


def test_rejects_other_control_characters() -> None:
    with pytest.raises(InvalidInput, match=r"U\+001B at position 7"):
        validate_question("colour \x1b[31m red", max_chars=100)


def test_rejects_lone_surrogates() -> None:
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        validate_question("bad \ud800 text", max_chars=100)


def test_rejects_binary_looking_text() -> None:
    with pytest.raises(InvalidInput, match="looks like binary"):
        validate_question("PK\x03\x04\ufffd\ufffd\x00\x01\ufffdabc", max_chars=100)


def test_field_name_is_used_in_messages() -> None:
    with pytest.raises(InvalidInput, match="query must not be empty") as info:
        validate_question(" ", max_chars=10, field="query")
    assert info.value.field == "query"


def test_text_field_may_be_empty_or_none() -> None:
    assert validate_text_field("", max_chars=10) == ""
    assert validate_text_field(None, max_chars=10) == ""
    assert validate_text_field(" fine ", max_chars=10) == "fine"


def test_text_field_enforces_its_limit() -> None:
    with pytest.raises(InvalidInput, match="comment is 11 characters; the limit is 10"):
        validate_text_field("x" * 11, max_chars=10)
