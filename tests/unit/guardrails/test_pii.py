"""PII detection and policy with the real, offline Presidio pipeline (built once per session)."""

import pytest

from app.errors import DocumentRejected
from guardrails.pii import PiiEntity, PresidioRedactor, resolve_overlaps
from guardrails.policy import Pseudonymizer, apply_document_policy
from guardrails.recognizers import luhn_valid
from guardrails.spans import merge_address_parts, trim_to_first_line

CANARIES = {
    "EMAIL_ADDRESS": "zelda.quimby@canary-example.org",
    "PHONE_NUMBER": "+49 30 1234567",
    "IBAN_CODE": "DE89 3704 0044 0532 0130 00",
    "EMPLOYEE_ID": "EMP-0042917",
    "SECRET": "sk-proj-Zq8vT3nLw9XbK2pR7mYc4HdF",
}


def test_luhn_checksum() -> None:
    assert luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("4111 1111 1111 1112")
    assert not luhn_valid("12345")


def test_overlapping_spans_merge_and_covering_span_wins() -> None:
    merged = resolve_overlaps(
        [PiiEntity("PHONE_NUMBER", 0, 7, 0.65), PiiEntity("STREET_ADDRESS", 0, 20, 0.6)]
    )
    assert merged == [PiiEntity("STREET_ADDRESS", 0, 20, 0.6)]


def test_a_person_span_stops_at_the_line_break() -> None:
    text = "Cormac Allan\nEchocardiographer\n"
    trimmed = trim_to_first_line(text, PiiEntity("PERSON", 7, len(text), 0.85))
    assert trimmed == PiiEntity("PERSON", 7, 12, 0.85)
    assert trim_to_first_line(text, PiiEntity("PERSON", 12, 13, 0.85)) is None


def test_postal_block_lines_stay_separate_and_the_postcode_is_kept_covered() -> None:
    text = "5 Main Street\nOslo\nNorway 0150"
    merged = merge_address_parts(
        text,
        [
            PiiEntity("STREET_ADDRESS", 0, 13, 0.6),
            PiiEntity("LOCATION", 14, 18, 0.86),
            PiiEntity("LOCATION", 19, 25, 0.86),
        ],
    )
    assert [(e.type, text[e.start : e.end]) for e in merged] == [
        ("STREET_ADDRESS", "5 Main Street"),
        ("LOCATION", "Oslo"),
        ("LOCATION", "Norway"),
        ("STREET_ADDRESS", "0150"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "value", "entity_type"),
    [
        ("I want to add Irena Kowalska as a beneficiary.", "Irena Kowalska", "PERSON"),
        ("Mrs. Schwarz flew to HORTEN on Monday morning.", "HORTEN", "LOCATION"),
        ("Please stop messages to 699 956 915", "699 956 915", "PHONE_NUMBER"),
    ],
)
def test_gazetteer_and_context_find_what_ner_misses(
    redactor: PresidioRedactor, text: str, value: str, entity_type: str
) -> None:
    found = {(text[e.start : e.end], e.type) for e in redactor.find(text)}
    assert (value, entity_type) in found


@pytest.mark.slow
def test_canary_pii_is_fully_removed(redactor: PresidioRedactor) -> None:
    text = (
        f"Contact Zelda at {CANARIES['EMAIL_ADDRESS']} or call {CANARIES['PHONE_NUMBER']}. "
        f"Salary goes to IBAN {CANARIES['IBAN_CODE']}; employee id {CANARIES['EMPLOYEE_ID']}. "
        f"The api_key={CANARIES['SECRET']} must rotate."
    )
    redacted = redactor.redact(text).text
    for value in CANARIES.values():
        assert value not in redacted
    for entity_type in CANARIES:
        assert f"<{entity_type}>" in redacted


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("AWS key AKIAIOSFODNN7EXAMPLE in the config", "AKIAIOSFODNN7EXAMPLE"),
        (
            "token ghp_16C7e42F292c6912E7710c838347Ae178B4a here",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        ),
        ("password: hunter2horse", "hunter2horse"),
    ],
)
def test_secrets_are_redacted(redactor: PresidioRedactor, text: str, secret: str) -> None:
    assert secret not in redactor.redact(text).text


@pytest.mark.slow
@pytest.mark.parametrize(
    "address",
    ["1600 Amphitheatre Parkway, Mountain View, CA 94043", "Hauptstraße 12, 10115 Berlin"],
)
def test_street_addresses_are_redacted(redactor: PresidioRedactor, address: str) -> None:
    redaction = redactor.redact(f"Send the contract to {address} by Friday.")
    assert "<STREET_ADDRESS>" in redaction.text
    assert "1600" not in redaction.text
    assert "Hauptstraße" not in redaction.text


