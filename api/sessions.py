"""``/v1/sessions`` and ``/v1/jobs``: what a key's owner may read, download and delete.

A session or job the key may not see answers exactly like one that does not exist
(404, same message), so ids cannot be probed.
"""

from __future__ import annotations

import math
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Response

from api import schemas
from api.auth import caller
from api.services import Services, services
from emotion_core.access import NoSuchSession, SessionAccess
from emotion_core.api_keys import ApiKey
from emotion_core.report import report_csv, report_filename, summary_frame
from emotion_core.store import SessionInfo

router = APIRouter(prefix="/v1")
BY_ID = schemas.errors(404, 422)  # 422: an id that is not a number
JOB = schemas.errors(404)
Caller = Annotated[ApiKey, Depends(caller)]
Svc = Annotated[Services, Depends(services)]


def _sessions(svc: Services, key: ApiKey) -> SessionAccess:
    """The store as this key's owner may use it: the web app's access rule."""
    return SessionAccess(svc.store, key.viewer)


def _visible(svc: Services, key: ApiKey, session_id: int) -> SessionInfo:
    try:
        return _sessions(svc, key).get(session_id)
    except NoSuchSession:
        raise HTTPException(404, f"No session {session_id}.") from None


@router.get(
    "/sessions", response_model=list[schemas.Session], tags=["sessions"], responses=schemas.errors()
)
def list_sessions(key: Caller, svc: Svc) -> list[schemas.Session]:
    """The key owner's sessions (an admin key: every session), newest first."""
    return [schemas.session_out(s) for s in _sessions(svc, key).list()]


@router.get(
    "/sessions/{session_id}",
    response_model=schemas.SessionDetail,
    tags=["sessions"],
    responses=BY_ID,
)
def get_session(session_id: int, key: Caller, svc: Svc) -> schemas.SessionDetail:
    """One session with its summary: the same figures as ``summary.csv``."""
    info = _visible(svc, key, session_id)
    store = svc.store
    row = summary_frame(
        info,
        store.load_samples(session_id),
        store.load_markers(session_id),
        store.load_gaps(session_id),
    ).iloc[0]
    summary = {k: _json_value(v) for k, v in row.items()}
    return schemas.SessionDetail(**schemas.session_out(info).model_dump(), summary=summary)


def _json_value(value):
    """numpy scalars as Python numbers; NaN, NA and None as null."""
    if value is None or value is pd.NA:
        return None
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value


def _csv(svc: Services, key: ApiKey, session_id: int, kind: str) -> Response:
    """The bytes of the Session analytics page's download button for ``kind``."""
    info = _visible(svc, key, session_id)
    data = report_csv(svc.store, session_id, kind=kind)
    disposition = f'attachment; filename="{report_filename(info, kind=kind)}"'
    return Response(data, media_type="text/csv", headers={"Content-Disposition": disposition})


CSV = {200: {"content": {"text/csv": {}}, "description": "the CSV file"}, **BY_ID}


@router.get("/sessions/{session_id}/frames.csv", responses=CSV, tags=["sessions"])
def frames_csv(session_id: int, key: Caller, svc: Svc) -> Response:
    """Every stored row (one per face per analysed frame): the page's "Per-frame CSV"."""
    return _csv(svc, key, session_id, "detail")


@router.get("/sessions/{session_id}/summary.csv", responses=CSV, tags=["sessions"])
def summary_csv(session_id: int, key: Caller, svc: Svc) -> Response:
    """One row of headline figures: the page's "Summary CSV"."""
    return _csv(svc, key, session_id, "summary")


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    tags=["sessions"],
    responses=schemas.errors(404, 409, 422),
)
def delete_session(session_id: int, key: Caller, svc: Svc) -> Response:
    """Delete the session and every row of it. 409 while a video job still writes it."""
    _visible(svc, key, session_id)
    if svc.jobs.writing(session_id):
        raise HTTPException(409, f"Session {session_id} is still being analysed; cancel its job.")
    svc.store.delete_session(session_id)
    return Response(status_code=204)


def _job(svc: Services, key: ApiKey, job_id: str, cancel: bool = False) -> schemas.Job:
    state = svc.jobs.get(job_id)
    if state is None or not key.may_see(state.owner):
        raise HTTPException(404, f"No job {job_id}.")
    if cancel:
        state = svc.jobs.cancel(job_id)
    return schemas.Job(**vars(state))


@router.get("/jobs/{job_id}", response_model=schemas.Job, tags=["analysis"], responses=JOB)
def get_job(job_id: str, key: Caller, svc: Svc) -> schemas.Job:
    """A video job's progress; ``session_id`` is its session (set once the first frame
    is analysed), ``status`` ends as complete, incomplete, cancelled or failed."""
    return _job(svc, key, job_id)


@router.delete("/jobs/{job_id}", response_model=schemas.Job, tags=["analysis"], responses=JOB)
def cancel_job(job_id: str, key: Caller, svc: Svc) -> schemas.Job:
    """Cancel a job: a running one stops at its next frame and keeps what it analysed
    as an "incomplete" session, as on the Analyze media page. Poll until it ends."""
    return _job(svc, key, job_id, cancel=True)
