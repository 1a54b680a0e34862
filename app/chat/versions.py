"""Assistant versions: prompts, model and retrieval/confidence settings as one numbered unit.

Versions are immutable once created; activating one (or rolling back) only moves the
``is_active`` flag, so every stored answer names the exact version that produced it.
"""

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.composer import ComposerConfig
from app.chat.confidence import ConfidenceWeights
from app.chat.llm_answerer import default_prompts
from app.chat.version_checks import config_problems
from app.errors import ConfigurationError, InvalidInput, NotFound
from app.logging import get_logger
from retrieval.types import RetrievalConfig

log = get_logger(__name__)


@dataclass(frozen=True)
class AnswerConfig:
    """``answerer`` is ``composer`` or ``llm`` (used only when an LLM endpoint is configured)."""

    # Calibrated on evals (out_of_scope: cross-domain, near-domain, in-scope; demo gate): the
    # highest share of near-domain and demo hand-off cases declined while no in-scope set
    # (Contoso, SQuAD, demo) declines more than 0.05; see the report of issue 5.
    confidence_threshold: float = 0.53
    answerer: str = "composer"
    weights: ConfidenceWeights = field(default_factory=ConfidenceWeights)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AnswerConfig":
        values = dict(data)
        if isinstance(values.get("weights"), dict):
            values["weights"] = ConfidenceWeights(**values["weights"])
        return cls(**values)