@pytest.mark.slow
@pytest.mark.parametrize("phone", ["+33 1 23 45 67 89", "0044 20 7946 0958", "+49 30 1234567"])
def test_eu_phone_formats(redactor: PresidioRedactor, phone: str) -> None:
    assert (
        redactor.redact(f"Call me on {phone} tomorrow.").text
        == "Call me on <PHONE_NUMBER> tomorrow."
    )


@pytest.mark.slow
def test_business_text_is_left_alone(redactor: PresidioRedactor) -> None:
    text = "The quarterly report shows revenue grew 12% in Q3 for the EMEA team."
    assert redactor.redact(text).text == text


@pytest.mark.slow
def test_redact_many_matches_redact(redactor: PresidioRedactor) -> None:
    texts = ["Mail john.doe@example.com today.", "12345", "", "Nothing personal here."]
    assert [r.text for r in redactor.redact_many(texts)] == [redactor.redact(t).text for t in texts]


@pytest.mark.slow
def test_document_policy_modes(redactor: PresidioRedactor) -> None:
    chunks = ["Write to ann.lee@example.com for access."]
    assert apply_document_policy(redactor, chunks, "keep") == chunks
    assert apply_document_policy(redactor, chunks, "redact") == [
        "Write to <EMAIL_ADDRESS> for access."
    ]
    with pytest.raises(
        DocumentRejected, match=r"\(EMAIL_ADDRESS\) and its source's policy is block"
    ):
        apply_document_policy(redactor, chunks, "block")
    assert apply_document_policy(redactor, ["Plain text."], "block") == ["Plain text."]


@pytest.mark.slow
def test_pseudonymizer_round_trip(redactor: PresidioRedactor) -> None:
    pseudonymizer = Pseudonymizer(redactor)
    text = "Ask bob@example.com, then bob@example.com again, or eve@example.org."
    masked, mapping = pseudonymizer.pseudonymize(text)
    assert masked == "Ask <EMAIL_ADDRESS_1>, then <EMAIL_ADDRESS_1> again, or <EMAIL_ADDRESS_2>."
    assert Pseudonymizer.restore(masked, mapping) == text
    second, mapping = pseudonymizer.pseudonymize("Also cc eve@example.org.", mapping)
    assert second == "Also cc <EMAIL_ADDRESS_2>."


DOCUMENT_TEXT = (
    "Maria Svensson runs the Oslo office. Write to maria.svensson@example.org or call "
    "+47 22 33 44 55. Post goes to 1600 Amphitheatre Parkway, Mountain View, CA 94043. "
    "Payroll id EMP-0042917; the staging key is sk-proj-Zq8vT3nLw9XbK2pR7mYc4HdF."
)


def test_document_scope_skips_ner_and_finds_what_the_full_engine_finds(
    redactor: PresidioRedactor,
) -> None:
    from guardrails.policy import DOCUMENT_ENTITIES, ScopedRedactor

    fast = redactor.scoped(DOCUMENT_ENTITIES)
    generic = ScopedRedactor(redactor, DOCUMENT_ENTITIES)
    assert "ner" not in fast._nlp_pipes_run()
    assert "ner" in redactor._nlp_pipes_run()

    def spans(found: list[PiiEntity]) -> list[tuple[str, int, int]]:
        return [(e.type, e.start, e.end) for e in found]

    assert spans(fast.find(DOCUMENT_TEXT)) == spans(generic.find(DOCUMENT_TEXT))
    text = fast.redact_many([DOCUMENT_TEXT])[0].text
    assert "Maria Svensson" in text
    assert "Oslo" in text
    for secret in ("maria.svensson@", "22 33 44 55", "Amphitheatre", "94043", "EMP-0042917", "sk-"):
        assert secret not in text


def test_a_fresh_context_reuses_the_loaded_backend(
    redactor: PresidioRedactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request's asyncio task starts with an empty context; thinc must not look its backend
    up again there (that lookup was a quarter of a question's redaction time)."""
    import contextvars

    import thinc.backends

    def looked_up_again() -> None:
        raise AssertionError("thinc looked its backend up again")

    monkeypatch.setattr(thinc.backends, "require_cpu", looked_up_again)
    question = "Call Maria Lopez at +1 415 555 0100 about her leave."
    found = contextvars.Context().run(redactor.find, question)
    assert {e.type for e in found} >= {"PERSON", "PHONE_NUMBER"}
