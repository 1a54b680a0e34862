"""Folder sources: a sync detects added, changed and deleted files and per-file access rules."""

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInput
from app.settings import Settings
from ingestion.bulk import ingest_many
from ingestion.folders import SyncReport, sync_folder
from ingestion.pipeline import PipelineDeps, ingest_document
from ingestion.sources import create_source, set_document_acl
from tests.builders import make_groups
from tests.integration.ingestion.conftest import chunk_texts, write
from tests.integration.retrieval.documents import statistics_drift

pytestmark = pytest.mark.integration


async def _sync(session: AsyncSession, settings: Settings, source_id: uuid.UUID) -> SyncReport:
    report = await sync_folder(
        session,
        source_id=source_id,
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.ingestion.max_upload_bytes,
    )
    await session.commit()
    return report


async def _documents(session: AsyncSession) -> dict[str, tuple[uuid.UUID, list[str]]]:
    rows = await session.execute(
        text(
            "SELECT d.uri, d.id, COALESCE(d.acl_override, s.groups) FROM documents d "
            "JOIN sources s ON s.id = d.source_id"
        )
    )
    return {uri: (doc_id, list(access)) for uri, doc_id, access in rows}


async def _folder_source(session: AsyncSession, folder: Path) -> uuid.UUID:
    source_id = await create_source(
        session, name="share", groups=["everyone"], kind="folder", path=str(folder)
    )
    await session.commit()
    return source_id


async def test_resync_adds_changes_and_deletes(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, tmp_path: Path
) -> None:
    folder = tmp_path / "share"
    write(folder, "a.md", "# Alpha\n\nAlpha policy: the alpha budget is 10 units.\n")
    write(folder, "sub/b.txt", "Bravo notes about the bravo project.\n")
    write(folder, ".hidden.txt", "never indexed")
    source_id = await _folder_source(db_session, folder)

    first = await _sync(db_session, settings, source_id)
    assert (len(first.added), first.deleted) == (2, 0)
    await ingest_many(deps, [d.id for d in first.to_enqueue])
    docs = await _documents(db_session)
    assert set(docs) == {"a.md", "sub/b.txt"}

    unchanged = await _sync(db_session, settings, source_id)
    assert (len(unchanged.to_enqueue), unchanged.unchanged, unchanged.deleted) == (0, 2, 0)

    write(folder, "a.md", "# Alpha\n\nAlpha policy: the alpha budget is 12 units.\n")
    (folder / "sub" / "b.txt").unlink()
    write(folder, "c.html", "<h1>Charlie</h1><p>Charlie text.</p>")
    second = await _sync(db_session, settings, source_id)
    assert (len(second.added), len(second.changed), second.deleted) == (1, 1, 1)
    # The deleted file's chunks are gone at commit, before any worker runs.
    gone = await db_session.execute(
        text("SELECT count(*) FROM chunks WHERE document_id = :d"), {"d": docs["sub/b.txt"][0]}
    )
    assert gone.scalar_one() == 0
    for document in second.to_enqueue:
        assert (await ingest_document(deps, document.id)).status == "ready"
    alpha = docs["a.md"][0]
    assert any("12 units" in t for t in await chunk_texts(db_session, alpha))
    assert not any("10 units" in t for t in await chunk_texts(db_session, alpha))
    assert await statistics_drift(db_session) == 0

    # Several files gone at once leave in one pass; BM25's statistics follow exactly.
    (folder / "a.md").unlink()
    (folder / "c.html").unlink()
    third = await _sync(db_session, settings, source_id)
    assert third.deleted == 2
    assert set(await _documents(db_session)) == set()
    assert await statistics_drift(db_session) == 0


