"""Ingestion over HTTP: bad files fail alone with a reason, folder sources sync, and access
changes apply on the very next request. Real Postgres, Redis, arq worker; hashing embedder.
"""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.settings import Settings
from tests.builders import (
    ApiUser,
    light_models,
    make_app,
    make_groups,
    make_user,
    run_worker_until_idle,
)
from tests.unit.ingestion.test_parsers import encrypt, make_pdf

pytestmark = pytest.mark.e2e

GOOD = b"# Leave\n\nEvery employee receives 27 days of paid annual leave per year.\n"


@pytest.fixture
async def live(settings: Settings, redis_url: str) -> Settings:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    return settings.model_copy(update={"redis_url": redis_url})


def _image_only_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 80, 120, style="F")
    return bytes(pdf.output())


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (8 << 20))
    return buffer.getvalue()


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty.txt": (b"", "the file is empty"),
    "binary.txt": (bytes(range(256)) * 40, "the file looks binary, not text"),
    "truncated.pdf": (make_pdf([["Some text."] * 20] * 3)[:1500], "the PDF is damaged: "),
    "encrypted.pdf": (encrypt(make_pdf([["Secret."]]), user_password="pw"), "the PDF is encrypted"),
    "scan.pdf": (_image_only_pdf(), "the PDF has no extractable text (scanned images?)"),
    "line.txt": (b"word " * 1_000_000, "a line is longer than 100,000 characters"),
    "bomb.docx": (_zip_bomb(), "the DOCX expands to more than 100 times its compressed size"),
    "tool.exe": (b"MZ\x90\x00 binary", "unsupported file type .exe; supported: "),
}


async def _upload(
    client: AsyncTestClient[Any], admin: ApiUser, source: str, name: str, data: bytes
) -> Any:
    return await client.post(
        f"/api/v1/sources/{source}/documents", files={"file": (name, data)}, headers=admin.headers
    )


