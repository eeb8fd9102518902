"""Batch analysis at scale: workers, video segments, retries, resume, a real Dask cluster.

One small archive is generated per module: a 13-second video whose face moves, changes
brightness and vanishes for 1.2 s (so it comes back with a new face id), a short video,
two photos and a corrupt video. The reference is the one-process run (``--workers 1``,
videos analysed whole by ``analyse_video``, as before this feature).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from emotion_core.analyze import main
from emotion_core.batch_run import WORKER_DIED, PoolRunner, run_tasks
from emotion_core.batch_tasks import Task, WorkerConfig, run_task
from emotion_core.classifier import DEFAULT_MODEL_PATH
from emotion_core.media import REPORT_COLUMNS
from emotion_core.model_files import ModelRef
from emotion_core.segments import join_segment, overlap_frames, plan_segments, scan_frames
from emotion_core.settings import MEDIA_MIRROR_AVERAGING, AnalysisSettings
from emotion_core.store import PROB_COLUMNS, RAW_COLUMNS, SessionStore, sqlite_url
from emotion_core.video import AnnotatedWriter

ROOT = Path(__file__).resolve().parent.parent
PROB_TOL = 1e-6  # what the issue promises once the overlap has let smoothing settle
FPS, SECONDS, GOP = 10, 13, 10  # a keyframe every second: segments can start anywhere
GAP = (60, 72)  # frames without the face: longer than the tracker's memory (10 frames)
SEGMENT_S = "4.5"  # the 13-second video is cut into 3 segments
CLUSTER_START_TIMEOUT_S = 90
KILL_TEST_TIMEOUT_S = 900  # generous: the CPU is shared; a hang fails instead of blocking


def _write_video(path: Path, face_bgr: np.ndarray, frames: int, gap=(0, 0)) -> Path:
    """The astronaut (220 px) drifting and pulsing in brightness on a 320x240 canvas,
    absent during ``gap``: raw probabilities change every frame, so smoothing matters.
    A keyframe every GOP frames, so segments can start anywhere."""
    face = cv2.resize(face_bgr, (220, 220)).astype(np.float32)
    writer = AnnotatedWriter(path, 320, 240, FPS)
    writer.stream.codec_context.gop_size = GOP
    for i in range(frames):
        canvas = np.full((240, 320, 3), 50, np.uint8)
        if not gap[0] <= i < gap[1]:
            x, y = int(50 + 45 * math.sin(i / 9)), int(10 + 8 * math.cos(i / 7))
            gain = 0.75 + 0.25 * math.sin(i / 5)
            canvas[y : y + 220, x : x + 220] = np.clip(face * gain, 0, 255).astype(np.uint8)
        writer.write(canvas)
    writer.close()
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory, astronaut_bgr, astronaut_frame) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    _write_video(folder / "a_long.mp4", astronaut_bgr, FPS * SECONDS, GAP)
    _write_video(folder / "b_short.mkv", astronaut_bgr, FPS * 3)
    cv2.imwrite(str(folder / "c_photo.png"), astronaut_frame)
    cv2.imwrite(str(folder / "d_photo.jpg"), astronaut_frame[:, ::-1])
    (folder / "e_broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    return folder


@pytest.fixture(scope="module")
def reference(archive, tmp_path_factory) -> pd.DataFrame:
    """The one-process report of the archive."""
    out = tmp_path_factory.mktemp("ref") / "sequential.csv"
    assert main([str(archive), "--out", str(out), "--workers", "1", "--retries", "0"]) == 0
    return pd.read_csv(out)


def _assert_same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same frames in the same order, same faces, labels and boxes; probabilities equal
    within PROB_TOL."""
    assert tuple(got.columns) == REPORT_COLUMNS
    exact = ["file", "frame_index", "t_rel", "face_id", "x", "y", "w", "h", "label"]
    pd.testing.assert_frame_equal(got[exact], want[exact], check_dtype=False)  # NaN: float
    probs = list(PROB_COLUMNS + RAW_COLUMNS + ("confidence",))
    diff = np.nanmax(np.abs(got[probs].to_numpy() - want[probs].to_numpy()))
    assert diff <= PROB_TOL


