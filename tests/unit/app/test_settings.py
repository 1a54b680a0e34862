"""Settings: defaults, validation of URLs and secrets, and the documented .env.example."""

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_LINE = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=([^#]*?)\s*(?:#.*)?$")


def _example_values() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := EXAMPLE_LINE.match(line):
            values[match.group(1)] = match.group(2)
    return values


def _env_names(model: type[BaseModel], prefix: str) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _env_names(annotation, f"{prefix}{name.upper()}__")
        elif name in {"database_url", "redis_url"}:
            names.add(name.upper())
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_env_example_documents_every_setting() -> None:
    assert set(_example_values()) == _env_names(Settings, "GROUNDWORK_")


def test_env_example_values_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in _example_values().items():
        if value:
            monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.embedding.dimension == 384
    assert settings.database_url is None


def test_unknown_key_in_env_file_is_rejected(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("GROUNDWORK_EMBEDING__MODEL=typo\n")
    with pytest.raises(ValidationError, match="embeding"):
        Settings(_env_file=env)


def test_nested_group_rejects_unknown_field() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, embedding={"modle": "x"})


def test_production_refuses_default_session_secret() -> None:
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        Settings(_env_file=None, environment="production")


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(_env_file=None, environment="production", web={"session_secret": "x" * 40})
    assert settings.web.session_secret.get_secret_value() == "x" * 40
    assert "x" * 40 not in repr(settings)


def test_plain_postgres_url_gets_the_async_driver() -> None:
    settings = Settings(_env_file=None, database_url="postgresql://u:p@db:5432/gw")
    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/gw"


def test_unix_socket_database_url_is_accepted() -> None:
    url = "postgresql+asyncpg://postgres:@/postgres?host=/srv/pgdata"
    assert Settings(_env_file=None, database_url=url).database_url == url


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_other_database_urls_are_rejected_with_a_reason(url: str) -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(_env_file=None, database_url=url)


def test_redis_url_scheme_is_checked() -> None:
    with pytest.raises(ValidationError, match="REDIS_URL"):
        Settings(_env_file=None, redis_url="http://localhost:6379")


def test_database_url_comes_from_the_conventional_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://a@b/c")
    assert Settings(_env_file=None).database_url == "postgresql+asyncpg://a@b/c"


def test_chunk_overlap_must_be_smaller_than_chunk() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        Settings(_env_file=None, ingestion={"chunk_tokens": 64, "chunk_overlap_tokens": 64})