async def _source(client: AsyncTestClient[Any], admin: ApiUser, **body: Any) -> str:
    response = await client.post("/api/v1/sources", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_each_bad_file_fails_alone_with_its_reason(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    import random

    rng = random.Random(7)
    files = dict(BAD_FILES)
    files["latin.txt"] = (
        bytes(rng.randrange(0x80, 0x100) for _ in range(4000)),
        "the text encoding could not be detected",
    )
    admin = await make_user(db_session, "root", role="admin")
    small = live.model_copy(
        update={"ingestion": live.ingestion.model_copy(update={"max_upload_bytes": 6_000_000})}
    )
    models = light_models()
    async with AsyncTestClient(app=make_app(small, models)) as client:
        source = await _source(client, admin, name="kb", groups=["everyone"])
        ids = {}
        for name, (data, _) in files.items():
            response = await _upload(client, admin, source, name, data)
            assert response.status_code == 202, (name, response.text)
            ids[name] = response.json()["id"]
        good = (await _upload(client, admin, source, "good.md", GOOD)).json()["id"]
        too_big = await _upload(client, admin, source, "big.txt", b"a" * 6_000_001)
        assert too_big.status_code == 413
        assert "6,000,000 bytes" in too_big.json()["detail"]

        await run_worker_until_idle(small, engine, models)
        for name, (_, expected) in files.items():
            body = (
                await client.get(f"/api/v1/documents/{ids[name]}", headers=admin.headers)
            ).json()
            assert body["status"] == "failed", (name, body)
            assert body["error"].startswith(expected), (name, body["error"])
            assert body["progress"]["chunks_done"] == 0
        ok = (await client.get(f"/api/v1/documents/{good}", headers=admin.headers)).json()
        assert ok["status"] == "ready"
        assert ok["progress"]["chunks_done"] == ok["progress"]["chunks_total"] > 0
    stored = await db_session.execute(
        text("SELECT count(DISTINCT document_id), count(*) FROM chunks")
    )
    assert stored.one()[0] == 1  # nothing of the bad files was stored
    names = await db_session.execute(text("SELECT count(*) FROM documents WHERE uri = 'big.txt'"))
    assert names.scalar_one() == 0


async def _search(client: AsyncTestClient[Any], user: ApiUser, query: str) -> str:
    response = await client.post("/api/v1/search", json={"query": query}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.text


async def test_access_changes_apply_on_the_next_request(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    await make_groups(db_session, "hr")
    admin = await make_user(db_session, "root", role="admin")
    hana = await make_user(db_session, "hana", groups=("hr",))
    hana_id = (
        await db_session.execute(text("SELECT id FROM users WHERE username = 'hana'"))
    ).scalar_one()
    models = light_models()
    async with AsyncTestClient(app=make_app(live, models)) as client:
        source = await _source(client, admin, name="kb", groups=["hr"])
        doc = (
            await _upload(
                client, admin, source, "bands.md", b"# Bands\n\nBand L5 pays 92,000 EUR.\n"
            )
        ).json()["id"]
        await run_worker_until_idle(live, engine, models)
        assert doc in await _search(client, hana, "band L5 EUR")

        # Membership revoked: the very next request no longer finds the document.
        revoke = await client.put(
            f"/api/v1/users/{hana_id}/groups", json={"groups": []}, headers=admin.headers
        )
        assert revoke.status_code == 200, revoke.text
        assert doc not in await _search(client, hana, "band L5 EUR")
        assert (
            await client.get(f"/api/v1/documents/{doc}/content", headers=hana.headers)
        ).status_code == 404

        # Document opened to everyone: visible at once, no re-embedding (no worker run).
        await client.put(
            f"/api/v1/documents/{doc}/acl", json={"groups": ["everyone"]}, headers=admin.headers
        )
        assert doc in await _search(client, hana, "band L5 EUR")
        # And closed again to a group she is not in.
        await client.put(
            f"/api/v1/documents/{doc}/acl", json={"groups": ["hr"]}, headers=admin.headers
        )
        assert doc not in await _search(client, hana, "band L5 EUR")
        # Back to the source default (hr) after she rejoins hr.
        await client.put(
            f"/api/v1/users/{hana_id}/groups", json={"groups": ["hr"]}, headers=admin.headers
        )
        await client.put(
            f"/api/v1/documents/{doc}/acl", json={"groups": None}, headers=admin.headers
        )
        assert doc in await _search(client, hana, "band L5 EUR")


async def test_folder_source_syncs_over_the_api(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession, tmp_path: Path
) -> None:
    admin = await make_user(db_session, "root", role="admin")
    reader = await make_user(db_session, "alex")
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "leave.md").write_bytes(GOOD)
    (folder / "travel.txt").write_bytes(b"Travel: book trains for trips under 600 km.\n")
    (folder / "secret.txt").write_bytes(b"Merger codename Bluebird.\n")
    (folder / "secret.txt.acl.json").write_text(json.dumps({"groups": ["board"]}))
    await make_groups(db_session, "board")
    models = light_models()
    async with AsyncTestClient(app=make_app(live, models)) as client:
        source = await _source(
            client, admin, name="share", groups=["everyone"], kind="folder", path=str(folder)
        )
        denied = await client.post(f"/api/v1/sources/{source}/sync", headers=reader.headers)
        assert denied.status_code in {403, 404}
        report = (await client.post(f"/api/v1/sources/{source}/sync", headers=admin.headers)).json()
        assert (report["added"], report["deleted"]) == (3, 0), report
        await run_worker_until_idle(live, engine, models)
        listing = (await client.get("/api/v1/sources", headers=admin.headers)).json()["sources"]
        assert listing[0]["by_status"] == {"ready": 3}
        assert "600 km" in await _search(client, reader, "book trains trips km")
        assert "Bluebird" not in await _search(client, reader, "merger codename Bluebird")

        again = (await client.post(f"/api/v1/sources/{source}/sync", headers=admin.headers)).json()
        assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 3)
        (folder / "travel.txt").unlink()
        gone = (await client.post(f"/api/v1/sources/{source}/sync", headers=admin.headers)).json()
        assert gone["deleted"] == 1
        assert "600 km" not in await _search(client, reader, "book trains trips km")

        upload_source = await _source(client, admin, name="uploads", groups=["everyone"])
        wrong = await client.post(f"/api/v1/sources/{upload_source}/sync", headers=admin.headers)
        assert wrong.status_code == 422
        assert "only folder sources" in wrong.text


async def test_admin_console_uploads_and_polls_progress_with_the_browser_session(
    live: Settings, engine: AsyncEngine, db_session: AsyncSession
) -> None:
    await make_user(db_session, "root", role="admin")
    admin_key = await make_user(db_session, "ops", role="admin")
    models = light_models()
    async with AsyncTestClient(app=make_app(live, models)) as client:
        source = await _source(client, admin_key, name="kb", groups=["everyone"])
        await client.post("/login", data={"username": "root", "password": "correct horse battery"})
        page = await client.get("/admin")
        assert page.status_code == 200
        assert '<script src="/static/admin.js"' in page.text
        assert 'id="upload-form"' in page.text
        csrf = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
        script = await client.get("/static/admin.js")
        assert script.status_code == 200
        assert "/api/v1/documents" in script.text
        # What admin.js does: upload with the session + CSRF header, then poll the documents list.
        uploaded = await client.post(
            f"/api/v1/sources/{source}/documents",
            files={"file": ("leave.md", GOOD)},
            headers={"X-CSRF-Token": csrf},
        )
        assert uploaded.status_code == 202, uploaded.text
        polled = (await client.get("/api/v1/documents")).json()["documents"]
        assert [(d["status"], d["progress"]) for d in polled] == [
            ("queued", {"chunks_done": 0, "chunks_total": 0})
        ]
        await run_worker_until_idle(live, engine, models)
        done = (await client.get("/api/v1/documents")).json()["documents"][0]
        assert done["status"] == "ready"
        assert done["progress"]["chunks_done"] == done["progress"]["chunks_total"] >= 1
        sources = (await client.get("/api/v1/sources")).json()["sources"]
        assert sources[0]["by_status"] == {"ready": 1}