def test_store_replaces_a_frame_range_and_swaps_face_ids_at_once(store):
    """The two store writes batch runs rely on, on SQLite and PostgreSQL: a task's rows
    written twice are stored once; ids 1 and 2 swapped in one statement."""
    sid = store.create_session("video", {})
    rows = [{"session_id": sid, "frame_index": i, "t_wall": 0.0, "t_rel": i / 10} for i in range(6)]
    faces = [{**r, "face_id": 1 + r["frame_index"] % 2} for r in rows]
    store.add_samples(faces[:2])
    store.replace_samples(sid, 2, 5, faces[2:5])
    store.replace_samples(sid, 2, 5, faces[2:5])  # a retried task
    store.replace_samples(sid, 5, None, faces[5:])
    assert store.load_samples(sid).face_id.tolist() == [1, 2, 1, 2, 1, 2]
    store.renumber_faces(sid, 2, None, {1: 2, 2: 1})
    assert store.load_samples(sid).face_id.tolist() == [1, 2, 2, 1, 2, 1]


def _rows(config: WorkerConfig, path: Path, segment=None) -> list[dict]:
    return run_task(config, Task(0, str(path), "video", segment)).rows


def test_a_video_split_into_segments_joins_to_the_unsplit_rows(archive):
    video = archive / "a_long.mp4"
    model = str(DEFAULT_MODEL_PATH)
    config = WorkerConfig(model, ModelRef.of(model).sha256, AnalysisSettings())
    whole = pd.DataFrame(_rows(config, video))
    assert whole.face_id.dropna().unique().tolist() == [1, 2]  # the face came back as 2
    assert whole.p_happy.dropna().std() > 1e-3  # probabilities move: the EMA matters

    warm = overlap_frames(config.settings.smoothing, 10)
    segments = plan_segments(scan_frames(video), 3, warm, min_frames=warm)
    assert len(segments) == 3
    rows: list[dict] = []
    for seg in segments:
        part = _rows(config, video, seg)
        if seg.number:
            assert seg.warm_first < seg.first  # it decoded a warm-up before its frames
            assert min(r["frame_index"] for r in part) == seg.warm_first
            part, _ = join_segment(rows, part, seg.first)
        rows.extend(part)
    split = pd.DataFrame(rows)
    assert split.frame_index.is_monotonic_increasing  # the overlap rows are gone
    assert len(split) == len(whole)
    _assert_same_rows(split[list(REPORT_COLUMNS)], whole[list(REPORT_COLUMNS)])

    # Without the warm-up the smoother restarts at the cut and the numbers differ.
    cold = replace(segments[1], warm_first=segments[1].first, t_before=None)
    cold = replace(cold, pts=segments[1].pts[segments[1].warm_frames :])
    bare = pd.DataFrame(_rows(config, video, cold)).head(5)
    same = whole.set_index("frame_index").loc[bare.frame_index]
    assert (
        np.abs(bare[list(PROB_COLUMNS)].to_numpy() - same[list(PROB_COLUMNS)].to_numpy()).max()
        > 1e-4
    )


def test_two_workers_give_the_sequential_report_and_a_second_run_skips_all(
    archive, reference, tmp_path, capsys
):
    assert reference.file.unique().tolist() == [
        "a_long.mp4", "b_short.mkv", "c_photo.png", "d_photo.jpg",
    ]  # fmt: skip
    out, db = tmp_path / "parallel.csv", sqlite_url(tmp_path / "s.db")
    args = [str(archive), "--out", str(out), "--workers", "2", "--segment-s", SEGMENT_S]
    args += ["--db", db, "--retries", "1"]

    assert main(args) == 0
    err = capsys.readouterr().err
    _assert_same_rows(pd.read_csv(out), reference)
    assert "e_broken.mp4: retrying after: Not a video" in err  # bounded retries...
    assert err.count("e_broken.mp4: Not a video") == 1  # ...then reported once
    assert "4 file(s) analysed, 1 failed" in err
    assert "a_long.mp4: 3 segments" in err  # one video used both workers

    store = SessionStore(db)
    sessions = {s.source_name: s for s in store.list_sessions()}
    assert sessions["a_long.mp4"].status == "complete"
    stored = store.load_samples(sessions["a_long.mp4"].id)
    want = reference[reference.file == "a_long.mp4"]
    assert stored.frame_index.tolist() == want.frame_index.tolist()
    assert stored.face_id.tolist() == want.face_id.astype("Int64").tolist()  # joined ids
    assert "c_photo.png, d_photo.jpg" in sessions
    store.dispose()

    assert main(args) == 0  # the same command again: nothing left to analyse
    err = capsys.readouterr().err
    assert "0 file(s) analysed, 4 already done, 1 failed" in err
    _assert_same_rows(pd.read_csv(out), reference)
    store = SessionStore(db)
    assert len(store.list_sessions()) == len(sessions)  # no new session
    store.dispose()


