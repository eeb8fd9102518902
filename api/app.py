"""The FastAPI application: routes, the key gate, body limits and the self-hosted docs page.

``create_app(settings)`` builds one app; the model and store are opened in its lifespan
(once per process). The OpenAPI page (``/docs``) is served from the Swagger UI files of
the ``swagger-ui-bundle-v2`` package, not from a CDN: nothing is fetched at run time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import swagger_ui_bundle
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import analysis, schemas, sessions
from api.auth import ApiKeyGate, caller
from api.limits import DEFAULT_BODY_LIMIT, BodyLimit
from api.services import Services, services
from api.settings import ApiSettings
from emotion_core.api_keys import ApiKey
from emotion_core.emotions import LABELS
from emotion_core.model_card import MODEL_CARD_NAME, load_card

DESCRIPTION = """Facial emotion analytics over HTTP, on the web app's library and session
store. Every `/v1/` call needs an API key (`Authorization: Bearer <key>`, made with
`python -m emotion_core.api_keys create --owner NAME`). Sessions made through a key
belong to its owner; a key sees only its owner's sessions, an admin key sees all.
Pictures and videos are analysed in memory and never stored; only the numbers are."""
STATIC = "/static/swagger"


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await run_in_threadpool(Services.start, settings)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.services.close)

    app = FastAPI(
        title="Emotion analytics API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    limits = {
        "/v1/analyze/image": settings.max_photo_request_bytes,
        "/v1/analyze/video": settings.max_video_request_bytes,
    }
    app.add_middleware(BodyLimit, limit_for=lambda path: limits.get(path, DEFAULT_BODY_LIMIT))
    # Added last, so it runs first: no key, no body read.
    app.add_middleware(ApiKeyGate, store=lambda: app.state.services.store)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(analysis.router)
    app.include_router(sessions.router)
    _add_meta_routes(app)
    return app


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 whose ``detail`` is one readable sentence, like every other error here
    ("files: Field required"); FastAPI's list stays in ``errors``."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0])
        parts.append(f"{where}: {error['msg']}")
    errors = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in exc.errors()]
    return JSONResponse({"detail": "; ".join(parts), "errors": errors}, status_code=422)


def _add_meta_routes(app: FastAPI) -> None:
    app.mount(STATIC, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} – docs",
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
        )

    @app.get("/healthz", tags=["meta"], responses={503: {"model": schemas.Error}})
    def healthz(svc: Annotated[Services, Depends(services)]) -> dict:
        """No key needed: 200 when the store answers, 503 when it does not."""
        try:
            version = svc.store.schema_version()
        except Exception:
            raise HTTPException(503, "The session store does not answer.") from None
        return {"status": "ok", "schema_version": version, "model": svc.model.name}

    @app.get("/v1/model", response_model=schemas.Model, tags=["meta"], responses=schemas.errors())
    def model(
        _key: Annotated[ApiKey, Depends(caller)], svc: Annotated[Services, Depends(services)]
    ) -> schemas.Model:
        """The model in use (file, SHA-256) and its model card."""
        card = load_card(svc.model.path.parent / MODEL_CARD_NAME)
        return schemas.Model(
            file=svc.model.name, sha256=svc.model.sha256, labels=list(LABELS), card=card
        )
