"""Name and place gazetteers: which capitalised words are taken for people and places."""

import pytest

from guardrails.gazetteer import Gazetteer, find_people, find_places, load_gazetteer
from guardrails.spans import PiiEntity

SMALL = Gazetteer(
    first_names=frozenset({"maria", "edi", "scott", "victoria"}),
    last_names=frozenset({"lopez", "živković", "hill"}),
    places=frozenset({"trondheim", "victoria", "tunisia", "new zealand"}),
    countries=frozenset({"tunisia", "new zealand"}),
)


def _values(text: str, found: list[PiiEntity]) -> list[str]:
    return [text[e.start : e.end] for e in found]


def test_first_and_last_name_make_a_person() -> None:
    text = "Please add Maria Lopez as a beneficiary."
    assert _values(text, find_people(text, SMALL)) == ["Maria Lopez"]


def test_a_possessive_ends_the_name() -> None:
    text = "the verses from Edi Živković's Cautionary Tales."
    assert _values(text, find_people(text, SMALL)) == ["Edi Živković"]


def test_title_lifts_a_lone_surname_and_is_not_part_of_it() -> None:
    people = find_people("Mr. Lopez flew home.", SMALL)
    assert [(e.start, e.end) for e in people] == [(4, 9)]
    assert people[0].score >= 0.85


def test_unknown_word_after_name_is_counts_and_plain_words_do_not() -> None:
    text = "My name is Rubija"
    assert _values(text, find_people(text, SMALL)) == ["Rubija"]
    assert find_people("The Quarterly Report is ready.", SMALL) == []


def test_countries_always_towns_only_with_a_cue_or_on_an_address_line() -> None:
    text = "I flew to TRONDHEIM, then Tunisia. Trondheim is cold."
    assert _values(text, find_places(text, SMALL)) == ["TRONDHEIM", "Tunisia"]
    block = "Suite 3\nCite Guedouala\nTunisia 56004"
    assert _values(block, find_places(block, SMALL)) == ["Cite Guedouala", "Tunisia"]


def test_a_place_that_is_also_a_name_scores_below_ner() -> None:
    (victoria,) = find_places("We moved to Victoria.", SMALL)
    assert victoria.score < 0.85


@pytest.mark.slow
def test_faker_lists_load_for_many_locales() -> None:
    gazetteer = load_gazetteer()
    assert {"maria", "jan", "akira"} <= gazetteer.first_names
    assert len(gazetteer.last_names) > 10_000
    assert {"germany", "new zealand"} <= gazetteer.countries
    assert "may" not in gazetteer.first_names