@dataclass(frozen=True)
class AssistantVersion:
    id: uuid.UUID
    number: int
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    composer: ComposerConfig = field(default_factory=ComposerConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    # Prompt template texts (answer_system, answer_user, condense); copied in at creation.
    prompts: dict[str, str] = field(default_factory=default_prompts)


def default_config() -> dict[str, Any]:
    return {
        "retrieval": asdict(RetrievalConfig()),
        "composer": asdict(ComposerConfig()),
        "answer": asdict(AnswerConfig()),
        "prompts": default_prompts(),
    }


# Composer settings added with a non-neutral default, and the value that reproduces the
# behaviour from before they existed: a version stored by an older build lacks the key and keeps
# running as it did when it was stored (so a rollback to it is exact); new versions take the
# default.
_COMPOSER_BEFORE_IT_EXISTED: dict[str, Any] = {"preceding_weight": 0.0}


def _from_row(version_id: uuid.UUID, number: int, config: dict[str, Any]) -> AssistantVersion:
    composer = config.get("composer", {})
    if isinstance(composer, dict):
        composer = {**_COMPOSER_BEFORE_IT_EXISTED, **composer}
    return AssistantVersion(
        id=version_id,
        number=number,
        retrieval=RetrievalConfig.from_dict(config.get("retrieval", {})),
        composer=ComposerConfig(**composer),
        answer=AnswerConfig.from_dict(config.get("answer", {})),
        # Versions created before prompts were versioned use the shipped templates.
        prompts={**default_prompts(), **config.get("prompts", {})},
    )


_SETTINGS: dict[str, Any] = {
    "retrieval": RetrievalConfig,
    "composer": ComposerConfig,
    "answer": AnswerConfig,
}


def _known_settings(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``config`` without the settings this build has no field for, and their dotted names."""
    unknown: list[str] = []
    known = dict(config)
    for section, cls in _SETTINGS.items():
        if section in known:
            known[section] = _drop_unknown(known[section], cls, section, unknown)
    answer = known.get("answer")
    if isinstance(answer, dict) and "weights" in answer:
        answer["weights"] = _drop_unknown(
            answer["weights"], ConfidenceWeights, "answer.weights", unknown
        )
    return known, unknown


def _drop_unknown(values: Any, cls: Any, prefix: str, unknown: list[str]) -> Any:
    if not isinstance(values, dict):
        return values  # not an object at all: the constructor's error names it
    names = {f.name for f in fields(cls)}
    unknown.extend(f"{prefix}.{name}" for name in values if name not in names)
    return {name: value for name, value in values.items() if name in names}


def loaded(
    version_id: uuid.UUID, number: int, config: dict[str, Any], *, warn: bool = False
) -> AssistantVersion:
    """A stored version as this build runs it; ``ConfigurationError`` if it cannot.

    Settings this build has no field for (a version written by a newer release, read after a
    rollback of the code) are left out, so they take this build's behaviour instead of failing
    every request; ``warn`` logs their names (at start-up and activation, not per request).
    """
    known, unknown = _known_settings(config)
    if unknown and warn:
        log.warning("versions.unknown_settings", version=number, settings=unknown)
    try:
        return _from_row(version_id, number, known)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(
            f"assistant version {number} cannot be run by this build ({error}); "
            "activate another version"
        ) from error


async def active_version(session: AsyncSession, *, warn: bool = False) -> AssistantVersion:
    row = (
        await session.execute(
            text("SELECT id, number, config FROM assistant_versions WHERE is_active LIMIT 1")
        )
    ).first()
    if row is None:
        raise NotFound("no assistant version is active; run `groundwork migrate`")
    return loaded(row[0], row[1], row[2], warn=warn)


async def ensure_default_version(session: AsyncSession) -> None:
    """Create and activate version 1 with the defaults if no version exists yet."""
    await session.execute(
        text(
            """
            INSERT INTO assistant_versions (id, number, description, config, is_active)
            SELECT :id, 1, 'defaults', CAST(:config AS jsonb), true
            WHERE NOT EXISTS (SELECT 1 FROM assistant_versions)
            """
        ),
        {"id": uuid.uuid4(), "config": _json(default_config())},
    )


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value)


def _validate(config: dict[str, Any]) -> None:
    prompts = config.get("prompts", {})
    if not all(isinstance(v, str) and v.strip() for v in prompts.values()):
        raise InvalidInput("every prompt template must be non-empty text", field="changes")
    problems = config_problems(config)
    if problems:
        raise InvalidInput("; ".join(problems), field="changes")
    try:
        _from_row(uuid.uuid4(), 0, config)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"invalid settings: {error}", field="changes") from error


_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('assistant_versions'))")
_LARGEST_NUMBER = 2**31 - 1  # assistant_versions.number is a PostgreSQL integer


async def create_version(
    session: AsyncSession, config: dict[str, Any], *, description: str, activate: bool
) -> int:
    """Store a new immutable version (validated first); optionally make it the active one.

    Raises ``InvalidInput`` naming the problem when ``config`` is not a loadable version.
    """
    _validate(config)
    await session.execute(_LOCK)  # numbers and the active flag change one writer at a time
    number = int(
        (
            await session.execute(
                text("SELECT COALESCE(MAX(number), 0) + 1 FROM assistant_versions")
            )
        ).scalar_one()
    )
    if activate:
        await session.execute(text("UPDATE assistant_versions SET is_active = false"))
    await session.execute(
        text(
            "INSERT INTO assistant_versions (id, number, description, config, is_active) "
            "VALUES (:id, :number, :description, CAST(:config AS jsonb), :active)"
        ),
        {
            "id": uuid.uuid4(),
            "number": number,
            "description": description,
            "config": _json(config),
            "active": activate,
        },
    )
    return number


async def activate_defaults(session: AsyncSession, description: str = "current defaults") -> int:
    """Make a version with this release's defaults active (creating one if the active differs)."""
    wanted = default_config()
    row = (
        await session.execute(
            text("SELECT number, config FROM assistant_versions WHERE is_active LIMIT 1")
        )
    ).first()
    if row is not None and row[1] == wanted:
        return int(row[0])
    return await create_version(session, wanted, description=description, activate=True)


SECTIONS = ("retrieval", "composer", "answer", "prompts")


@dataclass(frozen=True)
class VersionSummary:
    number: int
    description: str
    is_active: bool
    created_at: datetime
    config: dict[str, Any]


def with_changes(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each section's keys replaced by ``changes`` (sections merge, keys replace)."""
    merged = {section: dict(base.get(section, {})) for section in SECTIONS}
    for section, values in changes.items():
        if section not in SECTIONS:
            raise InvalidInput(f"unknown version section {section!r}", field="changes")
        if not isinstance(values, dict):
            raise InvalidInput(f"{section} must be an object", field="changes")
        merged[section].update(values)
    return merged


async def list_versions(session: AsyncSession) -> list[VersionSummary]:
    """Every version, newest first (version 1 with the defaults is created if none exists)."""
    await ensure_default_version(session)
    rows = await session.execute(
        text(
            "SELECT number, description, is_active, created_at, config "
            "FROM assistant_versions ORDER BY number DESC"
        )
    )
    return [VersionSummary(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def create_from_active(
    session: AsyncSession, changes: dict[str, Any], *, description: str, activate: bool
) -> int:
    """A new version: the active one's settings with ``changes`` applied (validated first)."""
    if not description.strip():
        raise InvalidInput("a version needs a description", field="description")
    await ensure_default_version(session)
    row = (
        await session.execute(text("SELECT config FROM assistant_versions WHERE is_active LIMIT 1"))
    ).first()
    # Settings of a newer release that this build cannot run are not carried into the copy.
    base = _known_settings(row[0])[0] if row is not None else default_config()
    config = with_changes(base, changes)
    return await create_version(session, config, description=description.strip(), activate=activate)


async def activate_version(session: AsyncSession, number: int) -> None:
    """Make version ``number`` the active one (also how a rollback is done); ``NotFound`` if none."""
    if not 1 <= number <= _LARGEST_NUMBER:  # no such row, and the database would refuse the value
        raise NotFound(f"no assistant version {number}")
    await session.execute(_LOCK)
    row = (
        await session.execute(
            text("SELECT id, config FROM assistant_versions WHERE number = :n"), {"n": number}
        )
    ).first()
    if row is None:
        raise NotFound(f"no assistant version {number}")
    try:
        loaded(row[0], number, row[1], warn=True)
    except ConfigurationError as error:  # activating it would fail every question
        raise InvalidInput(error.message, field="number") from error
    # Stored before these checks existed, or by another release: refused like a new version.
    problems = config_problems(_known_settings(row[1])[0])
    if problems:
        raise InvalidInput(
            f"assistant version {number} cannot be activated: {'; '.join(problems)}",
            field="number",
        )
    await session.execute(
        text("UPDATE assistant_versions SET is_active = (number = :n)"), {"n": number}
    )
