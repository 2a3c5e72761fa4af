"""REST routes of the SOP engine: `/api/v1/procedures` (runbooks) and `/api/v1/known-errors`.

    POST   /api/v1/procedures/upload    multipart `files` (one or more) + `tags` → per-file results
    POST   /api/v1/procedures/search    SearchRequest (JSON) → SearchResult
    GET    /api/v1/procedures           ?tag= → [DocumentInfo]
    GET    /api/v1/procedures/{ref}     → DocumentDetail (ref: id, id prefix, label or file name)
    DELETE /api/v1/procedures/{ref}     → the removed DocumentInfo
    GET    /api/v1/known-errors         ?system= → [KnownError];  GET …/{code} → KnownError

Errors become HTTP statuses here and nowhere else (design rule): `error_response` is the one
mapping, applied by the routers' route class to every LexiQueryError and to request validation
errors, so every failure body has the same shape `{error, message, hint?, issues}`.

Store lifetime: one `ProcedureStore` per router, opened on the first request and closed at
shutdown. FastAPI runs sync endpoints on arbitrary thread-pool threads, and a default sqlite3
connection refuses to be used from a thread other than its creator's; the store is built for
this (its connection is opened with `check_same_thread=False` and every use is under the store's
lock), so sharing it is safe — and it keeps the BM25 index in memory between searches instead
of rebuilding it per request. Uploads and deletes also take a router lock: the store lets two
ingestions prepare in parallel, and two uploads of the same new file would then race to insert
it. The lock is only ever taken on thread-pool threads, never on the event loop.

Uploads are bounded twice: a declared Content-Length that could not be a legitimate upload is
refused before a byte is read, and the body stream is counted as it arrives (chunked requests
declare nothing); each file is then read in pieces and refused past `settings.sop_max_bytes`.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, time, timezone
from typing import Any, Callable, Coroutine, Literal

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.types import Message

from lexiquery.catalog.store import load_catalog
from lexiquery.config import Settings
from lexiquery.errors import (
    AgentError,
    DocumentError,
    InputError,
    LexiQueryError,
    UnknownDocumentError,
    UnknownSourceError,
)
from lexiquery.knowledge.known_errors.files import load_known_errors
from lexiquery.knowledge.known_errors.model import KnownError
from lexiquery.knowledge.model import DocumentInfo, SearchResult
from lexiquery.knowledge.store import DocumentDetail, ProcedureStore

READ_PIECE = 256 * 1024  # an upload is read in pieces of this size, never whole past the limit
MAX_UPLOAD_FILES = 50  # files per request
MAX_TAGS, MAX_TAG_CHARS = 50, 100
# A request is refused before its body is parsed when its declared length could not be a
# legitimate upload: every file at the limit, plus room for the multipart framing and tags.
REQUEST_SLACK = 64 * 1024

_DOCUMENT_STATUS = {"unsupported_type": 415, "too_large": 413}
# An agent refused or could not be reached: the caller's fault (400, 404, 409) or a gateway's
# answer about a peer (502 bad reply, 503 unreachable, 504 timeout).
_AGENT_STATUS = {"registration_refused": 400, "unknown_agent": 404, "static_agent": 409,
                 "name_taken": 409,
                 "agent_unavailable": 503, "agent_timeout": 504, "agent_bad_reply": 502}


def error_response(error: LexiQueryError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body of a package error (the only such mapping)."""
    if isinstance(error, DocumentError):
        status = _DOCUMENT_STATUS.get(error.code, 422)  # corrupt, encrypted, empty, unsafe_archive
    elif isinstance(error, AgentError):
        status = _AGENT_STATUS.get(error.code, 502)  # an agent's own failure code: its problem
    elif isinstance(error, (UnknownDocumentError, UnknownSourceError)):
        status = 404
    elif isinstance(error, InputError):
        status = 422
    else:  # catalog, plan, dialect, storage: the server's side
        status = 500
    return status, error.to_dict()


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    """`{error: bad_request, message, issues, hint}`: one issue per field, named by its path
    inside the body/query (`question`, `platforms.0`), not by the request part."""
    issues = []
    for e in exc.errors():
        where = list(e.get("loc", ()))
        if where and where[0] in ("body", "query", "path", "header", "cookie"):
            where = where[1:]  # the part of the request; a field may be called "query" too
        loc = ".".join(str(p) for p in where)
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        issues.append({"code": e.get("type", "invalid"), "field": loc or None,
                       "message": f"{loc}: {msg}" if loc else msg})
    message = "; ".join(i["message"] for i in issues) or "the request is not valid"
    return {"error": "bad_request", "message": message, "issues": issues,
            "hint": "see the request schema at /docs or /openapi.json"}


