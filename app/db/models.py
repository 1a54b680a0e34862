"""All ORM tables. The schema itself comes only from Alembic migrations.

Access control lives in data: every chunk carries ``access`` (the group names that may
read it; ``everyone`` for all signed-in users), and retrieval SQL filters on it with
``access && :caller_groups``. Relationships are ``lazy="raise"``: load explicitly.
"""

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import EMBEDDING_DIM, HNSW_EF_CONSTRUCTION, HNSW_M, Base

TERM_VERSIONS = Sequence("term_stats_version", metadata=Base.metadata)

EVERYONE = "everyone"
Role = Literal["user", "agent", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
DOCUMENT_STATUSES = ("queued", "processing", "ready", "failed")
ACL_ORIGINS = ("source", "file", "admin")
HandoffStatus = Literal["open", "claimed", "answered", "closed"]
HANDOFF_STATUSES: tuple[str, ...] = get_args(HandoffStatus)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _text_array() -> Any:
    return ARRAY(String(64))


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user','agent','admin')", name="role"),)
    id: Mapped[uuid.UUID] = _uuid_pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (
        CheckConstraint("kind IN ('upload','folder','verified')", name="kind"),
        CheckConstraint("pii_policy IN ('redact','keep','block')", name="pii_policy"),
    )
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="upload")
    path: Mapped[str | None] = mapped_column(Text)
    groups: Mapped[list[str]] = mapped_column(_text_array(), default=list)
    pii_policy: Mapped[str] = mapped_column(String(16), default="redact")
    created_at: Mapped[datetime] = _created_at()


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("status IN ('queued','processing','ready','failed')", name="status"),
        CheckConstraint("acl_origin IN ('source','file','admin')", name="acl_origin"),
        UniqueConstraint("source_id", "uri", name="uq_documents_source_uri"),
    )
    id: Mapped[uuid.UUID] = _uuid_pk()
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    uri: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    file_path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The hash of the content whose chunks are stored; equal to content_hash once ready.
    indexed_hash: Mapped[str | None] = mapped_column(String(64))
    # None: the source's default groups apply. A list: this document's own access rule.
    acl_override: Mapped[list[str] | None] = mapped_column(_text_array())
    # Who set acl_override: "source" (none; the default applies), "file" (a folder file's
    # sidecar or front matter) or "admin" (an explicit override, kept across folder syncs).
    acl_origin: Mapped[str] = mapped_column(
        String(16), default="source", server_default=text("'source'")
    )
    # Folder sources: the file's own rule as last synced (None: it had none). A sync applies
    # the file's rule only when it differs from this, so an admin override survives re-syncs.
    file_acl: Mapped[list[str] | None] = mapped_column(_text_array())
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (
        UniqueConstraint("document_id", "position", name="uq_chunks_document_position"),
        Index("ix_chunks_access", "access", postgresql_using="gin"),
        Index(
            "ix_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )
    id: Mapped[uuid.UUID] = _uuid_pk()
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    page: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    heading_path: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    token_count: Mapped[int] = mapped_column(Integer)
    term_count: Mapped[int] = mapped_column(Integer, default=0)
    access: Mapped[list[str]] = mapped_column(_text_array())
    # Stored with MAIN storage (migration f3b8d6a2c9e1), so the vector is never moved out of the
    # row into TOAST: every cosine computed from the heap would fetch it from there first.
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))
    injection_score: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = _created_at()


class ChunkSentence(Base):
    """One vector per quotable sentence of a chunk (``retrieval.quotable``): the composer reads
    them instead of embedding a newly retrieved passage's sentences, and the sentence leg scores
    a candidate chunk by its best sentence, so a passage whose one sentence answers is not
    diluted by the rest."""

    __tablename__ = "chunk_sentences"
    chunk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))
    # ``retrieval.quotable.sentence_key`` of the embedded sentence; NULL on older rows.
    text_hash: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class AccessSet(Base):
    """Each distinct chunk access list once, named by a small id that postings carry."""

    __tablename__ = "access_sets"
    # Searches look up the sets a caller may read (``access && groups``).
    __table_args__ = (Index("ix_access_sets_access", "access", postgresql_using="gin"),)
    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    access: Mapped[list[str]] = mapped_column(_text_array())
    # Unique on a digest (SQL function ``access_key``), not on the list itself: a long list
    # would exceed a btree entry.
    key: Mapped[str] = mapped_column(
        String(32), Computed("access_key(access)", persisted=True), unique=True
    )


