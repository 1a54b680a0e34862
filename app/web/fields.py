"""Request field rules as the OpenAPI schema shows them, shared by the routes.

A rule that holds for the value exactly as sent (a fixed set of values, a range, a length the
use case counts on the raw string) is declared on the request struct with ``msgspec.Meta`` or
``Literal``: decoding enforces it and ``app.web.errors`` answers a violation with 422 naming the
field. A rule the use case applies after normalising (trimming, lower-casing, NFC) stays enforced
there, with its own message; the types below show the schema a sufficient form of it
(``KwargDefinition`` is read by the schema generator and ignored by msgspec), so every value the
schema admits is accepted.
"""

import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any

from litestar.params import BodyKwarg, KwargDefinition

from app.db.models import EVERYONE
from app.settings import ChatSettings

# A group or user name as ``app.auth.accounts.validate_name`` accepts it: trimmed and lower-cased
# it is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.
_EDGE = "[ \t\n\r]*"
NAME_PATTERN = f"^{_EDGE}[A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}{_EDGE}$"
NAME_DESCRIPTION = (
    "1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit; "
    "surrounding whitespace is trimmed and letters are lower-cased"
)
Name = Annotated[str, KwargDefinition(pattern=NAME_PATTERN, description=NAME_DESCRIPTION)]
# ``everyone`` is built in (every signed-in user belongs to it), so no group takes that name.
_BUILT_IN = "".join(f"[{c.upper()}{c}]" for c in EVERYONE)
NewGroupName = Annotated[
    str,
    KwargDefinition(
        pattern=NAME_PATTERN,
        schema_extra={"not": {"pattern": f"^{_EDGE}{_BUILT_IN}{_EDGE}$"}},
        description=f"{NAME_DESCRIPTION}; not '{EVERYONE}', which is built in",
    ),
]

# Python's ``str.strip()`` removes these: ECMA's ``\s`` (which adds only U+FEFF) and the
# separators U+001C-U+001F and U+0085. Text with one other character is not blank once trimmed.
_BLANK = r"[\s\x1c-\x1f\x85]"
NOT_BLANK_PATTERN = r"[^\s\x1c-\x1f\x85]"

DEFAULT_MAX_QUESTION_CHARS: int = ChatSettings.model_fields["max_question_chars"].default

# Planes 4-13 are unassigned and 15-16 private use: only these hold characters text may contain.
_TEXT_PLANES = (range(0x0, 0x40000), range(0xE0000, 0xE1000))
_ESCAPED = {"\t": r"\t", "\n": r"\n", "\r": r"\r", **{c: "\\" + c for c in "\\]^-["}}


def _text_character(char: str) -> bool:
    """What ``guardrails.validation`` takes as ordinary text and NFC does not lengthen: no
    control character but tab and line breaks, no surrogate, private-use or unassigned code
    point, no U+FFFD."""
    if char in "\t\n\r":
        return True
    if char == "\ufffd" or unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"}:
        return False
    return unicodedata.is_normalized("NFC", char) or len(unicodedata.normalize("NFC", char)) == 1


def _runs() -> Iterator[tuple[int, int]]:
    start = None
    for plane in _TEXT_PLANES:
        for code in plane:
            if _text_character(chr(code)):
                start = code if start is None else start
            elif start is not None:
                yield start, code - 1
                start = None
        if start is not None:
            yield start, plane[-1]
            start = None


def _class_char(code: int) -> str:
    return _ESCAPED.get(chr(code), chr(code))


def _text_pattern() -> str:
    runs = "".join(
        _class_char(a) if a == b else f"{_class_char(a)}-{_class_char(b)}" for a, b in _runs()
    )
    return f"^(?!{_BLANK}*$)[{runs}]*$"


# Free text (questions, queries, agents' answers) the schema admits: not blank, and only
# characters that ``guardrails.validation.validate_question`` can never reject (it also refuses
# text that merely has more than a tenth of odd characters, which no pattern can say).
TEXT_PATTERN = _text_pattern()
TEXT_DESCRIPTION = (
    "Text; trimmed and NFC-normalised before its length is counted. Not blank; no control "
    "characters other than tab and line breaks; not binary-looking (unassigned, private-use or "
    "replacement characters)."
)
Question = Annotated[
    str,
    KwargDefinition(
        min_length=1,
        max_length=DEFAULT_MAX_QUESTION_CHARS,
        pattern=TEXT_PATTERN,
        description=f"{TEXT_DESCRIPTION} At most GROUNDWORK_CHAT__MAX_QUESTION_CHARS characters "
        f"(default {DEFAULT_MAX_QUESTION_CHARS:,}).",
    ),
]


def json_body(**schema: Any) -> BodyKwarg:
    """``Body()`` for a request struct declared ``forbid_unknown_fields``: its schema says
    ``additionalProperties: false`` too; ``schema`` adds object-level rules (``if``/``then``)."""
    return BodyKwarg(schema_extra={"additionalProperties": False, **schema})
