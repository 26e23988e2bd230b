"""The local web app of ``serbias demo --serve``: one page and a JSON endpoint.

- ``GET /``: a self-contained page (upload a WAV or record one; bar chart of the answer).
- ``POST /predict``: a WAV as the multipart file field ``audio`` -> the JSON of
  ``serbias demo --json``.
- ``GET /model``: which model answers (registered name, version, aliases, run).

Uploads are capped while they are read (413 as soon as the body passes the cap) and
decoded before the model sees them; every bad request gets a 4xx ``{"error": "..."}``
and the server goes on serving. The model is loaded and warmed up once, at startup.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serbias.demo._page import render_page
from serbias.demo.classify import (
    DEFAULT_MODEL,
    MAX_SECONDS,
    SPEAKER_ALTERNATIVES,
    SPEAKER_GUESSES,
    ModelIdentity,
    classify,
    load_demo_model,
)
from serbias.errors import SerbiasError
from serbias.features.audio import AudioError

MB = 1_000_000
MAX_UPLOAD_BYTES = 10 * MB
#: Room for the multipart boundaries and part headers around the file itself.
MULTIPART_SLACK = 64 * 1024
UPLOAD_HELP = "send the recording as the multipart file field 'audio' (curl -F audio=@clip.wav)"


class UploadTooLarge(HTTPException):
    """The request body passed the upload cap (raised while the body is being read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"upload larger than the {limit / MB:g} MB limit")


class UploadLimit:
    """ASGI middleware: refuse a body over ``limit`` bytes, from its declared length or,
    without one (chunked), as soon as the bytes read pass the limit."""

    def __init__(self, app: ASGIApp, *, limit: int, file_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.file_limit = file_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = UploadTooLarge(self.file_limit)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _error(too_large.status_code, too_large.detail)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except UploadTooLarge as exc:  # raised where no exception handler catches it
            if started:
                raise
            await _error(exc.status_code, exc.detail)(scope, receive, send)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(
    model_uri: str = DEFAULT_MODEL,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_seconds: float = MAX_SECONDS,
) -> FastAPI:
    """The demo app answering with the model at ``model_uri`` (loaded at startup)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        demo = await run_in_threadpool(load_demo_model, model_uri)
        await run_in_threadpool(demo.warm_up)
        yield

    app = FastAPI(
        title="serbias demo",
        summary="Speech emotion probabilities for one recording",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; the page is the UI
        redoc_url=None,
    )
    app.add_middleware(
        UploadLimit, limit=max_upload_bytes + MULTIPART_SLACK, file_limit=max_upload_bytes
    )
    alternatives = {SPEAKER_GUESSES[head]: label for head, label in SPEAKER_ALTERNATIVES.items()}
    page = render_page(
        max_upload_bytes=max_upload_bytes, max_seconds=max_seconds, alternatives=alternatives
    )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, f"{request.method} {request.url.path}: {UPLOAD_HELP}")

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal error while answering (details are in the server log)")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/model")
    async def model() -> dict[str, Any]:
        """Which model answers."""
        return load_demo_model(model_uri).identity.to_dict()

    @app.post("/predict")
    async def predict(
        audio: Annotated[UploadFile, File(description="A WAV recording (mono or stereo)")],
    ) -> JSONResponse:
        """Emotion probabilities (and the speaker guesses of multitask models) for a WAV."""
        data = await audio.read()
        if len(data) > max_upload_bytes:
            raise UploadTooLarge(max_upload_bytes)
        try:
            result = await run_in_threadpool(
                classify,
                data,
                model_uri=model_uri,
                max_seconds=max_seconds,
                name=audio.filename or "upload",
            )
        except AudioError as exc:
            return _error(400, str(exc))
        return JSONResponse(result.to_dict())

    return app


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: any free port), or a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise SerbiasError(f"cannot listen on {host}:{port} ({exc})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise SerbiasError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port/`` of a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    model_uri: str = DEFAULT_MODEL,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_seconds: float = MAX_SECONDS,
    on_ready: Callable[[ModelIdentity, str], None] | None = None,
) -> None:
    """Bind the port and load the model (a SerbiasError if either fails), then serve the
    app until Ctrl-C.

    ``on_ready(identity, url)`` is called once the port is bound and the model loaded.
    """
    import uvicorn

    sock = listen(host, port)  # first: a busy port fails in a second, not after the load
    try:
        demo = load_demo_model(model_uri)
        app = create_app(model_uri, max_upload_bytes=max_upload_bytes, max_seconds=max_seconds)
        if on_ready is not None:
            on_ready(demo.identity, url_of(sock))
        uvicorn.Server(uvicorn.Config(app, log_level="info")).run(sockets=[sock])
    finally:
        sock.close()