class _EdgeRoute(APIRoute):
    """Turns LexiQueryErrors and request validation errors into `{error, message, …}` bodies.
    Routers cannot install exception handlers (those belong to the app), so the route does it —
    the routers work the same in whatever app mounts them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse(validation_body(exc), status_code=422)
            except LexiQueryError as exc:
                status, body = error_response(exc)
                return JSONResponse(body, status_code=status)

        return route


# ── models ───────────────────────────────────────────────────────────────────────────────────

class ErrorBody(BaseModel):
    error: str
    message: str
    hint: str | None = None
    issues: list[dict[str, Any]] = Field(default_factory=list)


class FileResult(BaseModel):
    name: str
    status: Literal["added", "unchanged", "replaced", "failed"]
    document: DocumentInfo | None = None
    replaced_id: str | None = None
    http_status: int | None = Field(default=None, description="For a failed file: its status")
    error: ErrorBody | None = None


class UploadResponse(BaseModel):
    results: list[FileResult]
    added: int
    unchanged: int
    replaced: int
    failed: int
    mode: Literal["hybrid", "bm25"] | None = Field(
        default=None, description="Search mode the stored documents got (None: none stored)")
    note: str | None = None
    error: str | None = Field(default=None, description="Set when every file failed")
    message: str | None = None
    hint: str | None = None


def _as_utc(value: Any, end_of_day: bool) -> Any:
    """A bare ISO date is the start (since) or the end (until) of that day, in UTC; a date-time
    without a zone is UTC. Other strings are left to pydantic's ISO parser."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a date (use 2026-11-30)") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time.max if end_of_day else time.min, tzinfo=timezone.utc)
    return value


