"""Documents (status, permission-checked content) and the admin API for sources and access."""

import uuid
from typing import Annotated, Any, Literal, get_args

import msgspec
from litestar import Request, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, KwargDefinition

from app.audit import record_event
from app.auth.accounts import ensure_groups_exist
from app.errors import PayloadTooLarge
from app.settings import PiiMode
from app.web.dependencies import Caller, DbSession, Web, require_role
from app.web.fields import NOT_BLANK_PATTERN, Name, json_body
from ingestion import sources
from ingestion.documents import DocumentView, document_passages, get_document, list_documents


class SourceRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[
        str,
        KwargDefinition(
            min_length=1, max_length=sources.MAX_SOURCE_NAME_CHARS, pattern=NOT_BLANK_PATTERN
        ),
    ]
    groups: list[Name]
    # None means the deployment's GROUNDWORK_PII__DEFAULT_POLICY, and so has "" always meant
    # (``or`` below): a plain str keeps it that way, the schema lists the choices and the use
    # case checks them.
    pii_policy: Annotated[
        str | None, KwargDefinition(schema_extra={"enum": [*get_args(PiiMode), None]})
    ] = None
    kind: Literal["upload", "folder"] = "upload"
    path: str | None = None


class AclRequest(msgspec.Struct, forbid_unknown_fields=True):
    groups: list[Name] | None


# A folder source needs an absolute server path (``ingestion.sources``); that the folder exists,
# under the configured roots, only the server can tell.
_FOLDER_NEEDS_PATH = {
    "if": {"properties": {"kind": {"const": "folder"}}, "required": ["kind"]},
    "then": {"properties": {"path": {"type": "string", "pattern": "^/"}}, "required": ["path"]},
}


class UploadForm(msgspec.Struct):
    """The multipart form of an upload: the file in the part named ``file``."""

    file: UploadFile


def document_json(d: DocumentView, *, admin: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(d.id),
        "title": d.title,
        "source": d.source,
        "status": d.status,
        "error": d.error,
        "progress": {"chunks_done": d.chunks_done, "chunks_total": d.chunks_total},
        "updated_at": d.updated_at.isoformat(),
    }
    if admin:
        body.update(
            {
                "source_id": str(d.source_id),
                "source_name": d.source_name,
                "groups": d.access,
                "size_bytes": d.size_bytes,
            }
        )
    return body


@get("/api/v1/documents/{document_id:uuid}")
async def document_status(
    document_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    view = await get_document(db_session, principal, document_id)
    return document_json(view, admin=principal.has_role("admin"))


@get("/api/v1/documents/{document_id:uuid}/content")
async def document_content(
    document_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> dict[str, Any]:
    view, passages = await document_passages(db_session, principal, document_id)
    return {
        "document": document_json(view, admin=principal.has_role("admin")),
        "passages": [
            {
                "chunk_id": str(p.chunk_id),
                "position": p.position,
                "page": p.page,
                "heading_path": p.heading_path,
                "text": p.text,
            }
            for p in passages
        ],
    }


@get("/api/v1/documents")
async def documents_index(db_session: DbSession, principal: Caller) -> dict[str, Any]:
    require_role(principal, "admin")
    return {"documents": [document_json(d, admin=True) for d in await list_documents(db_session)]}


@post("/api/v1/sources", status_code=201)
async def create_source(
    data: Annotated[SourceRequest, json_body(**_FOLDER_NEEDS_PATH)],
    db_session: DbSession,
    principal: Caller,
    web: Web,
) -> dict[str, Any]:
    require_role(principal, "admin")
    groups = await ensure_groups_exist(db_session, data.groups)
    source_id = await sources.create_source(
        db_session,
        name=data.name,
        groups=groups,
        pii_policy=data.pii_policy or web.settings.pii.default_policy,
        kind=data.kind,
        path=data.path,
        allowed_roots=web.settings.ingestion.folder_roots,
    )
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="source.create",
        object_type="source",
        object_id=source_id,
        details={"groups": groups},
    )
    return {"id": str(source_id), "name": data.name, "groups": groups, "kind": data.kind}


@post("/api/v1/sources/{source_id:uuid}/documents", status_code=202)
async def upload_document(
    request: Request[Any, Any, Any],
    source_id: FromPath[uuid.UUID],
    db_session: DbSession,
    principal: Caller,
    web: Web,
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    require_role(principal, "admin")
    upload = data.file
    limit = web.settings.ingestion.max_upload_bytes
    content = await upload.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge(
            f"the file is larger than the upload limit of {limit:,} bytes", field="file"
        )
    registered = await sources.register_document(
        db_session,
        source_id=source_id,
        filename=upload.filename or "",
        data=content,
        uploads_dir=web.settings.uploads_dir,
        max_bytes=limit,
    )
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="document.upload",
        object_type="document",
        object_id=registered.id,
        details={"outcome": registered.outcome, "bytes": len(content)},
    )
    await db_session.commit()
    if registered.outcome == "queued" and web.queue is not None:
        await web.queue.enqueue_ingest(registered.id, registered.content_hash)
    body: dict[str, Any] = {"id": str(registered.id), "status": registered.outcome}
    if registered.duplicate_of:
        body["duplicate_of"] = str(registered.duplicate_of)
    return body


@put("/api/v1/documents/{document_id:uuid}/acl")
async def set_acl(
    document_id: FromPath[uuid.UUID],
    data: Annotated[AclRequest, json_body()],
    db_session: DbSession,
    principal: Caller,
) -> dict[str, Any]:
    require_role(principal, "admin")
    groups = None if data.groups is None else await ensure_groups_exist(db_session, data.groups)
    access = await sources.set_document_acl(db_session, document_id, groups)
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="document.acl",
        object_type="document",
        object_id=document_id,
        details={"groups": access},
    )
    return {"id": str(document_id), "groups": access}


@delete("/api/v1/documents/{document_id:uuid}", status_code=204)
async def delete_document(
    document_id: FromPath[uuid.UUID], db_session: DbSession, principal: Caller
) -> None:
    require_role(principal, "admin")
    await sources.delete_document(db_session, document_id)
    await record_event(
        db_session,
        actor_id=principal.user_id,
        action="document.delete",
        object_type="document",
        object_id=document_id,
    )
