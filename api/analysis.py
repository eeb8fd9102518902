"""``/v1/analyze/*``: photos analysed now (in the worker pool), videos queued as jobs."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.auth import caller
from api.jobs import QueueFull
from api.limits import check_extension, check_size, media_http_error, read_upload
from api.services import Services, services
from emotion_core.api_keys import ApiKey
from emotion_core.media import IMAGE_EXTENSIONS, MediaError, PhotoResult, save_photo_session
from emotion_core.settings import MEDIA_MIRROR_AVERAGING, AnalysisSettings
from emotion_core.video import VIDEO_EXTENSIONS, FrameSampler, probe_video

router = APIRouter(prefix="/v1", tags=["analysis"])
COPY_CHUNK = 1024 * 1024


def analysis_settings(
    detector: Annotated[
        Literal["short", "full"], Query(description="short: faces within ~2 m; full: farther")
    ] = "short",
    min_detection_confidence: float = 0.5,
    max_faces: int = 5,
    uncertain_threshold: Annotated[
        float, Query(description="top probability below which a face is 'uncertain'")
    ] = 0.4,
    smoothing: Annotated[float, Query(description="videos only; photos are not smoothed")] = 0.6,
    low_light: bool = False,
    mirror_averaging: Annotated[
        bool, Query(description="average each face with its mirror image: more accurate, slower")
    ] = MEDIA_MIRROR_AVERAGING,
) -> AnalysisSettings:
    """The Analyze media page's settings as query parameters; 422 with the settings'
    own message when one is out of range."""
    try:
        return AnalysisSettings(
            detector_range=detector,
            min_detection_confidence=min_detection_confidence,
            max_faces=max_faces,
            uncertain_threshold=uncertain_threshold,
            smoothing=smoothing,
            low_light=low_light,
            mirror_averaging=mirror_averaging,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


Settings = Annotated[AnalysisSettings, Depends(analysis_settings)]
Caller = Annotated[ApiKey, Depends(caller)]
Svc = Annotated[Services, Depends(services)]


@router.post(
    "/analyze/image", response_model=schemas.ImageAnalysis, responses=schemas.errors(413, 415, 422)
)
async def analyze_image(
    files: Annotated[list[UploadFile], File(description="one or more pictures")],
    settings: Settings,
    key: Caller,
    svc: Svc,
    save: Annotated[bool, Query(description="store them as one image session")] = False,
) -> schemas.ImageAnalysis:
    """Every face of every picture: box, probabilities, label, confidence. Pictures are
    analysed in memory and never stored; ``save=true`` stores the numbers as one session
    owned by the key's owner. One bad picture fails the whole request (nothing saved)."""
    limits = svc.settings
    if len(files) > limits.max_images:
        raise HTTPException(413, f"At most {limits.max_images} pictures per request.")
    names = [f.filename or f"image-{i + 1}" for i, f in enumerate(files)]
    for name in names:
        check_extension(name, IMAGE_EXTENSIONS, "pictures")
    blobs = [await read_upload(f, n, limits.max_image_bytes) for f, n in zip(files, names)]
    tasks = [svc.photos.analyse(n, b, settings, i) for i, (n, b) in enumerate(zip(names, blobs))]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for name, result in zip(names, results):
        if isinstance(result, MediaError):
            raise media_http_error(name, result)
        if isinstance(result, BaseException):
            raise result
    photos: list[PhotoResult] = list(results)  # type: ignore[arg-type]
    session_id = None
    if save:
        batch = [(p.name, p.result) for p in photos]
        session_id = await run_in_threadpool(
            save_photo_session, svc.store, batch, settings, svc.model, key.owner
        )
    images = [schemas.image_result(p.name, p.result, p.note) for p in photos]
    return schemas.ImageAnalysis(images=images, session_id=session_id)


@router.post(
    "/analyze/video",
    status_code=202,
    response_model=schemas.Job,
    responses=schemas.errors(413, 415, 422, 503),
)
async def analyze_video(
    file: Annotated[UploadFile, File(description="an MP4, WebM, MOV, AVI or MKV file")],
    settings: Settings,
    key: Caller,
    svc: Svc,
    per_second: Annotated[
        float | None, Query(gt=0, description="analyse N frames per second of video")
    ] = None,
    every_n: Annotated[int, Query(ge=1, description="else every Nth frame")] = 1,
) -> schemas.Job:
    """Start analysing a video in the background, into a session owned by the key's
    owner; poll ``GET /v1/jobs/{id}``. Refused up front (nothing stored) when the file
    is not a readable video or is over the size or 30-minute limits."""
    name = PurePath(file.filename or "video").name
    check_extension(name, VIDEO_EXTENSIONS, "videos")
    check_size(name, file.size, svc.settings.max_video_bytes)
    if per_second is not None and every_n != 1:
        raise HTTPException(422, "Give per_second or every_n, not both.")
    workdir = Path(tempfile.mkdtemp(prefix="emotion_api_video_"))
    path = workdir / f"upload{PurePath(name).suffix.lower()}"
    try:
        await run_in_threadpool(_copy, file, path)
        await run_in_threadpool(probe_video, path)
        sampler = FrameSampler(every_n=every_n, per_second=per_second)
        state = svc.jobs.submit(key.owner, name, path, settings, sampler)
    except BaseException as exc:  # the job did not take the upload: remove it
        shutil.rmtree(workdir, ignore_errors=True)
        if isinstance(exc, MediaError):
            raise media_http_error(name, exc) from None
        if isinstance(exc, QueueFull):
            raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from None
        raise
    return schemas.Job(**vars(state))


def _copy(upload: UploadFile, path: Path) -> None:
    upload.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, COPY_CHUNK)