class SearchRequest(BaseModel):
    """A search of the stored runbooks. Dates are ISO: 2026-11-30 or 2026-11-30T14:00:00Z."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000, description="What to look for")
    limit: int = Field(default=5, ge=1, le=50)
    document: str | None = Field(default=None, max_length=300,
                                 description="Only this document: id, id prefix, label or name")
    tag: str | None = Field(default=None, max_length=200)
    platform: Literal["kql", "spl", "sql"] | None = Field(
        default=None, description="Only documents with queries in this language")
    since: datetime | None = Field(default=None, description="Only documents added since")
    until: datetime | None = Field(default=None, description="Only documents added until "
                                                              "(a bare date includes that day)")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the query is blank")
        return v.strip()

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, v: Any) -> Any:
        return _as_utc(v, end_of_day=False)

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, v: Any) -> Any:
        return _as_utc(v, end_of_day=True)

    @model_validator(mode="after")
    def _ordered(self) -> "SearchRequest":
        for name in ("since", "until"):
            t = getattr(self, name)
            if t is not None and t.tzinfo is None:
                setattr(self, name, t.replace(tzinfo=timezone.utc))
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self


# ── uploads ──────────────────────────────────────────────────────────────────────────────────

_UPLOAD_SCHEMA = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["files"], "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "Markdown, text, DOCX or PDF runbooks"},
        "tags": {"type": "array", "items": {"type": "string"},
                 "description": "Tags for every file (repeat the field or separate by commas)"},
    }}}}}}


def _file_name(upload: UploadFile) -> str:
    # Browsers and curl send a bare name, but a client may send a full path (Windows ones too):
    # only the last part is a name, and nothing of the path is ever used as a path.
    raw = re.split(r"[\\/]", upload.filename or "")[-1]
    return "".join(ch for ch in raw if ch.isprintable()).strip()


def _read_bounded(upload: UploadFile, limit: int, name: str) -> bytes:
    """The upload's bytes, read in pieces; past `limit` bytes reading stops (413)."""
    too_large = DocumentError(f"larger than the limit of {limit:,} bytes", code="too_large",
                              document=name, hint="split the document, or raise "
                                                  "LEXIQUERY_SOP_MAX_BYTES on the server")
    if upload.size is not None and upload.size > limit:
        raise too_large  # the parser already counted it: no need to read a byte
    upload.file.seek(0)
    pieces, total = [], 0
    for _ in range(limit // READ_PIECE + 2):  # bounded: one piece past the limit at most
        piece = upload.file.read(READ_PIECE)
        if not piece:
            return b"".join(pieces)
        total += len(piece)
        if total > limit:
            raise too_large
        pieces.append(piece)
    raise too_large


def _ingest(store: ProcedureStore, settings: Settings, uploads: list[UploadFile],
            tags: list[str], lock: threading.Lock) -> list[FileResult]:
    """Runs on a thread-pool thread (never on the event loop: it blocks on the lock and on
    parsing), one file in memory at a time."""
    results = []
    with lock:
        for up in uploads:
            name = _file_name(up) or "(unnamed)"
            try:
                if not _file_name(up):
                    raise DocumentError("a file part without a file name", code="unsupported_type",
                                        hint="send each file with a name (its type is read "
                                             "from the extension)")
                r = store.add_bytes(name, _read_bounded(up, settings.sop_max_bytes, name),
                                    tags=tags)
            except InputError as e:
                status, body = error_response(e)
                results.append(FileResult(name=name, status="failed", http_status=status,
                                          error=ErrorBody(**body)))
                continue
            results.append(FileResult(name=name, status=r.status, document=r.document,
                                      replaced_id=r.replaced_id))
    return results


def _upload_response(results: list[FileResult], store: ProcedureStore) -> JSONResponse:
    """Runs on a thread-pool thread: the mode's reason may ask Ollama (cached, bounded)."""
    counts = {s: sum(r.status == s for r in results)
              for s in ("added", "unchanged", "replaced", "failed")}
    mode, note = store.ingest_mode([r.document for r in results if r.document is not None])
    body = UploadResponse(results=results, mode=mode, note=note, **counts)  # type: ignore[arg-type]
    status = 200
    if counts["failed"] == len(results):
        statuses = {r.http_status for r in results}
        status = statuses.pop() if len(statuses) == 1 else 422  # type: ignore[assignment]
        first = results[0].error
        assert first is not None
        body.error = first.error if len(results) == 1 else "all_failed"
        body.message = first.message if len(results) == 1 else \
            f"none of the {len(results)} files could be stored"
        body.hint = first.hint
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


class _BodyTooLarge(Exception):
    pass


def _counted(request: Request, limit: int) -> Request:
    """The request, reading its body through a counter that stops past `limit` bytes — the
    guard for bodies that declare no length (or a false one)."""
    total = 0

    async def receive() -> Message:
        nonlocal total
        message = await request.receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise _BodyTooLarge
        return message

    return Request(request.scope, receive)


def _bad_request(message: str, *, status: int = 422, code: str = "bad_request",
                 hint: str | None = None) -> JSONResponse:
    body = {"error": code, "message": message, "issues": [{"code": code, "message": message}]}
    if hint:
        body["hint"] = hint
    return JSONResponse(body, status_code=status)


# ── routers ──────────────────────────────────────────────────────────────────────────────────

def procedures_router(settings: Settings) -> APIRouter:
    """The runbook routes, bound to `settings` (data directory, size limit, embedder)."""
    opened: list[ProcedureStore] = []
    open_lock, write_lock = threading.Lock(), threading.Lock()

    def store() -> ProcedureStore:
        with open_lock:
            if not opened:
                opened.append(ProcedureStore(settings))
            return opened[0]

    def close() -> None:
        with open_lock:
            while opened:
                opened.pop().close()

    router = APIRouter(prefix="/api/v1/procedures", tags=["procedures"], route_class=_EdgeRoute,
                       on_shutdown=[close])
    router.close_store = close  # type: ignore[attr-defined]  # for apps and tests without lifespan

    @router.post("/upload", response_model=UploadResponse, openapi_extra=_UPLOAD_SCHEMA,
                 responses={413: {"model": UploadResponse}, 415: {"model": UploadResponse},
                            422: {"model": UploadResponse}},
                 summary="Add runbooks (Markdown, text, DOCX, PDF)")
    async def upload(request: Request) -> JSONResponse:
        """One or more files in the multipart field `files`, optional `tags`. 200 when at least
        one file was stored or was already there (see each result); when every file failed, the
        failures' status: 415 unsupported type, 413 too large, 422 unreadable."""
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _bad_request("send the files as multipart/form-data in the field 'files'",
                                status=415, code="unsupported_media_type",
                                hint="curl -F files=@SOP-017.md …/api/v1/procedures/upload")
        limit = settings.sop_max_bytes * MAX_UPLOAD_FILES + REQUEST_SLACK
        too_large = _bad_request(
            f"the request is larger than {MAX_UPLOAD_FILES} files of the "
            f"{settings.sop_max_bytes:,}-byte limit", status=413, code="too_large",
            hint="upload fewer or smaller files per request")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return too_large
        try:
            form = await _counted(request, limit).form(max_files=MAX_UPLOAD_FILES,
                                                       max_fields=100)
        except _BodyTooLarge:
            return too_large
        except (HTTPException, MultiPartException) as e:  # too many files, bad framing, …
            detail = getattr(e, "detail", None) or getattr(e, "message", None) or str(e)
            return _bad_request(f"the multipart body cannot be read: {detail}", status=400)
        try:
            uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not uploads:
                return _bad_request("no files in the upload; send them in the multipart field "
                                    "'files'", hint="curl -F files=@SOP-017.md -F tags=soc …")
            tags = list(dict.fromkeys(t.strip() for v in form.getlist("tags")
                                      if isinstance(v, str) for t in v.split(",") if t.strip()))
            if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in tags):
                return _bad_request(f"at most {MAX_TAGS} tags of up to {MAX_TAG_CHARS} "
                                    "characters each")
            opened_store = await run_in_threadpool(store)
            results = await run_in_threadpool(_ingest, opened_store, settings, uploads, tags,
                                              write_lock)
        finally:
            await form.close()
        return await run_in_threadpool(_upload_response, results, opened_store)

    @router.post("/search", response_model=SearchResult, summary="Search the runbooks",
                 responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}})
    def search(body: SearchRequest) -> SearchResult:
        """Best passages first. `mode` says hybrid (BM25 + embeddings) or bm25 only, `note` why."""
        return store().search(body.query, limit=body.limit, document=body.document,
                              tag=body.tag, platform=body.platform, since=body.since,
                              until=body.until)

    @router.get("", response_model=list[DocumentInfo], summary="List the stored runbooks")
    def list_documents(tag: str | None = None) -> list[DocumentInfo]:
        return store().list_documents(tag=tag)

    @router.get("/{ref}", response_model=DocumentDetail,
                responses={404: {"model": ErrorBody}}, summary="One runbook in full")
    def show(ref: str) -> DocumentDetail:
        """`ref`: id, id prefix (4+ characters), label (SOP-017) or file name."""
        return store().get(ref)

    @router.delete("/{ref}", response_model=DocumentInfo,
                   responses={404: {"model": ErrorBody}}, summary="Remove a runbook")
    def remove(ref: str) -> DocumentInfo:
        with write_lock:
            return store().remove(ref)

    return router


