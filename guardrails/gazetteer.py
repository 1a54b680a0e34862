"""Name and place gazetteers: people and places that spaCy's small NER model misses.

The lists are Faker's per-locale first names, surnames, cities, regions and countries, read at
start-up from the installed package (nothing is copied into this repository or downloaded).
"""

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache

import regex

from guardrails.spans import PiiEntity

_FIRST_ATTRS = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
_LAST_ATTRS = ("last_names", "last_names_male", "last_names_female")
_PLACE_ATTRS = (
    "cities", "city_names", "real_city_names", "states", "regions", "provinces", "counties",
    "municipalities", "localities", "concelhos", "prefectures", "wilayas",
)  # fmt: skip

# Title-case words that are names in some locale but far more often something else here.
_NOT_NAMES = frozenset(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday i a an the my our your his her
    their this that these those and or but if of in on at to for from by with as is are was be
    will can could would should shall must might did does do has have had not no yes ok please
    thanks thank hi hello dear mr mrs ms dr miss sir madam prof street road avenue lane drive
    court place square park way city country state university college school bank group inc ltd
    llc corp company team office department north south east west new saint st san santa fort
    port mount lake river bay beach island hill hills valley
    """.split()  # noqa: SIM905
)
TITLES = frozenset("mr mrs ms miss dr prof sir madam mx lady lord".split())  # noqa: SIM905
# Words right before a name: "my name is X", "ask X", "my son X".
_NAME_CUES = regex.compile(
    r"(?i:\b(?:name\s+is|named|called|i\s+am|i'm|this\s+is|ask|tell|meet|with|and|kid|son|"
    r"daughter|wife|husband|partner|brother|sister|mother|father|friend|colleague|dear|hi|"
    r"hello|hey|thanks|by|from|cc|contact|add|remove|spouse|guardian))\s+$"
)
_PLACE_CUES = regex.compile(
    r"(?i:\b(?:in|to|from|at|near|visit|visiting|visited|around|city|town|of|based\s+in|"
    r"moved\s+to|live\s+in|lives\s+in))\s+$"
)
# A run of capitalised words on one line: "Sari J. Paavolainen", "TRONDHEIM", "Cite Ben Hjel".
# Only initials and short abbreviations ("J.", "Mrs.") keep their full stop, so a run never
# crosses a sentence end ("Tunisia. Trondheim").
_WORD = r"(?:\p{Lu}\p{L}{0,2}\.|\p{Lu}[\p{L}'’\-]*)"
_RUN = regex.compile(
    rf"(?<![\p{{L}}\d@._\-]){_WORD}(?:[ \t]+(?:{_WORD}|"
    r"(?:de|da|del|van|von|der|den|di|du|la|le|nad|bin|al)(?=[ \t]+\p{Lu})))*"
    r"(?![\p{L}\d@_])"
)
# Strong place cues: an unknown capitalised word after these is still a place ("flew to LEPPEN").
_STRONG_PLACE_CUES = regex.compile(
    r"(?i:\b(?:flew|fly|flying|travel(?:l?ing)?|moved(?:\s+here)?|returned|arrived|relocated|"
    r"born|based|located|lives?|living|grew\s+up|i\s+am|i'm|we\s+are|year)\s+(?:to|from|in|at)|"
    r"where:|city\s+of|town\s+of|university\s+of)\s+$"
)
# A town just before a country: "Cite Guedouala, Tunisia", "Castanhal\n\n Brazil".
_BEFORE_COUNTRY = regex.compile(r"[ \t]*(?:,|\n[\s>|]*)[ \t]*(\p{Lu}[\p{L} \-()]*)")
_INITIAL = regex.compile(r"\p{Lu}\.?")


@dataclass(frozen=True)
class Gazetteer:
    """Case-folded word lists; ``places`` holds whole place names ("new zealand")."""

    first_names: frozenset[str]
    last_names: frozenset[str]
    places: frozenset[str]
    countries: frozenset[str]

    def is_name(self, key: str) -> bool:
        return key in self.first_names or key in self.last_names


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Every locale's lists from the installed Faker package (about one second)."""
    import faker.providers.address as address
    import faker.providers.person as person

    first = _collect(person.__path__, "faker.providers.person", _FIRST_ATTRS)
    last = _collect(person.__path__, "faker.providers.person", _LAST_ATTRS)
    places = _collect(address.__path__, "faker.providers.address", _PLACE_ATTRS)
    countries = _collect(address.__path__, "faker.providers.address", ("countries",))
    return Gazetteer(
        first_names=frozenset(w for w in first if " " not in w) - _NOT_NAMES,
        last_names=frozenset(w for w in last if " " not in w) - _NOT_NAMES,
        places=frozenset(places | countries) - _NOT_NAMES,
        countries=frozenset(countries),
    )


def _collect(paths: list[str], package: str, attrs: tuple[str, ...]) -> set[str]:
    words: set[str] = set()
    for info in pkgutil.iter_modules(paths):
        provider = getattr(importlib.import_module(f"{package}.{info.name}"), "Provider", None)
        for attr in attrs:
            values = vars(provider).get(attr) if provider is not None else None
            if isinstance(values, (list, tuple, dict)):
                words.update(v.casefold() for v in values if isinstance(v, str) and len(v) > 1)
    return words


def find_people(text: str, gazetteer: Gazetteer) -> list[PiiEntity]:
    """Runs of capitalised words that read as a person's name, scored by how sure we are."""
    found = []
    for match in _RUN.finditer(text):
        # A possessive ends a name: "Edi Živković's Cautionary Tales" -> "Edi Živković".
        start = match.start()
        for part in _POSSESSIVE_SPLIT.split(match.group()):
            entity = _person(text, start, start + len(part.rstrip()), gazetteer)
            if entity is not None:
                found.append(entity)
            start = text.find(" ", start + len(part))
            start = start + 1 if start >= 0 else match.end()
    for match in _LOWER_AFTER_CUE.finditer(text):
        key = match.group(1).casefold()
        if key in gazetteer.first_names or key in gazetteer.last_names:
            found.append(PiiEntity("PERSON", match.start(1), match.end(1), 0.6))
    return found


def _person(text: str, start: int, end: int, gazetteer: Gazetteer) -> PiiEntity | None:
    words = text[start:end].split()
    titled = _TITLE_BEFORE.search(text, max(0, start - 8), start) is not None
    while words and words[0].rstrip(".").casefold() in TITLES:
        titled = True
        start = text.index(words[1], start) if len(words) > 1 else end
        words = words[1:]
    if not words or len(words) > 4:
        return None
    score = _person_score(text, start, words, gazetteer, titled=titled)
    return PiiEntity("PERSON", start, end, score) if score > 0 else None


_POSSESSIVE_SPLIT = regex.compile(r"(?<=\p{L})['’]s(?:\s+|$)")
_LOWER_AFTER_CUE = regex.compile(r"(?i:\b(?:name\s+is|call\s+me|i'm|i\s+am))\s+(\p{Ll}{2,})\b")
_STRONG_NAME_CUES = regex.compile(r"(?i:\b(?:name\s+is|named|call\s+me|called))\s+$")
_TITLE_BEFORE = regex.compile(r"(?i:\b(?:mr|mrs|ms|miss|dr|prof|sir|madam)\.?\s+)$")


def _person_score(
    text: str, start: int, words: list[str], gazetteer: Gazetteer, *, titled: bool
) -> float:
    keys = [w.rstrip(".").casefold() for w in words]
    if any(k in _NOT_NAMES for k in keys if len(k) > 1):
        return 0.0
    first, last = gazetteer.first_names, gazetteer.last_names
    if len(words) >= 2:
        initials = [bool(_INITIAL.fullmatch(w)) for w in words]
        if initials[0] and not titled:
            return 0.0
        if keys[0] in first and (keys[-1] in last or keys[-1] in first):
            return 0.9
        if keys[0] in first and not initials[-1]:
            return 0.6
        if keys[-1] in last and (titled or keys[0] in last):
            return 0.7
        if keys[-1] in last and not any(k in gazetteer.places for k in keys):
            return 0.5
        return 0.0
    key = keys[0]
    if key not in first and key not in last:
        strong = _STRONG_NAME_CUES.search(text, max(0, start - 16), start) is not None
        return 0.6 if strong and key not in gazetteer.places else 0.0
    if titled:
        return 0.85
    if _NAME_CUES.search(text, max(0, start - 24), start):
        return 0.6
    if key in first and key not in gazetteer.places:
        # Scored above spaCy's 0.85 so "Mette" is a person, not the place NER guesses.
        return 0.86 if not _sentence_start(text, start) else 0.5
    return 0.0


def _sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 8) : start].rstrip(" \t\"'(")
    if not before and start > 8:
        return False
    return not before or before[-1] in ".!?\n:>|"