class ChunkTerm(Base):
    """BM25 postings: one row per (term, chunk) with the term frequency."""

    __tablename__ = "chunk_terms"
    # Scoring reads (term, readable access lists) -> (chunk_id, tf, dl) with an index-only scan;
    # a scan on the term alone reads every list's postings.
    __table_args__ = (
        Index(
            "ix_chunk_terms_term_covering",
            "term",
            "access_set",
            postgresql_include=["chunk_id", "tf", "dl"],
        ),
    )
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunk_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    tf: Mapped[int] = mapped_column(Integer)
    # The chunk's length in terms, copied here so scoring needs no join before aggregation.
    dl: Mapped[int] = mapped_column(Integer)
    # The chunk's access list (``access_sets.id``), copied for the same reason: the keyword
    # leg scores only postings of readable chunks. ``ingestion.store`` keeps it equal to
    # ``chunks.access`` in the transaction that sets either; results re-check ``chunks.access``.
    access_set: Mapped[int] = mapped_column(Integer)


class TermStat(Base):
    """Document frequency per term, maintained transactionally with the postings."""

    __tablename__ = "term_stats"
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    df: Mapped[int] = mapped_column(BigInteger)
    # A new value from ``term_stats_version`` whenever this term's postings change (added,
    # removed, or their access list): a process's copy of them (``retrieval.postings_cache``)
    # is current only while it names this version. A sequence, so no value ever repeats, even
    # after a TRUNCATE.
    version: Mapped[int] = mapped_column(
        BigInteger, TERM_VERSIONS, server_default=TERM_VERSIONS.next_value()
    )


class TermSetStat(Base):
    """Document frequency per term and access list: a search's df is the sum over the lists its
    caller may read, so BM25 never counts a chunk the caller cannot see. Maintained with the
    postings (``ingestion.store``); rows of a pruned list go with it."""

    __tablename__ = "term_set_stats"
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_set: Mapped[int] = mapped_column(Integer, primary_key=True)
    df: Mapped[int] = mapped_column(BigInteger)


class AccessSetStat(Base):
    """Chunk count and total term count per access list: BM25's N and avgdl over what a caller
    may read are sums over the readable lists."""

    __tablename__ = "access_set_stats"
    access_set: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_count: Mapped[int] = mapped_column(BigInteger, default=0)
    term_total: Mapped[int] = mapped_column(BigInteger, default=0)


class CorpusStat(Base):
    """A single row: chunk count and total term count, for BM25's N and avgdl."""

    __tablename__ = "corpus_stats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_count: Mapped[int] = mapped_column(BigInteger, default=0)
    term_total: Mapped[int] = mapped_column(BigInteger, default=0)


class SystemInfo(Base):
    """Key/value facts about the deployment (embedding model and dimension)."""

    __tablename__ = "system_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AssistantVersion(Base):
    __tablename__ = "assistant_versions"
    id: Mapped[uuid.UUID] = _uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _created_at()


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (CheckConstraint("role IN ('user','assistant','agent')", name="role"),)
    id: Mapped[uuid.UUID] = _uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    trace: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = _created_at()


class Citation(Base):
    __tablename__ = "citations"
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    chunk_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chunks.id", ondelete="SET NULL"))
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    snippet: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating IN ('up','down')", name="rating"),)
    id: Mapped[uuid.UUID] = _uuid_pk()
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("status IN ('open','claimed','answered','closed')", name="status"),
    )
    id: Mapped[uuid.UUID] = _uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = _created_at()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


EVAL_CANDIDATE_STATUSES = ("pending", "accepted", "rejected")


class EvalRun(Base):
    """One evaluation run of one suite against one assistant version (files in ``results_path``)."""

    __tablename__ = "eval_runs"
    id: Mapped[uuid.UUID] = _uuid_pk()
    run_id: Mapped[str] = mapped_column(String(96), unique=True)
    suite: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int | None] = mapped_column(Integer, index=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    results_path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _created_at()


class EvalCandidate(Base):
    """A thumbs-down answer or a resolved hand-off, waiting for an admin to make it a golden case."""

    __tablename__ = "eval_candidates"
    __table_args__ = (
        CheckConstraint("kind IN ('feedback','handoff')", name="kind"),
        CheckConstraint("status IN ('pending','accepted','rejected')", name="status"),
    )
    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(String(16))
    feedback_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), unique=True
    )
    handoff_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), unique=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    groups: Mapped[list[str]] = mapped_column(_text_array(), default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    case_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_at()
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