async def test_sidecar_and_front_matter_set_document_access(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, tmp_path: Path
) -> None:
    await make_groups(db_session, "hr", "finance")
    folder = tmp_path / "share"
    write(folder, "pay.txt", "Payroll runs on the 25th.\n")
    write(folder, "pay.txt.acl.json", json.dumps({"groups": ["finance"]}))
    write(folder, "hr.md", "---\ntitle: HR\ngroups: [hr]\n---\n# HR\n\nHR only.\n")
    write(folder, "open.md", "# Open\n\nFor everyone.\n")
    source_id = await _folder_source(db_session, folder)
    report = await _sync(db_session, settings, source_id)
    await ingest_many(deps, [d.id for d in report.to_enqueue])
    docs = await _documents(db_session)
    assert docs["pay.txt"][1] == ["finance"]
    assert docs["hr.md"][1] == ["hr"]
    assert docs["open.md"][1] == ["everyone"]
    assert "pay.txt.acl.json" not in docs

    # Changing only the sidecar changes access in place: no re-ingestion, chunks follow.
    write(folder, "pay.txt.acl.json", json.dumps({"groups": ["hr"]}))
    report = await _sync(db_session, settings, source_id)
    assert (report.acl_changed, len(report.to_enqueue)) == (1, 0)
    access = await db_session.execute(
        text("SELECT DISTINCT access FROM chunks WHERE document_id = :d"),
        {"d": docs["pay.txt"][0]},
    )
    assert [list(a) for a in access.scalars()] == [["hr"]]


