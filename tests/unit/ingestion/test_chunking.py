import re
from dataclasses import replace
from functools import cache
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.chunking import (
    ChunkDraft,
    TokenCounter,
    chunk_document,
    content_hash,
    embedding_text,
)
from ingestion.parsed import ParsedDocument, Section
from ingestion.vectors import MAX_SENTENCES, sentence_texts
from retrieval.sentences import split_sentences
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir


@cache
def wordpieces() -> WordpieceTokenizer:
    return WordpieceTokenizer.from_model_dir(packaged_model_dir())


class WordCounter:
    """One token per whitespace-separated word, plus the two special tokens (no batching)."""

    def count(self, text: str) -> int:
        return len(text.split()) + 2


class SuperAdditiveCounter:
    """Counts that grow faster than the sum of their parts, so summed estimates fall short."""

    def count(self, text: str) -> int:
        return len(text.split()) + len(text) // 40 + 2


def doc_of(*sections: Section, title: str = "Handbook") -> ParsedDocument:
    return ParsedDocument(title=title, format="txt", sections=sections, metadata={})


def sentences(count: int, *, start: int = 0) -> str:
    return " ".join(
        f"Sentence number {i} explains the leave policy in some detail."
        for i in range(start, start + count)
    )


def assert_fits(chunks: list[ChunkDraft], counter: TokenCounter, limit: int) -> None:
    for chunk in chunks:
        assert chunk.text
        assert chunk.text == chunk.text.strip()
        tokens = counter.count(embedding_text(chunk.title, chunk.heading_path, chunk.text))
        assert tokens == chunk.token_count
        assert tokens <= limit
    assert [c.position for c in chunks] == list(range(len(chunks)))


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_covers(section: Section, chunks: list[ChunkDraft]) -> None:
    """Every non-space character of the section appears, in order, across its chunks."""
    haystack = iter("".join(compact(c.text) for c in chunks))
    assert all(char in haystack for char in compact(section.text))


# --- embedding text and hashing ---------------------------------------------------------------


def test_embedding_text_prefixes_title_and_heading_path() -> None:
    assert (
        embedding_text("Handbook", "Leave > Parental", "Body.")
        == "Handbook — Leave > Parental\nBody."
    )
    assert embedding_text("Handbook", "", "Body.") == "Handbook\nBody."
    assert embedding_text("", "", "Body.") == "Body."


def test_content_hash_ignores_whitespace_and_compatibility_forms() -> None:
    assert content_hash("ﬁle  one\n\n\ntwo ") == content_hash("file one two")
    assert content_hash("a") != content_hash("b")
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash("a"))


# --- sentence splitting -----------------------------------------------------------------------


def test_sentence_splitter_respects_abbreviations_decimals_and_initials() -> None:
    text = "Dr. Smith earns 3.5 days, e.g. on Mondays. J. R. Doe agrees! Is it so? Yes... Fine."
    assert split_sentences(text) == [
        "Dr. Smith earns 3.5 days, e.g. on Mondays.",
        "J. R. Doe agrees!",
        "Is it so?",
        "Yes...",
        "Fine.",
    ]


def test_sentence_splitter_does_not_split_before_lower_case() -> None:
    assert split_sentences("Use the form etc. and then submit. Done.") == [
        "Use the form etc. and then submit.",
        "Done.",
    ]


# --- chunking ---------------------------------------------------------------------------------


def test_short_section_is_one_chunk_with_its_metadata() -> None:
    doc = doc_of(Section("Parents get 16 weeks.", page=3, heading_path=("Leave", "Parental")))
    [chunk] = chunk_document(doc, wordpieces())
    assert chunk.text == "Parents get 16 weeks."
    assert (chunk.title, chunk.heading_path, chunk.page, chunk.position) == (
        "Handbook",
        "Leave > Parental",
        3,
        0,
    )
    assert chunk.token_count == wordpieces().count(
        "Handbook — Leave > Parental\nParents get 16 weeks."
    )


def test_long_section_splits_at_sentence_ends_within_the_limit() -> None:
    section = Section(sentences(60), page=None, heading_path=("Leave",))
    chunks = chunk_document(doc_of(section), wordpieces(), max_tokens=120, overlap_tokens=0)
    assert len(chunks) > 3
    assert_fits(chunks, wordpieces(), 120)
    assert all(chunk.text.endswith("detail.") for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks) == section.text


def test_chunks_overlap_by_trailing_sentences_within_the_overlap_budget() -> None:
    section = Section(sentences(40), page=None, heading_path=())
    chunks = chunk_document(doc_of(section), wordpieces(), max_tokens=120, overlap_tokens=32)
    assert len(chunks) > 3
    for previous, current in pairwise(chunks):
        before = split_sentences(previous.text)
        shared = [
            k for k in range(1, len(before)) if current.text.startswith(" ".join(before[-k:]))
        ]
        assert shared, "the next chunk starts with the previous chunk's last sentence"
        carried = " ".join(before[-max(shared) :])
        assert wordpieces().count(carried) - 2 <= 32
        one_more = " ".join(before[-max(shared) - 1 :])
        assert wordpieces().count(one_more) - 2 > 32


def test_overlap_never_crosses_sections_or_pages() -> None:
    doc = doc_of(
        Section(sentences(30), page=1, heading_path=()),
        Section(sentences(30, start=100), page=2, heading_path=()),
    )
    chunks = chunk_document(doc, wordpieces(), max_tokens=100)
    first_on_page_2 = next(c for c in chunks if c.page == 2)
    assert first_on_page_2.text.startswith("Sentence number 100 ")
    assert all(("number 1 " in c.text) <= (c.page == 1) for c in chunks)
    assert_covers(doc.sections[0], [c for c in chunks if c.page == 1])
    assert_covers(doc.sections[1], [c for c in chunks if c.page == 2])


