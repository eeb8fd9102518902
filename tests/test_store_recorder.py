import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from emotion_core.detection import FaceBox
from emotion_core.recording import SessionRecorder
from emotion_core.results import FaceResult, FrameResult
from emotion_core.store import SCHEMA_VERSION, SessionStore, sqlite_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The recorder flushes every 0.5 s; an abrupt end may lose at most this much.
MAX_LOSS_S = 1.0


def frame(i, faces=1):
    p = np.full(7, 1 / 7, np.float32)
    fs = tuple(
        FaceResult(k + 1, FaceBox(10 * k, 0, 50, 50, 0.9), p, p, "happy", 0.5) for k in range(faces)
    )
    return FrameResult(i, i / 15, 640, 480, fs)


def test_sessions_can_be_listed_renamed_and_deleted(store):
    a = store.create_session("webcam", {"smoothing": 0.5})
    b = store.create_session("video", {}, source_name="clip.mp4")
    rec = SessionRecorder(store, a)
    for i in range(10):
        rec.record(frame(i, faces=2 if i % 2 else 0), 1000.0 + i, i / 15)
    rec.stop()
    store.add_samples([{"session_id": b, "frame_index": 0, "t_wall": 1.0, "t_rel": 0.0}])
    listed = {s.id: s for s in store.list_sessions()}
    assert [s.id for s in store.list_sessions()] == [b, a]  # newest first
    assert listed[a].frames == 10 and listed[a].faces == 2 and listed[a].dominant == "happy"
    assert listed[a].status == "complete" and listed[a].settings == {"smoothing": 0.5}
    assert store.count_samples(a) == 5 * 1 + 5 * 2
    store.rename_session(a, "  Morning call ")
    assert store.get_session(a).name == "Morning call"
    store.delete_session(a)
    assert store.get_session(a) is None and store.count_samples(a) == 0
    assert store.count_samples(b) == 1
    assert store.schema_version() == SCHEMA_VERSION


def test_recorder_batches_writes_and_flushes_on_stop(tmp_path):
    store = SessionStore(sqlite_url(tmp_path / "s.db"))
    rec = SessionRecorder.start(store, "webcam", {}, flush_interval=60)
    for i in range(50):
        rec.record(frame(i), 1000.0 + i, float(i))
    time.sleep(0.2)
    assert store.count_samples(rec.session_id) == 0  # still batched in memory
    rec.stop()
    assert store.count_samples(rec.session_id) == 50
    rec.record(frame(99), 0, 0)  # ignored after stop
    assert store.get_session(rec.session_id).status == "complete"


def test_two_recorders_write_concurrently_without_loss(tmp_path):
    store = SessionStore(sqlite_url(tmp_path / "s.db"))
    recs = [SessionRecorder.start(store, "webcam", {}, flush_interval=0.05) for _ in range(2)]
    for i in range(300):
        for r in recs:
            r.record(frame(i), 1000.0 + i, float(i))
    for r in recs:
        r.stop()
    assert [store.count_samples(r.session_id) for r in recs] == [300, 300]


def test_abrupt_kill_loses_at_most_the_last_second(tmp_path):
    db = tmp_path / "s.db"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {ROOT!r})
        sys.path.insert(0, {os.path.join(ROOT, "tests")!r})
        from test_store_recorder import frame
        from emotion_core.recording import SessionRecorder
        from emotion_core.store import SessionStore, sqlite_url
        store = SessionStore(sqlite_url({str(db)!r}))
        rec = SessionRecorder.start(store, "webcam", {{}})
        t0 = time.time(); i = 0
        while True:
            now = time.time()
            rec.record(frame(i), now, now - t0)
            i += 1
            print(now, flush=True)
            time.sleep(1 / 30)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    last = 0.0
    start = time.time()
    while time.time() - start < 4:
        last = float(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = SessionStore(sqlite_url(db))
    rows = store.load_samples(store.list_sessions()[0].id)
    assert len(rows) > 30
    assert last - rows["t_wall"].max() <= MAX_LOSS_S