async def test_bad_sidecar_rejects_only_that_file(
    db_session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "share"
    write(folder, "ok.txt", "fine\n")
    write(folder, "bad.txt", "fine too\n")
    write(folder, "bad.txt.acl.json", "{not json")
    write(folder, "unknown.txt", "x\n")
    write(folder, "unknown.txt.acl.json", json.dumps({"groups": ["no-such-group"]}))
    source_id = await _folder_source(db_session, folder)
    report = await _sync(db_session, settings, source_id)
    assert list(await _documents(db_session)) == ["ok.txt"]
    reasons = dict(report.rejected)
    assert "not valid JSON" in reasons["bad.txt"]
    assert "unknown group" in reasons["unknown.txt"]


async def test_missing_folder_changes_nothing(
    db_session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "share"
    write(folder, "a.txt", "alpha\n")
    source_id = await _folder_source(db_session, folder)
    await _sync(db_session, settings, source_id)
    (folder / "a.txt").unlink()
    folder.rmdir()
    with pytest.raises(InvalidInput, match="not available"):
        await _sync(db_session, settings, source_id)
    await db_session.rollback()
    assert list(await _documents(db_session)) == ["a.txt"]


async def test_folder_source_needs_existing_folder_inside_roots(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="no readable folder"):
        await create_source(
            db_session, name="x", groups=[], kind="folder", path=str(tmp_path / "nope")
        )
    with pytest.raises(InvalidInput, match="outside the configured"):
        await create_source(
            db_session,
            name="y",
            groups=[],
            kind="folder",
            path=str(tmp_path),
            allowed_roots=[tmp_path / "elsewhere"],
        )


async def _access(
    session: AsyncSession, document_id: uuid.UUID
) -> tuple[list[str], str, set[tuple[str, ...]]]:
    """The document's effective access, where it came from, and the distinct chunk access."""
    row = (
        await session.execute(
            text(
                "SELECT COALESCE(d.acl_override, s.groups), d.acl_origin FROM documents d "
                "JOIN sources s ON s.id = d.source_id WHERE d.id = :d"
            ),
            {"d": document_id},
        )
    ).one()
    chunks = await session.execute(
        text("SELECT DISTINCT access FROM chunks WHERE document_id = :d"), {"d": document_id}
    )
    return list(row[0]), str(row[1]), {tuple(a) for a in chunks.scalars()}


async def test_admin_acl_override_survives_resync_without_sidecar(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, tmp_path: Path
) -> None:
    await make_groups(db_session, "finance")
    folder = tmp_path / "share"
    write(folder, "pay.txt", "Payroll runs on the 25th.\n")
    source_id = await _folder_source(db_session, folder)
    report = await _sync(db_session, settings, source_id)
    await ingest_many(deps, [d.id for d in report.to_enqueue])
    doc = (await _documents(db_session))["pay.txt"][0]
    assert await _access(db_session, doc) == (["everyone"], "source", {("everyone",)})

    await set_document_acl(db_session, doc, ["finance"])  # PUT /api/v1/documents/{id}/acl
    await db_session.commit()
    restricted = (["finance"], "admin", {("finance",)})
    assert await _access(db_session, doc) == restricted

    again = await _sync(db_session, settings, source_id)
    assert (again.acl_changed, again.unchanged) == (0, 1)
    assert await _access(db_session, doc) == restricted

    # A content change re-ingests the file, still under the admin's rule.
    write(folder, "pay.txt", "Payroll runs on the 26th from now on.\n")
    changed = await _sync(db_session, settings, source_id)
    assert [d.id for d in changed.changed] == [doc]
    assert (await ingest_document(deps, doc)).status == "ready"
    assert await _access(db_session, doc) == restricted
    assert any("26th" in t for t in await chunk_texts(db_session, doc))

    # An admin's reset to the source default is an override too: the sync keeps it.
    await set_document_acl(db_session, doc, None)
    await db_session.commit()
    await _sync(db_session, settings, source_id)
    assert await _access(db_session, doc) == (["everyone"], "source", {("everyone",)})


async def test_changed_sidecar_wins_over_admin_override_unchanged_one_does_not(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, tmp_path: Path
) -> None:
    await make_groups(db_session, "hr", "finance", "legal")
    folder = tmp_path / "share"
    write(folder, "pay.txt", "Payroll runs on the 25th.\n")
    write(folder, "pay.txt.acl.json", json.dumps({"groups": ["hr"]}))
    write(folder, "memo.md", "---\ngroups: hr\n---\n# Memo\n\nHR memo.\n")
    source_id = await _folder_source(db_session, folder)
    report = await _sync(db_session, settings, source_id)
    await ingest_many(deps, [d.id for d in report.to_enqueue])
    docs = await _documents(db_session)
    pay, memo = docs["pay.txt"][0], docs["memo.md"][0]
    assert await _access(db_session, pay) == (["hr"], "file", {("hr",)})

    for doc in (pay, memo):
        await set_document_acl(db_session, doc, ["finance"])
    await db_session.commit()
    unchanged = await _sync(db_session, settings, source_id)
    assert unchanged.acl_changed == 0
    for doc in (pay, memo):
        assert await _access(db_session, doc) == (["finance"], "admin", {("finance",)})

    # Editing the sidecar or the front matter is a new rule from the file: it wins.
    write(folder, "pay.txt.acl.json", json.dumps({"groups": ["legal"]}))
    write(folder, "memo.md", "---\ngroups: legal\n---\n# Memo\n\nHR memo.\n")
    edited = await _sync(db_session, settings, source_id)
    assert edited.acl_changed == 2
    assert await _access(db_session, pay) == (["legal"], "file", {("legal",)})
    assert (await ingest_document(deps, memo)).status == "ready"  # its bytes changed too
    assert await _access(db_session, memo) == (["legal"], "file", {("legal",)})

    # Removing a sidecar reverts a rule that came from the file to the source default...
    (folder / "pay.txt.acl.json").unlink()
    await _sync(db_session, settings, source_id)
    assert await _access(db_session, pay) == (["everyone"], "source", {("everyone",)})
    # ...but never an admin's override: an admin's rule outlives a file dropping its own.
    write(folder, "pay.txt.acl.json", json.dumps({"groups": ["hr"]}))
    await _sync(db_session, settings, source_id)
    await set_document_acl(db_session, pay, ["finance"])
    await db_session.commit()
    (folder / "pay.txt.acl.json").unlink()
    await _sync(db_session, settings, source_id)
    assert await _access(db_session, pay) == (["finance"], "admin", {("finance",)})


async def test_front_matter_of_a_file_with_a_stray_byte_still_restricts_access(
    db_session: AsyncSession, settings: Settings, deps: PipelineDeps, tmp_path: Path
) -> None:
    await make_groups(db_session, "hr")
    folder = tmp_path / "share"
    body = "---\ngroups: hr\n---\n# Salaires\n\nLes salaires sont versés le 25.\n".encode()
    write(folder, "pay.md", body + b"Caf\xe9 offert.\n")  # read as UTF-8 with one U+FFFD
    source_id = await _folder_source(db_session, folder)
    report = await _sync(db_session, settings, source_id)
    assert report.rejected == []
    await ingest_many(deps, [d.id for d in report.to_enqueue])
    doc = (await _documents(db_session))["pay.md"][0]
    access, origin, chunk_access = await _access(db_session, doc)
    assert (access, origin, chunk_access) == (["hr"], "file", {("hr",)})
    texts = await chunk_texts(db_session, doc)
    assert any("versés" in t for t in texts), texts