def errors_router(settings: Settings) -> APIRouter:
    """The known-errors base, read-only: built-in plus `settings.known_errors_files`. It is
    loaded once, on first use, and shared: it is immutable data, safe across threads."""
    router = APIRouter(prefix="/api/v1/known-errors", tags=["known errors"],
                       route_class=_EdgeRoute)
    lock = threading.Lock()
    loaded: list[Any] = []

    def base() -> Any:
        with lock:
            if not loaded:
                loaded.append(load_known_errors(settings.known_errors_files,
                                                catalog=load_catalog(settings.catalog_dir)))
            return loaded[0]

    @router.get("", response_model=list[KnownError], summary="List the known errors")
    def list_errors(system: str | None = None) -> list[Any]:
        errors = list(base())
        if system is not None:
            errors = [e for e in errors if e.system.lower() == system.strip().lower()]
        return sorted(errors, key=lambda e: (e.system, e.code))

    @router.get("/{code}", response_model=KnownError, summary="One known error",
                responses={404: {"model": ErrorBody}})
    def show_error(code: str) -> Any:
        error = base().get(code)
        if error is None:
            return _bad_request(f"no known error {code!r}", status=404, code="unknown_error_code",
                                hint="GET /api/v1/known-errors lists them all")
        return error

    return router
