"""Upload limits and bad input: request bodies capped per route, media errors as 413/415/422.

The cap is enforced while the body arrives (and up front from ``Content-Length``), so an
oversized upload is refused after at most the limit has been read, never spooled whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

from fastapi import HTTPException, UploadFile
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emotion_core.media import MediaError, MediaTooLarge, UnsupportedMedia

MB = 1024 * 1024
DEFAULT_BODY_LIMIT = MB  # every route without uploads


def size_text(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n:,} bytes"


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit_for(path)`` bytes."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # FastAPI re-raises HTTPException from body parsing
                raise HTTPException(413, _too_large_text(limit))
            return message

        await self.app(scope, counted, send)


def _too_large_text(limit: int) -> str:
    return f"The request is larger than this endpoint accepts ({size_text(limit)})."


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": _too_large_text(limit)}, status_code=413)


def check_extension(name: str, known: tuple[str, ...], what: str) -> None:
    """415 for a file name whose extension is not one of ``known`` (no extension is fine:
    API clients often send none, and the content decides)."""
    suffix = PurePath(name).suffix.lower()
    if suffix and suffix not in known:
        raise HTTPException(
            415, f"{name}: unsupported file type {suffix} for {what} (known: {' '.join(known)})."
        )


def check_size(name: str, size: int | None, limit: int) -> None:
    """413 naming the file when its ``size`` (bytes, None: unknown) is over ``limit``."""
    if size is not None and size > limit:
        raise HTTPException(
            413, f"{name}: the file is {size_text(size)}; the limit is {size_text(limit)}."
        )


async def read_upload(upload: UploadFile, name: str, limit: int) -> bytes:
    """The whole file, or 413 naming it when it is over ``limit`` bytes."""
    check_size(name, upload.size, limit)
    data = await upload.read(limit + 1)
    check_size(name, len(data), limit)
    return data


def media_http_error(name: str, exc: MediaError) -> HTTPException:
    """The library's message for the user, with the status that says what kind it is."""
    if isinstance(exc, UnsupportedMedia):
        status = 415
    elif isinstance(exc, MediaTooLarge):
        status = 413
    else:  # empty, truncated, corrupt: the right type, but unusable
        status = 422
    return HTTPException(status, f"{name}: {exc}")