def test_a_sentence_without_breaks_falls_back_to_word_boundaries() -> None:
    words = " ".join(f"word{i}" for i in range(800))
    section = Section(words, page=None, heading_path=())
    chunks = chunk_document(doc_of(section), wordpieces(), max_tokens=64, overlap_tokens=0)
    assert_fits(chunks, wordpieces(), 64)
    assert " ".join(c.text for c in chunks) == words


def test_a_giant_token_is_split_by_characters() -> None:
    giant = "a-" * 3000
    chunks = chunk_document(doc_of(Section(giant, None, ())), wordpieces(), max_tokens=64)
    assert len(chunks) > 10
    assert_fits(chunks, wordpieces(), 64)
    assert "".join(c.text for c in chunks) == giant


def test_an_oversized_title_and_heading_are_shortened_to_fit() -> None:
    title = " ".join(["Extremely"] * 400)
    heading = tuple(f"Heading {i}" for i in range(200))
    chunks = chunk_document(
        doc_of(Section(sentences(10), None, heading), title=title), wordpieces(), max_tokens=64
    )
    assert_fits(chunks, wordpieces(), 64)
    assert chunks[0].title.endswith("…")
    assert len(chunks[0].title) < len(title)
    assert_covers(Section(sentences(10), None, heading), chunks)


def test_window_caps_max_tokens() -> None:
    section = Section(sentences(80), page=None, heading_path=())
    chunks = chunk_document(doc_of(section), wordpieces(), max_tokens=1000, window=256)
    assert_fits(chunks, wordpieces(), 256)
    assert max(c.token_count for c in chunks) > 200


def test_a_plain_counter_without_batching_works() -> None:
    section = Section(sentences(50), page=None, heading_path=("A",))
    chunks = chunk_document(doc_of(section), WordCounter(), max_tokens=50)
    assert_fits(chunks, WordCounter(), 50)
    assert_covers(section, chunks)


def test_wrong_estimates_are_caught_by_the_final_count_and_re_split() -> None:
    section = Section(sentences(50) + " " + "x" * 900, page=None, heading_path=("A",))
    chunks = chunk_document(doc_of(section), SuperAdditiveCounter(), max_tokens=40)
    assert_fits(chunks, SuperAdditiveCounter(), 40)
    assert_covers(section, chunks)


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 tokens"):
        chunk_document(doc_of(Section("x", None, ())), WordCounter(), max_tokens=8)


def test_a_long_document_chunks_within_the_limit() -> None:
    # Speed is measured by `groundwork bench ingest`, not asserted here.
    paragraphs = "\n\n".join(sentences(6, start=i * 6) for i in range(2000))
    doc = doc_of(Section(paragraphs, page=None, heading_path=("Long",)))
    chunks = chunk_document(doc, wordpieces())
    assert_fits(chunks, wordpieces(), 200)
    assert_covers(doc.sections[0], chunks)


# --- property tests ---------------------------------------------------------------------------

WORDS = st.sampled_from(
    [
        "leave",
        "Policy",
        "e.g.",
        "Dr.",
        "3.5",
        "weeks.",
        "naïve",
        "ÉTÉ",
        "日本語。",
        "x" * 120,
        "a-b-c-d-e-f-g-h",
        "(see",
        "§4)",
        "why?",
        "yes!",
        "—",
        "🙂",
        "\t",
        "\n",
        "\n\n",
        "HR's",
    ]
)
TEXTS = st.lists(WORDS, min_size=1, max_size=400).map(" ".join).filter(lambda t: t.strip())
SECTIONS = st.lists(
    st.builds(
        Section,
        text=TEXTS.map(str.strip),
        page=st.one_of(st.none(), st.integers(1, 500)),
        heading_path=st.lists(st.text(min_size=1, max_size=30), max_size=3).map(tuple),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sections=SECTIONS,
    title=st.text(max_size=300),
    max_tokens=st.integers(16, 300),
    overlap=st.integers(0, 64),
)
def test_every_chunk_fits_and_stays_in_its_section(
    sections: list[Section], title: str, max_tokens: int, overlap: int
) -> None:
    doc = doc_of(*sections, title=title)
    chunks = chunk_document(doc, wordpieces(), max_tokens=max_tokens, overlap_tokens=overlap)
    assert_fits(chunks, wordpieces(), min(max_tokens, 256))
    # sections are chunked independently and in order: the document's chunks are the
    # concatenation of each section's own chunks
    expected: list[ChunkDraft] = []
    for section in sections:
        alone = chunk_document(
            doc_of(section, title=title),
            wordpieces(),
            max_tokens=max_tokens,
            overlap_tokens=overlap,
        )
        assert alone
        assert all(c.page == section.page for c in alone)
        assert_covers(section, alone)
        expected.extend(alone)
    assert [replace(c, position=0) for c in chunks] == [replace(c, position=0) for c in expected]


@settings(max_examples=40, deadline=None)
@given(text=TEXTS, max_tokens=st.integers(16, 120))
def test_a_plain_word_counter_also_respects_the_limit(text: str, max_tokens: int) -> None:
    section = Section(text.strip(), page=None, heading_path=("H",))
    chunks = chunk_document(doc_of(section), WordCounter(), max_tokens=max_tokens)
    assert_fits(chunks, WordCounter(), max_tokens)
    assert_covers(section, chunks)


def test_sentence_texts_keep_real_sentences_in_order() -> None:
    body = "Intro.\n\n- Two words\n- The warranty lasts two years. Returns take thirty days."
    assert sentence_texts(body) == ["- The warranty lasts two years.", "Returns take thirty days."]
    many = " ".join(f"Sentence number {i} here." for i in range(100))
    assert len(sentence_texts(many)) == MAX_SENTENCES