def find_places(text: str, gazetteer: Gazetteer) -> list[PiiEntity]:
    """Countries anywhere; towns and regions after "in", "to", "from" or on an address line."""
    found = []
    for match in _RUN.finditer(text):
        key = match.group().rstrip(".").casefold()
        if key not in gazetteer.places:
            cue = _STRONG_PLACE_CUES.search(text, max(0, match.start() - 24), match.start())
            if cue is not None and not gazetteer.is_name(key) and key not in _NOT_NAMES:
                found.append(PiiEntity("LOCATION", match.start(), match.end(), 0.6))
            elif _before_country(text, match.end(), gazetteer) and key not in _NOT_NAMES:
                found.append(PiiEntity("LOCATION", match.start(), match.end(), 0.86))
            continue
        if key in gazetteer.countries:
            score = 0.86
        elif _PLACE_CUES.search(text, max(0, match.start() - 16), match.start()) or _on_own_line(
            text, match.start(), match.end()
        ):
            # Above spaCy's 0.85 unless the word is also a known name ("Victoria", "Florence").
            score = 0.7 if gazetteer.is_name(key) else 0.86
        else:
            continue
        found.append(PiiEntity("LOCATION", match.start(), match.end(), score))
    return found


def _before_country(text: str, end: int, gazetteer: Gazetteer) -> bool:
    following = _BEFORE_COUNTRY.match(text, end)
    if following is None:
        return False
    return following.group(1).strip().casefold() in gazetteer.countries


def _on_own_line(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    rest = (text[line_start:start] + text[end : len(text) if line_end < 0 else line_end]).strip()
    return bool(line.strip()) and regex.fullmatch(r"[\s,>|.\d\-]*", rest) is not None
