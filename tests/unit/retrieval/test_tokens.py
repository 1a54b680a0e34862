from functools import cache
from pathlib import Path

import pytest

from app.errors import ConfigurationError
from retrieval.tokens import WordpieceTokenizer, packaged_model_dir


@cache
def tokenizer() -> WordpieceTokenizer:
    return WordpieceTokenizer.from_model_dir(packaged_model_dir())


def test_packaged_model_dir_holds_the_tokenizer() -> None:
    assert isinstance(packaged_model_dir(), Path)
    assert (packaged_model_dir() / "tokenizer.json").is_file()


def test_count_includes_the_two_special_tokens() -> None:
    assert tokenizer().count("") == 2
    assert tokenizer().count("hello world") == 4


def test_count_is_not_truncated_or_padded() -> None:
    text = "word " * 1000
    assert tokenizer().count(text) == 1002
    assert tokenizer().count("a") == 3


def test_count_batch_matches_count() -> None:
    texts = ["Parental leave is 16 weeks.", "", "e.g. résumé naïve 3.5 %", "x" * 500]
    assert tokenizer().count_batch(texts) == [tokenizer().count(t) for t in texts]
    assert tokenizer().count_batch([]) == []


def test_counts_are_additive_over_whitespace_joined_words() -> None:
    words = ["Employees", "get", "16", "weeks'", "leave", "(paid);", "see", "§4.2", "ñandú"]
    joined = tokenizer().count(" ".join(words))
    assert joined - 2 == sum(tokenizer().count(word) - 2 for word in words)


def test_missing_model_dir_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no tokenizer\.json"):
        WordpieceTokenizer.from_model_dir(tmp_path)


def test_broken_tokenizer_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot load the tokenizer"):
        WordpieceTokenizer.from_model_dir(tmp_path)
