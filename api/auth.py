"""Who is calling: the API key in ``Authorization: Bearer <key>``, checked for every
``/v1/`` request before its body is read, so nobody uploads anything without a key.

A missing, unknown or revoked key gets the same kind of 401 whatever the request was for:
the answer says nothing about which sessions, jobs or keys exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from emotion_core.api_keys import ApiKey, verify_key
from emotion_core.store import SessionStore

PROTECTED = "/v1/"
MISSING = "An API key is required: send the header 'Authorization: Bearer <key>'."
INVALID = "The API key is not valid (unknown or revoked)."
_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `python -m emotion_core.api_keys create --owner NAME`.",
)


class ApiKeyGate:
    """ASGI middleware: a valid key for every path under ``/v1/``, else 401. The key's
    record goes into the request state for :func:`caller`."""

    def __init__(self, app: ASGIApp, store: Callable[[], SessionStore]) -> None:
        self.app, self.store = app, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        scheme, _, token = dict(scope["headers"]).get(b"authorization", b"").partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            await _unauthorized(MISSING)(scope, receive, send)
            return
        key = await run_in_threadpool(verify_key, self.store(), token.strip().decode("latin-1"))
        if key is None:
            await _unauthorized(INVALID)(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, send)


def _unauthorized(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": "Bearer"})


def caller(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The calling key, checked by :class:`ApiKeyGate` (``_credentials`` only puts the
    Bearer scheme on the OpenAPI page)."""
    return request.state.api_key
