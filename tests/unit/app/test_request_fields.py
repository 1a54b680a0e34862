"""The request rules the OpenAPI schema shows admit only what the use cases accept, and name
the same fixed values."""

import re
import unicodedata
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.auth.accounts import validate_name
from app.auth.principal import ROLE_RANK
from app.chat.feedback import REASONS, FeedbackReason
from app.db.models import HANDOFF_STATUSES, HandoffStatus, Role
from app.web import fields
from guardrails.validation import validate_question

_TEXT = re.compile(fields.TEXT_PATTERN)


def test_fixed_value_types_name_the_use_cases_values() -> None:
    assert set(get_args(FeedbackReason)) == REASONS
    assert get_args(HandoffStatus) == HANDOFF_STATUSES
    assert set(get_args(Role)) == set(ROLE_RANK)


@given(st.from_regex(fields.NAME_PATTERN))
def test_every_name_the_schema_admits_is_a_valid_name(name: str) -> None:
    validate_name(name, field="name")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.from_regex(fields.TEXT_PATTERN))
def test_every_text_the_schema_admits_is_accepted_as_a_question(text: str) -> None:
    # Its length is checked against the limit separately (maxLength): NFC never lengthens it.
    assert validate_question(text, max_chars=len(text))


def test_text_rule_refuses_what_validation_refuses() -> None:
    for refused in ("", " \n\t ", "\x1c", "a\x00b", "bell\x07", "\ufffd", "\ue000", "\u0958"):
        assert _TEXT.search(refused) is None, repr(refused)
    for admitted in ("How many days of leave?", "naïve café 😀", "line\nbreak\ttab", "日本語"):
        assert _TEXT.search(admitted) is not None, repr(admitted)


def test_text_characters_lie_only_in_the_planes_the_pattern_scans() -> None:
    scanned = {code for plane in fields._TEXT_PLANES for code in plane}
    elsewhere = [
        code
        for code in range(0x110000)
        if code not in scanned and unicodedata.category(chr(code)) not in {"Cn", "Co"}
    ]
    assert elsewhere == []
