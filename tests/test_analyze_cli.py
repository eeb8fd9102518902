"""The command line: photos, videos and folders into one CSV, bad files reported."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from emotion_core.analyze import main
from emotion_core.media import REPORT_COLUMNS
from emotion_core.store import PROB_COLUMNS, RAW_COLUMNS, SessionStore, sqlite_url
from emotion_core.video import AnnotatedWriter

VIDEO_FPS = 10
VIDEO_FRAMES = 10


def _video(path: Path, frame_bgr: np.ndarray) -> Path:
    """One second of the astronaut at 10 fps, 320x240."""
    frame = cv2.resize(frame_bgr, (320, 240))
    writer = AnnotatedWriter(path, 320, 240, VIDEO_FPS)
    for _ in range(VIDEO_FRAMES):
        writer.write(frame)
    writer.close()
    return path


def test_photos_videos_and_folders_make_one_csv_and_sessions(tmp_path, astronaut_frame, capsys):
    folder = tmp_path / "media" / "nested"
    folder.mkdir(parents=True)
    cv2.imwrite(str(folder / "a.png"), astronaut_frame)
    (folder / "broken.jpg").write_bytes(b"not a picture at all")
    (folder / "notes.txt").write_text("ignored: not a media file")
    video = _video(tmp_path / "clip.mp4", astronaut_frame)
    out, db = tmp_path / "report.csv", sqlite_url(tmp_path / "s.db")

    code = main([str(tmp_path / "media"), str(video), "--out", str(out), "--db", db, "--fps", "5"])

    assert code == 0
    report = pd.read_csv(out)
    assert tuple(report.columns) == REPORT_COLUMNS
    assert set(PROB_COLUMNS + RAW_COLUMNS) <= set(report.columns)
    photo, clip = report[report.file == "a.png"], report[report.file == "clip.mp4"]
    assert len(photo) == 1 and photo.face_id.notna().all()
    assert clip.frame_index.tolist() == [0, 2, 4, 6, 8]  # 5 per second of a 10 fps video
    assert np.allclose(clip.t_rel, clip.frame_index / VIDEO_FPS, atol=0.011)
    assert "broken.jpg" in capsys.readouterr().err
    store = SessionStore(db)
    assert sorted(s.source for s in store.list_sessions()) == ["image", "video"]
    store.dispose()


def test_no_analysable_file_exits_2_with_a_message_each(tmp_path, capsys):
    empty, text = tmp_path / "empty.jpg", tmp_path / "text.mp4"
    empty.write_bytes(b"")
    text.write_text("hello")
    code = main(
        [str(empty), str(text), str(tmp_path / "missing.png"), "--out", str(tmp_path / "r.csv")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "empty.jpg: The file is empty" in err and "text.mp4: Not a video" in err
    assert "missing.png: no such file" in err
    assert tuple(pd.read_csv(tmp_path / "r.csv").columns) == REPORT_COLUMNS


def test_every_n_samples_video_frames(tmp_path, astronaut_frame):
    video = _video(tmp_path / "clip.mkv", astronaut_frame)
    out = tmp_path / "r.csv"
    assert main([str(video), "--out", str(out), "--every-n", "3"]) == 0
    assert pd.read_csv(out).frame_index.tolist() == [0, 3, 6, 9]
