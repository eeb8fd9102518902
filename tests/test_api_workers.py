"""The API's worker side in-process, on the real model: the photo pool keeps the event
loop free and serves requests with different settings at once; video jobs queue, refuse
when full, cancel while queued or running, and clean up their uploads."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import pytest
from test_media import write_video

from api.jobs import QueueFull, VideoJobs
from api.photos import PhotoPool
from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.emotions import UNCERTAIN
from emotion_core.media import MediaError
from emotion_core.model_files import ModelRef
from emotion_core.settings import AnalysisSettings
from emotion_core.video import FrameSampler

MIN_TICKS = 5  # event-loop turns while one big picture is analysed (0-1 if it blocked)
TICK_S = 0.002
JOB_TIMEOUT_S = 300.0


@pytest.fixture(scope="module")
def pool(classifier):
    p = PhotoPool(classifier, workers=2)
    yield p
    p.close()


def test_a_photo_is_analysed_off_the_event_loop(pool, astronaut_bgr):
    big = cv2.imencode(".png", cv2.resize(astronaut_bgr, (3000, 3000)))[1].tobytes()

    async def analyse_while_ticking():
        task = asyncio.ensure_future(pool.analyse("big.png", big, AnalysisSettings()))
        ticks = 0
        while not task.done():
            await asyncio.sleep(TICK_S)
            ticks += 1
        return ticks, task.result()

    ticks, photo = asyncio.run(analyse_while_ticking())
    assert ticks >= MIN_TICKS
    [face] = photo.result.faces
    assert face.label == "happy"


def test_concurrent_requests_keep_their_own_settings(pool, astronaut_bgr):
    data = cv2.imencode(".jpg", astronaut_bgr)[1].tobytes()
    strict = AnalysisSettings(uncertain_threshold=1.0)  # nothing is that sure: "uncertain"

    async def both():
        calls = [
            pool.analyse(f"{i}.jpg", data, strict if i % 2 else AnalysisSettings())
            for i in range(8)
        ]
        return await asyncio.gather(*calls)

    labels = [p.result.faces[0].label for p in asyncio.run(both())]
    assert labels == ["happy", UNCERTAIN] * 4


def test_a_bad_picture_raises_the_librarys_error(pool):
    async def bad():
        return await pool.analyse("x.jpg", b"not a picture", AnalysisSettings())

    with pytest.raises(MediaError, match="Not a picture"):
        asyncio.run(bad())


# -- video jobs ------------------------------------------------------------------------
@pytest.fixture
def jobs(classifier, store):
    j = VideoJobs(store, classifier, ModelRef.of(DEFAULT_MODEL_PATH), workers=1, max_queued=1)
    yield j
    j.close()


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("jobs") / "long.mp4", seconds=40, fps=10)


def upload(video: Path) -> Path:
    """A copy in its own folder, as the API stores an upload (the job deletes it)."""
    folder = Path(tempfile.mkdtemp(prefix="emotion_test_job_"))
    return Path(shutil.copy(video, folder / "upload.mp4"))


def wait(jobs: VideoJobs, job_id: str, done) -> object:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        state = jobs.get(job_id)
        if done(state):
            return state
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} stuck: {jobs.get(job_id)}")


def test_jobs_queue_refuse_when_full_and_cancel(jobs, store, long_video):
    s, sampler = AnalysisSettings(), FrameSampler()
    paths = [upload(long_video) for _ in range(3)]
    running = jobs.submit("alice", "a.mp4", paths[0], s, sampler)
    queued = jobs.submit("alice", "b.mp4", paths[1], s, sampler)
    with pytest.raises(QueueFull, match="1 videos are already waiting"):
        jobs.submit("alice", "c.mp4", paths[2], s, sampler)
    assert jobs.cancel(queued.id).status == "cancelled"
    started = wait(jobs, running.id, lambda j: j.session_id is not None)
    assert jobs.writing(started.session_id)
    jobs.cancel(running.id)
    end = wait(jobs, running.id, lambda j: j.status not in ("queued", "running"))
    assert end.status == "cancelled" and end.frames_done > 0
    assert not jobs.writing(end.session_id)
    info = store.get_session(end.session_id)
    assert (info.status, info.owner, info.frames) == ("incomplete", "alice", end.frames_done)
    assert [i.id for i in store.list_sessions()] == [end.session_id]  # the queued one made none
    wait(jobs, queued.id, lambda j: not paths[1].parent.exists())  # worker skips it, cleans up
    assert not paths[0].parent.exists()
    shutil.rmtree(paths[2].parent)


def test_closing_cancels_running_jobs_and_keeps_their_frames(classifier, store, long_video):
    jobs = VideoJobs(store, classifier, ModelRef.of(DEFAULT_MODEL_PATH))
    state = jobs.submit("bob", "a.mp4", upload(long_video), AnalysisSettings(), FrameSampler())
    waiting_path = upload(long_video)
    waiting = jobs.submit("bob", "b.mp4", waiting_path, AnalysisSettings(), FrameSampler())
    wait(jobs, state.id, lambda j: j.frames_done > 0)
    jobs.close()
    end = jobs.get(state.id)
    assert end.status == "cancelled" and store.get_session(end.session_id).status == "incomplete"
    assert store.count_samples(end.session_id) >= end.frames_done > 0
    assert jobs.get(waiting.id).status == "cancelled" and not waiting_path.parent.exists()
    assert len(store.list_sessions()) == 1


def test_an_undecodable_job_fails_without_a_session(jobs, store, tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="emotion_test_job_"))
    path = folder / "upload.mp4"
    path.write_bytes(b"\x00" * 1000)
    state = jobs.submit("alice", "zeros.mp4", path, AnalysisSettings(), FrameSampler())
    end = wait(jobs, state.id, lambda j: j.status not in ("queued", "running"))
    assert end.status == "failed" and "Not a video" in end.error and end.session_id is None
    assert store.list_sessions() == [] and not folder.exists()