def test_results_follow_content_so_copies_and_renamed_files_keep_their_names(
    tmp_path, astronaut_frame, capsys
):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "x.png"), astronaut_frame)
    (folder / "y.png").write_bytes((folder / "x.png").read_bytes())  # a copy
    out = tmp_path / "r.csv"
    args = [str(folder), "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    first = pd.read_csv(out)
    assert first.file.tolist() == ["x.png", "y.png"]

    (folder / "y.png").rename(folder / "z.png")  # same bytes, new name: not redone
    assert main(args) == 0
    assert "0 file(s) analysed, 2 already done" in capsys.readouterr().err
    again = pd.read_csv(out)
    assert again.file.tolist() == ["x.png", "z.png"]
    pd.testing.assert_frame_equal(again.drop(columns="file"), first.drop(columns="file"))


def test_a_killed_worker_is_retried_and_its_task_completes(archive, reference):
    """A pool worker killed with SIGKILL (out of memory, an operator): its tasks are
    retried on a rebuilt pool and give the same rows."""
    model = str(DEFAULT_MODEL_PATH)
    settings = AnalysisSettings(mirror_averaging=MEDIA_MIRROR_AVERAGING)  # as the reference
    config = WorkerConfig(model, ModelRef.of(model).sha256, settings)
    files = ["a_long.mp4", "b_short.mkv"]
    tasks = iter([Task(i, str(archive / f), "video") for i, f in enumerate(files)])
    results, retried, failed = [], [], []
    runner = PoolRunner(config, 2)
    loop = threading.Thread(
        target=run_tasks,
        args=(runner, tasks, 2, results.append),
        kwargs={
            "on_failure": lambda task, why: failed.append(why),
            "on_retry": lambda task, why: retried.append(why),
        },
    )
    loop.start()
    while not multiprocessing.active_children():  # the pool starts on the first submit
        time.sleep(0.01)
    os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)
    loop.join(timeout=KILL_TEST_TIMEOUT_S)
    runner.close()

    assert not loop.is_alive() and not failed
    assert retried and all(why == WORKER_DIED for why in retried)
    for result in results:
        got = pd.DataFrame(result.rows, columns=list(REPORT_COLUMNS))
        want = reference[reference.file == files[result.task.file_index]]
        _assert_same_rows(got.reset_index(drop=True), want.reset_index(drop=True))
    assert sorted(r.task.file_index for r in results) == [0, 1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A real Dask cluster on loopback: a scheduler and two single-threaded worker
    nodes, each its own process started with Dask's command-line tools."""
    pytest.importorskip("distributed")
    from emotion_core.batch_dask import local_cluster

    with local_cluster(2, tmp_path / "cluster.log", CLUSTER_START_TIMEOUT_S) as address:
        yield address


def test_a_local_dask_cluster_runs_the_archive_to_the_same_result(
    archive, reference, dask_cluster, tmp_path, capsys
):
    out = tmp_path / "cluster.csv"
    pg = os.environ.get("EMOTION_TEST_PG_URL")
    db = pg or sqlite_url(tmp_path / "cluster.db")  # the shared database the workers write
    store = SessionStore(db)
    before = {s.id for s in store.list_sessions()}
    code = main(
        [
            str(archive),
            "--out",
            str(out),
            "--cluster",
            dask_cluster,
            "--db",
            db,
            "--segment-s",
            SEGMENT_S,
            "--retries",
            "1",
        ]
    )

    assert code == 0, capsys.readouterr().err
    _assert_same_rows(pd.read_csv(out), reference)
    err = capsys.readouterr().err
    assert "e_broken.mp4: Not a video" in err and "a_long.mp4: 3 segments" in err
    new = [s for s in store.list_sessions() if s.id not in before]
    video = next(s for s in new if s.source_name == "a_long.mp4")
    stored = store.load_samples(video.id)
    want = reference[reference.file == "a_long.mp4"]
    assert stored.face_id.tolist() == want.face_id.astype("Int64").tolist()
    np.testing.assert_allclose(stored.p_happy, want.p_happy, atol=PROB_TOL)
    store.dispose()
