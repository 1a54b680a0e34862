"""An eval workspace is keyed by its corpus and by how ingestion stores it."""

from pathlib import Path

from app.settings import Settings
from evals.workspace import stored_fingerprint


def test_ingestion_settings_that_change_what_is_stored_change_the_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    base = stored_fingerprint("corpus-a", settings)
    assert base == stored_fingerprint("corpus-a", Settings(data_dir=tmp_path))  # stable
    assert base != stored_fingerprint("corpus-b", settings)
    for change in (
        {"sentence_vectors": not settings.ingestion.sentence_vectors},
        {"chunk_tokens": settings.ingestion.chunk_tokens - 8},
    ):
        other = settings.model_copy(
            update={"ingestion": settings.ingestion.model_copy(update=change)}
        )
        assert stored_fingerprint("corpus-a", other) != base
