"""The JSON shapes of the API's answers (they make the OpenAPI page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from emotion_core.emotions import LABELS
from emotion_core.results import FrameResult
from emotion_core.store import SessionInfo


class Error(BaseModel):
    """Every error answer: one sentence saying what was wrong."""

    detail: str


class ValidationError(Error):
    """422 for a malformed request: ``detail`` in words, ``errors`` per field."""

    errors: list[dict[str, Any]] | None = None


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (401 is on every ``/v1/`` path)."""
    meaning = {
        401: "no API key, or an unknown or revoked one",
        404: "no such id, or one another owner holds",
        409: "the session is still being written by a video job",
        413: "a file, the request or the picture/video is over a limit",
        415: "not a picture / video this app reads",
        422: "an empty, truncated or corrupt file, or a bad parameter",
        503: "too many videos waiting",
    }
    return {
        s: {"model": ValidationError if s == 422 else Error, "description": meaning[s]}
        for s in (401, *statuses)
    }


class Box(BaseModel):
    x: int = Field(description="left edge, pixels of the decoded (EXIF-upright) picture")
    y: int
    w: int
    h: int
    score: float = Field(description="the detector's confidence that this is a face")


class Face(BaseModel):
    face_id: int
    box: Box
    probabilities: dict[str, float] = Field(description="one per emotion, summing to 1")
    label: str = Field(description="the top emotion, or 'uncertain' below the threshold")
    confidence: float


class ImageResult(BaseModel):
    file: str
    width: int
    height: int
    faces: list[Face]
    note: str | None = Field(None, description="e.g. no face found, or downscaled")


class ImageAnalysis(BaseModel):
    images: list[ImageResult]
    session_id: int | None = Field(None, description="set when save=true")


class Session(BaseModel):
    id: int
    name: str
    source: str
    source_name: str | None
    status: str = Field(description="recording, complete or incomplete")
    started_at: datetime
    ended_at: datetime | None
    duration_s: float
    frames: int
    faces: int
    dominant: str | None
    model_file: str | None
    model_hash: str | None
    owner: str | None = Field(description="the API key owner; null: made in the web app")


class SessionDetail(Session):
    summary: dict[str, Any] = Field(description="the row of summary.csv, as JSON")


class Job(BaseModel):
    id: str
    status: str = Field(description="queued, running, complete, incomplete, cancelled, failed")
    file: str
    created_at: datetime
    frames_done: int
    t_video: float = Field(description="seconds of video decoded so far")
    duration_s: float | None
    fraction: float | None = Field(description="0..1 of the video, when its length is known")
    speed_fps: float
    session_id: int | None
    error: str | None


class Model(BaseModel):
    file: str
    sha256: str
    labels: list[str]
    card: dict[str, Any] = Field(description="assets/model_card.json beside the model file")


def image_result(name: str, result: FrameResult, note: str | None) -> ImageResult:
    faces = [
        Face(
            face_id=f.face_id,
            box=Box(x=f.box.x, y=f.box.y, w=f.box.w, h=f.box.h, score=f.box.score),
            probabilities={e: float(p) for e, p in zip(LABELS, f.smoothed)},
            label=f.label,
            confidence=float(f.confidence),
        )
        for f in result.faces
    ]
    return ImageResult(file=name, width=result.width, height=result.height, faces=faces, note=note)


def session_out(info: SessionInfo) -> Session:
    return Session(
        id=info.id,
        name=info.name,
        source=info.source,
        source_name=info.source_name,
        status=info.status,
        started_at=info.started_at,
        ended_at=info.ended_at,
        duration_s=info.duration_s,
        frames=info.frames,
        faces=info.faces,
        dominant=info.dominant,
        model_file=info.model_file,
        model_hash=info.model_hash,
        owner=info.owner,
    )
